"""Client IP resolution through trusted proxies, and allowlist parsing/matching."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.client_ip import (
    InvalidAllowlist,
    client_address,
    is_allowed,
    parse_address,
    parse_allowlist,
    split_allowlist,
)

PROXIES = parse_allowlist(["10.0.0.0/8", "fd00::/8"])
v4 = st.ip_addresses(v=4)
v6 = st.ip_addresses(v=6)
public_v4 = v4.filter(lambda a: a not in PROXIES[0])
any_ip = st.one_of(v4, v6)


@given(public_v4, st.lists(any_ip, max_size=5), st.lists(st.sampled_from(["10.1.1.1", "10.2.2.2"])))
def test_a_forged_leading_entry_never_changes_the_client(client, forged, proxies):
    """Client -> (its own forged entries) -> trusted proxies -> us: always the real client."""
    header = ", ".join([*(str(f) for f in forged), str(client), *proxies])
    assert client_address("10.9.9.9", header, PROXIES) == client


@given(public_v4, st.text(max_size=40))
def test_xff_from_an_untrusted_source_is_ignored(source, header):
    assert client_address(str(source), header, PROXIES) == source


@given(v4)
def test_ipv4_mapped_ipv6_matches_ipv4_cidrs(address):
    mapped = f"::ffff:{address}"
    network = ipaddress.ip_network(f"{address}/24", strict=False)
    allowlist = parse_allowlist([str(network)])
    assert is_allowed(parse_address(mapped), allowlist)
    assert client_address(mapped, None, ()) == address


@given(any_ip, st.integers(0, 128))
def test_an_address_is_in_every_network_built_around_it(address, prefix):
    prefix = min(prefix, address.max_prefixlen)
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    assert is_allowed(address, parse_allowlist([str(network)]))


@given(st.text(max_size=30))
def test_parsing_never_crashes_on_junk(text):
    message = ""
    try:
        networks = parse_allowlist(split_allowlist(text))
    except InvalidAllowlist as exc:
        message = str(exc)
        networks = ()
    assert message == "" or "allowlist" in message
    assert all(isinstance(n, ipaddress.IPv4Network | ipaddress.IPv6Network) for n in networks)
    parse_address(text)  # returns None or an address, never raises


def test_empty_allowlist_allows_everyone_and_unknown_client_is_refused_otherwise():
    assert is_allowed(None, ())
    assert not is_allowed(None, parse_allowlist(["0.0.0.0/0"]))


def test_ipv6_and_ports_in_forwarded_entries():
    assert client_address("10.0.0.1", "[2001:db8::7]:443", PROXIES) == ipaddress.ip_address(
        "2001:db8::7"
    )
    assert client_address("10.0.0.1", "203.0.113.9:5555", PROXIES) == ipaddress.ip_address(
        "203.0.113.9"
    )


def test_a_malformed_hop_after_trusted_proxies_means_unknown():
    assert client_address("10.0.0.1", "203.0.113.9, garbage", PROXIES) is None
    # ...but garbage to the left of the real client is the client's own and is ignored.
    assert client_address("10.0.0.1", "garbage, 203.0.113.9", PROXIES) == ipaddress.ip_address(
        "203.0.113.9"
    )


def test_all_hops_trusted_gives_the_leftmost():
    assert client_address("10.0.0.1", "10.0.0.3, 10.0.0.2", PROXIES) == ipaddress.ip_address(
        "10.0.0.3"
    )


def test_no_source_ip_is_unknown():
    assert client_address(None, "203.0.113.9", PROXIES) is None


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("10.1.2.3/8", "did you mean 10.0.0.0/8"),
        ("300.1.1.1", "not an IPv4/IPv6 address or CIDR"),
        ("10.0.0.0/33", "not an IPv4/IPv6 address or CIDR"),
        ("", "empty"),
        ("example.com", "not an IPv4/IPv6 address or CIDR"),
    ],
)
def test_bad_entries_are_rejected_with_a_clear_message(entry, message):
    with pytest.raises(InvalidAllowlist, match=message):
        parse_allowlist([entry])


def test_cidr_examples():
    allowlist = parse_allowlist(split_allowlist("203.0.113.0/24, 2001:db8::/32, 198.51.100.7"))
    assert is_allowed(ipaddress.ip_address("203.0.113.200"), allowlist)
    assert is_allowed(ipaddress.ip_address("2001:db8:1::1"), allowlist)
    assert is_allowed(ipaddress.ip_address("198.51.100.7"), allowlist)
    assert not is_allowed(ipaddress.ip_address("198.51.100.8"), allowlist)
    assert not is_allowed(ipaddress.ip_address("2001:db9::1"), allowlist)
    # A mapped-IPv6 CIDR matches plain IPv4 clients too.
    mapped = parse_allowlist(["::ffff:192.0.2.0/120"])
    assert is_allowed(ipaddress.ip_address("192.0.2.44"), mapped)


def test_a_mapped_address_also_matches_ipv6_networks_that_contain_it():
    allowlist = parse_allowlist(["::/0"])
    assert is_allowed(ipaddress.ip_address("::ffff:0:0"), allowlist)
    assert is_allowed(ipaddress.ip_address("::ffff:203.0.113.9"), allowlist)
    # ...while a plain IPv4 client is still not an IPv6 one.
    assert not is_allowed(ipaddress.ip_address("203.0.113.9"), allowlist)
