"""The SSRF guard, after DNS resolution and on every redirect hop.

Partner host names are made up (partner.example, intranet.example): this machine cannot resolve real
DNS, so the ONLY thing mocked here is the name lookup (socket.getaddrinfo), pointed at loopback addresses
where real HTTP servers listen. Everything after the lookup (connect, HTTP, redirects) is real.
"""
from __future__ import annotations

import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from pytest_httpserver import HTTPServer

from worker.config import Source
from worker.errors import DomainNotAllowedError, PermanentError, PrivateAddressError
from worker.http.client import Client
from worker.settings import Settings, load_settings
from worker.http.ssrf import guarded_adapter, parse_networks, refusal_reason

REAL_GETADDRINFO = socket.getaddrinfo


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, list[str]]], list[str]]:
    """Make made-up names resolve to the given addresses; every other lookup goes to the real resolver.
    Returns the list of made-up names looked up, in order."""

    def install(names: dict[str, list[str]]) -> list[str]:
        lookups: list[str] = []

        def fake(host: str, port: object, *args: object, **kwargs: object) -> list:  # type: ignore[type-arg]
            if host in names:
                lookups.append(host)
                return [(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))
                        for ip in names[host]]
            return REAL_GETADDRINFO(host, port, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(socket, "getaddrinfo", fake)
        return lookups

    return install


@pytest.fixture
def settings() -> Settings:
    return load_settings({"SYNDICATION_FETCH_TIMEOUT": "5"})


@pytest.fixture
def second_server() -> Iterator[HTTPServer]:
    """A second partner-side server on another loopback address (an 'internal' host)."""
    yield from _serving("127.0.0.2")


def _serving(host: str) -> Iterator[HTTPServer]:
    server = HTTPServer(host=host, port=0)
    server.start()
    yield server
    server.clear()
    server.stop()


def make_source(allowed_domains: list[str], allow_private_networks: list[str]) -> Source:
    return Source(id="partner", name="Partner", allowed_domains=allowed_domains,
                  allow_private_networks=allow_private_networks, rate_limit_per_second=50, rate_limit_burst=50,
                  ignore_robots=True, ignore_robots_reason="the guard is what is tested here")


def get(url: str, source: Source, settings: Settings):  # noqa: ANN201 - a Page
    return Client.local(settings).for_source(source).page(url)


def test_a_name_resolving_to_loopback_is_refused_before_connecting(dns, settings: Settings, httpserver: HTTPServer) -> None:
    dns({"partner.example": ["127.0.0.1"]})
    httpserver.expect_request("/a.html").respond_with_data("<p>secret</p>", content_type="text/html")
    url = f"http://partner.example:{httpserver.port}/a.html"
    with pytest.raises(PrivateAddressError, match="127.0.0.1, a loopback address") as caught:
        get(url, make_source(["partner.example"], []), settings)
    assert isinstance(caught.value, PermanentError) and caught.value.code == "private_address"
    assert url in caught.value.reason
    assert httpserver.log == []


def test_a_listed_private_network_is_allowed_and_the_host_name_is_kept(dns, settings: Settings, httpserver: HTTPServer) -> None:
    lookups = dns({"partner.example": ["127.0.0.1"]})
    httpserver.expect_request("/a.html").respond_with_data("<p>hello</p>", content_type="text/html")
    page = get(f"http://partner.example:{httpserver.port}/a.html", make_source(["partner.example"], ["127.0.0.1"]), settings)
    assert page.body == b"<p>hello</p>"
    # we connected to the address we checked, but spoke to the partner by its name
    assert httpserver.log[0][0].headers["Host"] == f"partner.example:{httpserver.port}"
    # one lookup, the checked one: the socket did not resolve the name again (no DNS-rebinding window)
    assert lookups == ["partner.example"]


def test_any_private_address_among_several_refuses_the_host(dns, settings: Settings, httpserver: HTTPServer) -> None:
    dns({"partner.example": ["93.184.215.14", "10.1.2.3"]})
    with pytest.raises(PrivateAddressError, match="10.1.2.3, a private address"):
        get("http://partner.example/a.html", make_source(["partner.example"], []), settings)


def test_a_redirect_to_an_internal_host_is_refused_after_the_hop(
    dns, settings: Settings, httpserver: HTTPServer, second_server: HTTPServer
) -> None:
    dns({"partner.example": ["127.0.0.1"], "intranet.example": ["127.0.0.2"]})
    httpserver.expect_request("/moved").respond_with_data(
        "", status=302, headers={"Location": f"http://intranet.example:{second_server.port}/admin"})
    second_server.expect_request("/admin").respond_with_data("<p>internal</p>", content_type="text/html")
    url = f"http://partner.example:{httpserver.port}/moved"
    domains = ["partner.example", "intranet.example"]
    # the partner itself is allowed (127.0.0.1/32) but the hop lands on 127.0.0.2, which is not
    with pytest.raises(PrivateAddressError, match="intranet.example resolves to 127.0.0.2"):
        get(url, make_source(domains, ["127.0.0.1/32"]), settings)
    assert second_server.log == []
    # listed, the same redirect is followed
    page = get(url, make_source(domains, ["127.0.0.0/8"]), settings)
    assert page.url == f"http://intranet.example:{second_server.port}/admin" and page.body == b"<p>internal</p>"


def test_a_redirect_to_the_metadata_service_is_refused(settings: Settings, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/moved").respond_with_data(
        "", status=301, headers={"Location": "http://169.254.169.254/latest/meta-data/iam/"})
    url = httpserver.url_for("/moved")
    loopback = ["127.0.0.0/8", "::1"]
    with pytest.raises(PrivateAddressError, match="169.254.169.254, a cloud metadata address"):
        get(url, make_source(["localhost", "169.254.169.254"], loopback), settings)
    # without the address among the allowed domains the domain gate refuses it first; named and permanent too
    with pytest.raises(DomainNotAllowedError, match="169.254.169.254"):
        get(url, make_source(["localhost"], loopback), settings)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"), ("::1", "loopback"), ("::ffff:127.0.0.1", "loopback"),
        ("10.0.0.1", "private"), ("192.168.1.1", "private"), ("fc00::1", "private"),
        ("169.254.169.254", "cloud metadata"), ("fd00:ec2::254", "cloud metadata"), ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"), ("0.0.0.0", "unspecified"), ("224.0.0.1", "multicast"),
        ("100.64.0.1", "non-public"), ("240.0.0.1", "reserved"),
        ("93.184.215.14", None), ("2606:4700::1111", None),
    ],
)
def test_refusal_reasons(address: str, reason: str | None) -> None:
    got = refusal_reason(ipaddress.ip_address(address))
    assert (got is None) if reason is None else (got is not None and reason in got)


