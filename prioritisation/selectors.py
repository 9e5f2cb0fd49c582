"""Reads for benefit metrics, estimates and scores; every read is scoped to one organisation
or one product the caller has already loaded through a permission check."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    FloatField,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce

from backlog.models import OPEN_STATUSES, BacklogItem, Product
from customers.models import Cohort, Organisation
from prioritisation.models import (
    CONFIDENCE_FRACTION,
    BenefitEstimate,
    BenefitMetric,
    ItemScore,
    ItemScoringInputs,
    RoundCandidate,
    VotingRound,
)


def metric_list(*, organisation: Organisation) -> QuerySet[BenefitMetric]:
    return BenefitMetric.objects.filter(organisation=organisation).order_by("name")


def metrics_offered(
    *, organisation: Organisation, keep: Iterable[int] = ()
) -> QuerySet[BenefitMetric]:
    """The metrics a form offers for estimates: the active ones, and those of ``keep`` (ids
    already used), so an archived metric with an estimate still shows."""
    return metric_list(organisation=organisation).filter(
        Q(archived_at__isnull=True) | Q(pk__in=list(keep))
    )


def estimate_grid(*, item: BacklogItem) -> dict[tuple[int, int], BenefitEstimate]:
    """The item's estimates keyed by (cohort id, metric id)."""
    return {
        (e.cohort_id, e.metric_id): e
        for e in BenefitEstimate.objects.filter(item=item).select_related("updated_by")
    }


def item_score(*, item: BacklogItem) -> ItemScore | None:
    return ItemScore.objects.filter(item=item).first()


@dataclass(frozen=True)
class ScoringData:
    """A product's scoring inputs as arrays, in one item order (by id: oldest first)."""

    item_ids: np.ndarray
    open_mask: np.ndarray
    effort: np.ndarray  # NaN where not estimated
    age_key: np.ndarray  # smaller is older
    reach: np.ndarray  # RICE reach: override, else the summed size of target cohorts
    cohort_ids: list[int]
    cohort_weight: np.ndarray
    metric_ids: list[int]
    metric_weight: np.ndarray
    metric_sign: np.ndarray  # +1 higher is better, −1 lower is better
    estimate_rows: tuple[np.ndarray, ...]  # item, cohort, metric index; value; confidence
    inputs: dict[int, ItemScoringInputs]


