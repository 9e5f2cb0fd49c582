"""Reads for the show-and-tell page: each section's data in a fixed number of queries,
whatever the size of the backlog."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Prefetch, Q, Sum
from django.utils import timezone

from backlog.models import (
    GO_LIVE_ROLES,
    OPEN_STATUSES,
    BacklogItem,
    Decision,
    DecisionKind,
    GoLiveSignature,
    ItemEvent,
    ItemEventKind,
    ItemStatus,
    ShowAndTell,
)
from prioritisation import results
from prioritisation.models import BenefitEstimate

SECTIONS = ("done", "benefit", "next", "golive", "decisions")
SECTION_TITLES = {
    "done": "Done this week",
    "benefit": "Benefit landed",
    "next": "Next up",
    "golive": "Go-live",
    "decisions": "Decisions and actions",
}
DONE_LIMIT = 100  # rows shown; the counts and sums cover every item
GO_LIVE_LIMIT = 50  # items shown waiting for sign-off, oldest first; the count covers all


def _local_midnight(day, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime


def window(session: ShowAndTell) -> Window:
    """From the end of the previous session's day (or the seven days before this session's
    day) to the end of this session's day, in the organisation's time zone, so no day is
    counted twice. The product's latest session, held late or still running after its day,
    stretches to its finish (or now); older ones never do."""
    zone = ZoneInfo(session.product.organisation.time_zone)
    previous = (
        ShowAndTell.objects.filter(product_id=session.product_id, date__lt=session.date)
        .order_by("-date")
        .values_list("date", flat=True)
        .first()
    )
    start_day = previous + timedelta(days=1) if previous else session.date - timedelta(days=6)
    end = _local_midnight(session.date + timedelta(days=1), zone)
    is_latest = not ShowAndTell.objects.filter(
        product_id=session.product_id, date__gt=session.date
    ).exists()
    if is_latest:
        end = max(end, session.finished_at or timezone.now())
    return Window(_local_midnight(start_day, zone), end)


def _finished_between(product_id: int, start: datetime, end: datetime):
    return BacklogItem.objects.filter(product_id=product_id).filter(
        Q(done_at__gte=start, done_at__lt=end) | Q(live_at__gte=start, live_at__lt=end)
    )


@dataclass(frozen=True)
class DoneRow:
    pk: int
    title: str
    status: str
    effort: Decimal | None
    finished_at: datetime
    by: str


def done_this_week(session: ShowAndTell, span: Window) -> tuple[list[DoneRow], int, Decimal]:
    """Items that reached done or live in the window, with who moved them there."""
    items = _finished_between(session.product_id, span.start, span.end)
    total = items.count()
    effort = items.aggregate(effort=Sum("effort"))["effort"] or Decimal(0)
    rows = list(
        items.order_by("done_at", "pk").values_list(
            "pk", "title", "status", "effort", "done_at", "live_at"
        )[:DONE_LIMIT]
    )
    movers = {}
    events = (
        ItemEvent.objects.filter(
            item_id__in=[r[0] for r in rows],
            kind=ItemEventKind.STATUS,
            data__to__in=[ItemStatus.DONE, ItemStatus.LIVE],
        )
        .order_by("item_id", "-created_at")
        .values_list("item_id", "actor__first_name", "actor__last_name", "actor__username")
    )
    for item_id, first, last, username in events:
        movers.setdefault(item_id, f"{first} {last}".strip() or username or "")
    return (
        [
            DoneRow(
                pk,
                title,
                status,
                effort_,
                live_at if status == ItemStatus.LIVE and live_at else done_at or live_at,
                movers.get(pk, "") or "—",
            )
            for pk, title, status, effort_, done_at, live_at in rows
        ],
        total,
        effort,
    )


@dataclass
class BenefitTable:
    cohorts: list[str]
    rows: list[dict] = field(default_factory=list)  # metric, unit, cells [{value, width}], total


def _benefit(item_filter) -> BenefitTable:
    sums = (
        BenefitEstimate.objects.filter(item__in=item_filter)
        .values("metric__name", "metric__unit", "cohort__name")
        .annotate(total=Sum("value"))
        .order_by("metric__name", "cohort__name")
    )
    by_metric: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(dict)
    cohorts: set[str] = set()
    for row in sums:
        by_metric[(row["metric__name"], row["metric__unit"])][row["cohort__name"]] = row["total"]
        cohorts.add(row["cohort__name"])
    ordered = sorted(cohorts)
    table = BenefitTable(cohorts=ordered)
    for (metric, unit), values in sorted(by_metric.items()):
        peak = max((abs(v) for v in values.values()), default=0) or 1
        table.rows.append(
            {
                "metric": metric,
                "unit": unit,
                "cells": [
                    {
                        "value": values.get(c, Decimal(0)),
                        "width": f"{100 * abs(values.get(c, 0)) / peak:.0f}",
                    }
                    for c in ordered
                ],
                "total": sum(values.values(), Decimal(0)),
            }
        )
    return table


def benefit_landed(session: ShowAndTell, span: Window) -> tuple[BenefitTable, BenefitTable]:
    """Estimated benefit of the items finished this week, and since the quarter began."""
    zone = ZoneInfo(session.product.organisation.time_zone)
    quarter_month = 3 * ((session.date.month - 1) // 3) + 1
    quarter_start = _local_midnight(session.date.replace(month=quarter_month, day=1), zone)
    week = _finished_between(session.product_id, span.start, span.end)
    quarter = _finished_between(session.product_id, quarter_start, span.end)
    return _benefit(week), _benefit(quarter)


@dataclass(frozen=True)
class NextRow:
    pk: int
    title: str
    status: str
    effort: Decimal | None
    manual_rank: int
    score: float | None
    score_rank: int | None
    vote_rank: int | None

    @property
    def disagreement(self) -> str:
        parts = []
        if self.score_rank and abs(self.score_rank - self.manual_rank) >= 3:
            parts.append(f"the score ranks it #{self.score_rank}")
        if self.vote_rank and abs(self.vote_rank - self.manual_rank) >= 3:
            parts.append(f"the vote ranks it #{self.vote_rank}")
        return "; ".join(parts)

    def as_frozen(self) -> dict:
        return {
            "pk": self.pk,
            "title": self.title,
            "effort": str(self.effort) if self.effort is not None else None,
            "manual_rank": self.manual_rank,
            "score": self.score,
            "score_rank": self.score_rank,
            "vote_rank": self.vote_rank,
            "disagreement": self.disagreement,
        }


def next_up(session: ShowAndTell, *, look_ahead: int = 200) -> tuple[list[NextRow], Decimal]:
    """The top of the agreed (manual) order that fits one week's capacity.

    An item with no effort estimate is listed in its place but not counted towards the
    capacity: its size is unknown, not 0 (the page says how many there are)."""
    product = session.product
    capacity = Decimal(product.weekly_capacity)
    rows = list(
        BacklogItem.objects.filter(product=product, status__in=OPEN_STATUSES)
        .order_by("rank_key")
        .values_list("pk", "title", "status", "effort", "score__score", "score__rank")[:look_ahead]
    )
    vote = _vote_positions(product)
    chosen, used = [], Decimal(0)
    for position, (pk, title, status, effort, score, score_rank) in enumerate(rows, start=1):
        if effort is not None:
            if used + effort > capacity:
                break
            used += effort
        chosen.append(NextRow(pk, title, status, effort, position, score, score_rank, vote.get(pk)))
    return chosen, used


def _vote_positions(product) -> dict[int, int]:
    """Item → place in the latest closed voting round's frozen consensus."""
    _round, outcome = results.latest_result(product, closed_only=True)
    return results.places(outcome) if outcome else {}


