"""Reads for products and backlog items, always scoped to the user's organisation."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.db.models import Count, F, IntegerField, Prefetch, Q, QuerySet, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from backlog.models import (
    OPEN_STATUSES,
    BacklogItem,
    DigitisationLevel,
    ItemCapability,
    ItemEvent,
    ItemStatus,
    Product,
    ProductRole,
)
from customers.models import Cohort, Organisation

PAGE_SIZE = 100
# At most this many rows are re-rendered after a move (what a person had scrolled through).
MAX_RERENDER = 1000


def product_list(*, organisation: Organisation) -> QuerySet[Product]:
    """Products of one organisation with their item counts by state, for the home page."""
    return (
        Product.objects.filter(organisation=organisation)
        .annotate(
            open_items=Count("items", filter=Q(items__status__in=OPEN_STATUSES)),
            done_items=Count("items", filter=Q(items__status=ItemStatus.DONE)),
            live_items=Count("items", filter=Q(items__status=ItemStatus.LIVE)),
        )
        .order_by("name", "pk")  # GROUP BY drops Meta.ordering
    )


def product_get(*, organisation: Organisation, pk: int) -> Product | None:
    product = Product.objects.filter(organisation=organisation, pk=pk).first()
    if product is not None:
        product.organisation = organisation  # already loaded: save the query
    return product


def product_roles_for_user(*, product: Product, user: AbstractBaseUser) -> frozenset[str]:
    """The user's roles on the product, read once per request (cached on the user)."""
    cache = user.__dict__.setdefault("_product_roles_cache", {})
    if product.pk not in cache:
        cache[product.pk] = frozenset(
            ProductRole.objects.filter(product=product, user=user).values_list("role", flat=True)
        )
    return cache[product.pk]


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


def _filtered(*, product: Product, filters: ItemFilters) -> QuerySet[BacklogItem]:
    """A product's items, filtered, in the order the filters ask for."""
    items = BacklogItem.objects.filter(product=product)
    if filters.status:
        items = items.filter(status=filters.status)
    if filters.level:
        items = items.filter(digitisation_level=filters.level)
    if filters.cohort:
        items = items.filter(cohorts__id=filters.cohort)
    items = items.search(filters.q)
    cohort_id = filters.order_cohort_id
    if filters.order == SCORE_ORDER:
        return items.order_by(F("score__rank").asc(nulls_last=True), "rank_key")
    if cohort_id is not None:
        cohort_rank = Cast(KeyTextTransform(str(cohort_id), "score__cohort_ranks"), IntegerField())
        return items.order_by(cohort_rank.asc(nulls_last=True), "rank_key")
    return items.in_manual_order()


def item_list(*, product: Product, filters: ItemFilters = ItemFilters()) -> QuerySet[BacklogItem]:
    """A product's items, filtered and ordered, with score joined and cohorts in
    ``item.listed_cohorts`` (a list), for listing."""
    # Prefetched into a plain list: into each item's ``cohorts`` manager, Django builds a
    # queryset per item, which took longer than the rest of a 1,000-item API page's queries.
    cohorts = Prefetch("cohorts", queryset=Cohort.objects.only("id"), to_attr="listed_cohorts")
    return (
        _filtered(product=product, filters=filters)
        .select_related("score")
        .prefetch_related(cohorts)
    )


@dataclass(slots=True)
class ListedItem:
    """One backlog row's data: plain values, no model instance (a 100-row page builds these
    several times faster than model objects with a joined score)."""

    pk: int
    title: str
    status: str
    digitisation_level: str
    effort: Decimal | None
    pinned: bool
    rank_key: str
    score: float | None
    score_rank: int | None
    needs_estimates: bool
    cohort_names: list[str]

    def get_status_display(self) -> str:
        return ItemStatus(self.status).label

    def get_digitisation_level_display(self) -> str:
        return DigitisationLevel(self.digitisation_level).label


# The columns the backlog rows show: the page reads 100 rows of a 100,000-item product and
# must stay within 1.5x of a bare query, so nothing else is loaded (no descriptions, no
# score breakdowns).
_ROW_FIELDS = (
    "pk",
    "title",
    "status",
    "digitisation_level",
    "effort",
    "pinned",
    "rank_key",
    "score__score",
    "score__rank",
    "score__needs_estimates",
)


