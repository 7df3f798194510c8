from django import forms

from .catalog import CatalogModel, available_models
from .models import Project


class ProjectForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = ["name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}


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

    def parameters(self) -> dict:
        """The cleaned parameters as stored on the generation (JSON-safe)."""
        params = {}
        for param in self.catalog_model.spec.params:
            value = param.to_wire(self.cleaned_data.get(param.name))
            if value is not None and value != "":
                params[param.name] = value
        return params
