"""The recorded history, read back: an item's changes and an organisation's audit log.

This module combines every app's event tables (kept by django-pghistory's triggers, see
``customers.history``), so it sits with the views, above ``prioritisation``.

Tenancy comes from the rows themselves: an event belongs to the organisation its row
belongs to (an item's product's, a ballot's round's product's...), never to whoever acted,
so another organisation's events cannot appear, whoever made them.

A page costs a fixed number of queries, whatever its length: one for the page's events
across all tables (``UNION ALL``, newest first), one per kind of row on the page (each
event with the one before it of the same row, which gives the "before" values), and one per
kind of related row named (people, items, cohorts...).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db import connection, models
from django.db.models import OuterRef, Q, Subquery, Value

from backlog.models import (
    BacklogItem,
    GoLiveSignature,
    OrderSnapshot,
    Product,
    ProductRole,
)
from customers.history import DELETE, INSERT, UPDATE
from customers.models import Cohort, Membership, Organisation
from prioritisation.models import (
    Ballot,
    BenefitEstimate,
    BenefitMetric,
    ItemScoringInputs,
    VotingRound,
)

PAGE_SIZE = 50
ITEM_PAGE_LIMIT = 10  # the latest changes shown on the item page itself
MAX_PAGE = 200  # deeper than 10,000 entries back: narrow the dates instead
CSV_CHUNK = 500

CHANGES = {INSERT: "Created", UPDATE: "Changed", DELETE: "Deleted"}


@dataclass(frozen=True)
class Source:
    """One tracked model: how its events reach an organisation, a product and an item."""

    key: str
    label: str
    model: type[models.Model]
    organisation: str  # lookup from an event to its organisation
    product: str | None = None  # ... to its product, if it has one
    item: str | None = None  # ... to its item, if it is part of an item's history
    hidden: frozenset[str] = frozenset()  # fields that name the row rather than change

    @property
    def events(self) -> type[models.Model]:
        return self.model.pgh_event_model

    @property
    def fields(self) -> list[models.Field]:
        return [f for f in self.events._meta.fields if not f.name.startswith("pgh_")]


SOURCES: dict[str, Source] = {
    source.key: source
    for source in (
        Source(
            "item",
            "Backlog items",
            BacklogItem,
            "product__organisation",
            product="product",
            item="pgh_obj",
            hidden=frozenset({"product"}),
        ),
        Source(
            "order",
            "Bulk reorders",
            OrderSnapshot,
            "product__organisation",
            product="product",
            hidden=frozenset({"product", "actor", "kind"}),
        ),
        Source(
            "estimate",
            "Benefit estimates",
            BenefitEstimate,
            "item__product__organisation",
            product="item__product",
            item="item",
            hidden=frozenset({"item", "cohort", "metric", "updated_by"}),
        ),
        Source(
            "inputs",
            "Scoring inputs",
            ItemScoringInputs,
            "item__product__organisation",
            product="item__product",
            item="item",
            hidden=frozenset({"item"}),
        ),
        Source(
            "signature",
            "Go-live signatures",
            GoLiveSignature,
            "item__product__organisation",
            product="item__product",
            item="item",
            hidden=frozenset({"item", "session"}),
        ),
        Source(
            "ballot",
            "Ballots",
            Ballot,
            "round__product__organisation",
            product="round__product",
            hidden=frozenset({"round", "voter", "cohort"}),
        ),
        Source(
            "settings",
            "Product settings",
            Product,
            "organisation",
            product="pgh_obj",
            hidden=frozenset({"organisation"}),
        ),
        Source(
            "role",
            "Product roles",
            ProductRole,
            "product__organisation",
            product="product",
            hidden=frozenset({"product"}),
        ),
        Source(
            "membership",
            "Memberships",
            Membership,
            "organisation",
            hidden=frozenset({"organisation", "user"}),
        ),
        Source("cohort", "Cohorts", Cohort, "organisation", hidden=frozenset({"organisation"})),
        Source(
            "metric",
            "Benefit metrics",
            BenefitMetric,
            "organisation",
            hidden=frozenset({"organisation"}),
        ),
    )
}
ITEM_SOURCES = [s for s in SOURCES.values() if s.item]

# Ballots are secret unless the round says otherwise: the audit log shows that a ballot was
# cast or changed, and its contents only where the round lets the product owner see them.
SECRET_BALLOT_FIELDS = frozenset({"ranking", "points"})


@dataclass(frozen=True)
class AuditFilters:
    start: date | None = None
    end: date | None = None  # inclusive
    person: int | None = None  # a user id
    kind: str = ""  # a Source key
    change: str = ""  # insert / update / delete
    product: Product | None = None


@dataclass(frozen=True)
class Change:
    field: str
    before: str | None
    after: str | None


@dataclass
class Entry:
    """One event, ready to show: when, who, what, and the fields it changed."""

    source: Source
    when: datetime
    action: str
    subject: str
    product: str = ""
    who: str = "System"
    via: str = ""
    changes: list[Change] = field(default_factory=list)
    before_unknown: bool = False  # an update with no earlier event to compare with


@dataclass(frozen=True)
class Page:
    entries: list[Entry]
    number: int
    has_next: bool


# ---------------------------------------------------------------- selecting events


def _day_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


def _filtered(
    source: Source,
    *,
    organisation: Organisation | None,
    item: BacklogItem | None,
    filters: AuditFilters,
    tz: ZoneInfo,
) -> models.QuerySet | None:
    """The source's events in scope and matching the filters; None when none can match."""
    if filters.kind and filters.kind != source.key:
        return None
    events = source.events.objects.filter(pgh_label__in=list(CHANGES))
    if organisation is not None:
        events = events.filter(**{source.organisation: organisation})
    if item is not None:
        if not source.item:
            return None
        events = events.filter(**{source.item: item})
    if filters.product is not None:
        if not source.product:
            return None
        events = events.filter(**{source.product: filters.product})
    if filters.start:
        events = events.filter(pgh_created_at__gte=_day_start(filters.start, tz))
    if filters.end:
        events = events.filter(pgh_created_at__lt=_day_start(filters.end + timedelta(days=1), tz))
    if filters.person is not None:
        events = events.filter(pgh_context__metadata__user=filters.person)
    if filters.change:
        events = events.filter(pgh_label=filters.change)
    return events


