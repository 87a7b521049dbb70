"""The webhook target policy: URL parsing, address classes (every address of each network, and
IPv6 addresses embedding refused IPv4 ones), and resolve-then-check."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from chalicelib.domain import ssrf
from chalicelib.domain.ssrf import Target, TargetRefused

# The policy as docs/API.md states it, written out independently of the module's tables.
ALWAYS_V4 = [
    "169.254.0.0/16",  # link-local, incl. 169.254.169.254 (AWS, GCP, Azure metadata)
    "100.100.100.200/32",  # Alibaba Cloud metadata
    "0.0.0.0/8",
    "224.0.0.0/4",
    "255.255.255.255/32",
    "240.0.0.0/4",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "198.51.100.0/24",
    "203.0.113.0/24",
]
PRIVATE_V4 = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "127.0.0.0/8",
    "100.64.0.0/10",
    "198.18.0.0/15",
]
ALWAYS_V6 = [
    "fe80::/10",
    "fd00:ec2::254/128",
    "::/128",
    "ff00::/8",
    "2001:db8::/32",
    "3fff::/20",
    "fec0::/10",
    "64:ff9b:1::/48",
]
PRIVATE_V6 = ["::1/128", "fc00::/7", "2001:2::/48"]
# Global-unicast space that embeds an IPv4 address or is special: left out of "random global".
SPECIAL_GLOBAL_V6 = ["2002::/16", "2001::/32", "2001:db8::/32", "3fff::/20", "2001:2::/48"]


def in_any(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, networks: list[str]) -> bool:
    return any(ip in ipaddress.ip_network(net) for net in networks)


def addresses_in(net: str) -> st.SearchStrategy[str]:
    network = ipaddress.ip_network(net)
    first, last = int(network.network_address), int(network.broadcast_address)
    kind = type(network.network_address)
    return st.integers(first, last).map(lambda n: str(kind(n)))


def complement(whole: str, excluded: list[str]) -> list[str]:
    """The networks of ``whole`` left when every network of ``excluded`` is taken out."""
    remaining = [ipaddress.ip_network(whole)]
    for net in map(ipaddress.ip_network, excluded):
        # CIDR blocks are nested or disjoint: split the block holding net, drop those inside it.
        kept = []
        for block in remaining:
            if net.subnet_of(block):
                kept.extend(block.address_exclude(net))
            elif not block.subnet_of(net):
                kept.append(block)
        remaining = kept
    return [str(n) for n in remaining]


GLOBAL_V4 = complement("0.0.0.0/0", ALWAYS_V4 + PRIVATE_V4)
GLOBAL_V6 = complement("2000::/3", SPECIAL_GLOBAL_V6)


def v4_in(networks: list[str]) -> st.SearchStrategy[ipaddress.IPv4Address]:
    return st.sampled_from(networks).flatmap(addresses_in).map(ipaddress.IPv4Address)


def refused(address: str, allow_private: bool) -> str:
    with pytest.raises(TargetRefused) as info:
        ssrf.check_address(address, allow_private)
    assert info.value.reason == str(info.value)
    return info.value.reason


# -- addresses ----------------------------------------------------------------------------------


@given(st.sampled_from(ALWAYS_V4 + ALWAYS_V6).flatmap(addresses_in), st.booleans())
def test_every_address_of_an_always_refused_network_is_refused(
    address: str, allow_private: bool
) -> None:
    assert refused(address, allow_private).endswith("which is never allowed")


@given(st.sampled_from(PRIVATE_V4 + PRIVATE_V6).flatmap(addresses_in))
def test_private_addresses_are_refused_unless_the_stage_allows_them(address: str) -> None:
    assert refused(address, allow_private=False).endswith("which this stage does not allow")
    ssrf.check_address(address, allow_private=True)


def mapped(v4: ipaddress.IPv4Address, _: int) -> str:
    return str(ipaddress.IPv6Address(0xFFFF_0000_0000 | int(v4)))


def sixtofour(v4: ipaddress.IPv4Address, suffix: int) -> str:
    return str(ipaddress.IPv6Address((0x2002 << 112) | (int(v4) << 80) | (suffix & (2**80 - 1))))


def nat64(v4: ipaddress.IPv4Address, _: int) -> str:
    return str(ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) | int(v4)))


def teredo(v4: ipaddress.IPv4Address, suffix: int) -> str:
    server = int(ipaddress.IPv4Address("65.54.227.120"))
    flags_port = suffix & 0xFFFF_FFFF
    client = int(v4) ^ 0xFFFF_FFFF
    return str(
        ipaddress.IPv6Address((0x2001 << 112) | (server << 64) | (flags_port << 32) | client)
    )


Embed = Callable[[ipaddress.IPv4Address, int], str]
EMBEDDINGS: list[Embed] = [mapped, sixtofour, nat64, teredo]


def test_the_embeddings_are_what_ipaddress_reads_back() -> None:
    v4 = ipaddress.IPv4Address("169.254.169.254")
    assert ipaddress.IPv6Address(mapped(v4, 0)).ipv4_mapped == v4
    assert ipaddress.IPv6Address(sixtofour(v4, 12345)).sixtofour == v4
    assert ipaddress.IPv6Address(teredo(v4, 12345)).teredo == (
        ipaddress.IPv4Address("65.54.227.120"),
        v4,
    )
    assert nat64(v4, 0) == "64:ff9b::a9fe:a9fe"


@given(
    v4=v4_in(ALWAYS_V4),
    embed=st.sampled_from(EMBEDDINGS),
    suffix=st.integers(0, 2**80 - 1),
    allow_private=st.booleans(),
)
def test_ipv6_embedding_an_always_refused_ipv4_is_refused(
    v4: ipaddress.IPv4Address, embed: Embed, suffix: int, allow_private: bool
) -> None:
    address = embed(v4, suffix)
    reason = refused(address, allow_private)
    assert str(v4) in reason
    assert reason.endswith("which is never allowed")


@given(v4=v4_in(PRIVATE_V4), embed=st.sampled_from(EMBEDDINGS), suffix=st.integers(0, 2**80 - 1))
def test_ipv6_embedding_a_private_ipv4_follows_the_private_rule(
    v4: ipaddress.IPv4Address, embed: Embed, suffix: int
) -> None:
    address = embed(v4, suffix)
    assert str(v4) in refused(address, allow_private=False)
    ssrf.check_address(address, allow_private=True)


@given(st.integers(0, 2**32 - 1), st.booleans())
def test_ipv4_compatible_addresses_are_always_refused(n: int, allow_private: bool) -> None:
    assume(n > 1)  # :: and ::1 have classes of their own
    refused(str(ipaddress.IPv6Address(n)), allow_private)


def test_the_global_complements_are_right() -> None:
    assert "8.0.0.0/7" in GLOBAL_V4
    assert "1.0.0.0/8" in GLOBAL_V4
    assert not any(net.startswith("10.") or net.startswith("127.") for net in GLOBAL_V4)
    for net in map(ipaddress.ip_network, GLOBAL_V4):
        assert not any(net.overlaps(ipaddress.ip_network(r)) for r in ALWAYS_V4 + PRIVATE_V4)


@given(st.sampled_from(GLOBAL_V4).flatmap(addresses_in), st.booleans())
def test_random_global_ipv4_addresses_are_allowed(address: str, allow_private: bool) -> None:
    ip = ipaddress.IPv4Address(address)
    assert ip.is_global  # the tables above leave out nothing Python calls non-global
    ssrf.check_address(address, allow_private)
    ssrf.check_address(mapped(ip, 0), allow_private)
    ssrf.check_address(nat64(ip, 0), allow_private)
    ssrf.check_address(sixtofour(ip, 7), allow_private)


@given(st.sampled_from(GLOBAL_V6).flatmap(addresses_in), st.booleans())
def test_random_global_unicast_ipv6_addresses_are_allowed(
    address: str, allow_private: bool
) -> None:
    ssrf.check_address(address, allow_private)


@given(st.integers(0x4000 << 112, (0xFC00 << 112) - 1), st.booleans())
def test_ipv6_outside_global_unicast_is_reserved(n: int, allow_private: bool) -> None:
    reason = refused(str(ipaddress.IPv6Address(n)), allow_private)
    assert "reserved" in reason


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("169.254.169.254", "169.254.169.254 is a cloud metadata address, which is never allowed"),
        ("fd00:ec2::254", "fd00:ec2::254 is a cloud metadata address, which is never allowed"),
        ("100.100.100.200", "100.100.100.200 is a cloud metadata address, which is never allowed"),
        ("169.254.1.1", "169.254.1.1 is a link-local address, which is never allowed"),
        ("fe80::1%eth0", "fe80::1%eth0 is a link-local address, which is never allowed"),
        ("0.0.0.0", "0.0.0.0 is an unspecified address, which is never allowed"),  # noqa: S104
        ("::", ":: is the unspecified address, which is never allowed"),
        ("255.255.255.255", "255.255.255.255 is the broadcast address, which is never allowed"),
        ("10.0.0.1", "10.0.0.1 is a private address, which this stage does not allow"),
        ("::1", "::1 is a loopback address, which this stage does not allow"),
        (
            "::ffff:169.254.169.254",
            "::ffff:169.254.169.254 is an IPv4-mapped address of 169.254.169.254"
            " (a cloud metadata address), which is never allowed",
        ),
        ("localhost", "'localhost' is not an IP address"),
        ("", "'' is not an IP address"),
    ],
)
def test_reasons_read_as_sentences(address: str, expected: str) -> None:
    assert refused(address, allow_private=False) == expected


def test_a_refusal_is_a_value_error() -> None:
    assert issubclass(TargetRefused, ValueError)


# -- URLs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com", Target("https", "example.com", 443, "/", "example.com")),
        (
            "HTTP://Example.COM:8080/hooks?a=1&b=two#frag",
            Target("http", "example.com", 8080, "/hooks?a=1&b=two", "example.com:8080"),
        ),
        ("https://example.com:443/x", Target("https", "example.com", 443, "/x", "example.com")),
        ("http://example.com:80/", Target("http", "example.com", 80, "/", "example.com")),
        ("http://example.com:/", Target("http", "example.com", 80, "/", "example.com")),
        ("https://example.com:80/", Target("https", "example.com", 80, "/", "example.com:80")),
        (
            "http://example.com:65535",
            Target("http", "example.com", 65535, "/", "example.com:65535"),
        ),
        ("http://example.com:0080/", Target("http", "example.com", 80, "/", "example.com")),
        ("http://example.com?x=1", Target("http", "example.com", 80, "/?x=1", "example.com")),
        ("http://example.com.:81", Target("http", "example.com", 81, "/", "example.com:81")),
        (
            "https://Bücher.example/päth?q=ü",
            Target(
                "https",
                "xn--bcher-kva.example",
                443,
                "/p%C3%A4th?q=%C3%BC",
                "xn--bcher-kva.example",
            ),
        ),
        (
            "https://xn--bcher-kva.example",
            Target("https", "xn--bcher-kva.example", 443, "/", "xn--bcher-kva.example"),
        ),
        (
            "http://my_host.internal/a%20b",
            Target("http", "my_host.internal", 80, "/a%20b", "my_host.internal"),
        ),
        ("http://93.184.215.14/", Target("http", "93.184.215.14", 80, "/", "93.184.215.14")),
        ("http://[2606:4700::1]/", Target("http", "2606:4700::1", 80, "/", "[2606:4700::1]")),
        (
            "https://[2606:4700:0::0001]:8443/h",
            Target("https", "2606:4700::1", 8443, "/h", "[2606:4700::1]:8443"),
        ),
    ],
)
def test_parse_target(url: str, expected: Target) -> None:
    assert ssrf.parse_target(url) == expected


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/file", "only http and https URLs are allowed, not ftp:"),
        ("file:///etc/passwd", "only http and https URLs are allowed, not file:"),
        ("gopher://example.com:70/_", "only http and https URLs are allowed, not gopher:"),
        ("javascript:alert(1)", "only http and https URLs are allowed"),
        ("//example.com/x", "a URL without a scheme"),
        ("example.com", "a URL without a scheme"),
        ("https://user:pass@example.com/", "user name or password"),
        ("https://user@example.com/", "user name or password"),
        ("https://example.com\\@evil.example/", "user name or password"),
        ("https://@example.com/", "user name or password"),
        ("http://", "no host"),
        ("http:///path", "no host"),
        ("http://:80/", "no host"),
        ("http://example.com:0/", "port must be from 1 to 65535"),
        ("http://example.com:65536/", "not valid"),
        ("http://example.com:-1/", "not valid"),
        ("http://example.com:+80/", "not valid"),
        ("http://example.com:http/", "not valid"),
        ("http://[::1/", "not valid"),
        ("http://[example.com]/", "not valid"),
        ("http://[93.184.215.14]/", "not valid"),
        ("http://[fe80::1%25eth0]/", "zone identifier"),
        ("http://exa mple.com/", "spaces or control characters"),
        ("http://example.com/\r\nHost: evil", "spaces or control characters"),
        ("http://example.com/\t", "spaces or control characters"),
        (" http://example.com/", "spaces or control characters"),
        ("http://example.com/" + "a" * 2048, "longer than 2048 characters"),
        ("http://127.1/", "malformed IP address"),
        ("http://2130706433/", "malformed IP address"),
        ("http://0x7f.0.0.1/", "malformed IP address"),
        ("http://1.2.3.4.5/", "malformed IP address"),
        ("http://a..b/", "not a valid host name"),
        ("http://" + "a" * 64 + ".example/", "not a valid host name"),
        ("http://exa%6Dple.com/", "not a valid host name"),
        ("http://exa!mple.com/", "not a valid host name"),
    ],
)
def test_parse_target_refuses(url: str, reason: str) -> None:
    with pytest.raises(TargetRefused) as info:
        ssrf.parse_target(url)
    assert reason in info.value.reason


def test_a_url_of_exactly_the_maximum_length_is_accepted() -> None:
    url = "http://example.com/"
    url += "a" * (ssrf.MAX_URL_LENGTH - len(url))
    assert ssrf.parse_target(url).path == url[len("http://example.com") :]


@given(st.integers(1, 65535))
def test_every_valid_port(port: int) -> None:
    assert ssrf.parse_target(f"https://example.com:{port}/").port == port


# -- check_url ----------------------------------------------------------------------------------


class FakeResolver:
    """Answers from a table and records every lookup."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.calls: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.table[host]