@dataclass(frozen=True)
class Person:
    pk: int
    name: str


def _person(user) -> Person | None:
    if user is None:
        return None
    return Person(user.pk, user.get_full_name() or user.get_username())


@dataclass(frozen=True)
class Signature:
    signer: Person
    signed_at: datetime


@dataclass(frozen=True)
class GoLiveRow:
    pk: int
    title: str
    signatures: dict[str, Signature]  # role → signature

    def roles(self) -> list[dict]:
        return [
            {"role": role, "label": role.label, "signature": self.signatures.get(role.value)}
            for role in GO_LIVE_ROLES
        ]


def go_live_queue(session: ShowAndTell) -> tuple[list[GoLiveRow], int]:
    """Done items waiting for the four signatures, oldest first (the first GO_LIVE_LIMIT),
    and how many there are in all."""
    waiting = BacklogItem.objects.filter(product_id=session.product_id, status=ItemStatus.DONE)
    items = (
        waiting.order_by("done_at", "pk")
        .only("pk", "title", "status", "done_at", "product_id")
        .prefetch_related(
            Prefetch("signatures", queryset=GoLiveSignature.objects.select_related("signer"))
        )
    )
    rows = [
        GoLiveRow(
            item.pk,
            item.title,
            {s.role: Signature(_person(s.signer), s.signed_at) for s in item.signatures.all()},
        )
        for item in items[:GO_LIVE_LIMIT]
    ]
    return rows, waiting.count()