def _keys(
    *,
    organisation: Organisation | None,
    item: BacklogItem | None,
    filters: AuditFilters,
    tz: ZoneInfo,
    limit: int | None,
) -> models.QuerySet | None:
    """(source, pgh_id, pgh_created_at) of matching events of every source, newest first,
    as one ``UNION ALL`` query. Each part is cut to ``limit`` first where the database
    allows it, so each reads only the newest rows of its time index."""
    parts = []
    for source in SOURCES.values():
        events = _filtered(source, organisation=organisation, item=item, filters=filters, tz=tz)
        if events is None:
            continue
        events = events.annotate(source=Value(source.key, output_field=models.CharField()))
        parts.append(events.values("source", "pgh_id", "pgh_created_at"))
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0].order_by("-pgh_created_at", "-pgh_id")
    if limit is not None and connection.features.supports_slicing_ordering_in_compound:
        parts = [part.order_by("-pgh_created_at", "-pgh_id")[:limit] for part in parts]
    keys = parts[0].union(*parts[1:], all=True)
    return keys.order_by("-pgh_created_at", "source", "-pgh_id")


# ---------------------------------------------------------------- turning events into entries


def _with_previous(source: Source, ids: list[int]) -> dict[int, tuple[object, object | None]]:
    """Each event of ``ids`` with the event before it of the same row (or None), in one
    query: the events, and for each the newest earlier event of its row."""
    events = source.events
    previous = Subquery(
        events.objects.filter(pgh_obj=OuterRef("pgh_obj"), pgh_id__lt=OuterRef("pgh_id"))
        .order_by("-pgh_id")
        .values("pgh_id")[:1]
    )
    previous_ids = events.objects.filter(pgh_id__in=ids).annotate(prev=previous).values("prev")
    rows = list(
        events.objects.filter(Q(pgh_id__in=ids) | Q(pgh_id__in=previous_ids))
        .select_related("pgh_context")
        .order_by("pgh_id")
    )
    wanted = set(ids)
    latest: dict[object, object] = {}  # row id -> its newest event seen so far
    pairs = {}
    # In id order, the event fetched just before one of the same row is its predecessor:
    # every fetched event is wanted or the predecessor of a wanted one, so none can fall
    # between an event and its predecessor.
    for row in rows:
        if row.pgh_id in wanted:
            pairs[row.pgh_id] = (row, latest.get(row.pgh_obj_id))
        latest[row.pgh_obj_id] = row
    return pairs


# Keys an entry never names: the organisation is the reader's own, and who acted comes
# from the event's context.
UNNAMED = frozenset({"organisation", "session", "updated_by", "actor"})


