"""The app's scoring path at 100,000 items against ``np.argsort``; rescore and store; a move
during a rescore.

In-process: ``prioritisation.services.recompute.scores_compute`` exactly as the rescore calls
it (float64, estimate rows scattered, benefit per effort, the overall rank and one rank per
cohort) on 100,000 items × 3 cohorts × 6 metrics. The floor is ``np.argsort`` of the
resulting 100,000 scores: no ranking can beat sorting them once. Target at most 3× the
floor, moonshot 2×.

On the database ``DATABASE_URL`` names: rescore and store at 10,000 and 100,000 items
(target at 100k 1.5 s, moonshot 0.7 s, under 100 MB of Python memory at its peak), and
the slowest htmx move made while a rescore of the 100k product runs in another process
(target 0.1 s). ``--quick``: 20,000 items in-process, 2,000 and 10,000 on the database.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable

import numpy as np

from bench._django import setup
from bench._scoring_db import db_rows
from bench._util import median_seconds, row

COHORTS, METRICS = 3, 6
DENSITY = 0.4  # share of (item, cohort, metric) cells with an estimate
UNESTIMATED = 0.02  # share of items with no estimate at all
TARGET_RATIO, MOONSHOT_RATIO = 3.0, 2.0


def scoring_data(items: int, rng: np.random.Generator):
    """A product's inputs as ``prioritisation.selectors.scoring_data`` hands them over."""
    from prioritisation.selectors import ScoringData

    has = rng.random((items, COHORTS, METRICS)) < DENSITY
    has[rng.random(items) < UNESTIMATED] = False
    item, cohort, metric = np.nonzero(has)
    size = item.size
    effort = rng.choice([1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0], items)
    effort[rng.random(items) < 0.01] = np.nan  # not yet estimated
    return ScoringData(
        item_ids=np.arange(1, items + 1, dtype=np.int64),
        open_mask=rng.random(items) < 0.75,
        effort=effort,
        age_key=np.arange(items, dtype=np.int64),
        reach=np.zeros(items),
        cohort_ids=list(range(1, COHORTS + 1)),
        cohort_weight=np.array([3.0, 2.0, 1.0]),
        metric_ids=list(range(1, METRICS + 1)),
        metric_weight=rng.uniform(0.5, 2.0, METRICS),
        metric_sign=np.array([1.0] * (METRICS - 1) + [-1.0]),
        estimate_rows=(
            item,
            cohort,
            metric,
            np.floor(rng.gamma(2.0, 50.0, size)) + 1,
            rng.choice([1.0, 0.8, 0.5], size),
        ),
        inputs={},
    )


def _ms(fn: Callable[[], object], repeat: int) -> float:
    return median_seconds(fn, repeat=repeat) * 1000


def _interleaved(ours: Callable[[], object], floor: Callable[[], object], rounds: int):
    """Medians of ours and of the floor, timed in alternation so that load on the machine
    falls on both rather than skewing the ratio."""
    pairs = [(_ms(ours, 5), _ms(floor, 5)) for _ in range(rounds)]
    return statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)


def app_path_rows(quick: bool) -> Iterable[dict]:
    """The rescore's computation, arrays in, scores and every rank out; no database."""
    setup()
    from decimal import Decimal

    from backlog.models import Product, ScoringMethod
    from prioritisation.services.recompute import scores_compute

    items = 20_000 if quick else 100_000
    rng = np.random.default_rng(20240601)
    data = scoring_data(items, rng)
    product = Product(
        scoring_method=ScoringMethod.BENEFIT_PER_EFFORT,
        effort_uplift=Decimal("0.54"),
        benefit_haircut=Decimal("0.2"),
    )
    score = scores_compute(product=product, data=data).score
    ours, floor = _interleaved(
        lambda: scores_compute(product=product, data=data),
        lambda: np.argsort(score),
        3 if quick else 9,
    )
    yield row(
        f"scoring_app_path_{items // 1000}k",
        ours,
        "ms",
        baseline=floor,
        items=items,
        cohorts=COHORTS,
        metrics=METRICS,
        estimates=int(data.estimate_rows[0].size),
        dtype="float64",
        target_ratio=TARGET_RATIO,
        moonshot_ratio=MOONSHOT_RATIO,
        meets_target=ours <= TARGET_RATIO * floor,
        meets_moonshot=ours <= MOONSHOT_RATIO * floor,
        note="recompute.scores_compute as the rescore calls it, per-cohort ranks included",
    )


def run(quick: bool) -> Iterable[dict]:
    yield from app_path_rows(quick)
    yield from db_rows(quick)