def test_listing_a_network_allows_exactly_that_network() -> None:
    allowed = parse_networks(["10.0.0.0/8", "169.254.169.254", "::1"])
    assert refusal_reason(ipaddress.ip_address("10.9.8.7"), allowed) is None
    assert refusal_reason(ipaddress.ip_address("169.254.169.254"), allowed) is None
    assert refusal_reason(ipaddress.ip_address("::1"), allowed) is None
    assert refusal_reason(ipaddress.ip_address("192.168.0.1"), allowed) is not None


@pytest.fixture
def tls_partner(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """An HTTPS server on 127.0.0.1 with a self-signed certificate for partner.example only."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout", str(key),
                    "-out", str(cert), "-subj", "/CN=partner.example", "-addext", "subjectAltName=DNS:partner.example"],
                   check=True, capture_output=True)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], cert
    server.shutdown()
    server.server_close()


def test_https_to_the_checked_address_still_verifies_the_certificate_by_name(dns, tls_partner: tuple[int, Path]) -> None:
    port, cert = tls_partner
    dns({"partner.example": ["127.0.0.1"], "impostor.example": ["127.0.0.1"]})
    session = requests.Session()
    session.mount("https://", guarded_adapter(parse_networks(["127.0.0.1"])))
    assert session.get(f"https://partner.example:{port}/", verify=str(cert), timeout=5).text == "ok"
    # same address, other name: the certificate is checked against the name, not the pinned address
    with pytest.raises(requests.exceptions.SSLError):
        session.get(f"https://impostor.example:{port}/", verify=str(cert), timeout=5)


# --- allow entries with a port ---------------------------------------------------------------------------

@pytest.fixture
def neighbour() -> Iterator[HTTPServer]:
    """Another service on the partner's own (private) address, on another port: an admin console, say."""
    yield from _serving("127.0.0.1")


def test_an_address_allowed_on_one_port_is_refused_on_its_other_ports(
    dns, settings: Settings, httpserver: HTTPServer, neighbour: HTTPServer
) -> None:
    dns({"partner.example": ["127.0.0.1"]})
    httpserver.expect_request("/a.html").respond_with_data("<p>hello</p>", content_type="text/html")
    httpserver.expect_request("/moved").respond_with_data(
        "", status=302, headers={"Location": f"http://partner.example:{neighbour.port}/admin"})
    neighbour.expect_request("/admin").respond_with_data("<p>internal</p>", content_type="text/html")
    pinned = make_source(["partner.example"], [f"127.0.0.1:{httpserver.port}"])

    assert get(f"http://partner.example:{httpserver.port}/a.html", pinned, settings).body == b"<p>hello</p>"
    # a redirect to another port of the same address: refused when its connection is opened
    with pytest.raises(PrivateAddressError, match=rf"on port {httpserver.port} only, not on port {neighbour.port}"):
        get(f"http://partner.example:{httpserver.port}/moved", pinned, settings)
    # and so is a link straight to it (a feed item, a sitemap entry)
    with pytest.raises(PrivateAddressError):
        get(f"http://partner.example:{neighbour.port}/admin", pinned, settings)
    assert neighbour.log == []
    # an entry without a port allows every port, as before; a network entry can name a port too
    page = get(f"http://partner.example:{httpserver.port}/moved", make_source(["partner.example"], ["127.0.0.1"]), settings)
    assert page.body == b"<p>internal</p>"
    network_on_port = make_source(["partner.example"], [f"127.0.0.0/8:{neighbour.port}"])
    assert get(f"http://partner.example:{neighbour.port}/admin", network_on_port, settings).body == b"<p>internal</p>"


def test_an_ipv6_entry_with_a_port_is_written_in_brackets(dns, settings: Settings) -> None:
    server = HTTPServer(host="::1", port=0)
    server.start()
    try:
        server.expect_request("/a.html").respond_with_data("<p>six</p>", content_type="text/html")
        dns({"partner.example": ["::1"]})
        url = f"http://partner.example:{server.port}/a.html"
        assert get(url, make_source(["partner.example"], [f"[::1]:{server.port}"]), settings).body == b"<p>six</p>"
        with pytest.raises(PrivateAddressError, match="::1, a loopback address, allowed for this source on port 1 only"):
            get(url, make_source(["partner.example"], ["[::1]:1"]), settings)
    finally:
        server.clear()
        server.stop()


@pytest.mark.parametrize(("entry", "network", "port"), [
    ("10.0.0.5", "10.0.0.5/32", None), ("10.0.0.0/24", "10.0.0.0/24", None), ("10.0.0.5:8080", "10.0.0.5/32", 8080),
    ("10.0.0.0/24:8080", "10.0.0.0/24", 8080), ("fd00::1", "fd00::1/128", None), ("[fd00::1]:443", "fd00::1/128", 443),
    ("[fd00::/64]:443", "fd00::/64", 443),
])
def test_allow_entry_syntax(entry: str, network: str, port: int | None) -> None:
    (parsed,) = parse_networks([entry])
    assert (str(parsed.network), parsed.port) == (network, port)
    inside = parsed.network.network_address + (parsed.network.num_addresses > 1)
    assert refusal_reason(inside, (parsed,), port or 8) is None
    assert (refusal_reason(inside, (parsed,), 9) is None) == (port is None)
