"""Reads for products and backlog items, always scoped to the user's organisation."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, F, IntegerField, Prefetch, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from backlog.models import (
    BacklogItem,
    ItemCapability,
    ItemEvent,
    ItemStatus,
    Product,
    ProductRole,
)
from customers.models import Cohort, Organisation

PAGE_SIZE = 100


def product_list(*, organisation: Organisation) -> QuerySet[Product]:
    """Products of one organisation with their item counts by state, for the home page."""
    open_statuses = [ItemStatus.IDEA, ItemStatus.READY, ItemStatus.IN_PROGRESS]
    return Product.objects.filter(organisation=organisation).annotate(
        open_items=Count("items", filter=Q(items__status__in=open_statuses)),
        done_items=Count("items", filter=Q(items__status=ItemStatus.DONE)),
        live_items=Count("items", filter=Q(items__status=ItemStatus.LIVE)),
    )


def product_get(*, organisation: Organisation, pk: int) -> Product | None:
    return Product.objects.filter(organisation=organisation, pk=pk).first()


def product_roles_for_user(*, product: Product, user: AbstractBaseUser) -> frozenset[str]:
    return frozenset(
        ProductRole.objects.filter(product=product, user=user).values_list("role", flat=True)
    )


MANUAL_ORDER = "manual"
SCORE_ORDER = "score"
COHORT_ORDER_PREFIX = "cohort-"


@dataclass(frozen=True)
class ItemFilters:
    status: str = ""
    cohort: int | None = None
    level: str = ""
    q: str = ""
    # "manual", "score", or "cohort-<id>": the order if only that cohort counted.
    order: str = MANUAL_ORDER

    @property
    def active(self) -> bool:
        return bool(self.status or self.cohort or self.level or self.q)

    @property
    def order_cohort_id(self) -> int | None:
        if self.order.startswith(COHORT_ORDER_PREFIX):
            return int(self.order.removeprefix(COHORT_ORDER_PREFIX))
        return None


def item_list(*, product: Product, filters: ItemFilters = ItemFilters()) -> QuerySet[BacklogItem]:
    """A product's items in manual order, filtered, with cohorts prefetched for the rows."""
    items = BacklogItem.objects.filter(product=product)
    if filters.status:
        items = items.filter(status=filters.status)
    if filters.level:
        items = items.filter(digitisation_level=filters.level)
    if filters.cohort:
        items = items.filter(cohorts__id=filters.cohort)
    items = items.search(filters.q)
    items = items.select_related("score").prefetch_related(
        Prefetch("cohorts", queryset=Cohort.objects.only("id", "name"))
    )
    cohort_id = filters.order_cohort_id
    if filters.order == SCORE_ORDER:
        return items.order_by(F("score__rank").asc(nulls_last=True), "rank_key")
    if cohort_id is not None:
        cohort_rank = Cast(KeyTextTransform(str(cohort_id), "score__cohort_ranks"), IntegerField())
        return items.order_by(cohort_rank.asc(nulls_last=True), "rank_key")
    return items.in_manual_order()


def item_page(
    *,
    product: Product,
    filters: ItemFilters,
    after: str = "",
    start: int = 0,
    size: int = PAGE_SIZE,
) -> tuple[list[BacklogItem], str]:
    """One page of items. In manual order the page starts after the rank key ``after``
    (keyset paging: as fast deep in a 100,000-item backlog as at its top); in the score
    orders it starts at offset ``start``. Returns the rows and the ``after`` key to continue
    from ("" when this is the last page or the order is not manual)."""
    items = item_list(product=product, filters=filters)
    if filters.order == MANUAL_ORDER:
        if after:
            items = items.filter(rank_key__gt=after)
    else:
        items = items[start:]
    rows = list(items[: size + 1])
    if len(rows) > size:
        return rows[:size], rows[size - 1].rank_key if filters.order == MANUAL_ORDER else "more"
    return rows, ""


def item_get(*, organisation: Organisation, pk: int) -> BacklogItem | None:
    return (
        BacklogItem.objects.filter(product__organisation=organisation, pk=pk)
        .select_related("product", "created_by")
        .prefetch_related(
            "cohorts",
            Prefetch(
                "itemcapability_set",
                queryset=ItemCapability.objects.select_related("capability"),
            ),
        )
        .first()
    )


def item_history(*, item: BacklogItem, limit: int = 50) -> QuerySet[ItemEvent]:
    return ItemEvent.objects.filter(item=item).select_related("actor")[:limit]
