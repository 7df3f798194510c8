"""Compare mode: the form that starts a set (several models, several prompts, the shared fields
once) and each model's own fields, which keep their defaults unless the user opens them."""

from __future__ import annotations

from django import forms
from django.conf import settings

from studio.catalog import CatalogModel, available_models
from studio.catalog.params import Choice, Flag, Number, ParamSpec
from studio.catalog.shared_fields import SHARED_FORMATS, filled_params
from studio.sets.csv_rows import BadCsv, Row, read_rows, rows_from_lines

# Filled once for every model of a set (shared_fields.TABLE says where each lands).
SHARED_SPEC = ParamSpec(
    params=(
        Number(
            name="length_seconds",
            label="Length (seconds)",
            min=0.5,
            max=300,
            help="0.5 to 300 seconds, sent to each model in its own unit and range (Stable Audio stops at 47 s, "
            "sound effects at 22 s); models without a length leave it to the model.",
        ),
        Flag(
            name="instrumental",
            label="Instrumental only",
            help="For the models that have the switch (Apiframe, Runware); the others leave it to the prompt.",
        ),
        Choice(
            name="output_format",
            label="Output format",
            choices=SHARED_FORMATS,
            blank_label="Each model's default",
            help="Each model gets the nearest format it offers; some offer no choice.",
        ),
    )
)
SHARED_NAMES = tuple(p.name for p in SHARED_SPEC.params)


class CompareForm(forms.Form):
    models = forms.MultipleChoiceField(
        label="Models",
        widget=forms.CheckboxSelectMultiple,
        help_text="Any of the offered models, of any kind: every prompt runs on each.",
    )
    prompts = forms.CharField(
        label="Prompts",
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="One per line. Or upload a CSV file instead.",
    )
    csv_file = forms.FileField(
        label="CSV file",
        required=False,
        help_text="A header row with a “prompt” column, plus optional “title” and columns named after "
        "parameters (length_seconds, music_length_ms, voice, …); one row per prompt. UTF-8, up to 1 MB.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["models"].choices = [(m.key, f"{m.label} · {m.kind_label}") for m in available_models()]
        self.fields.update(SHARED_SPEC.form_fields())
        self.columns: list[str] = []
        self.rows: list[Row] = []

    def clean(self):
        cleaned = super().clean()
        upload, lines = cleaned.get("csv_file"), cleaned.get("prompts") or ""
        if upload and lines.strip():
            raise forms.ValidationError("Give the prompts one way: in the box or as a CSV file, not both.")
        if upload:
            try:
                self.columns, self.rows = read_rows(upload.read())
            except BadCsv as exc:
                self.add_error("csv_file", str(exc))
                return cleaned
        else:
            self.rows = rows_from_lines(lines)
        if not self.rows and not self.errors:
            self.add_error("prompts", "Write at least one prompt, or upload a CSV file.")
        models = cleaned.get("models") or []
        if self.rows and models and len(self.rows) * len(models) > settings.MAX_SET_JOBS:
            raise forms.ValidationError(
                f"A set holds at most {settings.MAX_SET_JOBS} jobs: {len(self.rows)} prompts × {len(models)} models "
                f"make {len(self.rows) * len(models)}."
            )
        return cleaned

    def shared(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in SHARED_NAMES}


class ModelFieldsForm(forms.Form):
    """One model's own fields in a set: its parameters but those the shared fields fill."""

    def __init__(self, *args, catalog_model: CatalogModel, **kwargs):
        super().__init__(*args, prefix=catalog_model.key, **kwargs)
        self.catalog_model = catalog_model
        skip = filled_params(catalog_model)
        self.fields.update({name: f for name, f in catalog_model.spec.form_fields().items() if name not in skip})

    def raw_values(self) -> dict[str, str]:
        """What was posted for each field, as the generate form would take it; a field not posted
        keeps its default."""
        values = {}
        for name, field in self.fields.items():
            key = self.add_prefix(name)
            if self.is_bound and key in self.data:
                values[name] = self.data[key]
            elif field.initial not in (None, ""):
                values[name] = field.initial if isinstance(field.initial, str) else str(field.initial)
        return values


def model_fields_forms(data=None, *, initial: dict[str, dict] | None = None) -> list[ModelFieldsForm]:
    """Each offered model's own fields (those with any): bound to `data`, or unbound showing
    `initial` (model key → values)."""
    initial = initial or {}
    forms_ = [ModelFieldsForm(data, catalog_model=m, initial=initial.get(m.key)) for m in available_models()]
    return [form for form in forms_ if form.fields]
