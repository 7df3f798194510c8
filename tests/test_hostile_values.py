"""Every route, fed values no form would send, answers 4xx (or a page), never a 5xx.

The routes are read from the URL configuration when the test runs, so a view added later is
covered the day it lands. Each route gets every hostile value as its path's words, as every
query and form field any page reads (the catalog's parameters included), and as a raw JSON body;
and in the headers that carry numbers (Range, Content-Length); by GET and by POST (CSRF
satisfied); signed out, as an editor and as the owner."""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode

import pytest
from django.test import Client

from studio.catalog import MODELS
from studio.library.find import FindForm
from studio.models import Role, ShareLink
from tests.library.fixtures import add_member, make_track
from tests.test_security_attacks import alices_things, fill, studio_routes  # noqa: F401  (a fixture)

HOSTILE = [
    "²",  # a superscript digit: str.isdigit() says yes, int() says no
    "٣",  # an Arabic-Indic digit: int() reads it as 3
    "9" * 400,  # past every integer column; float() overflows
    "-1",
    "",
    "99999999999999999999999",
    "1e309",  # infinity once read as a float
    "[" * 100_000,  # nested past the JSON parser's recursion limit
    "not json {",
    "\x00",
]
HEADER_VALUES = ["²", "٣", "9" * 400, "-1"]
JSON_BODIES = ["[" * 50_000, '{"sections": [' * 2_000, "not json {", "\x00"]
# What pages read from requests: every form's fields and the query words the views look at.
GENERIC_NAMES = sorted(
    {
        *FindForm.base_fields,
        "model", "from", "ids", "variation", "download", "row", "favorite", "archived", "track", "page",
        "title", "tags", "project", "tracks", "action", "who", "role", "name", "description", "confirm",
        "expires_in", "allow_download", "username", "password", "email", "password1", "password2",
        "old_password", "new_password1", "new_password2", "next",
    }
)
FIELD_NAMES = sorted({*GENERIC_NAMES, *(param.name for model in MODELS for param in model.spec.params)})


def spread(names, shift: int) -> dict[str, str]:
    """Each name a hostile value, shifted per request: over len(HOSTILE) requests every name
    gets every value, and no request carries more than a couple of the long ones."""
    return {name: HOSTILE[(number + shift) % len(HOSTILE)] for number, name in enumerate(names)}


def path_variants(route: str, ids: dict) -> list[str]:
    """The route filled with real ids, then with a hostile value in each of its parameters."""
    paths = [fill(route, ids)]
    for name in re.findall(r"<(?:\w+:)?(\w+)>", route):
        for value in ("²", "٣", "9" * 400, "[" * 1000, "%00"):
            paths.append(fill(route, ids | {name: quote(value, safe="%")}))
    return [p for p in paths if p]


@pytest.fixture
def world(alices_things, project, alice, bob, client):  # noqa: F811
    add_member(project, bob, Role.EDITOR)
    track = make_track(project, alice)
    link = ShareLink.objects.create(project=project, created_by=alice, allow_download=True)
    bob_membership = project.memberships.get(user=bob)
    ids = alices_things | {"membership_id": bob_membership.pk, "link_id": link.pk, "track_id": track.pk}
    signed_out, as_editor, as_owner = Client(), Client(), Client()
    as_editor.force_login(bob)
    as_owner.force_login(alice)
    return ids, {"signed out": signed_out, "editor": as_editor, "owner": as_owner}, link


def answers(client: Client, path: str, data: dict[str, str]):
    yield "GET", client.get(f"{path}?{urlencode(data)}")
    yield "POST", client.post(path, data)


def five_hundreds(who: str, path: str, method: str, response, data) -> list[str]:
    if response.status_code < 500:
        return []
    shown = {name: value[:12] for name, value in data.items()} if isinstance(data, dict) else data[:12]
    return [f"{who}: {method} {path[:100]!r} -> {response.status_code} with {shown!r}"]


@pytest.mark.parametrize("route", [route for route, _name in studio_routes()])
def test_no_route_answers_a_server_error_to_hostile_values(route, world):
    ids, clients, link = world
    paths = path_variants(route, ids)
    if "s/<str:token>" in route:  # a share link's token, not a callback's
        paths = [p.replace(ids["token"], link.token) for p in paths]
    failures = []
    for who, client in clients.items():
        for path in paths if who == "owner" else paths[:1]:
            for shift in range(len(HOSTILE)) if path == paths[0] else [0]:
                data = spread(FIELD_NAMES, shift) | {"model": MODELS[shift % len(MODELS)].key}
                for method, response in answers(client, path, data):
                    failures += five_hundreds(who, path, method, response, data)
        for body in JSON_BODIES:
            response = client.post(paths[0], body, content_type="application/json")
            failures += five_hundreds(who, paths[0], "POST json", response, body)
        for value in HEADER_VALUES:  # numbers read from headers: a player's Range, a callback's length
            response = client.get(paths[0], HTTP_RANGE=f"bytes={value}-{value}")
            failures += five_hundreds(who, paths[0], "GET Range", response, value)
            response = client.post(paths[0], "{}", content_type="application/json", CONTENT_LENGTH=value)
            failures += five_hundreds(who, paths[0], "POST Content-Length", response, value)
    assert failures == []


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.key)
def test_every_model_parameter_takes_every_hostile_value_without_a_server_error(model, world):
    """The generate form with one model chosen reads that model's own fields: each of them gets
    every value, as the form posts it and as the page's field refresh asks for it."""
    ids, clients, _link = world
    names = [param.name for param in model.spec.params]
    failures = []
    for shift in range(len(HOSTILE)):
        data = spread(names, shift) | {"model": model.key}
        for route in ("generate", "generate/fields"):
            path = f"/projects/{ids['project_id']}/{route}/"
            for method, response in answers(clients["owner"], path, data):
                failures += five_hundreds("owner", path, method, response, data)
    assert failures == []


def test_the_table_holds_the_values_first_reported():
    assert {"²", "9" * 400, "[" * 100_000} <= set(HOSTILE)
    assert {"from", "ids", "track", "duration_seconds", "compositionPlan"} <= set(FIELD_NAMES)