def test_check_url_resolves_once_and_returns_the_target() -> None:
    resolver = FakeResolver({"hooks.example": ["93.184.215.14", "2606:4700::1"]})
    target = ssrf.check_url("https://hooks.example/in", False, resolver)
    assert target == Target("https", "hooks.example", 443, "/in", "hooks.example")
    assert resolver.calls == [("hooks.example", 443)]


def test_every_resolved_address_is_checked() -> None:
    resolver = FakeResolver({"sneaky.example": ["93.184.215.14", "169.254.169.254"]})
    with pytest.raises(TargetRefused) as info:
        ssrf.check_url("https://sneaky.example/", True, resolver)
    assert info.value.reason == (
        "the URL resolves to 169.254.169.254, a cloud metadata address, which is never allowed"
    )


@pytest.mark.parametrize(
    "table", [{}, {"gone.example": []}], ids=["resolver raises", "no addresses"]
)
def test_a_name_that_does_not_resolve_is_refused(table: dict[str, list[str]]) -> None:
    with pytest.raises(TargetRefused, match=r"gone\.example does not resolve"):
        ssrf.check_url("https://gone.example/", False, FakeResolver(table))


def test_private_names_depend_on_the_stage() -> None:
    resolver = FakeResolver({"localhost": ["127.0.0.1", "::1"]})
    with pytest.raises(TargetRefused, match=r"127\.0\.0\.1, a loopback address, which this stage"):
        ssrf.check_url("http://localhost:8000/", False, resolver)
    assert ssrf.check_url("http://localhost:8000/", True, resolver).port == 8000


def test_ip_literals_are_checked_without_resolving() -> None:
    resolver = FakeResolver({})
    with pytest.raises(TargetRefused) as info:
        ssrf.check_url("http://[::ffff:a9fe:a9fe]/latest/meta-data", True, resolver)
    assert info.value.reason.startswith(
        "the URL points at ::ffff:a9fe:a9fe, an IPv4-mapped address of 169.254.169.254"
    )
    assert ssrf.check_url("http://10.0.0.7:9000/", True, resolver).host == "10.0.0.7"
    assert resolver.calls == []


def test_a_resolver_answer_that_is_not_an_address_is_refused() -> None:
    with pytest.raises(TargetRefused, match="not an IP address"):
        ssrf.check_url("https://odd.example/", True, FakeResolver({"odd.example": ["odd"]}))


def test_a_bad_url_is_refused_before_resolving() -> None:
    resolver = FakeResolver({})
    with pytest.raises(TargetRefused, match="only http and https"):
        ssrf.check_url("ftp://files.example/", True, resolver)
    assert resolver.calls == []
