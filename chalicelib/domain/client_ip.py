"""Who is the client, and is it on the key's allowlist? Pure.

* The client IP is the gateway's ``requestContext.identity.sourceIp``. ``X-Forwarded-For`` is
  believed only when that source is a trusted proxy (``TRUSTED_PROXIES``), and then only as far
  as the chain of trusted proxies goes: walking the header from the right, the client is the
  first address that is not a trusted proxy. Entries to its left were written by the client
  itself, so a forged leading entry never changes the answer.
* An IPv4-mapped IPv6 address (``::ffff:192.0.2.7``) is the IPv4 address it maps, for matching
  and for the trusted-proxy walk alike.
* Allowlist entries are IPv4/IPv6 addresses or CIDRs (host bits must be zero: ``10.0.0.0/8``,
  not ``10.1.2.3/8``, which is almost always a typo). :func:`parse_allowlist` raises
  :class:`InvalidAllowlist` naming the bad entry; it is what key creation and
  ``seed_api_keys.py --allowed-ips`` validate with.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from functools import lru_cache

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_ALLOWLIST_ENTRIES = 100
_MAPPED_V4 = ipaddress.IPv6Network("::ffff:0:0/96")


class InvalidAllowlist(ValueError):
    """An allowlist entry is not an IP address or CIDR."""


def normalize_address(address: IPAddress) -> IPAddress:
    """IPv4-mapped IPv6 addresses become the IPv4 address they carry."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def normalize_network(network: IPNetwork) -> IPNetwork:
    """An IPv4-mapped IPv6 network (``::ffff:10.0.0.0/104``) becomes its IPv4 network."""
    if isinstance(network, ipaddress.IPv6Network) and network.subnet_of(_MAPPED_V4):
        mapped = network.network_address.ipv4_mapped
        if mapped is not None:
            return ipaddress.IPv4Network((mapped, network.prefixlen - 96))
    return network


def parse_address(text: str) -> IPAddress | None:
    """One address as proxies write it (``1.2.3.4``, ``1.2.3.4:443``, ``[2001:db8::1]:443``,
    ``2001:db8::1``); ``None`` if it is not one."""
    value = text.strip()
    if value.startswith("[") and "]" in value:
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]  # IPv4 with a port
    if "%" in value:
        return None  # scoped IPv6 addresses never come from the internet
    try:
        return normalize_address(ipaddress.ip_address(value))
    except ValueError:
        return None


def parse_network(entry: str) -> IPNetwork:
    """One allowlist entry; raise :class:`InvalidAllowlist` with a message naming it."""
    text = entry.strip() if isinstance(entry, str) else entry
    if not isinstance(text, str) or not text:
        raise InvalidAllowlist(f"allowlist entry {entry!r} is empty or not a string")
    if "%" in text:  # a zone (fe80::1%eth0) names an interface of one host: never a client
        raise InvalidAllowlist(f"allowlist entry {entry!r} has an IPv6 zone (%...)")
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        if "has host bits set" in str(exc):
            raise InvalidAllowlist(
                f"allowlist entry {text!r} has host bits set; "
                f"did you mean {ipaddress.ip_network(text, strict=False)}?"
            ) from None
        raise InvalidAllowlist(
            f"allowlist entry {text!r} is not an IPv4/IPv6 address or CIDR "
            "(examples: 203.0.113.7, 10.0.0.0/8, 2001:db8::/32)"
        ) from None
    return normalize_network(network)


def parse_allowlist(entries: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Validate and parse allowlist entries (empty means: every address is allowed)."""
    networks = tuple(parse_network(entry) for entry in entries)
    if len(networks) > MAX_ALLOWLIST_ENTRIES:
        raise InvalidAllowlist(f"an allowlist has at most {MAX_ALLOWLIST_ENTRIES} entries")
    return networks


def split_allowlist(text: str) -> list[str]:
    """``"10.0.0.0/8, 2001:db8::/32"`` -> entries (the command-line form)."""
    return [part.strip() for part in text.split(",") if part.strip()]


@lru_cache(maxsize=4096)
def cached_allowlist(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    """Parsed allowlists of stored keys, memoised (a key's list is validated when it is set)."""
    return parse_allowlist(entries)


def _trusted(address: IPAddress, proxies: Sequence[IPNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in proxies)


def client_address(
    source_ip: str | None, forwarded_for: str | None, trusted_proxies: Sequence[IPNetwork]
) -> IPAddress | None:
    """The client's address, or ``None`` when it cannot be determined (treated as not allowed).

    ``forwarded_for`` is the raw ``X-Forwarded-For`` value (several headers joined by commas).
    """
    source = parse_address(source_ip) if source_ip else None
    if source is None:
        return None
    if not forwarded_for or not _trusted(source, trusted_proxies):
        return source
    client = source
    for raw in reversed(forwarded_for.split(",")):
        if not raw.strip():
            continue
        hop = parse_address(raw)
        if hop is None:
            # A trusted proxy appended something that is not an address: nothing to its left
            # (and not it) can be believed.
            return None
        client = hop
        if not _trusted(hop, trusted_proxies):
            return hop
    # Every hop was a trusted proxy: the leftmost one is the closest thing to a client.
    return client


def is_allowed(address: IPAddress | None, allowlist: Sequence[IPNetwork]) -> bool:
    """Empty allowlist: everyone. Otherwise the address must fall in one of the networks."""
    if not allowlist:
        return True
    if address is None:
        return False
    # An IPv4-mapped address matches its IPv4 networks and, as written, IPv6 networks that
    # contain it (``::/0`` includes ``::ffff:0:0``).
    forms = {address, normalize_address(address)}
    return any(form.version == net.version and form in net for form in forms for net in allowlist)
