"""Writes for organisations, memberships and cohorts."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
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
        cohort.full_clean()
        cohort.save()
        # Voice weights enter every score of the organisation.
        cohort_changed.send(sender=Cohort, organisation_id=cohort.organisation_id)
    return cohort


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
