"""What every view is handed, and the one way to read an id or a number from a request.

`int()` takes what no form should send ("²", "٣", " 7", "1_000") and any size, which fails later
(a database that cannot hold it: a 500). Every id or number a request carries goes through
`parse_int` / `parse_id`, or the `<id:...>` path converter: ASCII digits only, within range,
else nothing (which the view answers with 400 or 404)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from django import forms
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

MAX_ID = 2**63 - 1  # the largest value of the database's big integer ids
_MAX_DIGITS = len(str(MAX_ID))
# JSON from a request (a form's plan, a provider's callback) nests this deep at most: Python's
# parser recurses once per level and fails with RecursionError (a 500) near a thousand.
MAX_JSON_DEPTH = 32
_JSON_SPECIAL = re.compile(r'["\\\[\]{}]')  # what decides the depth: quotes, escapes, brackets


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def parse_int(value, *, low: int, high: int) -> int | None:
    """The integer `value` spells in ASCII digits (an optional leading "-"), if within
    [low, high]; else None."""
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    elif isinstance(value, str):
        text = value
    else:
        return None
    digits = text[1:] if text.startswith("-") else text
    if not (digits.isascii() and digits.isdigit()) or len(digits) > _MAX_DIGITS:
        return None
    number = int(text)
    return number if low <= number <= high else None


def parse_id(value) -> int | None:
    return parse_int(value, low=1, high=MAX_ID)


def parse_ids(values: Iterable, *, limit: int = 1000) -> list[int]:
    """The valid ids among `values` (at most `limit` of them, in order, without repeats)."""
    ids: list[int] = []
    for value in values:
        parsed = parse_id(value)
        if parsed is not None and parsed not in ids:
            ids.append(parsed)
            if len(ids) >= limit:
                break
    return ids


def json_depth_within(text: str | bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON in `text` nests arrays and objects at most `limit` deep, told without
    parsing it (brackets inside strings do not count)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    depth, in_string, escaped_at = 0, False, -1
    for match in _JSON_SPECIAL.finditer(text):
        at, char = match.start(), match.group()
        if at == escaped_at:
            continue
        if in_string:
            if char == "\\":
                escaped_at = at + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return False
        elif char in "]}":
            depth -= 1
    return True


def loads_json(text: str | bytes, *, max_depth: int = MAX_JSON_DEPTH):
    """json.loads for what a request carries: ValueError (never RecursionError) for JSON that
    nests deeper than `max_depth`, as for JSON that does not parse."""
    if not json_depth_within(text, max_depth):
        raise ValueError(f"nested more than {max_depth} levels deep")
    return json.loads(text)


class IdConverter:
    """The `<id:...>` path converter: an id the database can hold, else the route does not match (404)."""

    regex = f"[0-9]{{1,{_MAX_DIGITS}}}"

    def to_python(self, value: str) -> int:
        parsed = parse_id(value)
        if parsed is None:
            raise ValueError(value)
        return parsed

    def to_url(self, value) -> str:
        return str(int(value))


class IdField(forms.CharField):
    """A form field holding one id, read through parse_id."""

    default_error_messages = {"invalid": "Choose one of the options offered."}

    def to_python(self, value):
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        parsed = parse_id(text)
        if parsed is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return parsed
