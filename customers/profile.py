"""Writes of a person's own profile: name and e-mail address, notification choices,
password. Each saves on its own, all or nothing."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordChangeForm
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from customers.models import Membership

EMAIL_TAKEN = "Another account already uses this e-mail address. Each person needs their own."


def _lock_email(email: str) -> None:
    """Serialise claims on one address: the user table has no unique e-mail (Django's own
    table), so two people choosing the same address at once take turns here and the second
    sees the first's. SQLite writes one transaction at a time anyway."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"email:{email.lower()}"])


def profile_update(
    *, user: AbstractBaseUser, first_name: str, last_name: str, email: str
) -> AbstractBaseUser:
    """Change the person's name and e-mail address. ValidationError when another account
    uses the address (whatever its case)."""
    with transaction.atomic():
        _lock_email(email)
        taken = get_user_model().objects.filter(email__iexact=email).exclude(pk=user.pk)
        if taken.exists():
            raise ValidationError({"email": EMAIL_TAKEN})
        user.first_name, user.last_name, user.email = first_name, last_name, email
        user.save(update_fields=["first_name", "last_name", "email"])
    return user


def notification_choices_update(*, membership: Membership, **choices: bool) -> Membership:
    """Switch each kind of e-mail on or off (``notify_*`` fields only)."""
    fields = [name for name in choices if name.startswith("notify_")]
    if len(fields) != len(choices):
        raise ValueError("Only the notify_* choices can be changed here.")
    for name, value in choices.items():
        setattr(membership, name, bool(value))
    with transaction.atomic():
        membership.save(update_fields=fields)
    return membership


def password_change(*, form: PasswordChangeForm) -> AbstractBaseUser:
    """Save a valid password change form (old password checked, new one validated). The
    view keeps the person signed in with ``update_session_auth_hash``."""
    with transaction.atomic():
        return form.save()