def item_page(
    *,
    product: Product,
    filters: ItemFilters,
    after: str = "",
    start: int = 0,
    size: int = PAGE_SIZE,
) -> tuple[list[ListedItem], str]:
    """One page of items. In manual order the page starts after the rank key ``after``
    (keyset paging: as fast deep in a 100,000-item backlog as at its top); in the score
    orders it starts at offset ``start``. Returns the rows and the ``after`` key to continue
    from ("" when this is the last page or the order is not manual). Cohort names for the
    whole page come from one more query."""
    items = _filtered(product=product, filters=filters).values_list(*_ROW_FIELDS)
    if filters.order == MANUAL_ORDER:
        if after:
            items = items.filter(rank_key__gt=after)
    else:
        items = items[start:]
    fetched = list(items[: size + 1])
    more = len(fetched) > size
    rows = [
        ListedItem(pk, title, status, level, effort, pinned, key, score, rank, bool(needs), [])
        for pk, title, status, level, effort, pinned, key, score, rank, needs in fetched[:size]
    ]
    by_id = {row.pk: row for row in rows}
    through = BacklogItem.cohorts.through.objects.filter(backlogitem_id__in=list(by_id))
    for item_id, name in through.order_by("cohort__name").values_list(
        "backlogitem_id", "cohort__name"
    ):
        by_id[item_id].cohort_names.append(name)
    if more:
        return rows, rows[-1].rank_key if filters.order == MANUAL_ORDER else "more"
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


@dataclass(frozen=True)
class PageMarks:
    """What the backlog rows show beside each item: its manual rank among open items, and
    where the team's weekly capacity runs out (the id of the first item that does not fit)."""

    manual_rank: dict[int, int]
    capacity_before_id: int | None
    capacity: int


@dataclass(frozen=True)
class Row:
    item: ListedItem
    manual_rank: int | None
    capacity_line_before: bool

    @property
    def score_rank(self) -> int | None:
        return self.item.score_rank

    @property
    def gap(self) -> int | None:
        """Manual rank − score rank: positive when the score would put the item higher."""
        if self.manual_rank is None or self.score_rank is None:
            return None
        return self.manual_rank - self.score_rank

    @property
    def gap_size(self) -> int:
        return abs(self.gap or 0)


def rows_for(items: list[ListedItem], marks: PageMarks) -> list[Row]:
    return [
        Row(
            item=item,
            manual_rank=marks.manual_rank.get(item.pk),
            capacity_line_before=item.pk == marks.capacity_before_id,
        )
        for item in items
    ]


def page_marks(
    *, product: Product, items: list[ListedItem], filters: ItemFilters, first_page: bool
) -> PageMarks:
    """Manual ranks and the capacity line for one page, in at most one query.

    In the unfiltered manual order the page is a contiguous run, so one aggregate over the
    open items before it gives the starting rank and effort. Filtered or score-ordered pages
    are not contiguous: their ranks come from one window query over the product's open items.
    """
    capacity = product.weekly_capacity
    if not items:
        return PageMarks({}, None, capacity)
    open_ids = [item.pk for item in items if item.status in OPEN_STATUSES]
    if filters.order != MANUAL_ORDER or filters.active:
        return PageMarks(_window_ranks(product, open_ids), None, capacity)
    rank, effort = 0, Decimal(0)
    if not first_page:
        before = BacklogItem.objects.filter(
            product=product, status__in=OPEN_STATUSES, rank_key__lt=items[0].rank_key
        ).aggregate(n=Count("pk"), effort=Sum("effort"))
        rank, effort = before["n"], before["effort"] or Decimal(0)
    line_drawn = effort > capacity
    ranks, capacity_before = {}, None
    for item in items:
        if item.status not in OPEN_STATUSES:
            continue
        rank += 1
        ranks[item.pk] = rank
        effort += item.effort or 0
        if not line_drawn and effort > capacity:
            capacity_before, line_drawn = item.pk, True
    return PageMarks(ranks, capacity_before, capacity)


def _window_ranks(product: Product, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    table = BacklogItem._meta.db_table
    marks = ", ".join(["%s"] * len(ids))
    statuses = ", ".join(["%s"] * len(OPEN_STATUSES))
    sql = (
        f"SELECT id, n FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY rank_key) AS n FROM {table} "
        f"WHERE product_id = %s AND status IN ({statuses})) AS ranked WHERE id IN ({marks})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [product.pk, *OPEN_STATUSES, *ids])
        return dict(cursor.fetchall())
