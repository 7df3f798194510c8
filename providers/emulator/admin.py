"""/_emulator/...: the same controls as the Emulator's methods, over HTTP, for tests in another process.

    POST /_emulator/outage {"provider": "pixazo", "mode": "unavailable"}   take a gateway down
    POST /_emulator/outage {"provider": "pixazo", "mode": null}            bring it back

Modes (config.OUTAGE_MODES): "unavailable" answers every request 503 and "rate_limited" 429 with
Retry-After, both before doing anything (no job is made); "held" does the work (a submit makes
its job) and holds the answer `outage_hold_seconds`, past the client's timeout. A connection
refused before the request is sent cannot be had on a port the other providers share: point
the provider at a closed port for that.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Callable

from .config import ConfigError
from .wsgi import BadJSON, Request, Response, error_response, json_response, not_found

if TYPE_CHECKING:
    from .app import Emulator

MOUNT = "_emulator"


def handle(emulator: Emulator, request: Request) -> Response:
    route = (request.method, request.path)
    if route == ("GET", "/health"):
        return json_response(200, {"ok": True})
    if route == ("GET", "/stats"):
        return json_response(200, emulator.stats())
    if route == ("GET", "/config"):
        return json_response(200, emulator.settings())
    if route == ("POST", "/config"):
        return _configure(emulator, request)
    if route == ("POST", "/reset"):
        emulator.reset()
        return json_response(200, {"ok": True})
    if route == ("POST", "/outage"):
        return _outage(emulator, request)
    return not_found()


def _outage(emulator: Emulator, request: Request) -> Response:
    try:
        body = request.json()
    except BadJSON:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("provider"), str):
        return error_response(400, "Bad Request", 'Body must be {"provider": key, "mode": mode or null}')
    outages = dict(emulator.settings()["outages"])
    if body.get("mode") is None:
        outages.pop(body["provider"], None)
    else:
        outages[body["provider"]] = body["mode"]
    try:
        return json_response(200, {"outages": emulator.configure(outages=outages)["outages"]})
    except ConfigError as exc:
        return error_response(400, "Bad Request", str(exc))


def through_outage(emulator: Emulator, provider: str, answer: Callable[[], Response]) -> Response:
    """`answer()`, unless the provider is taken down: then as its outage mode says."""
    settings = emulator.settings()
    mode = settings["outages"].get(provider)
    if mode == "unavailable":
        return error_response(503, "Service Unavailable", f"{provider} is down (emulated outage)")
    if mode == "rate_limited":
        return error_response(429, "Too Many Requests", "Rate limit exceeded (emulated outage)", [("Retry-After", "1")])
    response = answer()
    if mode == "held":
        time.sleep(settings["outage_hold_seconds"])  # longer than the client waits
    return response


def _configure(emulator: Emulator, request: Request) -> Response:
    try:
        changes = request.json()
    except BadJSON:
        return error_response(400, "Bad Request", "Body must be a JSON object of settings")
    if not isinstance(changes, dict):
        return error_response(400, "Bad Request", "Body must be a JSON object of settings")
    try:
        return json_response(200, emulator.configure(**changes))
    except ConfigError as exc:
        return error_response(400, "Bad Request", str(exc))
