"""Agreement between two orders written like ballots: the share of pairs put the same way."""

from __future__ import annotations

import itertools
import random

import pytest

from prioritisation import voting
from prioritisation.agreement import PairAgreement, agreement_words, order_agreement


def test_identical_orders_agree_on_every_pair():
    found = order_agreement(["a", "b", "c", "d"], ["a", "b", "c", "d"])
    assert (found.agree, found.disagree) == (6, 0)
    assert found.share == 1.0


def test_reversed_orders_agree_on_no_pair():
    found = order_agreement(["a", "b", "c"], ["c", "b", "a"])
    assert (found.agree, found.disagree) == (0, 3)
    assert found.share == 0.0


def test_a_pair_tied_in_either_order_is_not_counted():
    # a > b > c  against  (a = b) > c: the pair a, b is tied in the second order.
    found = order_agreement(["a", "b", "c"], [["a", "b"], "c"])
    assert found == PairAgreement(agree=2, disagree=0, tied=1)
    # All tied on one side: nothing to compare, so no share (not 0%, not 100%).
    nothing = order_agreement(["a", "b"], [{"a", "b"}])
    assert nothing.compared == 0 and nothing.share is None


def test_unranked_items_tied_at_the_bottom_count_against_each_other_neither_way():
    # A ballot ranking only c, with a and b left tied below, against the score order a b c.
    found = order_agreement([["c"], ["a", "b"]], ["a", "b", "c"])
    assert found == PairAgreement(agree=0, disagree=2, tied=1)


@pytest.mark.parametrize("seed", range(20))
def test_for_untied_orders_the_share_is_half_of_one_plus_kendalls_tau(seed):
    items = list(range(9))
    shuffled = random.Random(seed).sample(items, len(items))
    tau = voting.kendall_tau(items, shuffled)
    assert order_agreement(items, shuffled).share == pytest.approx((tau + 1) / 2)


def test_agreements_add_up_over_many_pairs_of_orders():
    orders = [["a", "b", "c"], ["b", "a", "c"], ["c", "b", "a"]]
    total = sum(
        (order_agreement(x, y) for x, y in itertools.combinations(orders, 2)), PairAgreement()
    )
    assert (total.agree, total.disagree) == (2 + 1 + 0, 1 + 2 + 3)


@pytest.mark.parametrize(
    ("first", "second"),
    [(["a", "b"], ["a", "c"]), (["a", "a"], ["a", "a"]), (["a", ["a", "b"]], ["a", "b"])],
)
def test_orders_of_different_items_or_an_item_twice_are_refused(first, second):
    with pytest.raises(ValueError, match="order_agreement"):
        order_agreement(first, second)


def test_the_words_are_the_compare_pages_words():
    assert agreement_words(0.59) == "weak agreement"
    assert agreement_words(0.5) == "no real agreement either way"
