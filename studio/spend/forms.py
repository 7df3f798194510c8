"""The owner's settings on the usage page: the project's monthly budget (and whether viewers see
the page), and each member's limits. Empty means the deployment's default."""

from decimal import Decimal

from django import forms
from django.core.validators import MinValueValidator

from studio.models import Membership, Project
from studio.spend import rates


class BudgetForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = ["monthly_budget", "usage_for_viewers"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        budget = self.fields["monthly_budget"]
        budget.label = f"Monthly budget ({rates.currency()})"
        budget.validators.append(MinValueValidator(Decimal(0)))
        budget.widget.attrs["min"] = "0"
        budget.help_text = (
            "What the project may spend each calendar month, running jobs counted at their estimate. "
            "Empty: the deployment's default, if any. The owner is told at 80 % and 100 %."
        )
        self.fields["usage_for_viewers"].label = "Viewers may see this page"


class MemberLimitsForm(forms.ModelForm):
    """One member's limits, in one row of the members table (its labels name the member)."""

    class Meta:
        model = Membership
        fields = ["daily_limit", "monthly_limit", "jobs_per_minute"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        who = self.instance.user.get_username()
        currency = rates.currency()
        labels = {
            "daily_limit": f"Daily limit for {who} ({currency})",
            "monthly_limit": f"Monthly limit for {who} ({currency})",
            "jobs_per_minute": f"Jobs a minute for {who}",
        }
        for name, field in self.fields.items():
            field.label = labels[name]
            lowest = 1 if name == "jobs_per_minute" else Decimal(0)
            field.validators.append(MinValueValidator(lowest))
            # The inputs sit in a table row; the row's form is an empty <form> they name.
            field.widget.attrs.update({"min": str(lowest), "aria-describedby": "limits-help", "form": f"limits-{self.instance.pk}"})
