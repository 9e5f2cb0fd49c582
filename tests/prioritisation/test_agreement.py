"""Agreement between two orders in plain words: the share of pairs they put the same way."""

from __future__ import annotations

import itertools
import random

import pytest

from prioritisation import voting
from prioritisation.agreement import PairAgreement, agreement_words, pair_agreement


def test_identical_orders_agree_on_every_pair():
    found = pair_agreement(["a", "b", "c", "d"], ["a", "b", "c", "d"])
    assert (found.agree, found.disagree) == (6, 0)
    assert found.share == 1.0


def test_reversed_orders_agree_on_no_pair():
    found = pair_agreement(["a", "b", "c"], ["c", "b", "a"])
    assert (found.agree, found.disagree) == (0, 3)
    assert found.share == 0.0


def test_a_pair_tied_in_either_order_is_not_counted():
    # a > b > c  against  (a = b) > c: the pair a, b is tied in the second order.
    found = pair_agreement(["a", "b", "c"], [["a", "b"], "c"])
    assert found == PairAgreement(agree=2, disagree=0, apart_a=3, apart_b=2)
    # All tied on one side: nothing to compare, so no share (not 0%, not 100%).
    nothing = pair_agreement(["a", "b"], [["a", "b"]])
    assert nothing.compared == 0 and nothing.share is None


@pytest.mark.parametrize("seed", range(20))
def test_for_untied_orders_the_share_is_half_of_one_plus_kendalls_tau(seed):
    items = list(range(9))
    shuffled = random.Random(seed).sample(items, len(items))
    tau = voting.kendall_tau(items, shuffled)
    assert pair_agreement(items, shuffled).share == pytest.approx((tau + 1) / 2)


def test_agreements_add_up_over_many_pairs_of_orders():
    orders = [["a", "b", "c"], ["b", "a", "c"], ["c", "b", "a"]]
    total = sum(
        (pair_agreement(x, y) for x, y in itertools.combinations(orders, 2)), PairAgreement()
    )
    assert (total.agree, total.disagree) == (2 + 1 + 0, 1 + 2 + 3)


@pytest.mark.parametrize("seed", range(20))
def test_tau_b_from_the_counts_is_kendalls_tau_b_with_ties(seed):
    rng = random.Random(seed)
    items = list(range(8))

    def tied_order():
        shuffled = rng.sample(items, len(items))
        cut = sorted(rng.sample(range(1, 8), 3))
        return [shuffled[i:j] for i, j in zip([0, *cut], [*cut, 8], strict=True)]

    a, b = tied_order(), tied_order()
    assert pair_agreement(a, b).tau_b == pytest.approx(voting.kendall_tau(a, b))


def test_orders_of_different_items_are_refused():
    with pytest.raises(ValueError, match="same items"):
        pair_agreement(["a", "b"], ["a", "c"])


@pytest.mark.parametrize(
    ("share", "words"),
    [
        (1.0, "strong agreement"),
        (0.8, "strong agreement"),
        (0.7, "moderate agreement"),
        (0.59, "weak agreement"),
        (0.5, "no real agreement either way"),
        (0.4, "weak disagreement"),
        (0.3, "moderate disagreement"),
        (0.1, "strong disagreement"),
        (0.0, "strong disagreement"),
    ],
)
def test_a_share_is_put_in_words(share, words):
    assert agreement_words(share) == words
