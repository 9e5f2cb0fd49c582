"""Events turned into entries a person reads: who, what, and each field before and after.

For a page of events: one query per kind of row (each event with the one before it of the
same row), and one per kind of related row named (people, items, cohorts...)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import OuterRef, Q, Subquery

from backlog.audit.sources import CHANGES, SECRET_BALLOT_FIELDS, SOURCES, Source
from backlog.models import BacklogItem, OrderSnapshot, Product
from customers.history import DELETE, INSERT, UPDATE
from customers.models import Cohort
from prioritisation.models import BenefitMetric, VotingRound


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
    if value is None or value == "" or value == {} or value == []:
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


def entries_for(keys: list[dict], known: Iterable[models.Model] = ()) -> list[Entry]:
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
