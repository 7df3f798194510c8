"""From the compare form to the jobs of a set: one per prompt × model, each validated by its own
model's generate form before anything is created (all or nothing). Each job's parameters start
from the model's own fields (their defaults unless the user changed them), take the shared
fields mapped onto the model (shared_fields.TABLE), then the CSV row's own columns. Every
mistake is named by its row and column."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms

from studio.catalog import CatalogModel
from studio.catalog.params import Flag
from studio.catalog.shared_fields import lands, model_values
from studio.jobs.forms import GenerateForm
from studio.sets.csv_rows import Row
from studio.sets.forms import SHARED_NAMES, SHARED_SPEC

MAX_MESSAGES = 20
TRUE_WORDS, FALSE_WORDS = {"true", "yes", "y", "1", "on"}, {"false", "no", "n", "0", "off"}


@dataclass(frozen=True)
class PlannedJob:
    row: int
    column: int
    model: CatalogModel
    params: dict


class NotPlanned(Exception):
    """The set cannot start: every mistake found, in plain words."""

    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


def form_value(value: Any) -> str:
    """A parameter value as a posted form would carry it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _flag_text(text: str) -> str:
    """A CSV's yes/no in any usual spelling, as a Flag field takes it (else as written: the field says why)."""
    folded = text.strip().casefold()
    return "true" if folded in TRUE_WORDS else "false" if folded in FALSE_WORDS else text


def _shared_of_row(row: Row) -> tuple[dict[str, Any], list[str]]:
    """The row's own values for shared fields (a CSV column named after one), cleaned."""
    values, errors = {}, []
    fields = SHARED_SPEC.form_fields()
    for name in SHARED_NAMES:
        if name not in row.values:
            continue
        text = row.values[name]
        if isinstance(SHARED_SPEC.params[SHARED_NAMES.index(name)], Flag):
            text = _flag_text(text)
        try:
            values[name] = fields[name].clean(text)
        except forms.ValidationError as exc:
            errors.append(f"{row.where}, column {name}: {' '.join(exc.messages)}")
    return values, errors


def check_columns(columns: list[str], models: list[CatalogModel]) -> list[str]:
    """Every CSV column names a shared field or a parameter of at least one chosen model."""
    known = set(SHARED_NAMES) | {p.name for model in models for p in model.spec.params}
    return [
        f"Row 1, column {column}: no chosen model takes a parameter by that name "
        f"(shared: {', '.join(SHARED_NAMES)}; or a model's own, such as music_length_ms or voice)."
        for column in columns
        if column not in known
    ]


def plan_set(
    *, models: list[CatalogModel], rows: list[Row], shared: dict[str, Any], own: dict[str, dict[str, str]],
    columns: list[str] = (),
) -> list[PlannedJob]:  # fmt: skip
    """The set's jobs, or NotPlanned naming every mistake. `own`: each model's own fields as
    posted (ModelFieldsForm.raw_values)."""
    errors = check_columns(list(columns), models)
    jobs = []
    for row_number, row in enumerate(rows):
        row_shared, row_errors = _shared_of_row(row)
        errors += row_errors
        for column_number, model in enumerate(models):
            params, job_errors = _job(model, row, {**shared, **row_shared, "prompt": row.prompt}, own.get(model.key, {}))
            errors += [message for message in job_errors if message not in errors]
            if params is not None:
                jobs.append(PlannedJob(row_number, column_number, model, params))
    if errors:
        shown = errors[:MAX_MESSAGES]
        if len(errors) > MAX_MESSAGES:
            shown.append(f"… and {len(errors) - MAX_MESSAGES} more.")
        raise NotPlanned(shown)
    return jobs


def _job(model: CatalogModel, row: Row, shared: dict[str, Any], own: dict[str, str]) -> tuple[dict | None, list[str]]:
    """One job's parameters from the model's own generate form, or the mistakes, by row and column."""
    params = {p.name: p for p in model.spec.params}
    where = lands(model)
    data = {"model": model.key, **own}
    source = {name: f"the {model.label} field “{params[name].label}”" for name in own}
    for name, value in model_values(model, shared).items():
        data[name] = form_value(value)
        source[name] = {where.prompt: "prompt", where.length: "length_seconds", where.instrumental: "instrumental"}.get(
            name, "output_format"
        )
    for column, text in row.values.items():
        if column in params and column not in SHARED_NAMES:
            data[column] = _flag_text(text) if isinstance(params[column], Flag) else text
            source[column] = f"column {column}"
    form = GenerateForm(data, catalog_model=model)
    if form.is_valid():
        return form.parameters(), []
    errors = []
    for name, messages in form.errors.items():
        text = " ".join(messages)
        origin = source.get(name, "")
        if origin.startswith("the "):  # a model's own field: the same for every row
            errors.append(f"{origin[0].upper()}{origin[1:]}: {text}")
        elif origin:
            column = origin if origin.startswith("column ") else f"column {origin}"
            errors.append(f"{row.where}, {column} ({model.label}): {text}")
        else:
            errors.append(f"{row.where} ({model.label}): {text}")
    return None, errors
