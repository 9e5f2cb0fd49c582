"""How far two orders agree, counted pair by pair (backlog.agreement)."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
from scipy.stats import kendalltau

from backlog.agreement import PairAgreement, agreement_words, pair_agreement


def by_hand(first, second) -> PairAgreement:
    agree = disagree = tied = 0
    for i, j in itertools.combinations(range(len(first)), 2):
        a, b = first[i] - first[j], second[i] - second[j]
        if a == 0 or b == 0:
            tied += 1
        elif (a > 0) == (b > 0):
            agree += 1
        else:
            disagree += 1
    return PairAgreement(agree=agree, disagree=disagree, tied=tied)


def test_the_same_order_agrees_on_every_pair():
    found = pair_agreement([1, 2, 3, 4], [1, 2, 3, 4])
    assert found == PairAgreement(agree=6, disagree=0, tied=0)
    assert found.share == 1.0


def test_a_reversed_order_agrees_on_no_pair():
    found = pair_agreement([1, 2, 3], [3, 2, 1])
    assert found == PairAgreement(agree=0, disagree=3, tied=0)
    assert found.share == 0.0


def test_a_pair_either_order_ties_counts_neither_way():
    # Items 0 and 1 share a tier in the second order; 1 and 2 in the first.
    found = pair_agreement([1, 2, 2], [1, 1, 2])
    assert found == PairAgreement(agree=1, disagree=0, tied=2)
    assert found.compared == 1 and found.share == 1.0
    nothing = pair_agreement([1, 1], [1, 2])
    assert nothing.compared == 0 and nothing.share is None


@pytest.mark.parametrize("seed", range(30))
def test_counts_match_pair_by_pair_counting_with_ties(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 40))
    first = rng.integers(1, max(2, n // 3) + 1, size=n)  # many ties
    second = rng.permutation(n) + 1 if seed % 2 else rng.integers(1, 6, size=n)
    assert pair_agreement(first, second) == by_hand(first.tolist(), second.tolist())


@pytest.mark.parametrize("seed", range(10))
def test_without_ties_the_share_is_half_of_one_plus_kendalls_tau(seed):
    order = np.random.default_rng(seed).permutation(200)
    tau = kendalltau(np.arange(200), order).statistic
    assert pair_agreement(np.arange(200), order).share == pytest.approx((1 + tau) / 2)


def test_orders_of_different_lengths_are_refused():
    with pytest.raises(ValueError, match="same items"):
        pair_agreement([1, 2], [1, 2, 3])


def test_a_hundred_thousand_items_are_counted_in_well_under_a_second():
    rng = np.random.default_rng(1)
    first, second = np.arange(100_000), rng.permutation(100_000)
    started = time.perf_counter()
    found = pair_agreement(first, second)
    assert time.perf_counter() - started < 1.0
    assert found.compared == 100_000 * 99_999 // 2
    assert found.share == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize(
    ("share", "words"),
    [
        (1.0, "strong agreement"),
        (0.9, "strong agreement"),
        (0.8, "moderate agreement"),
        (0.59, "weak agreement"),
        (0.5, "no real agreement either way"),
        (0.4, "weak disagreement"),
        (0.2, "moderate disagreement"),
        (0.0, "strong disagreement"),
    ],
)
def test_a_share_is_put_in_words(share, words):
    assert agreement_words(share) == words


def test_a_missing_rank_is_refused():
    with pytest.raises(ValueError, match="NaN"):
        pair_agreement([1.0, float("nan")], [1, 2])
