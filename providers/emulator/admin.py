"""/_emulator/...: the same controls as the Emulator's methods, over HTTP, for tests in another process."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
    return not_found()


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
