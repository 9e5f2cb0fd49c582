"""Writes for backlog items (products and their people: ``backlog.services.products``).
Each service owns its transaction."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from backlog import ordering
from backlog.locks import lock_item, lock_product
from backlog.models import (
    STATUS_TIMESTAMP_FIELD,
    BacklogItem,
    Capability,
    CapabilityUse,
    ItemCapability,
    ItemEvent,
    ItemEventKind,
    ItemStatus,
    NewItemPosition,
    Product,
    validate_effort,
)
from backlog.signals import items_changed
from customers.models import Cohort


def _check_same_organisation(product: Product, cohorts: Iterable[Cohort], capabilities) -> None:
    for thing in [*cohorts, *capabilities]:
        if thing.organisation_id != product.organisation_id:
            raise ValidationError(f"{thing} belongs to another organisation.")


def _check_cohorts_open(cohorts: Iterable[Cohort]) -> None:
    """An archived cohort takes no new items (one an item already names may stay)."""
    archived = sorted(c.name for c in cohorts if c.archived_at is not None)
    if archived:
        raise ValidationError(
            f"{', '.join(archived)}: an archived cohort cannot be added to an item."
        )


def _new_rank_key(product: Product) -> str:
    """A key at the top or bottom of the product's backlog, per the product's setting.

    The caller holds the product row lock, so two items created at once cannot take the
    same key."""
    items = BacklogItem.objects.filter(product=product)
    if product.new_items_position == NewItemPosition.TOP:
        first = items.order_by("rank_key").values_list("rank_key", flat=True).first()
        return ordering.key_between(None, first)
    last = items.order_by("-rank_key").values_list("rank_key", flat=True).first()
    return ordering.key_between(last, None)


def _set_capabilities(
    item: BacklogItem, builds: Iterable[Capability], reuses: Iterable[Capability]
) -> None:
    ItemCapability.objects.filter(item=item).delete()
    built = list(builds)
    rows = [ItemCapability(item=item, capability=c, use=CapabilityUse.BUILDS) for c in built]
    rows += [
        ItemCapability(item=item, capability=c, use=CapabilityUse.REUSES)
        for c in reuses
        if c not in built
    ]
    ItemCapability.objects.bulk_create(rows)


def _stamp_status(item: BacklogItem, status: str) -> None:
    field = STATUS_TIMESTAMP_FIELD.get(status)
    if field:
        setattr(item, field, timezone.now())


def _effort(effort: Decimal | None) -> Decimal | None:
    """The effort as stored ("2.50" is 2.5), or the one effort rule's message."""
    try:
        return validate_effort(effort)
    except ValidationError as refused:
        raise ValidationError({"effort": refused.messages}) from refused


def _check_values(*, effort: Decimal | None, status: str, was_live: bool = False) -> None:
    """Rules every caller (page, API, import) must meet, with messages for people."""
    _effort(effort)
    if status == ItemStatus.LIVE and not was_live:
        raise ValidationError(
            {
                "status": "An item goes live only when its four go-live sign-offs are in, "
                "at the show-and-tell; it cannot be set live here."
            }
        )


def item_create(
    *,
    product: Product,
    actor: AbstractBaseUser | None,
    title: str,
    description: str = "",
    digitisation_level: str = "access",
    status: str = ItemStatus.IDEA,
    effort: Decimal | None = None,
    cohorts: Iterable[Cohort] = (),
    builds: Iterable[Capability] = (),
    reuses: Iterable[Capability] = (),
    external_key: str = "",
) -> BacklogItem:
    """Create an item at the top or bottom of the backlog (the product's setting)."""
    _check_values(effort=effort, status=status)
    effort = _effort(effort)
    cohorts, builds, reuses = list(cohorts), list(builds), list(reuses)
    _check_same_organisation(product, cohorts, [*builds, *reuses])
    _check_cohorts_open(cohorts)
    item = BacklogItem(
        product=product,
        title=title,
        description=description,
        digitisation_level=digitisation_level,
        status=status,
        effort=effort,
        external_key=external_key,
        created_by=actor if actor and actor.is_authenticated else None,
        rank_key="pending",
    )
    _stamp_status(item, status)
    item.full_clean(exclude=["rank_key"])
    with transaction.atomic():
        lock_product(product.pk)
        item.rank_key = _new_rank_key(product)
        item.save()
        item.cohorts.set(cohorts)
        _set_capabilities(item, builds, reuses)
        ItemEvent.objects.create(
            item=item, actor=item.created_by, kind=ItemEventKind.CREATED, data={"title": title}
        )
        items_changed.send(sender=BacklogItem, product=product)
    return item


_TRACKED_FIELDS = ("title", "description", "digitisation_level", "status", "effort")


def item_update(
    *,
    item: BacklogItem,
    actor: AbstractBaseUser | None,
    title: str,
    description: str,
    digitisation_level: str,
    status: str,
    effort: Decimal | None,
    cohorts: Iterable[Cohort],
    builds: Iterable[Capability] | None = None,
    reuses: Iterable[Capability] | None = None,
) -> BacklogItem:
    """Update an item and record what changed (field by field) in its history.

    ``builds`` and ``reuses`` left as None keep the item's capabilities as they are. On a
    ValidationError nothing is saved and ``item`` is left as it was."""
    effort = _effort(effort)  # as stored: "2.50" is no change from 2.5
    cohorts = list(cohorts)
    keep_capabilities = builds is None and reuses is None
    builds, reuses = list(builds or ()), list(reuses or ())
    _check_same_organisation(item.product, cohorts, [*builds, *reuses])
    new = {
        "title": title,
        "description": description,
        "digitisation_level": digitisation_level,
        "status": status,
        "effort": effort,
    }
    with transaction.atomic():
        # Work on the locked row, not the caller's copy: a concurrent edit to other fields
        # is never overwritten with stale values, and a failed edit leaves ``item`` alone.
        current = lock_item(item)
        _check_values(effort=effort, status=status, was_live=current.status == ItemStatus.LIVE)
        changes = {
            field: [_jsonable(getattr(current, field)), _jsonable(value)]
            for field, value in new.items()
            if getattr(current, field) != value
        }
        old_cohorts = set(current.cohorts.all())
        _check_cohorts_open(set(cohorts) - old_cohorts)
        for field, value in new.items():
            setattr(current, field, value)
        if "status" in changes:
            _stamp_status(current, status)
        current.full_clean()
        current.save()
        current.cohorts.set(cohorts)
        if not keep_capabilities:
            _set_capabilities(current, builds, reuses)
        if "status" in changes:
            ItemEvent.objects.create(
                item=current,
                actor=actor,
                kind=ItemEventKind.STATUS,
                data={"from": changes["status"][0], "to": changes["status"][1]},
            )
        other = {k: v for k, v in changes.items() if k != "status"}
        if set(cohorts) != old_cohorts:
            # Not in the trigger-kept history (Django cannot migrate triggers on an
            # auto-created many-to-many table), so recorded here, names before and after.
            other["cohorts"] = [
                sorted(c.name for c in old_cohorts),
                sorted(c.name for c in cohorts),
            ]
        if other:
            ItemEvent.objects.create(
                item=current, actor=actor, kind=ItemEventKind.EDITED, data={"changes": other}
            )
        if {"effort", "status"} & changes.keys() or set(cohorts) != old_cohorts:
            items_changed.send(sender=BacklogItem, product=current.product)
    for field in (*new, "updated_at", *STATUS_TIMESTAMP_FIELD.values()):
        setattr(item, field, getattr(current, field))
    return item


def _jsonable(value: object) -> object:
    return str(value) if isinstance(value, Decimal) else value
