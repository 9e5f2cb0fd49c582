from datetime import datetime, timedelta

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.db.models import Q

from customers.models import Cohort, Invitation, Membership, Organisation, OrganisationRole
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


# ---------------------------------------------------------------- people (members page)


class InvitationForm(forms.Form):
    """Invite someone to the organisation by e-mail, with a role and the cohort they speak
    for."""

    email = forms.EmailField(
        label="E-mail address",
        max_length=254,
        error_messages={
            "required": "Enter the e-mail address to invite.",
            "invalid": "Enter an e-mail address like name@example.gov.uk.",
        },
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "email"}),
    )
    role = forms.ChoiceField(
        label="Organisation role",
        choices=OrganisationRole.choices,
        initial=OrganisationRole.MEMBER,
        help_text="Admins manage people, products, cohorts and metrics.",
    )
    cohort = forms.ModelChoiceField(
        label="Speaks for (cohort)",
        queryset=Cohort.objects.none(),
        required=False,
        empty_label="No cohort",
    )

    def __init__(self, *args, organisation: Organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.organisation = organisation
        self.fields["cohort"].queryset = Cohort.objects.filter(
            organisation=organisation, archived_at__isnull=True
        ).order_by("name")


class MemberForm(forms.ModelForm):
    """An admin changes a member's organisation role, cohort and job title."""

    class Meta:
        model = Membership
        fields = ["role", "cohort", "job_title"]
        labels = {
            "role": "Organisation role",
            "cohort": "Speaks for (cohort)",
            "job_title": "Job title",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        membership = self.instance
        cohort = self.fields["cohort"]
        cohort.queryset = Cohort.objects.filter(
            Q(archived_at__isnull=True) | Q(pk=membership.cohort_id),
            organisation_id=membership.organisation_id,
        ).order_by("name")
        cohort.empty_label = "No cohort"
        self.fields["role"].choices = OrganisationRole.choices
        self.fields["job_title"].required = False
        prefix = f"member-{membership.pk}"
        for name, field in self.fields.items():
            field.widget.attrs["id"] = f"{prefix}-{name}"

    def _post_clean(self):
        # The service writes (and checks the last admin under its lock), not the form.
        pass


class InvitationAcceptForm(UserCreationForm):
    """The invited person's name, username and password (Django's password validators)."""

    first_name = forms.CharField(label="First name", max_length=150)
    last_name = forms.CharField(label="Last name", max_length=150)

    class Meta(UserCreationForm.Meta):
        fields = ("first_name", "last_name", "username")

    def __init__(self, *args, invitation: Invitation, **kwargs):
        local = invitation.email.rpartition("@")[0]
        kwargs.setdefault("initial", {}).setdefault("username", local[:150])
        super().__init__(*args, **kwargs)
        # The e-mail address takes part in the "too similar to your details" check.
        self.instance.email = invitation.email
        self.fields[
            "username"
        ].help_text = "What you sign in with: letters, digits and @ . + - _ only."
        self.fields["first_name"].widget.attrs["autocomplete"] = "given-name"
        self.fields["last_name"].widget.attrs["autocomplete"] = "family-name"
