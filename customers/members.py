"""An organisation's people: reads for the members page, and the admin's writes to a
membership (role, cohort, job title, deactivate, reactivate).

Every write that can take away an admin locks the organisation's row first, so two admins
demoting or deactivating each other at once cannot leave the organisation with none. Lock
order: organisation, then membership (as everywhere: organisation before what it holds).
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from customers.models import Cohort, Invitation, Membership, Organisation, OrganisationRole

# ---------------------------------------------------------------- reads


def member_list(*, organisation: Organisation, query: str = "") -> QuerySet[Membership]:
    """The organisation's members with their user and cohort, active ones first, by name."""
    members = Membership.objects.filter(organisation=organisation).select_related("user", "cohort")
    query = query.strip()
    if query:
        members = members.filter(
            Q(user__first_name__icontains=query)
            | Q(user__last_name__icontains=query)
            | Q(user__username__icontains=query)
            | Q(user__email__icontains=query)
            | Q(job_title__icontains=query)
        )
    return members.order_by(
        F("deactivated_at").asc(nulls_first=True),
        "user__first_name",
        "user__last_name",
        "user__username",
        "pk",
    )


def invitation_pending_list(*, organisation: Organisation) -> QuerySet[Invitation]:
    """Invitations not yet accepted or revoked (expired ones included: they can be resent),
    newest first, with the cohort and who sent them."""
    return (
        Invitation.objects.filter(
            organisation=organisation, accepted_at__isnull=True, revoked_at__isnull=True
        )
        .select_related("cohort", "invited_by")
        .order_by("-sent_at", "-pk")
    )


def membership_for_admin(*, organisation: Organisation, pk: int) -> Membership | None:
    return member_list(organisation=organisation).filter(pk=pk).first()


def invitation_for_admin(*, organisation: Organisation, pk: int) -> Invitation | None:
    return Invitation.objects.filter(organisation=organisation, pk=pk).first()


# ---------------------------------------------------------------- writes


def _lock(membership: Membership) -> Membership:
    Organisation.objects.select_for_update().filter(pk=membership.organisation_id).first()
    return (
        Membership.objects.select_for_update(of=("self",))
        .order_by()
        .select_related("user")
        .get(pk=membership.pk)
    )


def _other_active_admins(membership: Membership) -> bool:
    return (
        Membership.objects.filter(
            organisation_id=membership.organisation_id,
            role=OrganisationRole.ADMIN,
            deactivated_at__isnull=True,
        )
        .exclude(pk=membership.pk)
        .exists()
    )


def _refuse_last_admin(membership: Membership, what: str) -> None:
    if (
        membership.is_admin
        and membership.deactivated_at is None
        and not _other_active_admins(membership)
    ):
        raise ValidationError(
            f"{_name(membership.user)} is the organisation's last active admin: make someone "
            f"else an admin before you {what}.",
            code="last_admin",
        )


def _name(user: AbstractBaseUser) -> str:
    return user.get_full_name() or user.get_username()


def membership_update(
    *, membership: Membership, role: str, cohort: Cohort | None, job_title: str
) -> Membership:
    """Change a member's organisation role, the cohort they speak for and their job title.
    The last active admin cannot be made a member."""
    if role not in OrganisationRole.values:
        raise ValidationError("Choose admin or member.", code="role")
    if cohort is not None and cohort.organisation_id != membership.organisation_id:
        raise ValidationError("Choose one of the organisation's cohorts.", code="cohort")
    with transaction.atomic():
        locked = _lock(membership)
        if role != OrganisationRole.ADMIN:
            _refuse_last_admin(locked, "make them a member")
        locked.role, locked.cohort, locked.job_title = role, cohort, job_title.strip()
        locked.save(update_fields=["role", "cohort", "job_title"])
    return locked


def membership_deactivate(*, membership: Membership, actor: AbstractBaseUser) -> Membership:
    """Stop a member signing in (their user becomes inactive, which also ends their sessions
    and API tokens); their ballots, signatures and history stay theirs. An admin cannot
    deactivate themselves, and nobody can deactivate the last active admin."""
    if membership.user_id == actor.pk:
        raise ValidationError("You cannot deactivate yourself.", code="self")
    with transaction.atomic():
        locked = _lock(membership)
        if locked.deactivated_at is not None:
            return locked
        _refuse_last_admin(locked, "deactivate them")
        locked.deactivated_at = timezone.now()
        locked.save(update_fields=["deactivated_at"])
        locked.user.is_active = False
        locked.user.save(update_fields=["is_active"])
    return locked


def membership_reactivate(*, membership: Membership) -> Membership:
    """Let a deactivated member sign in again, with the role and cohort they had."""
    with transaction.atomic():
        locked = _lock(membership)
        if locked.deactivated_at is None and locked.user.is_active:
            return locked
        locked.deactivated_at = None
        locked.save(update_fields=["deactivated_at"])
        locked.user.is_active = True
        locked.user.save(update_fields=["is_active"])
    return locked
