"""Forms that change tracks: title, tags, move, and the bulk actions."""

from django import forms

from studio.access import projects_for_user
from studio.http import IdField, parse_id
from studio.models import Project


class TrackTitleForm(forms.Form):
    title = forms.CharField(label="Title", max_length=200)


class TagsForm(forms.Form):
    tags = forms.CharField(label="Tags (comma-separated)", required=False, max_length=400)


class MoveForm(forms.Form):
    project = forms.ModelChoiceField(label="Move to project", queryset=Project.objects.none(), empty_label=None)

    def __init__(self, *args, user, exclude: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        projects = projects_for_user(user, "editor").filter(archived_at__isnull=True)
        if exclude:
            projects = projects.exclude(pk=exclude)
        self.fields["project"].queryset = projects.order_by("name")


class CopyForm(MoveForm):
    project = forms.ModelChoiceField(label="Copy to project", queryset=Project.objects.none(), empty_label=None)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "copy_%s")  # beside the move form on the track page
        super().__init__(*args, **kwargs)


BULK_ACTIONS = [
    ("zip", "Download ZIP"), ("tag", "Add tags"), ("move", "Move"), ("copy", "Copy"), ("favorite", "Favorite"), ("delete", "Delete"),
]  # fmt: skip


class BulkForm(forms.Form):
    action = forms.ChoiceField(choices=BULK_ACTIONS)
    tracks = forms.TypedMultipleChoiceField(coerce=int, choices=(), required=True,
                                            error_messages={"required": "Select at least one track."})
    tags = forms.CharField(label="Tags", required=False, max_length=400)
    project = IdField(label="Move to project", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any id is accepted here; the view keeps only the project's own tracks.
        self.fields["tracks"].valid_value = lambda value: parse_id(value) is not None
