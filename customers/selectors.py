"""Reads for organisations and cohorts; every read is scoped to one organisation."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from customers.models import ApiToken, Cohort, Membership, Organisation


def membership_for_user(user: AbstractBaseUser) -> Membership | None:
    """The user's membership (with its organisation), or None for a user in no organisation."""
    if not user.is_authenticated:
        return None
    cached = getattr(user, "_membership_cache", False)
    if cached is not False:
        return cached
    membership = (
        Membership.objects.select_related("organisation", "cohort").filter(user=user).first()
    )
    user._membership_cache = membership
    return membership


def organisation_for_user(user: AbstractBaseUser) -> Organisation | None:
    membership = membership_for_user(user)
    return membership.organisation if membership else None


def cohort_list(*, organisation: Organisation) -> QuerySet[Cohort]:
    return Cohort.objects.filter(organisation=organisation).order_by("name")


def api_token_list(*, user: AbstractBaseUser) -> QuerySet[ApiToken]:
    """The user's own tokens, newest first, revoked ones included (they show as revoked)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-pk")
