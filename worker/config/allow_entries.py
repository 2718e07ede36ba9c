"""The allow_private_networks entry syntax: an address or CIDR network, optionally on one port.

Config validates entries with it at load (naming file and line); the SSRF guard (worker/http/ssrf.py)
enforces the parsed entries on every connection. It lives with config, below both, so that the guard
and the loader share one parser without config importing the HTTP layer.

May import: nothing of worker but the standard library.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class AllowEntry:
    """One allow_private_networks entry: a network (a bare address is a /32 or /128) and, optionally, the
    one port it is allowed on."""

    network: Network
    #: None: every port
    port: int | None = None

    def admits(self, address: IPAddress, port: int | None) -> bool:
        """Whether this entry lets a connection to `address` on `port` through (an unknown port only
        passes an entry without one)."""
        if address.version != self.network.version or address not in self.network:
            return False
        return self.port is None or self.port == port


def _port(text: str, entry: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 65535:
        raise ValueError(f"{entry!r}: the port must be a number from 1 to 65535 (got {text!r})")
    return int(text)


def _network(text: str, entry: str, version: int | None = None) -> Network:
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValueError(f"{entry!r}: not an IP address or CIDR network, optionally with a port "
                         "(10.0.0.5, 10.0.0.0/24, 10.0.0.5:8080, fd00::1, [fd00::1]:443)") from None
    if version is not None and network.version != version:
        raise ValueError(f"{entry!r}: brackets are for IPv6 addresses only (write 10.0.0.5:8080)")
    return network


def parse_allow_entry(entry: str) -> AllowEntry:
    """`10.0.0.5`, `10.0.0.0/24`, `fd00::/64` (every port) or with `:port`, IPv6 in brackets:
    `10.0.0.5:8080`, `10.0.0.0/24:8080`, `[fd00::1]:443`, `[fd00::/64]:443`. Raises ValueError naming the
    entry and what is wrong, for the config error.

    Hand-written because neither ipaddress nor urllib parses an address *or network* with a port.
    """
    text = entry.strip()
    if text.startswith("["):
        inner, closing, rest = text[1:].partition("]")
        if not closing or (rest and not rest.startswith(":")):
            raise ValueError(f"{entry!r}: an IPv6 entry with a port is written [address]:port, e.g. [fd00::1]:443")
        return AllowEntry(_network(inner, entry, version=6), _port(rest[1:], entry) if rest else None)
    if text.count(":") == 1:  # IPv4 (or an IPv4 network) with a port; IPv6 has two colons or more
        address, _, port = text.partition(":")
        return AllowEntry(_network(address, entry, version=4), _port(port, entry))
    return AllowEntry(_network(text, entry))


