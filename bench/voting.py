"""Vote aggregation: Schulze at 1,000 items × 10,000 partial ballots, and against pref_voting.

Row ``schulze_partial``: 1,000 candidates, 10,000 ballots each ranking 20 of them (the rest
tied below), drawn Plackett–Luce style from a skewed popularity so the result has structure.
Target ≤ 0.5 s on the 2-core CI machine, ballot parsing included.

Row ``schulze_vs_pref_voting``: 200 candidates, 2,000 random complete ballots; baseline is
pref_voting's beat path (Schulze) and value ours, each from the same Python lists of rankings
(profile construction included on both sides). Target ≥ 20× faster, same winners.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import numpy as np

from bench._util import median_seconds, row
from prioritisation.voting import aggregate


def _partial_rankings(rng: np.random.Generator, m: int, n: int, k: int) -> list[list[int]]:
    """Top-k of Gumbel-perturbed log-popularity: a Plackett–Luce draw, vectorised."""
    popularity = np.log(rng.pareto(1.5, m) + 1.0)
    rankings = np.empty((n, k), dtype=np.int64)
    for start in range(0, n, 1000):  # chunks keep the n × m noise matrix small
        keys = popularity + rng.gumbel(size=(min(1000, n - start), m))
        top = np.argpartition(-keys, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(keys, top, axis=1), axis=1)
        rankings[start : start + len(keys)] = np.take_along_axis(top, order, axis=1)
    return rankings.tolist()


def run(quick: bool) -> Iterable[dict]:
    rng = np.random.default_rng(20240601)

    m, n, k = (200, 2_000, 20) if quick else (1_000, 10_000, 20)
    ballots = [(ranking, 1) for ranking in _partial_rankings(rng, m, n, k)]
    candidates = list(range(m))
    seconds = median_seconds(lambda: aggregate(ballots, candidates=candidates), repeat=5)
    yield row(
        "schulze_partial",
        seconds,
        "s",
        target=0.5,
        meets_target=seconds <= 0.5,
        candidates=m,
        ballots=n,
        ranked_per_ballot=k,
    )

    from pref_voting.margin_based_methods import beat_path
    from pref_voting.profiles import Profile

    m, n = (50, 500) if quick else (200, 2_000)
    rankings = [rng.permutation(m).tolist() for _ in range(n)]
    ours = median_seconds(lambda: aggregate([(r, 1) for r in rankings], candidates=range(m)))
    start = time.perf_counter()
    theirs_winners = beat_path(Profile(rankings))
    theirs = time.perf_counter() - start  # one run: it takes seconds, and it is the baseline
    our_winners = sorted(aggregate([(r, 1) for r in rankings], candidates=range(m)).winners)
    if our_winners != sorted(theirs_winners):
        # A wrong answer is not a slow one: stop the run (and CI) rather than print it.
        raise SystemExit(
            f"Schulze winners differ from pref_voting: {our_winners} vs {theirs_winners}"
        )
    yield row(
        "schulze_vs_pref_voting",
        ours,
        "s",
        baseline=theirs,
        speedup=round(theirs / ours, 1),
        target_speedup=20,
        meets_target=theirs / ours >= 20,
        same_winners=our_winners == theirs_winners,
        winners=our_winners,
        candidates=m,
        ballots=n,
    )