class _Names:
    """Related rows named by a page's events, fetched once per model: the rows the events
    point at, then the products of the items and rounds among them. ``known`` rows (the
    page's item and product) are not fetched again."""

    def __init__(self, events: Iterable[object], known: Iterable[models.Model] = ()):
        wanted: dict[type[models.Model], set] = defaultdict(set)
        user_model = get_user_model()
        for event in events:
            if event is None:
                continue
            for f in event._meta.fields:
                if f.is_relation and not f.name.startswith("pgh_") and f.name not in UNNAMED:
                    value = getattr(event, f.attname)
                    if value is not None:
                        wanted[f.related_model].add(value)
            user = _context(event).get("user")
            if isinstance(user, int):
                wanted[user_model].add(user)
        self._rows: dict[type[models.Model], dict] = defaultdict(dict)
        for row in known:
            self._rows[type(row)][row.pk] = row
        products = wanted.pop(Product, set())
        for model, ids in wanted.items():
            missing = ids - self._rows[model].keys()
            if missing:
                self._rows[model].update(model.objects.in_bulk(missing))
        for model in (BacklogItem, VotingRound):
            products.update(row.product_id for row in self._rows[model].values())
        missing = products - self._rows[Product].keys()
        if missing:
            self._rows[Product].update(Product.objects.in_bulk(missing))

    def get(self, model: type[models.Model], pk) -> models.Model | None:
        return self._rows[model].get(pk)

    def name(self, model: type[models.Model], pk) -> str:
        row = self.get(model, pk)
        if row is None:
            return f"#{pk} (deleted)"
        if isinstance(row, get_user_model()):
            return row.get_full_name() or row.get_username()
        if isinstance(row, BacklogItem):
            return f"“{row.title}”"
        return str(row)


def _context(event) -> dict:
    context = getattr(event, "pgh_context", None)
    return context.metadata if context is not None else {}


def _who(event, names: _Names) -> tuple[str, str]:
    """Who acted (a person, a background task, a command) and through which URL or task."""
    metadata = _context(event)
    user = metadata.get("user")
    url = metadata.get("url") or ""
    if metadata.get("task"):
        return f"Background task {metadata['task']}", url
    if isinstance(user, int):
        return names.name(get_user_model(), user), url
    if metadata.get("command"):
        return f"Command {metadata['command']}", ""
    return "System", url


def _show(f: models.Field, value, names: _Names) -> str | None:
    if value is None or value == "":
        return None
    if f.is_relation:
        return names.name(f.related_model, value)
    if f.flatchoices:
        return str(dict(f.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ": "))
    return str(value)


def _label(source: Source, f: models.Field) -> str:
    verbose = source.model._meta.get_field(f.name).verbose_name
    return str(verbose)[:1].upper() + str(verbose)[1:]


def _changes(source: Source, event, before, names: _Names, *, secret: bool) -> list[Change]:
    changes = []
    for f in source.fields:
        if f.name in source.hidden:
            continue
        old = getattr(before, f.attname) if before is not None else None
        new = getattr(event, f.attname) if event.pgh_label != DELETE else None
        if event.pgh_label == DELETE:
            old = getattr(event, f.attname)
        if event.pgh_label == UPDATE and before is not None and old == new:
            continue
        if f.name == "rank_key":
            # Order keys mean nothing to a person; that the item moved does.
            if event.pgh_label == UPDATE and before is not None:
                changes.append(Change("Place in the manual order", None, "Moved"))
            continue
        shown_old, shown_new = _show(f, old, names), _show(f, new, names)
        if shown_old is None and shown_new is None:
            continue
        if secret and f.name in SECRET_BALLOT_FIELDS:
            shown_old = shown_old and "(secret)"
            shown_new = shown_new and "(secret)"
        changes.append(Change(_label(source, f), shown_old, shown_new))
    return changes


def _describe(source: Source, event, names: _Names) -> tuple[str, str, str]:
    """(action, subject, product name) for an event."""
    action = CHANGES[event.pgh_label]
    product_name = ""
    if source.product and source.product != "pgh_obj":
        first = source.events._meta.get_field(source.product.split("__")[0])
        parent = names.get(first.related_model, getattr(event, first.attname))
        if parent is not None and not isinstance(parent, Product):
            parent = names.get(Product, parent.product_id)
        product_name = parent.name if parent is not None else ""
    key = source.key
    if key == "item":
        subject = f"Item “{event.title}”"
    elif key == "order":
        action = dict(OrderSnapshot._meta.get_field("kind").flatchoices).get(event.kind, event.kind)
        subject = f"Manual order of {product_name or 'a product'}"
    elif key == "estimate":
        subject = (
            f"Estimate for {names.name(BacklogItem, event.item_id)}: "
            f"{names.name(Cohort, event.cohort_id)} · {names.name(BenefitMetric, event.metric_id)}"
        )
    elif key == "inputs":
        subject = f"Scoring inputs of {names.name(BacklogItem, event.item_id)}"
    elif key == "signature":
        action = {INSERT: "Signed for go-live", DELETE: "Withdrew a go-live signature"}.get(
            event.pgh_label, action
        )
        subject = f"Item {names.name(BacklogItem, event.item_id)}"
    elif key == "ballot":
        round_ = names.get(VotingRound, event.round_id)
        title = f"“{round_.title}”" if round_ is not None else "a deleted round"
        subject = f"Ballot of {names.name(get_user_model(), event.voter_id)} in {title}"
    elif key == "settings":
        subject = f"Product “{event.name}”"
        product_name = event.name
    elif key == "role":
        subject = f"Role on {product_name or 'a product'}"
    elif key == "membership":
        subject = f"Membership of {names.name(get_user_model(), event.user_id)}"
    elif key == "cohort":
        subject = f"Cohort “{event.name}”"
    else:
        subject = f"Metric “{event.name}”"
    return action, subject, product_name


