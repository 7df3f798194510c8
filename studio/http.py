"""What every view is handed, and the one way to read an id or a number from a request.

`int()` takes what no form should send ("²", "٣", " 7", "1_000") and any size, which fails later
(a database that cannot hold it: a 500). Every id or number a request carries goes through
`parse_int` / `parse_id`, or the `<id:...>` path converter: ASCII digits only, within range,
else nothing (which the view answers with 400 or 404)."""

from __future__ import annotations

from collections.abc import Iterable

from django import forms
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

MAX_ID = 2**63 - 1  # the largest value of the database's big integer ids
_MAX_DIGITS = len(str(MAX_ID))


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
