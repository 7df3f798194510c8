"""A composition plan: a song as global styles plus named, timed sections with their own lyrics
and styles (ElevenLabs Music, nested by Runware at `providerSettings.elevenlabs.music`).

Flat fields cannot say "a list of sections", so this parameter is one field holding the plan as
JSON. Its widget is a small section editor (add/remove sections, every input labelled) that
writes that JSON; without JavaScript the JSON textarea itself is the editor. The server checks
the plan against the spec either way and names the section and field of every mistake.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from studio.catalog.params import Param
from studio.http import loads_json

STYLE_LISTS = ("positiveGlobalStyles", "negativeGlobalStyles")
SECTION_KEYS = ("sectionName", "positiveLocalStyles", "negativeLocalStyles", "duration", "lines")
LIST_LABELS = {
    "positiveGlobalStyles": "positive global styles",
    "negativeGlobalStyles": "negative global styles",
    "positiveLocalStyles": "positive local styles",
    "negativeLocalStyles": "negative local styles",
    "lines": "lines",
}


@dataclass(frozen=True)
class PlanLimits:
    """The spec's bounds (specs/004): section length in whole seconds and name length. The spec
    gives lists of styles and lyric lines no bounds; the studio's own keep a plan to what a
    five-minute song can use (a plan is stored with its job and sent with every attempt)."""

    section_min_seconds: int = 3
    section_max_seconds: int = 120
    name_max_length: int = 100
    min_sections: int = 1
    max_total_seconds: int | None = 300  # the model's longest track
    max_sections: int = 100  # 300 seconds in sections of at least 3
    max_styles: int = 50  # in each list of styles
    style_max_length: int = 200  # characters of one style
    max_lines: int = 100  # lyric lines of one section
    line_max_length: int = 500  # characters of one line
    max_characters: int = 50_000  # the whole plan as JSON, before it is read


class CompositionPlanWidget(forms.Textarea):
    """The JSON textarea (the value that is posted), plus the editor that JavaScript builds on it."""

    template = "widgets/composition_plan.html"

    def __init__(self, *, limits: PlanLimits, attrs: dict | None = None):
        super().__init__(attrs={"rows": 8, "spellcheck": "false", **(attrs or {})})
        self.limits = limits

    def format_value(self, value: Any) -> str:
        if isinstance(value, (dict, list)):
            return json.dumps(value, indent=2, ensure_ascii=False)
        return "" if value is None else str(value)

    def get_context(self, name: str, value: Any, attrs: dict | None) -> dict:
        context = super().get_context(name, value, attrs)
        widget_attrs = context["widget"]["attrs"]
        own_help = f"{widget_attrs.get('id') or name}_json_help"
        described = widget_attrs.get("aria-describedby")
        widget_attrs["aria-describedby"] = f"{described} {own_help}" if described else own_help
        context["limits"] = self.limits
        return context

    def render(self, name: str, value: Any, attrs: dict | None = None, renderer=None) -> str:
        # The project template, not the form renderer's: the editor is more than one element.
        return mark_safe(render_to_string(self.template, self.get_context(name, value, attrs)))


class CompositionPlanField(forms.Field):
    """Reads the plan's JSON and answers it cleaned: a JSON-safe dict in the wire's names."""

    def __init__(self, *, limits: PlanLimits, **kwargs):
        self.limits = limits
        kwargs.setdefault("widget", CompositionPlanWidget(limits=limits))
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> dict | None:
        if value in (None, "", {}):
            return None
        if isinstance(value, dict):
            return value
        if isinstance(value, str) and len(value) > self.limits.max_characters:
            raise ValidationError(
                f"The composition plan is {len(value):,} characters long; at most {self.limits.max_characters:,} fit.",
                code="too_long",
            )
        try:
            parsed = loads_json(value)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"The composition plan is not valid JSON ({exc}).", code="invalid") from exc
        return parsed if parsed not in ({}, None) else None

    def clean(self, value: Any) -> dict | None:
        plan = super().clean(value)
        return None if plan is None else clean_plan(plan, self.limits)


def clean_plan(plan: Any, limits: PlanLimits = PlanLimits()) -> dict:
    """Check `plan` against the spec; answer it normalised (blank entries dropped, every list
    present) or raise ValidationError with one message per problem."""
    problems: list[str] = []
    if not isinstance(plan, dict):
        raise ValidationError(
            "The composition plan must be a JSON object with positiveGlobalStyles, negativeGlobalStyles and sections."
        )
    for key in sorted(set(plan) - {*STYLE_LISTS, "sections"}):
        problems.append(f"The composition plan has an unknown field “{key}”.")
    cleaned: dict[str, Any] = {
        key: _strings(plan.get(key), LIST_LABELS[key], "The plan’s", problems, _style_bounds(limits)) for key in STYLE_LISTS
    }
    sections = plan.get("sections")
    if not isinstance(sections, list) or len(sections) < limits.min_sections:
        problems.append(f"The composition plan needs at least {limits.min_sections} section.")
        sections = sections if isinstance(sections, list) else []
    if len(sections) > limits.max_sections:
        problems.append(f"The composition plan has {len(sections)} sections; at most {limits.max_sections} fit.")
        sections = sections[: limits.max_sections]
    cleaned["sections"] = [_clean_section(number, s, limits, problems) for number, s in enumerate(sections, 1)]
    total = sum(s["duration"] for s in cleaned["sections"] if isinstance(s.get("duration"), int))
    if limits.max_total_seconds and total > limits.max_total_seconds:
        problems.append(
            f"The sections add up to {total} seconds; a track can be at most {limits.max_total_seconds} seconds."
        )
    if problems:
        raise ValidationError(problems)
    return cleaned


def _clean_section(number: int, section: Any, limits: PlanLimits, problems: list[str]) -> dict:
    if not isinstance(section, dict):
        problems.append(f"Section {number} must be an object with a sectionName, a duration and lines.")
        return {}
    name = section.get("sectionName")
    shown = name.strip() if isinstance(name, str) else ""
    title = f"Section {number}" + (f" (“{_shorten(shown)}”)" if shown else "")
    for key in sorted(set(section) - set(SECTION_KEYS)):
        problems.append(f"{title} has an unknown field “{key}”.")
    if not isinstance(name, str) or not name.strip():
        problems.append(f"{title}: the section name is required.")
        name = ""
    elif len(name.strip()) > limits.name_max_length:
        problems.append(f"{title}: the section name must be at most {limits.name_max_length} characters.")
    duration = section.get("duration")
    low, high = limits.section_min_seconds, limits.section_max_seconds
    if isinstance(duration, float) and duration.is_integer():
        duration = int(duration)
    if duration is None:
        problems.append(f"{title}: the duration is required ({low} to {high} seconds).")
    elif isinstance(duration, bool) or not isinstance(duration, int) or not low <= duration <= high:
        problems.append(f"{title}: the duration must be a whole number of seconds from {low} to {high}.")
        duration = None
    cleaned = {"sectionName": name.strip()}
    for key in ("positiveLocalStyles", "negativeLocalStyles"):
        cleaned[key] = _strings(section.get(key), LIST_LABELS[key], title, problems, _style_bounds(limits))
    cleaned["duration"] = duration
    cleaned["lines"] = _strings(
        section.get("lines"), LIST_LABELS["lines"], title, problems, (limits.max_lines, limits.line_max_length)
    )
    return cleaned


def _style_bounds(limits: PlanLimits) -> tuple[int, int]:
    return limits.max_styles, limits.style_max_length


def _strings(value: Any, label: str, owner: str, problems: list[str], bounds: tuple[int, int]) -> list[str]:
    """A list of strings, blank entries dropped; missing means empty (the wire always gets the list).
    `bounds`: how many entries, and how many characters each, at most."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(f"{owner} {label} must be a list of text.")
        return []
    entries = [v.strip() for v in value if v.strip()]
    most, longest = bounds
    if len(entries) > most:
        problems.append(f"{owner} {label}: at most {most} entries, not {len(entries)}.")
    if any(len(entry) > longest for entry in entries):
        problems.append(f"{owner} {label}: each entry at most {longest} characters.")
    return entries


def _shorten(text: str, length: int = 40) -> str:
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


@dataclass(frozen=True)
class CompositionPlan(Param):
    """A plan of sections for a song; empty means "let the prompt decide"."""

    limits: PlanLimits = PlanLimits()

    def form_field(self) -> forms.Field:
        return CompositionPlanField(
            limits=self.limits,
            label=self.label,
            help_text=self.help,
            required=self.required,
            initial=self.default,
        )

    def to_wire(self, value: Any) -> Any:
        return value or None
