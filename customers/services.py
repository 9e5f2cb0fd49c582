"""Writes for organisations, memberships and cohorts."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.text import slugify

from customers.models import (
    DEFAULT_COHORTS,
    ApiToken,
    Cohort,
    Membership,
    Organisation,
    OrganisationRole,
)
from customers.selectors import References, name_clash, references_to
from customers.signals import cohort_changed, organisation_created


@transaction.atomic
def organisation_create(
    *, name: str, slug: str = "", time_zone: str = "Europe/London"
) -> Organisation:
    """Create an organisation with its default cohorts (Colleagues, Citizens, Leaders) and
    default benefit metrics."""
    organisation = Organisation.objects.create(
        name=name, slug=slug or slugify(name)[:80], time_zone=time_zone
    )
    Cohort.objects.bulk_create(
        Cohort(organisation=organisation, **cohort) for cohort in DEFAULT_COHORTS
    )
    organisation_created.send(sender=Organisation, organisation=organisation)
    return organisation


def membership_create(
    *,
    user: AbstractBaseUser,
    organisation: Organisation,
    role: str = OrganisationRole.MEMBER,
    cohort: Cohort | None = None,
    job_title: str = "",
) -> Membership:
    if cohort is not None and cohort.organisation_id != organisation.pk:
        raise ValueError("The cohort belongs to another organisation.")
    if cohort is not None and cohort.archived_at is not None:
        raise ValidationError(f"The cohort “{cohort.name}” is archived: it takes no new members.")
    return Membership.objects.create(
        user=user, organisation=organisation, role=role, cohort=cohort, job_title=job_title
    )


def cohort_update(
    *,
    cohort: Cohort,
    name: str,
    description: str,
    kind: str,
    size: int,
    voice_weight: Decimal,
) -> Cohort:
    cohort.name = name
    cohort.description = description
    cohort.kind = kind
    cohort.size = size
    cohort.voice_weight = voice_weight
    with transaction.atomic():
        save_named(cohort, noun="cohort")
        # Voice weights enter every score of the organisation.
        cohort_changed.send(sender=Cohort, organisation_id=cohort.organisation_id)
    return cohort


class StillReferenced(Exception):
    """An object cannot be deleted: ``references`` still refer to it (archive it instead)."""

    def __init__(self, what: str, references: References) -> None:
        verb = "refers" if references.total == 1 else "refer"
        super().__init__(f"Not deleted: {references} {verb} to {what}. Archive it instead.")
        self.references = references


def save_named(obj: models.Model, *, noun: str) -> None:
    """Validate and save ``obj``, whose name is unique in its organisation (the form has
    said so already; this is the rule for every other caller). Two people creating the
    same name at once: the database's unique constraint refuses the second, which gets the
    same message."""
    clash = name_clash(obj, noun)
    if clash:
        raise ValidationError({"name": clash})
    obj.full_clean()
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as error:
        raise ValidationError({"name": f"Another {noun} already has this name."}) from error


def cohort_create(
    *,
    organisation: Organisation,
    name: str,
    description: str,
    kind: str,
    size: int,
    voice_weight: Decimal,
) -> Cohort:
    """Add a cohort to the organisation. Every product is rescored, so the stored shares
    and the "as if only this cohort counted" ranks have the new cohort's column."""
    cohort = Cohort(
        organisation=organisation,
        name=name.strip(),
        description=description,
        kind=kind,
        size=size,
        voice_weight=voice_weight,
    )
    with transaction.atomic():
        save_named(cohort, noun="cohort")
        cohort_changed.send(sender=Cohort, organisation_id=organisation.pk)
    return cohort


def _cohort_locked(cohort: Cohort) -> Cohort | None:
    # Only the cohort row (the model's default ordering would join the organisation).
    return Cohort.objects.select_for_update(of=("self",)).order_by().filter(pk=cohort.pk).first()


def cohort_archive(*, cohort: Cohort) -> Cohort:
    """Archive a cohort: it takes no new estimates, ballots, members, invitations or item
    targets, and what already refers to it stays. Archiving twice keeps the first time.

    No rescore: scores do not read ``archived_at``, so the estimates for an archived cohort
    still count and no score changes (the cohorts page says so)."""
    with transaction.atomic():
        locked = _cohort_locked(cohort)
        if locked is not None and locked.archived_at is None:
            locked.archived_at = timezone.now()
            locked.save(update_fields=["archived_at"])
        cohort.archived_at = locked.archived_at if locked else cohort.archived_at
    return cohort