def _rows(queryset: QuerySet) -> list[tuple]:
    """All rows of a values_list queryset in one fetch, without per-value converters.

    Scoring reads tens of thousands of rows; Django's row iterator fetches 100 at a time
    and converts each value, which costs more than the query. Only numbers and plain text
    are selected here (Decimals cast to float in SQL), so no converters are needed."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


_ARRAY_TYPES = {"i8": "bigint", "f8": "double precision", "b1": "boolean"}


def _columns(queryset: QuerySet, dtypes: tuple[str, ...]) -> list[np.ndarray]:
    """A values_list queryset's columns as NumPy arrays of ``dtypes`` ("i8", "f8", "b1").

    On PostgreSQL as one row of arrays (``array_agg`` per column, in the queryset's order),
    which the driver parses in C: 400,000 estimate rows arrive in a fraction of the time
    that building a Python tuple per row took. Columns must not be NULL."""
    sql, params = queryset.query.sql_with_params()
    if connection.vendor != "postgresql":
        rows = _rows(queryset)
        return [
            np.array([row[k] for row in rows], dtype=dtype).reshape(len(rows))
            for k, dtype in enumerate(dtypes)
        ]
    names = [f"c{k}" for k in range(len(dtypes))]
    arrays = ", ".join(
        f"coalesce(array_agg({name}::{_ARRAY_TYPES[d]}), '{{}}')"
        for name, d in zip(names, dtypes, strict=True)
    )
    with connection.cursor() as cursor:
        # Aggregated in the subquery's order, which PostgreSQL keeps for a plain scan of it.
        cursor.execute(f"SELECT {arrays} FROM ({sql}) AS q ({', '.join(names)})", params)
        row = cursor.fetchone()
    return [np.array(values, dtype=dtype) for values, dtype in zip(row, dtypes, strict=True)]


def _index_of(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Position of each of ``wanted`` in ``ids`` (all present)."""
    order = np.argsort(ids, kind="stable")
    return order[np.searchsorted(ids, wanted, sorter=order)]


def scoring_data(*, product: Product, with_inputs: bool) -> ScoringData:
    """Everything the scoring of one product needs, in a fixed number of queries.

    Items come oldest first, so an item's position is its age key."""
    organisation_id = product.organisation_id
    item_ids, open_mask, effort = _columns(
        BacklogItem.objects.filter(product=product)
        .order_by("created_at", "pk")
        .annotate(
            is_open=Case(
                When(status__in=OPEN_STATUSES, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            ),
            effort_f=Coalesce(Cast("effort", FloatField()), Value(float("nan"))),
        )
        .values_list("pk", "is_open", "effort_f"),
        ("i8", "b1", "f8"),
    )
    n = len(item_ids)
    cohorts = list(
        Cohort.objects.filter(organisation_id=organisation_id)
        .order_by("pk")
        .values_list("pk", "voice_weight")
    )
    metrics = list(
        BenefitMetric.objects.filter(organisation_id=organisation_id)
        .order_by("pk")
        .values_list("pk", "weight", "higher_is_better")
    )
    confidence = Case(
        *(When(confidence=level, then=Value(f)) for level, f in CONFIDENCE_FRACTION.items()),
        output_field=FloatField(),
    )
    estimate_item, estimate_cohort, estimate_metric, value, fraction = _columns(
        BenefitEstimate.objects.filter(item__product=product)
        .annotate(value_f=Cast("value", FloatField()), confidence_f=confidence)
        .values_list("item_id", "cohort_id", "metric_id", "value_f", "confidence_f"),
        ("i8", "i8", "i8", "f8", "f8"),
    )
    cohort_ids = np.array([pk for pk, _w in cohorts], dtype=np.int64)
    metric_ids = np.array([pk for pk, _w, _h in metrics], dtype=np.int64)
    estimate_rows = (
        _index_of(item_ids, estimate_item),
        _index_of(cohort_ids, estimate_cohort),
        _index_of(metric_ids, estimate_metric),
        value,
        fraction,
    )
    reach = np.zeros(n)
    inputs: dict[int, ItemScoringInputs] = {}
    if with_inputs:
        position = {pk: i for i, pk in enumerate(item_ids.tolist())}
        sizes = (
            BacklogItem.objects.filter(product=product)
            .annotate(reach=Sum("cohorts__size"))
            .values_list("pk", "reach")
        )
        for pk, size in sizes:
            reach[position[pk]] = size or 0
        inputs = {i.item_id: i for i in ItemScoringInputs.objects.filter(item__product=product)}
        for item_id, given in inputs.items():
            if given.rice_reach is not None:
                reach[position[item_id]] = given.rice_reach
    return ScoringData(
        item_ids=item_ids,
        open_mask=open_mask,
        effort=effort,
        age_key=np.arange(n, dtype=np.int64),
        reach=reach,
        cohort_ids=cohort_ids.tolist(),
        cohort_weight=np.array([float(w) for _pk, w in cohorts]),
        metric_ids=metric_ids.tolist(),
        metric_weight=np.array([float(w) for _pk, w, _h in metrics]),
        metric_sign=np.array([1.0 if h else -1.0 for _pk, _w, h in metrics]),
        estimate_rows=estimate_rows,
        inputs=inputs,
    )


@dataclass(frozen=True)
class Share:
    name: str
    mine: float
    theirs: float

    @property
    def gap(self) -> float:
        return self.theirs - self.mine


@dataclass(frozen=True)
class Comparison:
    """Why ``other`` ranks above the item: the score gap split by cohort and by metric."""

    other: BacklogItem
    other_score: ItemScore
    score_gap: float
    cohorts: list[Share]
    metrics: list[Share]
    decided_by: str  # "score", "benefit" or "age": the rule that separates the two


@dataclass(frozen=True)
class ScoreExplanation:
    score: ItemScore
    open_items: int
    cohorts: list[Share]  # this item's score split by cohort (``theirs`` unused)
    metrics: list[Share]
    comparisons: list[Comparison]
    adjusted_effort: float | None


def _shares(mine: dict, theirs: dict, names: dict[str, str]) -> list[Share]:
    shares = [
        Share(name=name, mine=float(mine.get(key, 0.0)), theirs=float(theirs.get(key, 0.0)))
        for key, name in names.items()
    ]
    return sorted(shares, key=lambda s: -abs(s.gap) if theirs else -abs(s.mine))


def score_explanation(*, item: BacklogItem, score: ItemScore) -> ScoreExplanation:
    """Explain an item's place: its score split by cohort and metric, and, for an item
    below the top, how it compares with the item directly above it and with #1."""
    organisation_id = item.product.organisation_id
    cohort_names = {
        str(pk): name
        for pk, name in Cohort.objects.filter(organisation_id=organisation_id).values_list(
            "pk", "name"
        )
    }
    metric_names = {
        str(pk): name
        for pk, name in BenefitMetric.objects.filter(organisation_id=organisation_id).values_list(
            "pk", "name"
        )
    }
    open_items = ItemScore.objects.filter(product_id=item.product_id, rank__isnull=False).count()
    comparisons = []
    if score.rank and score.rank > 1:
        above = (
            ItemScore.objects.filter(product_id=item.product_id, rank__in={1, score.rank - 1})
            .select_related("item")
            .order_by("rank")
        )
        for other in above:
            if other.score != score.score:
                decided_by = "score"
            elif other.benefit != score.benefit:
                decided_by = "benefit"
            else:
                decided_by = "age"
            comparisons.append(
                Comparison(
                    other=other.item,
                    other_score=other,
                    score_gap=other.score - score.score,
                    cohorts=_shares(score.by_cohort, other.by_cohort, cohort_names),
                    metrics=_shares(score.by_metric, other.by_metric, metric_names),
                    decided_by=decided_by,
                )
            )
    effort = item.effort
    return ScoreExplanation(
        score=score,
        open_items=open_items,
        cohorts=_shares(score.by_cohort, {}, cohort_names),
        metrics=_shares(score.by_metric, {}, metric_names),
        comparisons=comparisons,
        adjusted_effort=float(effort) * (1 + float(item.product.effort_uplift)) if effort else None,
    )


# ---------------------------------------------------------------- voting rounds


def round_list(*, product: Product) -> QuerySet[VotingRound]:
    """The product's rounds, newest first, with the adoption's reorder (to tell whether the
    backlog's undo took it back)."""
    return VotingRound.objects.filter(product=product).select_related("adopted_snapshot")


def round_shortlist(*, round: VotingRound) -> list[BacklogItem]:
    """The round's shortlisted items in shortlist order, each with what a voter reads beside
    it: its target cohorts, its benefit estimates (with metric and cohort) and its score.
    Four queries, whatever the shortlist's size."""
    estimates = BenefitEstimate.objects.select_related("metric", "cohort").order_by(
        "cohort__name", "metric__name"
    )
    candidates = (
        RoundCandidate.objects.filter(round=round)
        .order_by("position")
        .select_related("item", "item__score")
        .prefetch_related("item__cohorts", Prefetch("item__estimates", queryset=estimates))
    )
    return [candidate.item for candidate in candidates]


def open_item_count(*, product: Product) -> int:
    """How many of the product's items have a score rank (its open, scored items)."""
    return ItemScore.objects.filter(product=product, rank__isnull=False).count()
