"""Reads for products and backlog items, always scoped to the user's organisation."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Exists, F, IntegerField, OuterRef, Prefetch, Q, QuerySet, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from backlog.models import (
    OPEN_STATUSES,
    BacklogItem,
    DigitisationLevel,
    ItemCapability,
    ItemEvent,
    ItemStatus,
    OrderVersion,
    Product,
    ProductRole,
)
from backlog.selectors_principles import principles_filtered
from customers.models import Cohort, Membership, Organisation

PAGE_SIZE = 100
# At most this many rows are re-rendered after a move (what a person had scrolled through).
MAX_RERENDER = 1000


def product_list(*, organisation: Organisation) -> QuerySet[Product]:
    """Products of one organisation with their item counts by state, for the home page.
    Archived products are left out (they stay reachable by their address)."""
    return (
        Product.objects.filter(organisation=organisation, archived_at__isnull=True)
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


def archived_product_list(*, organisation: Organisation) -> QuerySet[Product]:
    """The organisation's archived products, most recently archived first."""
    return Product.objects.filter(organisation=organisation, archived_at__isnull=False).order_by(
        "-archived_at", "pk"
    )


def product_people(*, product: Product) -> list[tuple[AbstractBaseUser, frozenset[str]]]:
    """The active members of the product's organisation, each with their roles on the
    product: the rows of the people × roles matrix, people holding a role first, then by
    name. Two queries whatever the number of people (members, then the product's roles)."""
    members = (
        Membership.objects.filter(
            organisation_id=product.organisation_id,
            deactivated_at__isnull=True,
            user__is_active=True,
        )
        .select_related("user")
        .order_by("user__first_name", "user__last_name", "user__username", "pk")
    )
    held: dict[int, set[str]] = {}
    for user_id, role in ProductRole.objects.filter(product=product).values_list("user_id", "role"):
        held.setdefault(user_id, set()).add(role)
    rows = [(m.user, frozenset(held.get(m.user_id, ()))) for m in members]
    return sorted(rows, key=lambda row: not row[1])  # stable: name order within each group


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
    # Items that build or reuse this capability.
    capability: int | None = None
    # Open items with an active principle "unanswered" or "failing" (selectors_principles).
    principles: str = ""

    @property
    def active(self) -> bool:
        return bool(
            self.status or self.cohort or self.level or self.q or self.capability or self.principles
        )

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
    if filters.capability:
        # EXISTS on the links' (item, capability) unique index: the page stays a keyset walk.
        links = ItemCapability.objects.filter(
            item_id=OuterRef("pk"), capability_id=filters.capability
        )
        items = items.filter(Exists(links))
    if filters.principles:
        items = principles_filtered(
            items, filters.principles, organisation_id=product.organisation_id
        )
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
    """One page of items, found by keyset so a deep page costs what the first does.

    ``after`` is the cursor the previous page returned: in manual order the last rank key
    shown (with the count of open items up to it, see ``page_marks``); in score order the
    last score rank and id shown, then the last key among the unranked items that follow.
    The cohort orders have no stored index and page by offset ``start``. Returns the rows
    and the cursor to continue from ("" on the last page; "more" where ``start`` pages).
    Cohort names for the whole page come from one more query."""
    items = _filtered(product=product, filters=filters).values_list(*_ROW_FIELDS)
    if filters.order == MANUAL_ORDER:
        key = Cursor.parse(after).key
        fetched = list((items.filter(rank_key__gt=key) if key else items)[: size + 1])
    elif filters.order == SCORE_ORDER:
        fetched = _score_page(items, product=product, after=after, size=size)
    else:
        fetched = list(items[start : start + size + 1])
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
    if not more:
        return rows, ""
    last = rows[-1]
    if filters.order == MANUAL_ORDER:
        return rows, last.rank_key
    if filters.order == SCORE_ORDER:
        if last.score_rank is not None:
            return rows, f"r{last.score_rank}.{last.pk}"
        return rows, f"k{last.rank_key}"
    return rows, "more"