def cohort_restore(*, cohort: Cohort) -> Cohort:
    """Make an archived cohort active again."""
    with transaction.atomic():
        locked = _cohort_locked(cohort)
        if locked is not None and locked.archived_at is not None:
            locked.archived_at = None
            locked.save(update_fields=["archived_at"])
    cohort.archived_at = None
    return cohort


def cohort_delete(*, cohort: Cohort) -> None:
    """Delete a cohort nothing refers to; StillReferenced (with what refers to it) otherwise.

    The cohort row is locked while the references are counted and it is deleted, so two
    admins act one after the other. A row referring to it that another transaction is
    writing at that moment is checked by the database when that transaction commits (the
    foreign keys are deferred): it then fails, so nothing is left pointing at a deleted
    cohort, and nothing committed before the count is lost. Nothing is rescored: with no
    estimates it had no share in any score (a stored share of 0 for it is read as none)."""
    with transaction.atomic():
        locked = _cohort_locked(cohort)
        if locked is None:
            return
        references = references_to(locked)
        if references:
            raise StillReferenced(f"the cohort “{locked.name}”", references)
        locked.delete()


# ---------------------------------------------------------------- personal API tokens

API_TOKEN_SCHEME = "bb"
# Recording every use would write a row per API request; a minute is precise enough to
# tell a person which token is still in use.
API_TOKEN_LAST_USED_PRECISION = timedelta(minutes=1)


class ApiTokenRefused(Exception):
    """The presented token cannot authenticate; ``str()`` says why, for the caller."""


def _api_token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _api_token_prefix(raw: str) -> str | None:
    scheme, _, rest = raw.partition("_")
    prefix, _, secret = rest.partition("_")
    if scheme != API_TOKEN_SCHEME or not prefix or not secret or len(prefix) > 16:
        return None
    return prefix


def api_token_create(
    *, user: AbstractBaseUser, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Issue a token for ``user``. Returns the stored token and its secret, which is shown
    to the person once and never stored: only its SHA-256 hash is."""
    for _ in range(5):
        prefix = secrets.token_hex(6)
        raw = f"{API_TOKEN_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic():
                token = ApiToken.objects.create(
                    user=user,
                    name=name,
                    prefix=prefix,
                    key_hash=_api_token_hash(raw),
                    expires_at=expires_at,
                )
        except IntegrityError:  # two tokens drew the same 48-bit prefix: draw again
            continue
        return token, raw
    raise RuntimeError("Could not draw a unique API token prefix.")


def api_token_revoke(*, user: AbstractBaseUser, token_id: int) -> ApiToken | None:
    """Revoke one of ``user``'s own tokens; None when the user has no such token. Revoking
    twice keeps the first time."""
    token = ApiToken.objects.filter(user=user, pk=token_id).first()
    if token is None:
        return None
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def api_token_authenticate(*, raw: str) -> ApiToken:
    """The active token ``raw`` names, with its user, or ApiTokenRefused.

    One indexed lookup by the public prefix and a constant-time comparison of hashes: an
    unknown token costs no more than a known one, and nothing like a password hash."""
    digest = _api_token_hash(raw)
    prefix = _api_token_prefix(raw)
    token = None
    if prefix:
        with contextlib.suppress(ApiToken.DoesNotExist):
            token = ApiToken.objects.select_related("user").get(prefix=prefix)
    if token is None or not hmac.compare_digest(token.key_hash, digest):
        raise ApiTokenRefused("Invalid token.")
    now = timezone.now()
    if token.revoked_at is not None:
        raise ApiTokenRefused("This token has been revoked.")
    if token.expires_at is not None and token.expires_at <= now:
        raise ApiTokenRefused("This token has expired.")
    if not token.user.is_active:
        raise ApiTokenRefused("The token's user is inactive.")
    if token.last_used_at is None or now - token.last_used_at >= API_TOKEN_LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
