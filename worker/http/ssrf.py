"""SSRF guard: partner URLs come from feeds and sitemaps we do not control, so a hostile or hijacked
partner could point us at our own network (Redis, PostgreSQL, the cloud metadata service).

The check runs where the socket is opened, not before the request: every new connection (the first URL,
every redirect hop to another host, every reconnect) resolves the name once, refuses it if ANY address is
non-public, and then connects to exactly the address it checked. That closes the DNS-rebinding window
between "check" and "connect" that a pre-flight lookup would leave open. TLS still verifies the
certificate against the host name, because only the socket's address is swapped.

An allow_private_networks entry may name a port (`10.0.0.5:8080`, `10.0.0.0/24:8080`, `[fd00::1]:443`,
`[fd00::/64]:443`): the address is then allowed on that port only, so a partner on a private address
cannot send us by redirect or feed link to its neighbour services on other ports (an admin console, a
database). An entry without a port allows every port, as before; IPv6 with a port needs the brackets,
since `fd00::1:443` is itself an IPv6 address. List an address twice for two ports.

Residual risk, accepted: a kept-alive connection is reused for the same host and port without a new
lookup (it goes to the address that was checked, so this is safe); proxies from the environment are
disabled by the session (trust_env=False) because the guard would vet the proxy, not the partner.
"""
from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError

from worker.config.allow_entries import AllowEntry, IPAddress, Network, parse_allow_entry
from worker.errors import FetchFailedError, PrivateAddressError


# the well-known instance metadata endpoints (AWS/GCP/Azure/OpenStack share the IPv4 one; AWS Nitro has the IPv6)
METADATA_ADDRESSES = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})


def parse_networks(entries: Iterable[str]) -> tuple[AllowEntry, ...]:
    """allow_private_networks entries (already validated by config) as AllowEntry values."""
    return tuple(parse_allow_entry(entry) for entry in entries)


def refusal_reason(address: IPAddress, allowed: tuple[AllowEntry, ...] = (), port: int | None = None) -> str | None:
    """Why `address` must not be connected to on `port`, or None when it is public or explicitly allowed
    (on that port, when the allowing entry names one)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1 to the kernel
    if any(entry.admits(address, port) for entry in allowed):
        return None
    reason = _address_class(address)
    if reason is not None:
        ports = sorted({e.port for e in allowed if e.port is not None and e.network.version == address.version
                        and address in e.network})
        if ports:
            listed = ", ".join(map(str, ports))
            return f"{reason}, allowed for this source on port {listed} only, not on port {port or 'unknown'}"
    return reason


def _address_class(address: IPAddress) -> str | None:
    """What kind of non-public address this is (None for a public one)."""
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    for label, flagged in (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        # catches what the flags above miss: carrier-grade NAT 100.64/10, documentation and benchmark ranges
        ("non-public", not address.is_global),
    ):
        if flagged:
            return f"a {label} address"
    return None


def vetted_addresses(host: str, port: int, allowed: tuple[AllowEntry, ...]) -> list[str]:
    """Resolve `host` and return its addresses, refusing the host if any one of them is not allowed.

    Any, not all: a name resolving to one public and one private address would let the connection
    land on the private one whenever the public one fails.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchFailedError(f"{host}: DNS lookup failed: {exc}") from exc
    addresses: list[str] = []
    for info in infos:
        raw = str(info[4][0]).split("%", 1)[0]  # drop an IPv6 zone id
        reason = refusal_reason(ipaddress.ip_address(raw), allowed, port)
        if reason is not None:
            raise PrivateAddressError(
                f"{host} resolves to {raw}, {reason}; refused (list it in the source's "
                "allow_private_networks if this partner really lives there)"
            )
        if raw not in addresses:
            addresses.append(raw)
    if not addresses:
        raise FetchFailedError(f"{host}: DNS lookup returned no addresses")
    return addresses


class _GuardedMixin:
    """Connects to a vetted address instead of letting urllib3 resolve the name itself."""

    allowed: tuple[AllowEntry, ...] = ()
    _dns_host: str
    port: int

    def _new_conn(self) -> socket.socket:
        name = self._dns_host
        last_error: Exception | None = None
        for address in vetted_addresses(name, self.port, self.allowed):
            # urllib3 dials _dns_host; `host` (SNI, certificate check, Host header) reads it back later,
            # so it is restored before anything else sees it
            self._dns_host = address
            try:
                return super()._new_conn()  # type: ignore[misc]
            except ConnectTimeoutError as exc:  # and its subclass NewConnectionError: try the next address
                last_error = exc
            finally:
                self._dns_host = name
        assert last_error is not None
        raise last_error


def guarded_adapter(allowed: tuple[AllowEntry, ...], **kwargs: Any) -> HTTPAdapter:
    """An HTTPAdapter whose connections pass the SSRF guard with this source policy.

    One adapter (and so one pool) per policy: a connection vetted for a source that allows a private
    network must never be reused for a source that does not.
    """
    http_conn = type("GuardedHTTPConnection", (_GuardedMixin, HTTPConnection), {"allowed": allowed})
    https_conn = type("GuardedHTTPSConnection", (_GuardedMixin, HTTPSConnection), {"allowed": allowed})
    http_pool = type("GuardedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn})
    https_pool = type("GuardedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn})

    class GuardedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **pool_kwargs: Any) -> None:
            super().init_poolmanager(*args, **pool_kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": http_pool, "https": https_pool}

    return GuardedAdapter(**kwargs)
