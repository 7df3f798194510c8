"""Sign-in throttling: wrong passwords lock the pair of a username and the client's address, the
client's address is read from X-Forwarded-For only behind trusted proxies, and one address that
fails too often is locked whatever the usernames. Checked in-process, then through gunicorn
started as the README says, directly and behind a simulated proxy."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.test import Client

from tests.conftest import closed_port

ROOT = Path(__file__).resolve().parents[2]
WRONG = {"username": "alice", "password": "guess"}
RIGHT = {"username": "alice", "password": "pw-alice"}


def sign_in(data, *, peer: str, forwarded: str | None = None) -> int:
    headers = {"REMOTE_ADDR": peer} | ({"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {})
    return Client().post("/accounts/login/", data, **headers).status_code


@pytest.fixture
def behind_one_proxy(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.FORWARDED_ALLOW_IPS = ["10.0.0.2"]
    return "10.0.0.2"


def test_wrong_passwords_lock_the_username_from_that_address_only(alice, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(WRONG, peer="198.51.100.7") == 200
    assert sign_in(WRONG, peer="198.51.100.7") == 429  # the last one allowed locks
    assert sign_in(RIGHT, peer="198.51.100.7") == 429
    assert sign_in(RIGHT, peer="203.0.113.9") == 302  # alice herself, elsewhere, is not locked out


def test_without_trusted_proxies_a_forwarded_header_changes_nothing(alice, settings):
    for number in range(settings.AXES_FAILURE_LIMIT):
        sign_in(WRONG, peer="198.51.100.7", forwarded=f"192.0.2.{number}")
    assert sign_in(RIGHT, peer="198.51.100.7", forwarded="203.0.113.9") == 429


def test_behind_the_proxy_each_client_is_locked_out_alone(alice, settings, behind_one_proxy):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(WRONG, peer=behind_one_proxy, forwarded="198.51.100.7")
    assert sign_in(RIGHT, peer=behind_one_proxy, forwarded="198.51.100.7") == 429
    assert sign_in(RIGHT, peer=behind_one_proxy, forwarded="203.0.113.9") == 302  # everyone else behind the proxy


def test_a_spoofed_forwarded_entry_does_not_escape_the_lockout(alice, settings, behind_one_proxy):
    """The client writes its own X-Forwarded-For; the proxy appends the address it saw."""
    for number in range(settings.AXES_FAILURE_LIMIT):
        sign_in(WRONG, peer=behind_one_proxy, forwarded=f"192.0.2.{number}, 198.51.100.7")
    assert sign_in(RIGHT, peer=behind_one_proxy, forwarded="203.0.113.77, 198.51.100.7") == 429
    assert sign_in(RIGHT, peer=behind_one_proxy, forwarded="198.51.100.7, 203.0.113.9") == 302


def test_a_peer_that_is_not_a_trusted_proxy_is_the_client_whatever_it_forwards(alice, settings, behind_one_proxy):
    for number in range(settings.AXES_FAILURE_LIMIT):
        sign_in(WRONG, peer="198.51.100.7", forwarded=f"192.0.2.{number}")
    assert sign_in(RIGHT, peer="198.51.100.7", forwarded="203.0.113.9") == 429


def test_one_address_failing_across_usernames_is_locked_out_as_a_whole(alice, bob, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 12
    for number in range(12):
        sign_in({"username": f"guess{number}", "password": "x"}, peer="198.51.100.7")
    assert sign_in({"username": "bob", "password": "pw-bob"}, peer="198.51.100.7") == 429
    assert sign_in({"username": "bob", "password": "pw-bob"}, peer="203.0.113.9") == 302


# --- Through gunicorn -------------------------------------------------------------------------


def manage(*args, env):
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr


def browser_from(address: str) -> httpx.Client:
    """An HTTP client whose connections leave from `address` (any 127.x address is loopback)."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=20)


def post_login(client: httpx.Client, base: str, data: dict, forwarded: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    page = client.get(f"{base}/accounts/login/", headers=headers)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return client.post(f"{base}/accounts/login/", data=data | {"csrfmiddlewaretoken": token}, headers=headers).status_code


@pytest.fixture
def gunicorn_behind_a_proxy(tmp_path):
    """gunicorn as the README starts it, told that one proxy at 127.0.0.2 stands in front."""
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": f"sqlite:///{tmp_path}/web.sqlite3",
        "SECRET_KEY": "lockout-test-key-" + "x" * 40,
        "TRUSTED_PROXY_COUNT": "1",
        "FORWARDED_ALLOW_IPS": "127.0.0.2",
        "WEB_CONCURRENCY": "1",
    }
    manage("migrate", "--noinput", env=env)
    manage("shell", "-c", "from django.contrib.auth.models import User; User.objects.create_user('alice', 'alice@example.com', 'pw-alice')", env=env)
    port = closed_port()
    web = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "-c", "studio/gunicorn.conf.py", "studio.wsgi"],
        cwd=ROOT, env=env | {"BIND": f"127.0.0.1:{port}"}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                httpx.get(f"{base}/healthz")
                break
            except httpx.TransportError:
                assert web.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        yield base
    finally:
        web.terminate()
        web.wait(timeout=30)


def test_through_gunicorn_the_proxys_clients_and_direct_clients_are_told_apart(gunicorn_behind_a_proxy):
    base = gunicorn_behind_a_proxy
    proxy, direct, other_direct = browser_from("127.0.0.2"), browser_from("127.0.0.3"), browser_from("127.0.0.4")
    # Behind the proxy: an attacker's wrong passwords, each with a different spoofed entry.
    for number in range(5):
        assert post_login(proxy, base, WRONG, forwarded=f"192.0.2.{number}, 198.51.100.7") == (200 if number < 4 else 429)
    assert post_login(proxy, base, RIGHT, forwarded="198.51.100.7") == 429
    proxy.cookies.clear()
    assert post_login(proxy, base, RIGHT, forwarded="203.0.113.9") == 302  # alice, behind the same proxy
    # Straight to gunicorn from an address that is no proxy: its X-Forwarded-For is ignored.
    for number in range(5):
        assert post_login(direct, base, WRONG, forwarded=f"192.0.2.{number}") == (200 if number < 4 else 429)
    assert post_login(direct, base, RIGHT, forwarded="203.0.113.9") == 429
    assert post_login(other_direct, base, RIGHT) == 302


def test_a_username_longer_than_any_account_is_a_form_error_not_a_crash(db):
    response = Client().post("/accounts/login/", {"username": "x" * 400, "password": "guess"})
    assert response.status_code == 200 and "Ensure this value has at most 150 characters" in response.content.decode()
