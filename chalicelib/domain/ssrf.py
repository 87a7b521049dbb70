"""Which webhook URLs and addresses may be called: a pure policy against server-side request
forgery.

:func:`parse_target` accepts http(s) URLs with a host and no credentials. :func:`check_address`
classifies one IP address: link-local, cloud-metadata, unspecified, multicast, broadcast,
reserved and documentation addresses are refused on every stage, and so is any IPv6 address
that embeds such an IPv4 address (IPv4-mapped, 6to4, NAT64, Teredo) and every deprecated
IPv4-compatible address (``::a.b.c.d``); private, loopback, unique-local, carrier-grade-NAT and
benchmarking addresses are refused unless the stage allows private targets. :func:`check_url`
checks every address a name resolves to; the caller must then connect to one of those
addresses, never resolve the name again.
"""

from __future__ import annotations

import ipaddress
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

Resolver = Callable[[str, int], list[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2048
DEFAULT_PORTS = {"http": 80, "https": 443}
NEVER = "which is never allowed"
NOT_ON_THIS_STAGE = "which this stage does not allow"

_LABEL = re.compile(r"^[a-z0-9_-]{1,63}$")
_NUMERIC_LABEL = re.compile(r"^(?:[0-9]+|0x[0-9a-f]*)$")
_MAX_HOST_LENGTH = 253
_PATH_SAFE = string.punctuation  # printable ASCII stays as sent; anything else is %-encoded

# (network, what it is, refused on every stage?). The first match wins, so the specific
# entries come before the ranges that contain them.
_V4_RULES: tuple[tuple[ipaddress.IPv4Network, str, bool], ...] = tuple(
    (ipaddress.IPv4Network(net), what, always)
    for net, what, always in (
        ("169.254.169.254/32", "a cloud metadata address", True),
        ("100.100.100.200/32", "a cloud metadata address", True),
        ("0.0.0.0/8", "an unspecified address", True),
        ("169.254.0.0/16", "a link-local address", True),
        ("224.0.0.0/4", "a multicast address", True),
        ("255.255.255.255/32", "the broadcast address", True),
        ("240.0.0.0/4", "a reserved address", True),
        ("192.0.0.0/24", "a reserved (IETF protocol assignment) address", True),
        ("192.0.2.0/24", "a documentation address", True),
        ("198.51.100.0/24", "a documentation address", True),
        ("203.0.113.0/24", "a documentation address", True),
        ("127.0.0.0/8", "a loopback address", False),
        ("10.0.0.0/8", "a private address", False),
        ("172.16.0.0/12", "a private address", False),
        ("192.168.0.0/16", "a private address", False),
        ("100.64.0.0/10", "a carrier-grade NAT address", False),
        ("198.18.0.0/15", "a benchmarking address", False),
    )
)
_V6_RULES: tuple[tuple[ipaddress.IPv6Network, str, bool], ...] = tuple(
    (ipaddress.IPv6Network(net), what, always)
    for net, what, always in (
        ("fd00:ec2::254/128", "a cloud metadata address", True),
        ("::/128", "the unspecified address", True),
        ("::1/128", "a loopback address", False),
        ("fe80::/10", "a link-local address", True),
        ("fec0::/10", "a site-local (deprecated) address", True),
        ("ff00::/8", "a multicast address", True),
        ("64:ff9b:1::/48", "a local-use NAT64 address", True),
        ("2001:db8::/32", "a documentation address", True),
        ("3fff::/20", "a documentation address", True),
        ("fc00::/7", "a unique-local address", False),
        ("2001:2::/48", "a benchmarking address", False),
    )
)
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


class TargetRefused(ValueError):
    """A webhook target that may not be called; ``reason`` is a sentence for the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Target:
    """A parsed webhook URL. ``host`` is lower-case ASCII (IDNA) or an IP literal without
    brackets; ``path`` is the request target (path and query, at least ``/``)."""

    scheme: str
    host: str
    port: int
    path: str
    host_header: str

    @property
    def is_ip_literal(self) -> bool:
        return _ip(self.host) is not None


def _ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _ascii_host(hostname: str) -> str:
    """The host name as DNS sees it: IDNA-encoded, lower-case, without a trailing dot."""
    name = hostname.removesuffix(".")
    try:
        name = name.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise TargetRefused(f"the URL's host {hostname!r} is not a valid host name") from exc
    labels = name.split(".")
    if len(name) > _MAX_HOST_LENGTH or not all(_LABEL.match(label) for label in labels):
        raise TargetRefused(f"the URL's host {hostname!r} is not a valid host name")
    if _NUMERIC_LABEL.match(labels[-1]):
        raise TargetRefused(f"the URL's host {hostname!r} looks like a malformed IP address")
    return name


def parse_target(url: str) -> Target:
    """Parse a webhook URL, or raise :class:`TargetRefused` saying what is wrong with it."""
    if len(url) > MAX_URL_LENGTH:
        raise TargetRefused(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        raise TargetRefused("the URL contains spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"the URL is not valid ({exc})") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        shown = f"{scheme}:" if scheme else "a URL without a scheme"
        raise TargetRefused(f"only http and https URLs are allowed, not {shown}")
    if "@" in parts.netloc:
        raise TargetRefused("the URL must not contain a user name or password")
    hostname = parts.hostname
    if not hostname:
        raise TargetRefused("the URL has no host")
    if port == 0:
        raise TargetRefused("the URL's port must be from 1 to 65535")
    if "%" in hostname and "[" in parts.netloc:
        raise TargetRefused("the URL's IPv6 address must not carry a zone identifier")
    literal = _ip(hostname)
    if "[" in parts.netloc:
        if not isinstance(literal, ipaddress.IPv6Address):
            raise TargetRefused("only an IPv6 address may be written in brackets")
        host, shown = literal.compressed, f"[{literal.compressed}]"
    elif literal is not None:
        host = shown = literal.compressed
    else:
        host = shown = _ascii_host(hostname)
    default = DEFAULT_PORTS[scheme]
    path = quote(parts.path or "/", safe=_PATH_SAFE)
    if parts.query:
        path += "?" + quote(parts.query, safe=_PATH_SAFE)
    return Target(
        scheme=scheme,
        host=host,
        port=default if port is None else port,
        path=path,
        host_header=shown if port in (None, default) else f"{shown}:{port}",
    )


def _plain_verdict(ip: IPAddress, allow_private: bool) -> str | None:
    rules: tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str, bool], ...]
    rules = _V4_RULES if isinstance(ip, ipaddress.IPv4Address) else _V6_RULES
    for network, what, always in rules:
        if ip in network:
            if always:
                return f"{what}, {NEVER}"
            return None if allow_private else f"{what}, {NOT_ON_THIS_STAGE}"
    if isinstance(ip, ipaddress.IPv6Address) and ip not in _GLOBAL_UNICAST:
        return f"a reserved address, {NEVER}"
    return None


def _embedded(ip: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address inside an IPv6 address that carries one, with what kind it is."""
    if ip.ipv4_mapped is not None:
        return "an IPv4-mapped address", ip.ipv4_mapped
    if ip.sixtofour is not None:
        return "a 6to4 address", ip.sixtofour
    if ip.teredo is not None:
        return "a Teredo address", ip.teredo[1]
    if ip in _NAT64:
        return "a NAT64 address", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _verdict(ip: IPAddress, allow_private: bool) -> str | None:
    """Why ``ip`` is refused (``"<what it is>, which ..."``), or None if it is allowed."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _IPV4_COMPATIBLE and int(ip) > 1:  # ::a.b.c.d, deprecated (RFC 4291)
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
            return f"an IPv4-compatible address of {inner} (deprecated), {NEVER}"
        embedded = _embedded(ip)
        if embedded is not None:
            kind, inner = embedded
            inner_verdict = _plain_verdict(inner, allow_private)
            if inner_verdict is None:
                return None
            what, _, which = inner_verdict.partition(", ")
            return f"{kind} of {inner} ({what}), {which}"
    return _plain_verdict(ip, allow_private)


def _parse_address(address: str) -> IPAddress:
    ip = _ip(address.partition("%")[0])  # a zone identifier does not change the class
    if ip is None:
        raise TargetRefused(f"{address!r} is not an IP address")
    return ip


def check_address(address: str, allow_private: bool) -> None:
    """Raise :class:`TargetRefused` unless a webhook may connect to ``address``."""
    verdict = _verdict(_parse_address(address), allow_private)
    if verdict is not None:
        raise TargetRefused(f"{address} is {verdict}")


def check_url(url: str, allow_private: bool, resolve: Resolver) -> Target:
    """Parse ``url``, resolve its host once with ``resolve`` and check every address."""
    target = parse_target(url)
    if target.is_ip_literal:
        addresses, lead = [target.host], "the URL points at"
    else:
        try:
            addresses = resolve(target.host, target.port)
        except (OSError, UnicodeError):
            addresses = []
        if not addresses:
            raise TargetRefused(f"the URL's host {target.host} does not resolve")
        lead = "the URL resolves to"
    for address in addresses:
        verdict = _verdict(_parse_address(address), allow_private)
        if verdict is not None:
            raise TargetRefused(f"{lead} {address}, {verdict}")
    return target
