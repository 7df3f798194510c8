"""Provider media URLs are checked before any connection is opened, on every redirect hop.

Nothing here connects anywhere but loopback: the guard's decision is checked with an injected
resolver, and the one real download talks to a server on 127.0.0.1 that redirects."""

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

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