def _score_page(items, *, product: Product, after: str, size: int) -> list[tuple]:
    """Score order by keyset: the ranked items by (score rank, id) through the scores'
    (product, rank) index, then the unranked ones (closed, or not yet scored) in manual
    order. Never sorts or numbers the whole product."""
    fetched: list[tuple] = []
    unranked = items.filter(Q(score__isnull=True) | Q(score__rank__isnull=True))
    if not after.startswith("k"):
        ranked = items.filter(score__product_id=product.pk, score__rank__isnull=False)
        if after.startswith("r"):
            rank, _, pk = after[1:].partition(".")
            if rank.isdigit() and pk.isdigit():
                ranked = ranked.filter(
                    Q(score__rank__gt=int(rank)) | Q(score__rank=int(rank), pk__gt=int(pk))
                )
        fetched = list(ranked.order_by("score__rank", "pk")[: size + 1])
    elif len(after) > 1:
        unranked = unranked.filter(rank_key__gt=after[1:])
    if len(fetched) <= size:
        fetched += list(unranked.order_by("rank_key")[: size + 1 - len(fetched)])
    return fetched


def item_get(*, organisation: Organisation, pk: int, related: bool = True) -> BacklogItem | None:
    """The organisation's item with what its page shows (its product, author, cohorts and
    capabilities); ``related=False`` for a write that needs only the item and its product
    (a move re-renders the list, not the item), two queries fewer."""
    items = BacklogItem.objects.filter(product__organisation=organisation, pk=pk)
    if not related:
        return items.select_related("product__organisation").first()
    return (
        items.select_related("product", "created_by")
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
    where the team's weekly capacity runs out (the id of the first item that does not fit).

    ``through`` is the count and effort of the open items up to the page's last key, when
    the page is in manual order: the next page's cursor carries it (``Cursor``), so a deep
    page never counts the items above it."""

    manual_rank: dict[int, int]
    capacity_before_id: int | None
    capacity: int
    through: tuple[int, Decimal] | None = None


@dataclass(frozen=True)
class Cursor:
    """The manual order's paging cursor: the last key shown and, when known, how many open
    items (and how much effort) sort up to it. Written ``key~count~effort``; "~" is in no
    key. A bare key (an old link) still works: the count is then made once."""

    key: str
    count: int | None = None
    effort: Decimal | None = None

    @classmethod
    def parse(cls, text: str) -> Cursor:
        key, *carried = text.split("~")
        if len(carried) == 2 and carried[0].isdigit():
            try:
                effort = Decimal(carried[1])
            except ArithmeticError:
                return cls(key)
            if effort.is_finite():
                return cls(key, int(carried[0]), effort)
        return cls(key)

    def __str__(self) -> str:
        if self.count is None:
            return self.key
        return f"{self.key}~{self.count}~{self.effort}"


def continue_after(next_after: str, marks: PageMarks, filters: ItemFilters) -> str:
    """The cursor for the next page: in manual order the last key with the open items'
    count and effort through it, so the next page's ranks start from there."""
    if not next_after or filters.order != MANUAL_ORDER or marks.through is None:
        return next_after
    count, effort = marks.through
    return str(Cursor(next_after, count, effort))


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
    *,
    product: Product,
    items: list[ListedItem],
    filters: ItemFilters,
    first_page: bool,
    after: str = "",
) -> PageMarks:
    """Manual ranks and the capacity line for one page.

    In manual order (filtered or not) the page is a run of keys: the open items before it
    come from the cursor (or one count on the partial index of open items when the cursor
    does not carry it), and the open items within the run from one index-only scan of that
    run. The score and cohort orders scatter the page over the product: their ranks number
    the open items up to the page's last key (the one query here that grows with the
    backlog). The capacity line is drawn in the unfiltered manual order only.
    """
    capacity = product.weekly_capacity
    if not items:
        return PageMarks({}, None, capacity)
    if filters.order != MANUAL_ORDER:
        open_ids = [item.pk for item in items if item.status in OPEN_STATUSES]
        return PageMarks(_window_ranks(product, open_ids), None, capacity)
    open_items = BacklogItem.objects.filter(product=product, status__in=OPEN_STATUSES)
    top = first_page and not filters.active
    cursor = Cursor("", 0, Decimal(0)) if top else Cursor.parse(after)
    rank, effort = cursor.count, cursor.effort
    first_key, last_key = items[0].rank_key, items[-1].rank_key
    run = open_items.filter(rank_key__gt=cursor.key) if cursor.key else open_items
    if rank is None or effort is None:
        before = open_items.filter(rank_key__lt=first_key).aggregate(
            n=Count("pk"), effort=Sum("effort")
        )
        rank, effort = before["n"], before["effort"] or Decimal(0)
        run = open_items.filter(rank_key__gte=first_key)
    line_drawn = filters.active or effort > capacity
    if filters.active:
        # Open items the filter hid (since the cursor, up to the page's last key) still
        # take up ranks: one index-only scan of that run on the partial index.
        run = run.filter(rank_key__lte=last_key)
        keys = list(run.order_by("rank_key").values_list("rank_key", "effort"))
    else:
        keys = [(item.rank_key, item.effort) for item in items if item.status in OPEN_STATUSES]
    through = {}
    for key, item_effort in keys:
        rank += 1
        effort += item_effort or 0
        through[key] = (rank, effort)
    ranks, capacity_before = {}, None
    for item in items:
        if item.status not in OPEN_STATUSES:
            continue
        ranks[item.pk], running = through[item.rank_key]
        if not line_drawn and running > capacity:
            capacity_before, line_drawn = item.pk, True
    return PageMarks(ranks, capacity_before, capacity, through=(rank, effort))


