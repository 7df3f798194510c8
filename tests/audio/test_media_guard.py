"""Provider media URLs are checked before any connection is opened, on every redirect hop.

Nothing here connects anywhere but loopback: the guard's decision is checked with an injected
resolver, and the one real download talks to a server on 127.0.0.1 that redirects."""

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import respx

from studio.audio import media_guard
from studio.audio import store as audio_store
from studio.audio.media_guard import MediaURLRefused, check_media_url
from studio.audio.store import DownloadFailed, download

PROVIDER = "https://api.provider.test"


def resolver_to(*addresses):
    """A stand-in for socket.getaddrinfo that answers `addresses` and records what it was asked."""
    asked = []

    def resolve(host, port, **kwargs):
        asked.append(host)
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    resolve.asked = asked
    return resolve


def no_resolving(host, port, **kwargs):
    raise AssertionError(f"resolved {host}: the URL should have been refused before")


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("https://127.0.0.1/a.mp3", "127.0.0.1"),
        ("https://10.0.0.1/a.mp3", "10.0.0.1"),
        ("https://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("https://192.168.1.20/a.mp3", "192.168.1.20"),
        ("https://[::1]/a.mp3", "::1"),
        ("https://[fd00::1]/a.mp3", "fd00::1"),
        ("https://cdn.evil.test/a.mp3", "10.1.2.3"),  # a public-looking name that resolves inside
        ("https://metadata.evil.test/", "169.254.169.254"),
    ],
)
def test_private_loopback_and_link_local_addresses_are_refused(url, address):
    with pytest.raises(MediaURLRefused, match="private address"):
        check_media_url(url, provider_base_url=PROVIDER, resolve=resolver_to(address))


def test_one_private_address_among_public_ones_is_enough_to_refuse():
    with pytest.raises(MediaURLRefused):
        check_media_url("https://cdn.test/a.mp3", provider_base_url=PROVIDER, resolve=resolver_to("93.184.216.34", "10.0.0.1"))


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://cdn.test/a.mp3", "gopher://127.0.0.1:6379/_FLUSHALL", "http://cdn.test/a.mp3", "//cdn.test/a", "https:///a"],
)
def test_other_schemes_plain_http_and_hostless_urls_are_refused_without_resolving(url):
    with pytest.raises(MediaURLRefused):
        check_media_url(url, provider_base_url=PROVIDER, resolve=no_resolving)


def test_loopback_is_allowed_only_as_the_configured_provider_endpoint():
    emulator = "http://127.0.0.1:18155/pixazo"
    check_media_url("http://127.0.0.1:18155/pixazo/media/x/output.wav", provider_base_url=emulator, resolve=no_resolving)
    for other in ("http://127.0.0.1:6379/", "http://127.0.0.1/media/x.wav", "https://127.0.0.1:18155/x"):
        with pytest.raises(MediaURLRefused):
            check_media_url(other, provider_base_url=emulator, resolve=resolver_to("127.0.0.1"))


def test_a_public_https_host_is_allowed():
    resolve = resolver_to("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946")
    check_media_url("https://cdn.provider.test/a.mp3", provider_base_url=PROVIDER, resolve=resolve)
    assert resolve.asked == ["cdn.provider.test"]


class _Redirector(BaseHTTPRequestHandler):
    target = ""

    def do_GET(self):
        self.server.paths.append(self.path)
        self.send_response(302)
        self.send_header("Location", self.target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def redirector():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirector)
    server.paths = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def recorded_connections(monkeypatch):
    """Every URL the downloader opens a connection to."""
    opened = []
    real_stream = audio_store._client.stream

    def stream(method, url, **kwargs):
        opened.append(str(url))
        return real_stream(method, url, **kwargs)

    monkeypatch.setattr(audio_store._client, "stream", stream)
    return opened


@pytest.mark.parametrize(
    "target",
    [
        "https://10.0.0.1/a.wav",
        "https://169.254.169.254/latest/meta-data/iam/",
        "http://127.0.0.1:6379/",  # loopback, but not the provider's endpoint
        "file:///etc/passwd",
    ],
)
def test_a_redirect_to_a_private_address_is_refused_before_following_it(
    redirector, recorded_connections, monkeypatch, db, target
):
    monkeypatch.setattr(_Redirector, "target", target)
    base = f"http://127.0.0.1:{redirector.server_port}/provider"
    start = f"{base}/media/1/output.wav"

    with pytest.raises(DownloadFailed, match="refused") as refused:
        download(start, project_id=1, provider_base_url=base)

    assert not refused.value.retryable
    assert recorded_connections == [start]  # the redirect's target was never opened
    assert redirector.paths == ["/provider/media/1/output.wav"]