def go_live_row(session: ShowAndTell, item_pk: int) -> GoLiveRow | None:
    """One item of the go-live queue with its signatures (also once it is live: the page
    shows its four signatures where it was signed)."""
    item = (
        BacklogItem.objects.filter(product_id=session.product_id, pk=item_pk)
        .only("pk", "title", "product_id")
        .prefetch_related(
            Prefetch("signatures", queryset=GoLiveSignature.objects.select_related("signer"))
        )
        .first()
    )
    if item is None:
        return None
    signatures = {s.role: Signature(_person(s.signer), s.signed_at) for s in item.signatures.all()}
    return GoLiveRow(item.pk, item.title, signatures)


@dataclass(frozen=True)
class Waiting:
    pk: int
    title: str
    done_at: datetime | None


def waiting_for_role(session: ShowAndTell, role: str) -> list[Waiting]:
    """Done items that ``role`` has not signed yet, oldest first: what "sign all" signs."""
    return [
        Waiting(*row)
        for row in BacklogItem.objects.filter(product_id=session.product_id, status=ItemStatus.DONE)
        .exclude(signatures__role=role)
        .order_by("done_at", "pk")
        .values_list("pk", "title", "done_at")
    ]


def waiting_counts(session: ShowAndTell, roles: frozenset[str]) -> list[dict]:
    """For each go-live role the person holds, how many done items still wait for it (one
    query per role held; people hold one, seldom two)."""
    done = BacklogItem.objects.filter(product_id=session.product_id, status=ItemStatus.DONE)
    return [
        {"role": r.value, "label": r.label, "count": done.exclude(signatures__role=r.value).count()}
        for r in GO_LIVE_ROLES
        if r.value in roles
    ]


@dataclass(frozen=True)
class LiveRow:
    pk: int
    title: str
    live_at: datetime


def went_live(session: ShowAndTell, span: Window) -> list[LiveRow]:
    return [
        LiveRow(*row)
        for row in BacklogItem.objects.filter(
            product_id=session.product_id, live_at__gte=span.start, live_at__lt=span.end
        )
        .order_by("live_at")
        .values_list("pk", "title", "live_at")
    ]


@dataclass(frozen=True)
class DecisionRow:
    pk: int
    kind: str
    text: str
    owner: Person | None
    agreed_by: list[Person]
    created_at: datetime

    @property
    def kind_label(self) -> str:
        return DecisionKind(self.kind).label


def decisions(session: ShowAndTell) -> list[DecisionRow]:
    return [
        DecisionRow(
            d.pk,
            d.kind,
            d.text,
            _person(d.owner),
            [_person(p) for p in d.agreed_by.all()],
            d.created_at,
        )
        for d in Decision.objects.filter(session=session)
        .select_related("owner")
        .prefetch_related("agreed_by")
    ]


def _unknown_effort(rows: list[dict]) -> int:
    return sum(1 for row in rows if row["effort"] is None)


def _next_up_section(session: ShowAndTell) -> dict:
    if session.next_up_confirmed_at:
        # Frozen rows are stored JSON; rows frozen before disagreements were recorded lack one.
        rows = [{"disagreement": "", **row} for row in session.next_up]
        return {
            "next_up": rows,
            "next_up_effort": None,
            "next_up_frozen": True,
            "next_up_unknown": _unknown_effort(rows),
        }
    found, used = next_up(session)
    rows = [row.as_frozen() for row in found]
    return {
        "next_up": rows,
        "next_up_effort": used,
        "next_up_frozen": False,
        "next_up_unknown": _unknown_effort(rows),
    }


