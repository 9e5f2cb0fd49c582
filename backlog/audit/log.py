"""Selecting events: an organisation's audit log and an item's history, a page at a time
or streamed for CSV."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import connection, models
from django.db.models import Value

from backlog.audit.entries import Change, Entry, entries_for
from backlog.audit.sources import CHANGES, SOURCES, Source
from backlog.models import BacklogItem, Product
from customers.models import Organisation

PAGE_SIZE = 50
ITEM_PAGE_LIMIT = 10  # the latest changes shown on the item page itself
MAX_PAGE = 200  # deeper than 10,000 entries back: narrow the dates instead
CSV_CHUNK = 500


@dataclass(frozen=True)
class AuditFilters:
    start: date | None = None
    end: date | None = None  # inclusive
    person: int | None = None  # a user id
    kind: str = ""  # a Source key
    change: str = ""  # insert / update / delete
    product: Product | None = None


@dataclass(frozen=True)
class Page:
    entries: list[Entry]
    number: int
    has_next: bool


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
    return Page(entries=entries_for(rows[:size], known), number=number, has_next=len(rows) > size)


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
            yield from _csv_rows(entries_for(chunk))
            chunk = []
    if chunk:
        yield from _csv_rows(entries_for(chunk))


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