def test_a_refused_first_url_opens_no_connection_at_all(recorded_connections, db):
    with pytest.raises(DownloadFailed, match="refused"):
        download("https://169.254.169.254/latest/meta-data/", project_id=1, provider_base_url=PROVIDER)
    assert recorded_connections == []


# --- Addresses that cannot be parsed, IPv6 forms of private IPv4, and DNS that changes ----------


@pytest.mark.parametrize(
    "url",
    ["https://a.example:99999/x.mp3", "https://[::1/x", "https://a.example:-1/x", "https://a.example:８０/x"],
)
def test_an_address_that_cannot_be_parsed_is_refused_not_crashed(url):
    with pytest.raises(MediaURLRefused, match="not a valid web address"):
        check_media_url(url, provider_base_url=PROVIDER, resolve=no_resolving)


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254 (cloud metadata)
        "64:ff9b:1::c0a8:114",  # local-use NAT64 of 192.168.1.20
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::127.0.0.1",  # IPv4-compatible
    ],
)
def test_every_ipv6_form_of_a_private_ipv4_address_is_refused(address):
    with pytest.raises(MediaURLRefused, match="private address"):
        check_media_url("https://cdn.evil.test/a.mp3", provider_base_url=PROVIDER, resolve=resolver_to(address))


def test_ipv6_forms_of_public_ipv4_addresses_stay_allowed():
    for address in ("64:ff9b::5db8:d822", "2002:5db8:d822::1"):  # 93.184.216.34
        check_media_url("https://cdn.provider.test/a.mp3", provider_base_url=PROVIDER, resolve=resolver_to(address))


@respx.mock
def test_the_download_connects_to_the_checked_address_under_the_host_name(monkeypatch, db):
    """A rebinding name answers a public address to the check and loopback afterwards: the
    connection goes to the address that was checked, with the name kept for Host and TLS."""
    answers = iter([["93.184.216.34"], ["127.0.0.1"], ["127.0.0.1"]])
    looked_up = []

    def rebinding(host, port, **kwargs):
        looked_up.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in next(answers)]

    monkeypatch.setattr(media_guard.socket, "getaddrinfo", rebinding)
    route = respx.get("https://93.184.216.34/a.wav").respond(200, content=b"RIFF" + b"\0" * 60, headers={"Content-Type": "audio/wav"})

    stored = download("https://cdn.rebind.test/a.wav", project_id=1, provider_base_url=PROVIDER)

    assert stored.extension == "wav" and looked_up == ["cdn.rebind.test"]
    request = route.calls.last.request
    assert request.headers["Host"] == "cdn.rebind.test"
    assert request.extensions["sni_hostname"] == "cdn.rebind.test"


@respx.mock
def test_each_redirect_hop_is_checked_and_pinned_too(monkeypatch, db):
    public = {"cdn.one.test": "93.184.216.34", "cdn.two.test": "2606:2800:220:1:248:1893:25c8:1946"}

    def resolve(host, port, **kwargs):
        address = public[host]
        return [(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(media_guard.socket, "getaddrinfo", resolve)
    respx.get("https://93.184.216.34:8443/a.wav").respond(302, headers={"Location": "https://cdn.two.test/b.wav"})
    second = respx.get("https://[2606:2800:220:1:248:1893:25c8:1946]/b.wav").respond(
        200, content=b"RIFF" + b"\0" * 60, headers={"Content-Type": "audio/wav"}
    )

    download("https://cdn.one.test:8443/a.wav", project_id=1, provider_base_url=PROVIDER)

    assert second.calls.last.request.headers["Host"] == "cdn.two.test"
    assert second.calls.last.request.extensions["sni_hostname"] == "cdn.two.test"


@respx.mock
def test_a_redirect_to_an_address_with_an_invalid_port_fails_the_download_plainly(monkeypatch, db):
    monkeypatch.setattr(media_guard.socket, "getaddrinfo", resolver_to("93.184.216.34"))
    respx.get("https://93.184.216.34/a.wav").respond(302, headers={"Location": "https://a.example:99999/x.mp3"})
    with pytest.raises(DownloadFailed, match="not a valid web address") as failed:
        download("https://cdn.one.test/a.wav", project_id=1, provider_base_url=PROVIDER)
    assert not failed.value.retryable
