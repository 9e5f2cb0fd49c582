"""Invitations: how a person joins an organisation.

An organisation admin (or ``create_organisation``) invites an e-mail address; the person
gets a one-time link that expires after 7 days. Accepting it makes them a member with the
invitation's role and cohort, once.

The link's secret is an HMAC, under ``SECRET_KEY``, of the invitation's id, address and the
time this link was issued (as Django's password-reset tokens are): the e-mail task rebuilds
the link from ids, so no secret travels through the outbox or lies in the database, which
holds only its SHA-256 hash (as for API tokens). Issuing the link again (a resend) changes
the time, so the earlier link stops working.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from customers.models import (
    Cohort,
    Invitation,
    Membership,
    NotificationKind,
    NotificationSent,
    Organisation,
    OrganisationRole,
)
from customers.tasks import send_invitation
from outbox.services import outbox_enqueue

logger = logging.getLogger(__name__)
SEND_TASK = send_invitation.name

INVITATION_LIFETIME = timedelta(days=7)
_KEY_SALT = "customers.invitations.key"
# Longer than any key this module issues (64 hex digits): anything longer is not one.
_MAX_KEY_LENGTH = 128


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _key_for(invitation: Invitation) -> str:
    """The secret of the invitation's current link (see the module's docstring)."""
    issued = invitation.sent_at.isoformat() if invitation.sent_at else ""
    value = f"{invitation.pk}:{invitation.email.lower()}:{issued}"
    return salted_hmac(_KEY_SALT, value, algorithm="sha256").hexdigest()


def _issue(invitation: Invitation, *, now) -> str:
    """Give the invitation a fresh link, valid for INVITATION_LIFETIME from ``now``."""
    invitation.sent_at = now
    invitation.expires_at = now + INVITATION_LIFETIME
    raw = _key_for(invitation)
    invitation.key_hash = _hash(raw)
    invitation.save(update_fields=["sent_at", "expires_at", "key_hash"])
    return raw


def _normalise_email(email: str) -> str:
    email = (email or "").strip()
    local, at, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}" if at else email


def _membership_for_email(email: str) -> Membership | None:
    return (
        Membership.objects.select_related("organisation", "user")
        .filter(user__email__iexact=email)
        .order_by("deactivated_at", "pk")  # an active membership first
        .first()
    )


def _refuse_member(*, email: str, organisation: Organisation) -> None:
    """ValidationError when ``email`` already belongs to a member (one person, one
    organisation). Another organisation is not named."""
    membership = _membership_for_email(email)
    if membership is None:
        return
    if membership.organisation_id != organisation.pk:
        raise ValidationError(
            f"{email} already belongs to a member of another organisation; a person can "
            "belong to one organisation only.",
            code="member_elsewhere",
        )
    if membership.deactivated_at is not None:
        raise ValidationError(
            f"{email} belongs to a deactivated member of {organisation.name}: reactivate them "
            "on the members page instead.",
            code="deactivated_member",
        )
    raise ValidationError(
        f"{email} is already a member of {organisation.name}.", code="already_member"
    )


def invitation_link(request_or_base_url: HttpRequest | str, raw: str) -> str:
    """The absolute URL of the accept page for the secret ``raw``."""
    path = reverse("customers:invitation_accept", kwargs={"key": raw})
    if isinstance(request_or_base_url, str):
        return request_or_base_url.rstrip("/") + path
    return request_or_base_url.build_absolute_uri(path)


def base_url_of(request: HttpRequest) -> str:
    """The site's address as the request reached it, for links in e-mails."""
    return request.build_absolute_uri("/").rstrip("/")


def _site_url(base_url: str) -> str:
    """The address for links in e-mails: the caller's (from the request), else SITE_URL."""
    return base_url or getattr(settings, "SITE_URL", "")


def _enqueue_email(invitation: Invitation, *, base_url: str) -> None:
    # The key's hash names this link: a task for a link since re-issued sends nothing.
    outbox_enqueue(
        task=send_invitation,
        invitation_id=invitation.pk,
        key_hash=invitation.key_hash,
        base_url=base_url,
    )