def _window_ranks(product: Product, ids: list[int]) -> dict[int, int]:
    """Manual ranks of scattered open items (a page of the score or cohort order).

    On PostgreSQL from the product's manual ranks cached under its order version
    (``OrderVersion``): one small query while the order stands, and one index-only scan of
    the open items after it changed. Elsewhere the open items numbered in key order, up to
    the largest key asked about, from the partial index of open items (no sort)."""
    if not ids:
        return {}
    if connection.vendor == "postgresql":
        return _cached_manual_ranks(product).ranks_of(ids)
    table = BacklogItem._meta.db_table
    marks = ", ".join(["%s"] * len(ids))
    statuses = ", ".join(["%s"] * len(OPEN_STATUSES))
    sql = (
        f"SELECT id, n FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY rank_key) AS n FROM {table} "
        f"WHERE product_id = %s AND status IN ({statuses}) AND rank_key <= "
        f"(SELECT max(rank_key) FROM {table} WHERE id IN ({marks}))) AS ranked "
        f"WHERE id IN ({marks})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [product.pk, *OPEN_STATUSES, *ids, *ids])
        return dict(cursor.fetchall())


@dataclass(frozen=True)
class ManualRanks:
    """Every open item's manual rank: ids ascending, and the rank of each."""

    ids: np.ndarray
    ranks: np.ndarray

    @classmethod
    def from_order(cls, ordered_ids: list[int]) -> ManualRanks:
        ids = np.asarray(ordered_ids, dtype=np.int64)
        by_id = np.argsort(ids, kind="stable")
        return cls(ids=ids[by_id], ranks=(by_id + 1).astype(np.int32))

    def ranks_of(self, wanted: list[int]) -> dict[int, int]:
        if not len(self.ids):
            return {}
        at = np.searchsorted(self.ids, wanted).clip(max=len(self.ids) - 1).tolist()
        return {
            pk: int(self.ranks[i]) for pk, i in zip(wanted, at, strict=True) if self.ids[i] == pk
        }


# Long enough to serve a session of paging and filtering; each version is its own key, so an
# expired entry is only recounted, never wrong.
MANUAL_RANKS_SECONDS = 3600


def _manual_ranks_key(product: Product, version: int) -> str:
    # The creation time tells apart products that share an id (a restored database, tests).
    return f"manual-ranks:{product.pk}:{product.created_at.timestamp()}:{version}"


def _cached_manual_ranks(product: Product) -> ManualRanks:
    """The product's manual ranks, from the cache while its order version stands.

    A miss reads the version and the open items' ids in key order in one statement (one
    snapshot), so what is cached is exactly the order that version names: a change that
    commits meanwhile has moved the version and is read under its own key."""
    versions = OrderVersion.objects.filter(product_id=product.pk).values_list("version", flat=True)
    cached = cache.get(_manual_ranks_key(product, next(iter(versions[:1]), 0)))
    if cached is not None:
        return cached
    table, statuses = BacklogItem._meta.db_table, ", ".join(["%s"] * len(OPEN_STATUSES))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT version FROM {OrderVersion._meta.db_table} WHERE product_id = %s), "
            f"ARRAY(SELECT id FROM {table} WHERE product_id = %s AND status IN ({statuses}) "
            "ORDER BY rank_key)",
            [product.pk, product.pk, *OPEN_STATUSES],
        )
        version, ordered_ids = cursor.fetchone()
    ranks = ManualRanks.from_order(ordered_ids)
    cache.set(_manual_ranks_key(product, version or 0), ranks, MANUAL_RANKS_SECONDS)
    return ranks
