"""Reads for organisations and cohorts; every read is scoped to one organisation."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pghistory.models
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Model, Q, QuerySet

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


def cohorts_offered(*, organisation: Organisation, keep: Iterable[int] = ()) -> QuerySet[Cohort]:
    """The cohorts a form offers to choose from: the organisation's active ones, and those of
    ``keep`` (ids already chosen), so an archived cohort already chosen still shows."""
    return cohort_list(organisation=organisation).filter(
        Q(archived_at__isnull=True) | Q(pk__in=list(keep))
    )


def name_clash(obj: Model, noun: str) -> str | None:
    """What to say when another ``noun`` of ``obj``'s organisation already has its name
    (compared without case, as people read names), or None."""
    clash = (
        type(obj)
        ._base_manager.filter(organisation_id=obj.organisation_id, name__iexact=obj.name.strip())
        .exclude(pk=obj.pk)
        .only("archived_at")
        .first()
    )
    if clash is None:
        return None
    if clash.archived_at is not None:
        return f"An archived {noun} already has this name: restore it, or choose another name."
    return f"Another {noun} already has this name."


@dataclass(frozen=True)
class References:
    """What still refers to an object: (count, what) pairs, e.g. (12, "benefit estimates")."""

    counts: tuple[tuple[int, str], ...]

    def __bool__(self) -> bool:
        return bool(self.counts)

    @property
    def total(self) -> int:
        return sum(count for count, _what in self.counts)

    def __str__(self) -> str:
        parts = [f"{count:,} {what}" for count, what in self.counts]
        return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def references_to(obj: Model) -> References:
    """Count every row that refers to ``obj`` (foreign keys and many-to-many), whichever app
    it lives in, one query per kind of row that can refer to it.

    Read from the model's reverse relations rather than listed here, so this lowest layer
    names none of the higher layers' models and a new kind of reference is never missed.
    History events are not references (they outlive what they describe, without a database
    constraint), and a many-to-many's hidden table is counted once, as its relation."""
    counts = []
    for rel in type(obj)._meta.get_fields(include_hidden=True):
        if not rel.auto_created or rel.concrete:
            continue  # not a reverse relation
        model = rel.related_model
        if model._meta.auto_created or issubclass(model, pghistory.models.Event):
            continue
        count = model._base_manager.filter(**{rel.field.name: obj}).count()
        if count:
            meta = model._meta
            counts.append((count, meta.verbose_name if count == 1 else meta.verbose_name_plural))
    return References(counts=tuple(counts))


def api_token_list(*, user: AbstractBaseUser) -> QuerySet[ApiToken]:
    """The user's own tokens, newest first, revoked ones included (they show as revoked)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-pk")