def invitation_create(
    *,
    organisation: Organisation,
    email: str,
    role: str = OrganisationRole.MEMBER,
    cohort: Cohort | None = None,
    invited_by: AbstractBaseUser | None = None,
    base_url: str = "",
) -> tuple[Invitation, str]:
    """Invite ``email`` to ``organisation``. Returns the invitation and its link's secret,
    shown once; an e-mail with the link goes out after commit when the site's address is
    known (``base_url``, else the SITE_URL setting).

    Refuses (ValidationError) an address that already belongs to a member anywhere. An
    earlier pending invitation of the same address to this organisation is revoked."""
    email = _normalise_email(email)
    if role not in OrganisationRole.values:
        raise ValidationError("Choose admin or member.", code="role")
    if cohort is not None and (cohort.organisation_id != organisation.pk or cohort.archived_at):
        raise ValidationError("Choose one of the organisation's cohorts.", code="cohort")
    _refuse_member(email=email, organisation=organisation)
    now = timezone.now()
    with transaction.atomic():
        pending = list(
            Invitation.objects.select_for_update()
            .filter(
                organisation=organisation,
                email__iexact=email,
                accepted_at__isnull=True,
                revoked_at__isnull=True,
            )
            .order_by("pk")
        )
        if pending:
            Invitation.objects.filter(pk__in=[i.pk for i in pending]).update(revoked_at=now)
        invitation = Invitation.objects.create(
            organisation=organisation,
            email=email,
            role=role,
            cohort=cohort,
            invited_by=invited_by,
            # Unusable until issued below: the preimage of a random hash is known to nobody.
            key_hash=_hash(secrets.token_hex(32)),
            expires_at=now + INVITATION_LIFETIME,
        )
        raw = _issue(invitation, now=now)
        if _site_url(base_url):
            _enqueue_email(invitation, base_url=_site_url(base_url))
    return invitation, raw


def invitation_resend(*, invitation: Invitation, base_url: str = "") -> tuple[Invitation, str]:
    """Issue a new link (the old one stops working) valid for 7 more days, and e-mail it.
    Refuses an invitation already accepted or revoked."""
    with transaction.atomic():
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if locked.accepted_at is not None:
            raise ValidationError("This invitation has already been accepted.", code="used")
        if locked.revoked_at is not None:
            raise ValidationError("This invitation was revoked.", code="revoked")
        raw = _issue(locked, now=timezone.now())
        if _site_url(base_url):
            _enqueue_email(locked, base_url=_site_url(base_url))
    return locked, raw


def invitation_revoke(*, invitation: Invitation) -> Invitation:
    """Revoke a pending invitation: its link stops working. Revoking twice keeps the first
    time; an accepted invitation cannot be revoked (deactivate the member instead)."""
    with transaction.atomic():
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if locked.accepted_at is not None:
            raise ValidationError(
                "This invitation has already been accepted: deactivate the member instead.",
                code="used",
            )
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.save(update_fields=["revoked_at"])
    return locked


def invitation_for_key(*, raw: str) -> Invitation | None:
    """The usable invitation whose link carries ``raw``, or None.

    None alike for a wrong, malformed, used, expired or revoked key: the caller shows one
    page for all of them. One indexed lookup by hash and a constant-time comparison."""
    if not raw or len(raw) > _MAX_KEY_LENGTH:
        return None
    digest = _hash(raw)
    invitation = (
        Invitation.objects.select_related("organisation", "cohort", "invited_by")
        .filter(key_hash=digest)
        .first()
    )
    if invitation is None or not hmac.compare_digest(invitation.key_hash, digest):
        return None
    if not invitation.is_usable_at(timezone.now()):
        return None
    return invitation


