"""Reads for the compare view: the manual order against the score order of one product."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from backlog.agreement import PairAgreement, agreement_words, pair_agreement
from backlog.models import OPEN_STATUSES, BacklogItem, Product
from customers.models import Cohort
from prioritisation.models import BenefitMetric, ItemScore

CHART_POINTS = 500  # the chart plots the top of the manual order; the figures use every item


@dataclass(frozen=True)
class Disagreement:
    item: BacklogItem
    manual_rank: int
    score_rank: int
    score: ItemScore
    cohorts: list[tuple[str, float]]  # share of the score, biggest first
    metrics: list[tuple[str, float]]

    @property
    def gap(self) -> int:
        """Positive: the score would put the item higher than the product owner has."""
        return self.manual_rank - self.score_rank


@dataclass(frozen=True)
class OrderComparison:
    open_items: int
    scored_items: int
    tau: float | None  # Kendall's tau-b over every open item with a score rank
    pairs: PairAgreement  # the same items, pair by pair: what the page says in words
    manual_top: list[BacklogItem]
    score_top: list[BacklogItem]
    disagreements: list[Disagreement]
    points: list[tuple[int, int]]  # (manual rank, score rank) for the chart
    chart_max: int
    vote_round: object | None = None  # the latest voting round with ballots
    vote_top: list[list[BacklogItem]] | None = None  # its consensus tiers
    vote_vs_manual: float | None = None  # tau over the round's shortlist
    vote_pairs: PairAgreement | None = None  # and pair by pair

    @property
    def agreement(self) -> str:
        return agreement_words(self.pairs.share)

    @property
    def vote_agreement(self) -> str:
        return agreement_words(self.vote_pairs.share if self.vote_pairs else None)


def order_comparison(*, product: Product, top: int = 25) -> OrderComparison:
    """Manual rank (position among open items in the manual order) against score rank."""
    rows = list(
        BacklogItem.objects.filter(product=product, status__in=OPEN_STATUSES)
        .order_by("rank_key")
        .values_list("pk", "score__rank")
    )
    ids = np.array([pk for pk, _ in rows], dtype=np.int64)
    score_rank = np.array([r if r is not None else 0 for _, r in rows], dtype=np.int64)
    manual_rank = np.arange(1, len(rows) + 1)
    scored = score_rank > 0
    tau = None
    if scored.sum() >= 2:
        # Imported here: scipy.stats takes seconds to import, a cost no other page should pay.
        from scipy.stats import kendalltau

        value = kendalltau(manual_rank[scored], score_rank[scored]).statistic
        tau = None if math.isnan(value) else float(value)
    pairs = pair_agreement(manual_rank[scored], score_rank[scored])
    by_score = ids[scored][np.argsort(score_rank[scored], kind="stable")]
    gap = np.where(scored, np.abs(manual_rank - score_rank), -1)
    worst = np.lexsort((manual_rank, -gap))[:10]
    worst = [int(i) for i in worst if gap[i] > 0]
    wanted = set(ids[:top].tolist()) | set(by_score[:top].tolist()) | {int(ids[i]) for i in worst}
    items = BacklogItem.objects.only("pk", "title", "status").in_bulk(list(wanted))
    scores = ItemScore.objects.in_bulk([int(ids[i]) for i in worst])
    cohort_names = dict(
        Cohort.objects.filter(organisation_id=product.organisation_id).values_list("pk", "name")
    )
    metric_names = dict(
        BenefitMetric.objects.filter(organisation_id=product.organisation_id).values_list(
            "pk", "name"
        )
    )

    def shares(values: dict, names: dict) -> list[tuple[str, float]]:
        named = [(names.get(int(k), "?"), float(v)) for k, v in values.items() if v]
        return sorted(named, key=lambda pair: -abs(pair[1]))

    disagreements = [
        Disagreement(
            item=items[int(ids[i])],
            manual_rank=int(manual_rank[i]),
            score_rank=int(score_rank[i]),
            score=scores[int(ids[i])],
            cohorts=shares(scores[int(ids[i])].by_cohort, cohort_names),
            metrics=shares(scores[int(ids[i])].by_metric, metric_names),
        )
        for i in worst
    ]
    vote_round, vote_top, vote_vs_manual, vote_pairs = _latest_vote(product, ids.tolist())
    shown = min(len(rows), CHART_POINTS)
    points = [
        (int(m), int(s)) for m, s in zip(manual_rank[:shown], score_rank[:shown], strict=True) if s
    ]
    return OrderComparison(
        open_items=len(rows),
        scored_items=int(scored.sum()),
        tau=tau,
        pairs=pairs,
        manual_top=[items[pk] for pk in ids[:top].tolist()],
        score_top=[items[pk] for pk in by_score[:top].tolist()],
        disagreements=disagreements,
        points=points,
        chart_max=max([shown, *(s for _, s in points)], default=1),
        vote_round=vote_round,
        vote_top=vote_top,
        vote_vs_manual=vote_vs_manual,
        vote_pairs=vote_pairs,
    )


def _latest_vote(product: Product, manual_ids: list[int]):
    """The consensus of the product's latest voting round that has ballots, with Kendall's
    tau and the pairs agreed on between it and the manual order over the round's shortlist
    (pairs the vote ties are counted neither way)."""
    from prioritisation import results, voting

    round, outcome = results.latest_result(product)
    if round is None:
        return None, None, None, None
    items = BacklogItem.objects.in_bulk(outcome["candidates"])
    tiers = [[items[pk] for pk in tier if pk in items] for tier in outcome["ranking"]]
    on_list = set(outcome["candidates"])
    manual = [pk for pk in manual_ids if pk in on_list]
    tau, pairs = None, None
    if len(manual) == len(on_list) and len(manual) > 1:
        value = voting.kendall_tau([list(t) for t in outcome["ranking"]], manual)
        tau = None if math.isnan(value) else value
        tier_of = {pk: tier for tier, pks in enumerate(outcome["ranking"]) for pk in pks}
        pairs = pair_agreement(
            np.arange(len(manual)), [tier_of.get(pk, len(outcome["ranking"])) for pk in manual]
        )
    return round, tiers, tau, pairs
