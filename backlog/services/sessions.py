"""The weekly show-and-tell: creating the week's session, confirming what is next, recording
decisions, the four go-live signatures, and the digest afterwards."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from backlog.locks import lock_item
from backlog.models import (
    GO_LIVE_ROLES,
    BacklogItem,
    Decision,
    DecisionKind,
    GoLiveSignature,
    ItemEvent,
    ItemEventKind,
    ItemStatus,
    Product,
    ProductRole,
    ShowAndTell,
)
from backlog.signals import items_changed


def local_today(product: Product, now: datetime | None = None) -> date:
    """Today's date where the product's organisation is (its time zone, DST included)."""
    now = now or timezone.now()
    return now.astimezone(ZoneInfo(product.organisation.time_zone)).date()


def week_start_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def next_week_day(product: Product, today: date) -> date:
    """The product's show-and-tell day in the week after ``today``'s."""
    return week_start_of(today) + timedelta(days=7 + product.show_and_tell_weekday)


def session_for_week(
    *, product: Product, day: date, actor: AbstractBaseUser | None = None
) -> tuple[ShowAndTell, bool]:
    """The product's session for the week containing ``day``, created if missing.

    Returns (session, created). Two callers at once (the beat task twice, or a delivery lead
    and the task) both end with the one row: the unique constraint decides, the loser reads.
    """
    week = week_start_of(day)
    existing = ShowAndTell.objects.filter(product=product, week_start=week).first()
    if existing:
        return existing, False
    # The beat task makes the session for the product's weekday; a delivery lead starting
    # one by hand holds it today.
    session_day = day if actor is not None else week + timedelta(days=product.show_and_tell_weekday)
    try:
        with transaction.atomic():
            session = ShowAndTell.objects.create(
                product=product, week_start=week, date=session_day, started_by=actor
            )
            # Done items now wait in this session's go-live: the signers hear of them after
            # commit (backlog.notifications; items done later, from the beat sweep).
            from backlog.tasks import notify_go_live_waiting
            from outbox.services import outbox_enqueue

            outbox_enqueue(task=notify_go_live_waiting, session_id=session.pk)
    except IntegrityError:
        return ShowAndTell.objects.get(product=product, week_start=week), False
    people = (
        get_user_model()
        .objects.filter(
            product_roles__product=product, product_roles__role__in=[r.value for r in GO_LIVE_ROLES]
        )
        .distinct()
    )
    session.attendees.set(people)
    return session, True


def sessions_create_due(*, now: datetime | None = None) -> list[int]:
    """For every product whose show-and-tell day it is today (in its organisation's time
    zone), make sure this week's session exists. Returns the ids created. Safe to run as
    often as the beat schedule likes: a week never gets a second session."""
    now = now or timezone.now()
    created = []
    # An archived product is read-only: it gets no new sessions until it is restored.
    for product in Product.objects.filter(archived_at__isnull=True).select_related("organisation"):
        today = local_today(product, now)
        if today.weekday() != product.show_and_tell_weekday:
            continue
        session, made = session_for_week(product=product, day=today)
        if made:
            created.append(session.pk)
    return created


def next_up_confirm(*, session: ShowAndTell, actor: AbstractBaseUser) -> ShowAndTell:
    """Freeze "next up" as it stands now with the session, so later weeks can compare what
    was agreed with what happened."""
    from backlog.showandtell import next_up

    if session.finished_at is not None:
        raise ValidationError("This session is finished; its record can no longer change.")
    session.next_up = [row.as_frozen() for row in next_up(session)[0]]
    session.next_up_confirmed_at = timezone.now()
    session.next_up_confirmed_by = actor
    session.save(update_fields=["next_up", "next_up_confirmed_at", "next_up_confirmed_by"])
    return session


def decision_add(
    *,
    session: ShowAndTell,
    actor: AbstractBaseUser,
    kind: str,
    text: str,
    owner: AbstractBaseUser | None = None,
    agreed_by: Sequence[AbstractBaseUser] = (),
) -> Decision:
    if session.finished_at is not None:
        raise ValidationError("This session is finished; its record can no longer change.")
    text = text.strip()
    errors = {}
    if not text:
        errors["text"] = "Write the decision or action."
    if kind not in DecisionKind.values:
        errors["kind"] = "Choose decision or action."
    if kind == DecisionKind.ACTION and owner is None:
        errors["owner"] = "An action needs an owner."
    people = set(
        ProductRole.objects.filter(product=session.product).values_list("user_id", flat=True)
    )
    if owner is not None and owner.pk not in people:
        errors["owner"] = "The owner must be one of the product's people."
    if any(user.pk not in people for user in agreed_by):
        errors["agreed_by"] = "Only the product's people can agree a decision."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        decision = Decision.objects.create(
            session=session, kind=kind, text=text, owner=owner, created_by=actor
        )
        decision.agreed_by.set(agreed_by)
    return decision


def _refuse_if_finished(session: ShowAndTell | None) -> None:
    """A finished session is a read-only record: no signing or withdrawing through it."""
    if session is not None and session.finished_at is not None:
        raise PermissionDenied("This session is finished: it is a read-only record.")


def _holds(user: AbstractBaseUser, product_id: int, role: str) -> bool:
    return ProductRole.objects.filter(product_id=product_id, user=user, role=role).exists()


def go_live_sign(
    *, item: BacklogItem, signer: AbstractBaseUser, role: str, session: ShowAndTell | None = None
) -> bool:
    """Sign for ``role``; returns True if this was the fourth signature and the item went live.

    The signer is whoever is signed in (never a form field), and must hold the role. The
    item row is locked, so four signatures arriving at the same moment take turns and the
    last of them, whichever it is, makes the item live exactly once.
    """
    _refuse_if_finished(session)
    if role not in GO_LIVE_ROLES:
        raise ValidationError(
            "Only the sponsor, business analyst, lead engineer and delivery lead sign."
        )
    if not _holds(signer, item.product_id, role):
        raise PermissionDenied(
            "You do not hold this role on the product, so you cannot sign for it."
        )
    with transaction.atomic():
        # The fourth signature rescores the product: product, then item (backlog.locks).
        locked = lock_item(item)
        if locked.status == ItemStatus.LIVE:
            raise ValidationError("This item is already live.")
        if locked.status != ItemStatus.DONE:
            raise ValidationError("Only items that are done can be signed for go-live.")
        if GoLiveSignature.objects.filter(item=locked, role=role).exists():
            raise ValidationError("This role has already signed.")
        GoLiveSignature.objects.create(item=locked, role=role, signer=signer, session=session)
        ItemEvent.objects.create(
            item=locked, actor=signer, kind=ItemEventKind.SIGNED, data={"role": role}
        )
        signed = set(GoLiveSignature.objects.filter(item=locked).values_list("role", flat=True))
        if signed != {r.value for r in GO_LIVE_ROLES}:
            return False
        now = timezone.now()
        BacklogItem.objects.filter(pk=locked.pk).update(
            status=ItemStatus.LIVE, live_at=now, updated_at=now
        )
        ItemEvent.objects.create(
            item=locked,
            actor=signer,
            kind=ItemEventKind.WENT_LIVE,
            data={"signers": sorted(signed), "session": session.pk if session else None},
        )
        items_changed.send(sender=BacklogItem, product=locked.product)
    item.status, item.live_at = ItemStatus.LIVE, now
    return True


def go_live_sign_all(
    *,
    session: ShowAndTell,
    signer: AbstractBaseUser,
    role: str,
    item_ids: Sequence[int],
) -> list[BacklogItem]:
    """Sign for ``role`` on every item of ``item_ids`` (the list the signer was shown), all
    or nothing: one item that can no longer be signed (no longer done, signed meanwhile)
    signs none, and the ValidationError names it. Returns the items that went live.

    Each signature goes through ``go_live_sign``; the items are taken in id order, so two
    people signing overlapping lists lock them in the same order (after the product)."""
    _refuse_if_finished(session)
    wanted = set(item_ids)
    items = list(
        BacklogItem.objects.filter(product_id=session.product_id, pk__in=wanted).order_by("pk")
    )
    if len(items) != len(wanted):
        raise ValidationError("An item on the list is no longer in this product.")
    live = []
    with transaction.atomic():
        for item in items:
            try:
                if go_live_sign(item=item, signer=signer, role=role, session=session):
                    live.append(item)
            except ValidationError as error:
                raise ValidationError(f"“{item.title}”: {' '.join(error.messages)}") from error
    return live


def go_live_withdraw(
    *,
    item: BacklogItem,
    signer: AbstractBaseUser,
    role: str,
    session: ShowAndTell | None = None,
) -> None:
    """Withdraw one's own signature, which is possible until the last signature is in."""
    _refuse_if_finished(session)
    with transaction.atomic():
        locked = lock_item(item)
        if locked.status == ItemStatus.LIVE:
            raise ValidationError("The item is live: signatures can no longer be withdrawn.")
        signature = GoLiveSignature.objects.filter(item=locked, role=role).first()
        if signature is None:
            raise ValidationError("There is no signature for this role to withdraw.")
        if signature.signer_id != signer.pk:
            raise PermissionDenied("Only the person who signed can withdraw the signature.")
        signature.delete()
        ItemEvent.objects.create(
            item=locked, actor=signer, kind=ItemEventKind.WITHDRAWN, data={"role": role}
        )


def session_finish(*, session: ShowAndTell, actor: AbstractBaseUser) -> ShowAndTell:
    """End the session; its digest goes out by email once this commits."""
    from backlog.showandtell import freeze
    from backlog.tasks import send_show_and_tell_digest
    from outbox.services import outbox_enqueue

    if session.finished_at is not None:
        return session
    with transaction.atomic():
        # Two delivery leads pressing "Finish" at once: the session row makes them take turns,
        # and the second finds it finished.
        locked = (
            ShowAndTell.objects.select_for_update(of=("self",))
            .order_by()
            .select_related("product__organisation")
            .get(pk=session.pk)
        )
        if locked.finished_at is not None:
            return locked
        locked.finished_at = timezone.now()
        # The record is frozen with the finish, so the page and the digest never change after.
        locked.record = freeze(locked)
        locked.save(update_fields=["finished_at", "record"])
        session.finished_at, session.record = locked.finished_at, locked.record
        # Recorded with the finish and sent after commit: a Redis outage delays the digest
        # but never loses it (the outbox's sweep sends it once Redis is back).
        outbox_enqueue(task=send_show_and_tell_digest, session_id=session.pk)
    return session
