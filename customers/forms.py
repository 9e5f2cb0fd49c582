from datetime import datetime, timedelta

from django import forms

from customers.models import Cohort
from customers.selectors import name_clash


class CohortForm(forms.ModelForm):
    class Meta:
        model = Cohort
        fields = ["name", "kind", "description", "size", "voice_weight"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        labels = {"size": "Size (number of people)"}

    def clean_voice_weight(self):
        weight = self.cleaned_data["voice_weight"]
        if weight is not None and weight < 0:
            raise forms.ValidationError("Voice weight cannot be negative.")
        return weight

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        candidate = Cohort(pk=self.instance.pk, organisation=self.instance.organisation, name=name)
        clash = name_clash(candidate, "cohort")
        if clash:
            raise forms.ValidationError(clash)
        return name


class ApiTokenForm(forms.Form):
    """Name a new personal API token and say how long it lasts."""

    EXPIRY_DAYS = {"30": 30, "90": 90, "365": 365, "never": None}

    name = forms.CharField(
        label="Token name",
        max_length=80,
        help_text="What the token is for, e.g. “Monthly report script”.",
        error_messages={"required": "Enter a name for the token."},
    )
    expires = forms.ChoiceField(
        label="Expires",
        choices=[
            ("30", "In 30 days"),
            ("90", "In 90 days"),
            ("365", "In a year"),
            ("never", "Never"),
        ],
        initial="90",
    )

    def expires_at(self, now: datetime) -> datetime | None:
        days = self.EXPIRY_DAYS[self.cleaned_data["expires"]]
        return None if days is None else now + timedelta(days=days)
