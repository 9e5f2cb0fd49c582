"""Reads for the compare view: the manual order against the score order of one product.

The figures over every open item (the agreement, the biggest disagreements, the tops of both
orders and the chart's points) are a summary of two orders that change at known moments: the
manual order moves the product's order version (``OrderVersion``, kept by triggers on
PostgreSQL) and a stored rescore moves ``Product.scores_computed_at``. On PostgreSQL the
summary is cached under both, so a view while neither moved reads it back and loads only the
rows it shows (titles, score breakdowns and names are read fresh each view); the first view
after a change builds it from the manual ranks the score-ordered pages cache under the same
version and from the stored score ranks cached under the rescore's time. Elsewhere it is
computed each view from one query.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from django.core.cache import cache
from django.db import connection

from backlog.agreement import PairAgreement, agreement_words, pair_agreement
from backlog.models import OPEN_STATUSES, BacklogItem, OrderVersion, Product
from backlog.selectors import _cached_manual_ranks
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
    summary = _summary(product)
    top = min(top, MAX_TOP)
    manual_ids, score_ids = summary.manual_ids[:top], summary.score_ids[:top]
    wanted = {*manual_ids, *score_ids, *(pk for pk, _, _ in summary.worst)}
    # An item deleted since the summary was read is left out, not an error (the next view
    # reads the new order version).
    items = BacklogItem.objects.only("pk", "title", "status").in_bulk(list(wanted))
    disagreements = []
    if summary.worst:
        scores = ItemScore.objects.in_bulk([pk for pk, _, _ in summary.worst])
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
                item=items[pk],
                manual_rank=manual_rank,
                score_rank=score_rank,
                score=scores[pk],
                cohorts=shares(scores[pk].by_cohort, cohort_names),
                metrics=shares(scores[pk].by_metric, metric_names),
            )
            for pk, manual_rank, score_rank in summary.worst
            if pk in items and pk in scores
        ]
    vote_round, vote_top, vote_vs_manual, vote_pairs = _latest_vote(product)
    return OrderComparison(
        open_items=summary.open_items,
        scored_items=summary.scored_items,
        tau=summary.tau,
        pairs=summary.pairs,
        manual_top=[items[pk] for pk in manual_ids if pk in items],
        score_top=[items[pk] for pk in score_ids if pk in items],
        disagreements=disagreements,
        points=summary.points,
        chart_max=summary.chart_max,
        vote_round=vote_round,
        vote_top=vote_top,
        vote_vs_manual=vote_vs_manual,
        vote_pairs=vote_pairs,
    )


# ---------------------------------------------------------------- the summary over every item

MAX_TOP = 200  # the most of each order the page lists (the view's largest "top")
DISAGREEMENTS = 10
# Each version is its own key, so an expired entry is only computed again, never wrong; the
# time bounds how long a score row written with no new rescore time (by hand) goes unseen.
SUMMARY_SECONDS = 3600
_KEY = "compare:v1"  # bump when _Summary changes shape


@dataclass(frozen=True)
class _Summary:
    open_items: int
    scored_items: int
    tau: float | None
    pairs: PairAgreement
    manual_ids: list[int]  # the first MAX_TOP open items in manual order
    score_ids: list[int]  # the first MAX_TOP scored open items in score order
    worst: list[tuple[int, int, int]]  # (item id, manual rank, score rank), biggest gap first
    points: list[tuple[int, int]]  # (manual rank, score rank) of the top CHART_POINTS scored
    chart_max: int


def _summary(product: Product) -> _Summary:
    """The summary of the product's two orders: from the cache on PostgreSQL while neither
    order moved (one small query for the order version), else computed."""
    if connection.vendor != "postgresql":
        return _summarise(*_orders(product))
    versions = OrderVersion.objects.filter(product_id=product.pk).values_list("version", flat=True)
    key = (
        f"{_KEY}:summary:{_product_key(product)}:{next(iter(versions[:1]), 0)}:"
        f"{_time_key(product.scores_computed_at)}"
    )
    summary = cache.get(key)
    if summary is None:
        # Computed from what was read after the version: at worst newer than the key says
        # (a change committed meanwhile moved the version; the next view reads it anew).
        summary = _summarise(*_orders(product))
        cache.set(key, summary, SUMMARY_SECONDS)
    return summary


def _product_key(product: Product) -> str:
    # The creation time tells apart products that share an id (a restored database, tests).
    return f"{product.pk}:{_time_key(product.created_at)}"


def _time_key(moment) -> str:
    return "none" if moment is None else repr(moment.timestamp())


def _orders(product: Product) -> tuple[np.ndarray, np.ndarray]:
    """The open items' ids in manual order, with each one's stored score rank (0: none)."""
    if connection.vendor != "postgresql":
        rows = list(
            BacklogItem.objects.filter(product=product, status__in=OPEN_STATUSES)
            .order_by("rank_key")
            .values_list("pk", "score__rank")
        )
        ids = np.array([pk for pk, _ in rows], dtype=np.int64)
        return ids, np.array([r or 0 for _, r in rows], dtype=np.int64)
    manual = _cached_manual_ranks(product)
    ids = np.empty(len(manual.ids), dtype=np.int64)
    ids[manual.ranks - 1] = manual.ids  # ranks are 1..n: each id at its place
    scored_ids, score_ranks = _cached_score_ranks(product)
    if not len(scored_ids):
        return ids, np.zeros(len(ids), dtype=np.int64)
    at = np.searchsorted(scored_ids, ids).clip(max=len(scored_ids) - 1)
    return ids, np.where(scored_ids[at] == ids, score_ranks[at], 0)


def _cached_score_ranks(product: Product) -> tuple[np.ndarray, np.ndarray]:
    """Ids (ascending) of the product's items with a stored score rank, and those ranks:
    cached under the time the scores were stored. A background rescore sets that time just
    after its rows commit, so what is cached is at worst newer than its key."""
    key = f"{_KEY}:score-ranks:{_product_key(product)}:{_time_key(product.scores_computed_at)}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    # Both aggregates of one statement take the same rows in the same order; sorted here,
    # which costs less than the two sorts an ORDER BY in each aggregate asks of the database.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT array_agg(item_id), array_agg(rank) "
            f"FROM {ItemScore._meta.db_table} WHERE product_id = %s AND rank IS NOT NULL",
            [product.pk],
        )
        item_ids, ranks = cursor.fetchone()
    item_ids = np.array(item_ids or [], dtype=np.int64)
    by_id = np.argsort(item_ids, kind="stable")
    found = (item_ids[by_id], np.array(ranks or [], dtype=np.int64)[by_id])
    cache.set(key, found, SUMMARY_SECONDS)
    return found


def _summarise(ids: np.ndarray, score_rank: np.ndarray) -> _Summary:
    """The figures over every open item, from their ids in manual order and score ranks."""
    n = len(ids)
    manual_rank = np.arange(1, n + 1)
    scored = score_rank > 0
    tau, pairs = tau_and_pairs(manual_rank[scored], score_rank[scored])
    # The score order's top: the smallest score ranks, ties in manual order (a stable sort).
    scored_at = np.flatnonzero(scored)
    head = _smallest(score_rank[scored_at], MAX_TOP)
    head = head[np.lexsort((head, score_rank[scored_at][head]))][:MAX_TOP]
    score_ids = ids[scored_at[head]]
    # The biggest gaps, ties higher in the manual order first.
    gap = np.where(scored, np.abs(manual_rank - score_rank), -1)
    worst = _smallest(-gap, DISAGREEMENTS)
    worst = worst[np.lexsort((manual_rank[worst], -gap[worst]))][:DISAGREEMENTS]
    shown = min(n, CHART_POINTS)
    points = [
        (int(m), int(s)) for m, s in zip(manual_rank[:shown], score_rank[:shown], strict=True) if s
    ]
    return _Summary(
        open_items=n,
        scored_items=int(scored.sum()),
        tau=tau,
        pairs=pairs,
        manual_ids=ids[:MAX_TOP].tolist(),
        score_ids=score_ids.tolist(),
        worst=[(int(ids[i]), int(manual_rank[i]), int(score_rank[i])) for i in worst if gap[i] > 0],
        points=points,
        chart_max=max([shown, *(s for _, s in points)]),
    )


def _smallest(values: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` smallest values, with every value tied with the k-th (so that
    a sort of these alone puts the same first k as a sort of them all), in position order."""
    if len(values) <= k:
        return np.arange(len(values))
    kth = np.partition(values, k - 1)[k - 1]
    return np.flatnonzero(values <= kth)