def invitation_accept(*, invitation: Invitation, user: AbstractBaseUser) -> Membership:
    """Make ``user`` a member with the invitation's role and cohort, once.

    Under a lock on the invitation: two acceptances of one link cannot both succeed.
    ValidationError when the invitation is used, expired or revoked, when the user already
    belongs to an organisation (this one or another), or when the user's e-mail address is
    not the invited one."""
    with transaction.atomic():
        locked = (
            Invitation.objects.select_for_update(of=("self",))
            .order_by()
            .select_related("organisation", "cohort")
            .get(pk=invitation.pk)
        )
        if not locked.is_usable_at(timezone.now()):
            raise ValidationError(
                "This invitation link is no longer valid. Ask for a new one.", code="invalid"
            )
        if Membership.objects.filter(user=user).exists():
            raise ValidationError(
                "You are already a member of an organisation, so you cannot accept an "
                "invitation to another.",
                code="already_member",
            )
        if user.email and user.email.lower() != locked.email.lower():
            raise ValidationError(
                "This invitation was sent to another e-mail address.", code="other_email"
            )
        cohort = locked.cohort if locked.cohort and not locked.cohort.archived_at else None
        try:
            with transaction.atomic():
                membership = Membership.objects.create(
                    user=user, organisation=locked.organisation, role=locked.role, cohort=cohort
                )
        except IntegrityError as exc:  # the same user accepted another invitation meanwhile
            raise ValidationError(
                "You are already a member of an organisation.", code="already_member"
            ) from exc
        if not user.email:
            user.email = locked.email
            user.save(update_fields=["email"])
        locked.accepted_at = timezone.now()
        locked.accepted_by = user
        locked.save(update_fields=["accepted_at", "accepted_by"])
    invitation.accepted_at, invitation.accepted_by = locked.accepted_at, user
    return membership


def invitation_accept_with_password(
    *,
    invitation: Invitation,
    username: str,
    first_name: str,
    last_name: str,
    password: str,
) -> Membership:
    """Create the invited person's account with a password and accept, all or nothing."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                user = get_user_model().objects.create_user(
                    username=username,
                    email=invitation.email,
                    password=password,
                    first_name=first_name,
                    last_name=last_name,
                )
        except IntegrityError as exc:  # the form checked it; someone took it a moment ago
            raise ValidationError(
                "That username was taken a moment ago: choose another.", code="username"
            ) from exc
        return invitation_accept(invitation=invitation, user=user)


# ---------------------------------------------------------------- the e-mail


def invitation_email_send(*, invitation_id: int, key_hash: str, base_url: str) -> bool:
    """Send the "you were invited" e-mail for the link named by ``key_hash``, once.

    Nothing is sent for a link since re-issued, accepted or revoked. A NotificationSent row
    is written before sending (as the digest marks itself sent first), so a task run twice
    sends once; the e-mail itself goes out after that commits, outside any transaction."""
    invitation = (
        Invitation.objects.select_related("organisation", "invited_by")
        .filter(pk=invitation_id, key_hash=key_hash)
        .first()
    )
    if invitation is None or not invitation.is_usable_at(timezone.now()):
        return False
    raw = _key_for(invitation)
    if _hash(raw) != key_hash:  # SECRET_KEY changed since: the link cannot be rebuilt
        logger.warning("Invitation %s: its link cannot be rebuilt; resend it", invitation_id)
        return False
    try:
        with transaction.atomic():
            NotificationSent.objects.create(
                organisation=invitation.organisation,
                email=invitation.email,
                kind=NotificationKind.INVITED,
                about=f"invitation:{invitation.pk}:{key_hash[:32]}",
            )
    except IntegrityError:
        return False  # sent already
    inviter = invitation.invited_by
    context = {
        "invitation": invitation,
        "organisation": invitation.organisation,
        "inviter": (inviter.get_full_name() or inviter.get_username()) if inviter else "",
        "link": invitation_link(base_url, raw),
        "expires_at": timezone.localtime(
            invitation.expires_at, ZoneInfo(invitation.organisation.time_zone)
        ),
    }
    message = EmailMultiAlternatives(
        subject=f"You are invited to join {invitation.organisation.name} on Benefit Backlog",
        body=render_to_string("customers/email/invitation.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[invitation.email],
    )
    message.attach_alternative(
        render_to_string("customers/email/invitation.html", context), "text/html"
    )
    message.send()
    return True
