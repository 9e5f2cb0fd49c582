"""Benefit-per-effort ranking of 100,000 items, against NumPy's argsort of the same scores.

The in-process part scores a product of 100,000 items × 3 cohorts × 6 metrics from dense
arrays and ranks it (``prioritisation.scoring.rank_product``). The floor is
``np.argsort`` of the resulting 100,000 scores: no ranking can beat sorting them once.
Targets: at most 50 ms, and at most 3× the floor.

The database part recomputes and stores the scores of a 10,000-item product with 40,000
estimates (``prioritisation.services.scores_recompute``), end to end on the database
``DATABASE_URL`` names: target at most 0.5 s on PostgreSQL.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable

import numpy as np

from bench._scoring_db import db_rows
from bench._util import median_seconds, row
from prioritisation.scoring import rank, rank_product, scatter_estimates

ITEMS, COHORTS, METRICS = 100_000, 3, 6
DENSITY = 0.4  # share of (item, cohort, metric) cells with an estimate
UNESTIMATED = 0.02  # share of items with no estimate at all
TARGET_MS, TARGET_RATIO = 50.0, 3.0


def _estimate_rows(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Estimate rows as the database would hand them over: parallel arrays."""
    has = rng.random((ITEMS, COHORTS, METRICS)) < DENSITY
    has[rng.random(ITEMS) < UNESTIMATED] = False
    item, cohort, metric = np.nonzero(has)
    size = item.size
    improvement = rng.gamma(2.0, 50.0, size) * rng.choice([1.0, 1.0, 1.0, -1.0], size)
    return {
        "item_index": item,
        "cohort_index": cohort,
        "metric_index": metric,
        "value": improvement,
        "confidence": rng.choice([1.0, 0.8, 0.5], size),
    }


def _ms(fn: Callable[[], object], repeat: int) -> float:
    return median_seconds(fn, repeat=repeat) * 1000


def _interleaved(ours: Callable[[], object], floor: Callable[[], object], rounds: int):
    """Medians of ours and of the floor, timed in alternation so that load on the machine
    falls on both rather than skewing the ratio."""
    pairs = [(_ms(ours, 5), _ms(floor, 5)) for _ in range(rounds)]
    return statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)


def rank_rows(quick: bool) -> Iterable[dict]:
    """Rows → dense arrays → scores → ranks, all in-process; no database."""
    rounds = 3 if quick else 9
    rng = np.random.default_rng(20240601)
    estimates = _estimate_rows(rng)
    shape = (ITEMS, COHORTS, METRICS)
    values, confidence = scatter_estimates(**estimates, shape=shape)
    product = {
        "values": values,
        "confidence": confidence,
        "cohort_weight": np.array([3.0, 2.0, 1.0]),
        "metric_weight": rng.uniform(0.5, 2.0, METRICS),
        "effort": rng.choice([1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0], ITEMS),
        "age_key": np.arange(ITEMS, dtype=np.int64),
    }
    adjust = {"effort_uplift": 0.54, "benefit_haircut": 0.2}
    common = {
        "items": ITEMS,
        "cohorts": COHORTS,
        "metrics": METRICS,
        "estimates": int(estimates["value"].size),
        "target_ms": TARGET_MS,
        "target_ratio": TARGET_RATIO,
    }

    def ranked() -> object:
        return rank_product(**product, **adjust)

    result = rank_product(**product, **adjust)
    score = result.scores.adjusted_score
    ours, floor = _interleaved(ranked, lambda: np.argsort(score), rounds)
    yield row(
        "scoring_rank_100k",
        ours,
        "ms",
        baseline=floor,
        meets_target=ours <= TARGET_MS and ours <= TARGET_RATIO * floor,
        dtype=str(values.dtype),
        **common,
    )

    # float64 from scatter_estimates (item-fastest still): what the float32 default saves.
    wide = dict(product)
    wide["values"], wide["confidence"] = scatter_estimates(
        **estimates, shape=shape, dtype=np.float64
    )
    wide_ms = _ms(lambda: rank_product(**wide, **adjust), 5 if quick else 11)
    yield row("scoring_rank_100k_float64", wide_ms, "ms", **common)

    # The same product handed over as C-ordered float64 arrays, as a caller building them
    # by hand might: what skipping scatter_estimates' layout costs.
    by_hand = dict(
        product,
        values=np.ascontiguousarray(values, dtype=np.float64),
        confidence=np.ascontiguousarray(confidence, dtype=np.float64),
    )
    by_hand_ms = _ms(lambda: rank_product(**by_hand, **adjust), 5 if quick else 11)
    yield row("scoring_rank_100k_c_order_float64", by_hand_ms, "ms", **common)

    # One cohort's view of the backlog, from scores already computed.
    scores = result.scores

    def cohort_ranked() -> object:
        return rank(scores.cohort_scores()[:, 0], scores.by_cohort[:, 0], product["age_key"])

    ours, floor = _interleaved(cohort_ranked, lambda: np.argsort(score), rounds)
    yield row("scoring_cohort_rank_100k", ours, "ms", baseline=floor, **common)

    scatter = _ms(lambda: scatter_estimates(**estimates, shape=shape), 5 if quick else 11)
    yield row("scoring_scatter_100k", scatter, "ms", **common)


def run(quick: bool) -> Iterable[dict]:
    yield from rank_rows(quick)
    yield from db_rows(quick)