def tau_and_pairs(first: np.ndarray, second: np.ndarray) -> tuple[float | None, PairAgreement]:
    """Kendall's tau-b of two rankings of the same items, and the pairs they put the same
    way, opposite ways or level (``backlog.agreement.pair_agreement``), from one count of
    the discordant pairs: SciPy's own (what ``scipy.stats.kendalltau`` counts with), read
    once for both figures. Tau is None with fewer than two items or when it is undefined."""
    n = len(first)
    if n < 2:
        return None, pair_agreement(first, second)
    # Imported here: scipy.stats takes seconds to import, a cost no other page should pay.
    try:
        from scipy.stats._stats import _kendall_dis
    except ImportError:  # a SciPy without it: the two public computations
        from scipy.stats import kendalltau

        value = kendalltau(first, second).statistic
        return (None if math.isnan(value) else float(value)), pair_agreement(first, second)
    # Dense ranks: second's, then first's after a stable sort by first (ties in first keep
    # second's order), as kendalltau does before counting.
    by_second = np.argsort(second, kind="stable")
    x, y = np.asarray(first)[by_second], np.asarray(second)[by_second]
    y = np.r_[True, y[1:] != y[:-1]].cumsum(dtype=np.intp)
    by_first = np.argsort(x, kind="mergesort")
    x, y = x[by_first], y[by_first]
    x = np.r_[True, x[1:] != x[:-1]].cumsum(dtype=np.intp)
    disagree = int(_kendall_dis(x, y))
    both = np.r_[True, (x[1:] != x[:-1]) | (y[1:] != y[:-1]), True]
    tied_both = _tied(np.diff(np.flatnonzero(both)))
    tied_first, tied_second = _tied(np.bincount(x)), _tied(np.bincount(y))
    total = n * (n - 1) // 2
    tied = tied_first + tied_second - tied_both
    pairs = PairAgreement(agree=total - tied - disagree, disagree=disagree, tied=tied)
    if tied_first == total or tied_second == total:
        return None, pairs
    tau = (pairs.agree - disagree) / math.sqrt(total - tied_first) / math.sqrt(total - tied_second)
    return min(1.0, max(-1.0, float(tau))), pairs


