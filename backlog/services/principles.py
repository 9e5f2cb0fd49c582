"""Writes for technology principles and the items checked against them. Each service owns
its transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from backlog.models import (
    BacklogItem,
    ItemEvent,
    ItemEventKind,
    ItemPrincipleCheck,
    Principle,
    PrincipleAnswer,
)
from customers.models import Organisation

NAME_TAKEN = "Your organisation already has a principle called “{name}”."
NOTE_MAX = 2000
UP, DOWN = "up", "down"


def _check_name(principle: Principle) -> None:
    principle.name = principle.name.strip()
    clashing = (
        Principle.objects.filter(
            organisation_id=principle.organisation_id, name__iexact=principle.name
        )
        .exclude(pk=principle.pk)
        .exists()
    )
    if clashing:
        raise ValidationError({"name": [NAME_TAKEN.format(name=principle.name)]})
    principle.full_clean()


def _save(principle: Principle) -> Principle:
    try:
        with transaction.atomic():
            principle.save()
    except IntegrityError as error:  # two admins adding the same name at once
        raise ValidationError({"name": [NAME_TAKEN.format(name=principle.name)]}) from error
    return principle


def principle_create(*, organisation: Organisation, name: str, description: str = "") -> Principle:
    """A new principle, placed after the organisation's others."""
    principle = Principle(organisation=organisation, name=name, description=description)
    _check_name(principle)
    with transaction.atomic():
        last = Principle.objects.filter(organisation=organisation).aggregate(n=Max("position"))
        principle.position = (last["n"] or 0) + 1
        return _save(principle)


def principle_update(*, principle: Principle, name: str, description: str = "") -> Principle:
    principle.name = name
    principle.description = description
    _check_name(principle)
    return _save(principle)


def principle_move(*, principle: Principle, direction: str) -> list[Principle]:
    """Move an active principle one place up or down among the organisation's active
    principles; returns them in their new order. The organisation's principles are locked
    for the renumbering, so two admins' moves apply one after the other."""
    if direction not in (UP, DOWN):
        raise ValidationError("Move a principle up or down.")
    with transaction.atomic():
        rows = list(
            Principle.objects.select_for_update(of=("self",))
            .filter(organisation_id=principle.organisation_id, archived_at__isnull=True)
            .order_by("position", "name", "pk")
        )
        index = next((i for i, p in enumerate(rows) if p.pk == principle.pk), None)
        if index is None:
            raise ValidationError("Only an active principle can be moved; restore it first.")
        other = index - 1 if direction == UP else index + 1
        if 0 <= other < len(rows):
            rows[index], rows[other] = rows[other], rows[index]
        changed = []
        for position, row in enumerate(rows, start=1):
            if row.position != position:
                row.position = position
                changed.append(row)
        Principle.objects.bulk_update(changed, ["position"])
    return rows


def principle_archive(*, principle: Principle) -> Principle:
    """No longer ask items about it; its answers are kept, and it can be restored."""
    if principle.archived_at is None:
        principle.archived_at = timezone.now()
        principle.save(update_fields=["archived_at"])
    return principle


def principle_restore(*, principle: Principle) -> Principle:
    """Ask items about it again, after the active principles."""
    if principle.archived_at is not None:
        with transaction.atomic():
            last = Principle.objects.filter(
                organisation_id=principle.organisation_id, archived_at__isnull=True
            ).aggregate(n=Max("position"))
            principle.archived_at = None
            principle.position = (last["n"] or 0) + 1
            principle.save(update_fields=["archived_at", "position"])
    return principle


@dataclass(frozen=True)
class Answer:
    """One principle's answer for an item: one of ``PrincipleAnswer`` or "" (unanswered,
    which clears an earlier answer), with a note."""

    answer: str
    note: str = ""


def principle_check_set(
    *, item: BacklogItem, answers: Mapping[int, Answer], by: AbstractBaseUser | None
) -> int:
    """Record the item's answers to the organisation's active principles, all or nothing.

    ``answers`` maps principle ids to ``Answer``s; a principle left out keeps its answer.
    Refuses (``ValidationError``, nothing written) a principle that is not one of the
    organisation's active ones, an unknown answer, a note without an answer or a note
    longer than ``NOTE_MAX``. Writes only the checks that change and returns how many did;
    when some did, the item's history says ``by`` edited its technology principles."""
    active = set(
        Principle.objects.filter(
            organisation_id=item.product.organisation_id, archived_at__isnull=True
        ).values_list("pk", flat=True)
    )
    errors = []
    for principle_id, given in answers.items():
        if principle_id not in active:
            errors.append(f"Principle {principle_id} is not one of your organisation's.")
        elif given.answer and given.answer not in PrincipleAnswer.values:
            errors.append(f"“{given.answer}” is not an answer: meets, does not or n/a.")
        elif len(given.note) > NOTE_MAX:
            errors.append(f"A note has at most {NOTE_MAX:,} characters.")
        elif given.note.strip() and not given.answer:
            errors.append("A note needs an answer: meets, does not or not applicable.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        current = {
            check.principle_id: check
            for check in ItemPrincipleCheck.objects.select_for_update(of=("self",))
            .filter(item=item, principle_id__in=list(answers))
            .order_by()
        }
        to_write, to_clear = [], []
        for principle_id, given in answers.items():
            note = given.note.strip()
            check = current.get(principle_id)
            if not given.answer:
                if check is not None:
                    to_clear.append(check.pk)
            elif check is None or (check.answer, check.note) != (given.answer, note):
                to_write.append(
                    ItemPrincipleCheck(
                        item=item, principle_id=principle_id, answer=given.answer, note=note
                    )
                )
        if to_clear:
            ItemPrincipleCheck.objects.filter(pk__in=to_clear).delete()
        if to_write:
            # An upsert: a check another editor added a moment ago is overwritten, not a
            # unique-constraint error.
            ItemPrincipleCheck.objects.bulk_create(
                to_write,
                update_conflicts=True,
                unique_fields=["item", "principle"],
                update_fields=["answer", "note", "updated_at"],
            )
        changed = len(to_write) + len(to_clear)
        if changed:
            ItemEvent.objects.create(
                item=item,
                actor=by if by is not None and by.is_authenticated else None,
                kind=ItemEventKind.EDITED,
                data={"changes": ["technology principles"]},
            )
    return changed
