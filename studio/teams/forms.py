"""Forms of projects, members and invitations."""

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.core.validators import MaxLengthValidator

from studio.models import Project


class ProjectForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = ["name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}


class MemberForm(forms.Form):
    who = forms.EmailField(label="E-mail address", max_length=254)
    role = forms.ChoiceField(label="Role", choices=[("editor", "Editor"), ("viewer", "Viewer")], initial="viewer")


class SignInForm(AuthenticationForm):
    """Django's sign-in form, with the username's length checked: Django sets the field's
    max_length after building it, so no validator checks it, and a longer name reached the
    sign-in throttle's table (a database error, not a wrong password)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].validators.append(MaxLengthValidator(self.fields["username"].max_length))


class InvitationSignupForm(UserCreationForm):
    """Sign-up through an invitation: the account's address is the invited one, shown, not editable.
    The same form as the sign-up page, so the same username and password rules."""

    email = forms.EmailField(label="E-mail address", disabled=True, required=False)

    class Meta(UserCreationForm.Meta):
        fields = ("email", "username")

    def __init__(self, *args, invitation, **kwargs):
        # On the instance before validation: the password must not resemble the address either.
        super().__init__(*args, instance=get_user_model()(email=invitation.email), **kwargs)

    def clean(self):
        cleaned = super().clean()
        if get_user_model().objects.filter(email__iexact=self.instance.email, is_active=True).exists():
            raise forms.ValidationError("An account already uses this address: sign in with it to join.")
        return cleaned


class RoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=[("editor", "Editor"), ("viewer", "Viewer")])


class DeleteProjectForm(forms.Form):
    confirm = forms.CharField(label="Type the project's name to delete it and all its audio", max_length=120)

    def __init__(self, *args, project: Project, **kwargs):
        super().__init__(*args, **kwargs)
        self.project = project

    def clean_confirm(self):
        if self.cleaned_data["confirm"].strip() != self.project.name.strip():
            raise forms.ValidationError("That is not the project's name: nothing was deleted.")
        return self.cleaned_data["confirm"]