def _tied(counts: np.ndarray) -> int:
    """Pairs within groups of these sizes."""
    counts = counts.astype(np.int64)
    return int((counts * (counts - 1) // 2).sum())


def _latest_vote(product: Product):
    """The consensus of the product's latest voting round that has ballots, with Kendall's
    tau and the pairs agreed on between it and the manual order over the round's shortlist
    (pairs the vote ties are counted neither way). Reads the shortlist's items only: their
    manual order is their keys' order (keys sort the same in Python and in the database)."""
    from prioritisation import results, voting

    round, outcome = results.latest_result(product)
    if round is None:
        return None, None, None, None
    items = BacklogItem.objects.in_bulk(outcome["candidates"])
    tiers = [[items[pk] for pk in tier if pk in items] for tier in outcome["ranking"]]
    on_list = set(outcome["candidates"])
    manual = sorted(
        (
            item
            for item in items.values()
            if item.product_id == product.pk and item.status in OPEN_STATUSES
        ),
        key=lambda item: item.rank_key,
    )
    manual = [item.pk for item in manual]
    tau, pairs = None, None
    if len(manual) == len(on_list) and len(manual) > 1:
        value = voting.kendall_tau([list(t) for t in outcome["ranking"]], manual)
        tau = None if math.isnan(value) else value
        tier_of = {pk: tier for tier, pks in enumerate(outcome["ranking"]) for pk in pks}
        pairs = pair_agreement(
            np.arange(len(manual)), [tier_of.get(pk, len(outcome["ranking"])) for pk in manual]
        )
    return round, tiers, tau, pairs
