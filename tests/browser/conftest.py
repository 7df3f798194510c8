"""Playwright driving Debian's Chromium (/usr/bin/chromium); `playwright install` is never needed."""

import importlib.util
import os

import pytest

# `make test` installs no browser extras: these modules import Playwright and axe-core's binding,
# so without them they are not even collected (`make test-browser` installs both).
if not all(importlib.util.find_spec(name) for name in ("playwright", "axe_playwright_python")):
    collect_ignore_glob = ["test_*.py"]

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    # Playwright's sync API refuses to run inside a running event loop; Django's async-unsafe
    # checks would otherwise trip over it in the same thread.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    # bypass_csp: these tests wait with page.wait_for_function, whose string the page's policy
    # refuses to evaluate. The policy itself is held by test_content_security_policy_in_browser,
    # whose own page honours it.
    context = browser.new_context(accept_downloads=True, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


@pytest.fixture
def strict_page(browser):
    """A page that honours the Content-Security-Policy, as every visitor's browser does."""
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


@pytest.fixture(scope="session", autouse=True)
def no_connection_left_open(django_db_setup, django_db_blocker):
    """The live server's request threads and the in-process worker's threads keep their database
    connections (persistent on PostgreSQL): end them, so the test database can be dropped."""
    yield
    with django_db_blocker.unblock():
        from django.db import connection

        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
