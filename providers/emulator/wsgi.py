"""Just enough request/response plumbing for the provider modules to read like small views."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl


class BadJSON(ValueError):
    pass


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # below the mount point: "/v2/requests/status/abc" for "/pixazo/v2/requests/status/abc"
    headers: dict[str, str]  # names lower-cased
    body: bytes
    query: dict[str, str]
    mount_url: str  # absolute URL of the mount point as the client addressed it, e.g. "http://127.0.0.1:8001/pixazo"

    @classmethod
    def from_environ(cls, environ: dict, mount: str, path: str) -> Request:
        headers = {
            key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")
        }
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(key):
                headers[key.replace("_", "-").lower()] = environ[key]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
        return cls(
            method=environ["REQUEST_METHOD"].upper(),
            path=path,
            headers=headers,
            body=body,
            query=dict(parse_qsl(environ.get("QUERY_STRING", ""))),
            mount_url=f"{environ.get('wsgi.url_scheme', 'http')}://{host}{mount}",
        )

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadJSON(str(exc)) from exc


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)
    declared_length: int | None = None  # a Content-Length other than the body's (a truncated answer)

    def wsgi_status(self) -> str:
        return f"{self.status} {HTTPStatus(self.status).phrase}"

    def wsgi_headers(self) -> list[tuple[str, str]]:
        return [("Content-Type", self.content_type), ("Content-Length", str(self.declared_length or len(self.body))), *self.headers]


def json_response(status: int, data: Any, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, json.dumps(data).encode(), "application/json", list(headers or []))


def error_response(status: int, error: str, message: str, headers: list[tuple[str, str]] | None = None) -> Response:
    return json_response(status, {"error": error, "message": message}, headers)


def not_found(message: str = "Resource not found") -> Response:
    return error_response(404, "Not Found", message)
