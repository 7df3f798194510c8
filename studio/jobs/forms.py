"""The generate form: the model picker plus the chosen model's own parameters, from its spec."""

from django import forms

from studio.catalog import CatalogModel, available_models
from studio.catalog.params import Flag


class GenerateForm(forms.Form):
    """The model picker plus the chosen model's own parameters, built from its spec."""

    model = forms.ChoiceField(label="Model")

    def __init__(self, *args, catalog_model: CatalogModel, **kwargs):
        super().__init__(*args, **kwargs)
        self.catalog_model = catalog_model
        self.fields["model"].choices = [(m.key, m.label) for m in available_models()]
        self.fields["model"].initial = catalog_model.key
        self.fields.update(catalog_model.spec.form_fields())

    def clean(self):
        cleaned = super().clean()
        for name, message in self.catalog_model.spec.cross_errors(cleaned).items():
            self.add_error(name if name in self.fields else None, message)
        return cleaned

    def main_fields(self) -> list:
        """The model's own fields shown at once (the picker is drawn on its own)."""
        more = self.catalog_model.spec.more_options()
        return [f for f in self if f.name != "model" and f.name not in more]

    def more_fields(self) -> list:
        """The rarely changed ones, under "More options"."""
        more = self.catalog_model.spec.more_options()
        return [f for f in self if f.name in more]

    def more_has_errors(self) -> bool:
        return any(f.errors for f in self.more_fields())

    def parameters(self) -> dict:
        """The cleaned parameters as stored on the generation (JSON-safe)."""
        return self.catalog_model.spec.to_wire(self.cleaned_data)


def initial_from_params(catalog_model: CatalogModel, params: dict, *, variation: bool = False) -> dict:
    """Form values that reproduce stored wire parameters; a variation leaves the seed to chance."""
    initial = {}
    for param in catalog_model.spec.params:
        if param.name not in params or (variation and param.name == "seed"):
            continue
        value = params[param.name]
        if isinstance(param, Flag):
            value = "true" if value else "false"
        initial[param.name] = value
    return initial
