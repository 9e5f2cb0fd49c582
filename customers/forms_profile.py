"""The forms of a person's own profile page: name and e-mail address, notification choices,
and the password (Django's own ``PasswordChangeForm``)."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordChangeForm

from customers.models import Membership


class ProfileDetailsForm(forms.Form):
    """The person's name and e-mail address. The address must be theirs alone: invitations
    and single sign-on find people by it."""

    first_name = forms.CharField(
        label="First name",
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    last_name = forms.CharField(
        label="Last name",
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    email = forms.EmailField(
        label="E-mail address",
        max_length=254,
        help_text="Notifications and the show-and-tell digest go here.",
        error_messages={
            "required": "Enter your e-mail address.",
            "invalid": "Enter an e-mail address like name@example.gov.uk.",
        },
        widget=forms.TextInput(
            attrs={"autocomplete": "email", "inputmode": "email", "spellcheck": "false"}
        ),
    )

    def __init__(self, *args, user, **kwargs):
        kwargs.setdefault(
            "initial",
            {"first_name": user.first_name, "last_name": user.last_name, "email": user.email},
        )
        super().__init__(*args, **kwargs)
        self.user = user

    def clean(self):
        cleaned = super().clean()
        if not (cleaned.get("first_name") or cleaned.get("last_name")) and not self.errors:
            raise forms.ValidationError(
                "Enter your first name or your last name, so colleagues know who you are."
            )
        return cleaned

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip()
        local, _, domain = email.rpartition("@")
        email = f"{local}@{domain.lower()}"
        taken = get_user_model().objects.filter(email__iexact=email).exclude(pk=self.user.pk)
        if taken.exists():
            raise forms.ValidationError(
                "Another account already uses this e-mail address. Each person needs their own."
            )
        return email


class NotificationChoicesForm(forms.ModelForm):
    """Which e-mails the person wants; an unticked box switches that kind off."""

    class Meta:
        model = Membership
        fields = ["notify_round_opened", "notify_round_closing", "notify_go_live", "notify_digest"]
        labels = {
            "notify_round_opened": "A voting round I can vote in opens",
            "notify_round_closing": "A round I have not voted in closes within 24 hours",
            "notify_go_live": "An item waits for my go-live signature",
            "notify_digest": "The show-and-tell digest of my products",
        }
        help_texts = dict.fromkeys(fields, "")

    @property
    def chosen(self) -> int:
        return sum(bool(self.cleaned_data[name]) for name in self.Meta.fields)


class PasswordForm(PasswordChangeForm):
    """Django's password change, without its autofocus: on a page of several forms, the
    cursor must not jump to the password on every visit."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["old_password"].widget.attrs.pop("autofocus", None)
