"""Parameter specs: one description of a model parameter drives the form field, its label and
help text, and the server-side validation, so the page and the checks cannot drift apart."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator


@dataclass(frozen=True)
class Param:
    name: str  # the provider's wire name
    label: str
    help: str = ""
    required: bool = False
    default: Any = None
    advanced: bool = False  # rarely changed: the form shows it under "More options"

    def form_field(self) -> forms.Field:
        raise NotImplementedError

    def to_wire(self, value: Any) -> Any:
        return value


# Text the provider docs give no limit: this many characters at most (text is stored with its
# job and sent with every attempt; no prompt or description needs more).
TEXT_LIMIT_WHERE_DOCS_ARE_SILENT = 5_000


@dataclass(frozen=True)
class Text(Param):
    max_length: int | None = None  # None: TEXT_LIMIT_WHERE_DOCS_ARE_SILENT
    rows: int = 3

    def form_field(self) -> forms.Field:
        max_length = self.max_length or TEXT_LIMIT_WHERE_DOCS_ARE_SILENT
        return forms.CharField(
            label=self.label,
            help_text=self.help,
            required=self.required,
            max_length=max_length,
            initial=self.default,
            strip=True,
            widget=forms.Textarea(attrs={"rows": self.rows, "maxlength": max_length}),
        )


class InRange:
    """A number field that checks its range while reading a value, before Django's step check,
    which computes in floats and fails (OverflowError, ValueError) far out of range."""

    def to_python(self, value):
        number = super().to_python(value)
        if isinstance(number, Decimal) and not number.is_finite():
            return number  # "NaN", "Infinity": the field's own check says "Enter a number."
        if number is not None:
            for validator in self.validators:
                if isinstance(validator, (MinValueValidator, MaxValueValidator)):
                    validator(number)  # the usual words: "Ensure this value is less than or equal to …"
        return number


class InRangeIntegerField(InRange, forms.IntegerField):
    pass


class InRangeDecimalField(InRange, forms.DecimalField):
    pass


@dataclass(frozen=True)
class Number(Param):
    min: float | int = 0
    max: float | int = 1
    step: float | int | None = None
    integer: bool = False

    def form_field(self) -> forms.Field:
        kwargs = dict(
            label=self.label,
            help_text=self.help or self._range_help(),
            required=self.required,
            initial=self.default,
            min_value=self.min,
            max_value=self.max,
        )
        if self.integer:
            return InRangeIntegerField(step_size=self.step, **kwargs)
        step = Decimal(str(self.step)) if self.step else None
        field = InRangeDecimalField(step_size=step, **kwargs)
        field.widget.attrs["step"] = str(self.step or "any")
        return field

    def _range_help(self) -> str:
        return f"{self.min} to {self.max}" + (f", in steps of {self.step}" if self.step else "")

    def to_wire(self, value: Any) -> Any:
        if value is None:
            return None
        return int(value) if self.integer else float(value)


@dataclass(frozen=True)
class Choice(Param):
    choices: tuple[tuple[str, str], ...] = ()
    blank_label: str = ""  # when set and not required: an empty choice meaning "provider default"

    def form_field(self) -> forms.Field:
        return forms.ChoiceField(
            label=self.label, help_text=self.help, required=self.required, initial=self.default, choices=self.options()
        )

    def options(self) -> list[tuple[str, str]]:
        """The choices as offered, with the "provider default" blank first when there is one."""
        choices = list(self.choices)
        if not self.required and self.blank_label:
            choices.insert(0, ("", self.blank_label))
        return choices

    def to_wire(self, value: Any) -> Any:
        return value or None


@dataclass(frozen=True)
class Flag(Param):
    """A boolean the provider distinguishes from "not sent": a select of default / yes / no."""

    def form_field(self) -> forms.Field:
        return forms.TypedChoiceField(
            label=self.label,
            help_text=self.help,
            required=False,
            initial="" if self.default is None else ("true" if self.default else "false"),
            choices=[("", "Provider default"), ("true", "Yes"), ("false", "No")],
            coerce=lambda v: v == "true",
            empty_value=None,
        )


# A rule across fields: gets the cleaned values, answers {field name: message} for what breaks it.
CrossCheck = Callable[[dict[str, Any]], dict[str, str]]


@dataclass(frozen=True)
class ParamSpec:
    params: tuple[Param, ...] = field(default_factory=tuple)
    prompt_param: str = "prompt"  # the one that titles the track
    checks: tuple[CrossCheck, ...] = ()

    def cross_errors(self, cleaned: dict[str, Any]) -> dict[str, str]:
        errors: dict[str, str] = {}
        for check in self.checks:
            for name, message in check(cleaned).items():
                errors.setdefault(name, message)
        return errors

    def form_fields(self) -> dict[str, forms.Field]:
        return {p.name: p.form_field() for p in self.params}

    def more_options(self) -> set[str]:
        """The parameters the form tucks under "More options"."""
        return {p.name for p in self.params if p.advanced}

    def to_wire(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        """The provider's request body: only the values the user set, in wire form."""
        wire = {}
        for p in self.params:
            value = p.to_wire(cleaned.get(p.name))
            if value is not None and value != "":
                wire[p.name] = value
        return wire