def _section(key: str, session: ShowAndTell, span: Window) -> dict:
    if key == "done":
        done, count, effort = done_this_week(session, span)
        return {"done": done, "done_count": count, "done_effort": effort}
    if key == "benefit":
        week, quarter = benefit_landed(session, span)
        return {"week_benefit": week, "quarter_benefit": quarter}
    if key == "next":
        return _next_up_section(session)
    if key == "golive":
        rows, waiting = go_live_queue(session)
        return {"go_live": rows, "go_live_waiting": waiting, "went_live": went_live(session, span)}
    return {"decisions": decisions(session)}


def session_sections(session: ShowAndTell, *, only: str | None = None) -> dict:
    """The sections' data: all of them for the session page and the digest, or ``only`` one
    (a fragment after an action in the room, a presenter-mode step). A finished session
    shows the record frozen when it finished, never today's data."""
    if session.record is not None:
        return thaw(session.record, only=only)
    span = window(session)
    context: dict = {
        "window": span,
        "sections": [(key, SECTION_TITLES[key]) for key in SECTIONS],
    }
    for key in SECTIONS if only is None else (only,):
        context.update(_section(key, session, span))
    return context


# ---------------------------------------------------------------- the frozen record


def freeze(session: ShowAndTell) -> dict:
    """Every section as it stands now, as JSON-ready data for ``ShowAndTell.record``."""
    sections = session_sections(session)
    sections.pop("sections")
    return json.loads(json.dumps(sections, cls=_RecordEncoder))


class _RecordEncoder(DjangoJSONEncoder):
    def default(self, o):
        if is_dataclass(o) and not isinstance(o, type):
            return asdict(o)
        return super().default(o)


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _number(value: str | None) -> Decimal | None:
    return Decimal(value) if value is not None else None


def _thaw_person(data: dict | None) -> Person | None:
    return Person(data["pk"], data["name"]) if data else None


def _thaw_benefit(data: dict) -> BenefitTable:
    rows = [
        {
            **row,
            "cells": [{**cell, "value": Decimal(cell["value"])} for cell in row["cells"]],
            "total": Decimal(row["total"]),
        }
        for row in data["rows"]
    ]
    return BenefitTable(cohorts=data["cohorts"], rows=rows)


def thaw(record: dict, *, only: str | None = None) -> dict:
    """``session_sections`` of a finished session, rebuilt from its record."""
    context: dict = {
        "window": Window(_when(record["window"]["start"]), _when(record["window"]["end"])),
        "sections": [(key, SECTION_TITLES[key]) for key in SECTIONS],
    }
    keys = SECTIONS if only is None else (only,)
    if "done" in keys:
        context["done"] = [
            DoneRow(
                r["pk"],
                r["title"],
                r["status"],
                _number(r["effort"]),
                _when(r["finished_at"]),
                r["by"],
            )
            for r in record["done"]
        ]
        context["done_count"] = record["done_count"]
        context["done_effort"] = Decimal(record["done_effort"])
    if "benefit" in keys:
        context["week_benefit"] = _thaw_benefit(record["week_benefit"])
        context["quarter_benefit"] = _thaw_benefit(record["quarter_benefit"])
    if "next" in keys:
        context["next_up"] = record["next_up"]
        context["next_up_effort"] = _number(record["next_up_effort"])
        context["next_up_frozen"] = record["next_up_frozen"]
        # Records frozen before the count was kept: the rows say it.
        context["next_up_unknown"] = _unknown_effort(record["next_up"])
    if "golive" in keys:
        context["go_live"] = [
            GoLiveRow(
                r["pk"],
                r["title"],
                {
                    role: Signature(_thaw_person(sig["signer"]), _when(sig["signed_at"]))
                    for role, sig in r["signatures"].items()
                },
            )
            for r in record["go_live"]
        ]
        context["go_live_waiting"] = record["go_live_waiting"]
        context["went_live"] = [
            LiveRow(r["pk"], r["title"], _when(r["live_at"])) for r in record["went_live"]
        ]
    if "decisions" in keys:
        context["decisions"] = [
            DecisionRow(
                r["pk"],
                r["kind"],
                r["text"],
                _thaw_person(r["owner"]),
                [_thaw_person(p) for p in r["agreed_by"]],
                _when(r["created_at"]),
            )
            for r in record["decisions"]
        ]
    return context