def _secret(source: Source, event, names: _Names) -> bool:
    if source.key != "ballot":
        return False
    round_ = names.get(VotingRound, event.round_id)
    return round_ is None or not round_.ballots_visible


def _entries(keys: list[dict], known: Iterable[models.Model] = ()) -> list[Entry]:
    """Entries for ``keys`` (source, pgh_id), in their order."""
    by_source: dict[str, list[int]] = defaultdict(list)
    for key in keys:
        by_source[key["source"]].append(key["pgh_id"])
    pairs = {name: _with_previous(SOURCES[name], ids) for name, ids in by_source.items() if ids}
    names = _Names(
        (event for found in pairs.values() for pair in found.values() for event in pair), known
    )
    entries = []
    for key in keys:
        source = SOURCES[key["source"]]
        event, before = pairs[source.key][key["pgh_id"]]
        action, subject, product_name = _describe(source, event, names)
        who, via = _who(event, names)
        entries.append(
            Entry(
                source=source,
                when=event.pgh_created_at,
                action=action,
                subject=subject,
                product=product_name,
                who=who,
                via=via,
                changes=_changes(
                    source, event, before, names, secret=_secret(source, event, names)
                ),
                before_unknown=event.pgh_label == UPDATE and before is None,
            )
        )
    return entries


# ---------------------------------------------------------------- what the pages call


def audit_page(*, organisation: Organisation, filters: AuditFilters, number: int = 1) -> Page:
    """One page of the organisation's audit log, newest first."""
    return _page(organisation=organisation, item=None, filters=filters, number=number)


def item_changes(*, item: BacklogItem, number: int = 1, size: int = PAGE_SIZE) -> Page:
    """The item's own changes, its estimates', scoring inputs' and go-live signatures'."""
    return _page(organisation=None, item=item, filters=AuditFilters(), number=number, size=size)


def _page(
    *,
    organisation: Organisation | None,
    item: BacklogItem | None,
    filters: AuditFilters,
    number: int,
    size: int = PAGE_SIZE,
) -> Page:
    number = min(max(number, 1), MAX_PAGE)
    start = (number - 1) * size
    org = organisation or item.product.organisation
    keys = _keys(
        organisation=organisation,
        item=item,
        filters=filters,
        tz=ZoneInfo(org.time_zone),
        limit=start + size + 1,
    )
    rows = list(keys[start : start + size + 1]) if keys is not None else []
    known = (item, item.product) if item is not None else ()
    return Page(entries=_entries(rows[:size], known), number=number, has_next=len(rows) > size)


def audit_rows(*, organisation: Organisation, filters: AuditFilters) -> Iterator[list[str]]:
    """Every matching event as CSV cells, one row per changed field, newest first. Reads
    the events in chunks, so an export of any length holds only a chunk in memory."""
    keys = _keys(
        organisation=organisation,
        item=None,
        filters=filters,
        tz=ZoneInfo(organisation.time_zone),
        limit=None,
    )
    yield [
        "When",
        "Who",
        "Via",
        "Kind",
        "Action",
        "Object",
        "Product",
        "Field",
        "Before",
        "After",
    ]
    if keys is None:
        return
    chunk: list[dict] = []
    for key in keys.iterator(chunk_size=CSV_CHUNK):
        chunk.append(key)
        if len(chunk) == CSV_CHUNK:
            yield from _csv_rows(_entries(chunk))
            chunk = []
    if chunk:
        yield from _csv_rows(_entries(chunk))


def _csv_rows(entries: Iterable[Entry]) -> Iterator[list[str]]:
    for entry in entries:
        head = [
            entry.when.isoformat(),
            entry.who,
            entry.via,
            entry.source.label,
            entry.action,
            entry.subject,
            entry.product,
        ]
        for change in entry.changes or [Change("", None, None)]:
            yield [*head, change.field, change.before or "", change.after or ""]


def safe_cell(value: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula (OWASP CSV injection)."""
    return "'" + value if value.startswith(("=", "+", "-", "@", "\t", "\r")) else value
