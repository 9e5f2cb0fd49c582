"""Reads for benefit metrics, estimates and scores; every read is scoped to one organisation
or one product the caller has already loaded through a permission check."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.db.models import QuerySet, Sum

from backlog.models import BacklogItem, ItemStatus, Product
from customers.models import Cohort, Organisation
from prioritisation.models import (
    CONFIDENCE_FRACTION,
    BenefitEstimate,
    BenefitMetric,
    ItemScore,
    ItemScoringInputs,
)

OPEN_STATUSES = (ItemStatus.IDEA, ItemStatus.READY, ItemStatus.IN_PROGRESS)


def metric_list(*, organisation: Organisation) -> QuerySet[BenefitMetric]:
    return BenefitMetric.objects.filter(organisation=organisation).order_by("name")


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
    age_key: np.ndarray
    reach: np.ndarray  # RICE reach: override, else the summed size of target cohorts
    cohort_ids: list[int]
    cohort_weight: np.ndarray
    metric_ids: list[int]
    metric_weight: np.ndarray
    metric_sign: np.ndarray  # +1 higher is better, −1 lower is better
    estimate_rows: tuple[np.ndarray, ...]  # item, cohort, metric index; value; confidence
    inputs: dict[int, ItemScoringInputs]


def scoring_data(*, product: Product, with_inputs: bool) -> ScoringData:
    """Everything the scoring of one product needs, in a fixed number of queries."""
    organisation_id = product.organisation_id
    items = list(
        BacklogItem.objects.filter(product=product)
        .order_by("pk")
        .values_list("pk", "status", "effort", "created_at")
    )
    item_ids = np.fromiter((row[0] for row in items), dtype=np.int64, count=len(items))
    position = {pk: i for i, pk in enumerate(item_ids.tolist())}
    open_mask = np.fromiter(
        (row[1] in OPEN_STATUSES for row in items), dtype=bool, count=len(items)
    )
    effort = np.fromiter(
        (np.nan if row[2] is None else float(row[2]) for row in items),
        dtype=np.float64,
        count=len(items),
    )
    age_key = np.fromiter((row[3].timestamp() for row in items), dtype=np.float64, count=len(items))
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
    cohort_index = {pk: i for i, (pk, _w) in enumerate(cohorts)}
    metric_index = {pk: i for i, (pk, _w, _h) in enumerate(metrics)}
    rows = list(
        BenefitEstimate.objects.filter(item__product=product).values_list(
            "item_id", "cohort_id", "metric_id", "value", "confidence"
        )
    )
    n = len(rows)
    estimate_rows = (
        np.fromiter((position[r[0]] for r in rows), dtype=np.int64, count=n),
        np.fromiter((cohort_index[r[1]] for r in rows), dtype=np.int64, count=n),
        np.fromiter((metric_index[r[2]] for r in rows), dtype=np.int64, count=n),
        np.fromiter((float(r[3]) for r in rows), dtype=np.float64, count=n),
        np.fromiter((CONFIDENCE_FRACTION[r[4]] for r in rows), dtype=np.float64, count=n),
    )
    reach = np.zeros(len(items))
    inputs: dict[int, ItemScoringInputs] = {}
    if with_inputs:
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
        age_key=age_key,
        reach=reach,
        cohort_ids=[pk for pk, _w in cohorts],
        cohort_weight=np.array([float(w) for _pk, w in cohorts]),
        metric_ids=[pk for pk, _w, _h in metrics],
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
