"""How much two orders written like ballots agree, as the share of pairs they put the same
way round: "they agree on 59% of the pairs" where a statistician would say Kendall's tau.

Pure. The counting and the words are the backlog's (``backlog.agreement``, which the compare
page uses too), so every page says the same number in the same words; this module reads
orders the way ballots and vote results are written: best first, a list, tuple, set or
frozenset entry being a group of tied items, each item listed once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from backlog.agreement import PairAgreement, agreement_words, pair_agreement

__all__ = [
    "PairAgreement",
    "agreement_words",
    "mean_tau_b_between_voters",
    "order_agreement",
    "untied_pairs",
    "voters_agreement",
]

_GROUPS = (list, tuple, set, frozenset)


def _places(order: Sequence[Any]) -> dict[Any, int]:
    places: dict[Any, int] = {}
    for place, entry in enumerate(order):
        for item in entry if isinstance(entry, _GROUPS) else (entry,):
            if item in places:
                raise ValueError(f"order_agreement: {item!r} is listed twice")
            places[item] = place
    return places


def order_agreement(order_a: Sequence[Any], order_b: Sequence[Any]) -> PairAgreement:
    """Pairs of items the two orders put the same way round, the other way round, and tied
    in either (counted neither way). ``ValueError`` unless both list the same items."""
    places_a, places_b = _places(order_a), _places(order_b)
    if places_a.keys() != places_b.keys():
        raise ValueError("order_agreement: the two orders must cover the same items")
    items = list(places_a)
    return pair_agreement(
        np.fromiter((places_a[i] for i in items), dtype=np.int64, count=len(items)),
        np.fromiter((places_b[i] for i in items), dtype=np.int64, count=len(items)),
    )


# Between voters --------------------------------------------------------------------------
# Every two of n voters, compared pair of items by pair of items, is n²/2 comparisons of m²/2
# pairs: 40 s for 100 voters on a 1,000-item shortlist. But summed over every two voters the
# counts need only the pairwise matrix: of the a voters who put item i above j and the b who
# put j above i, a(a−1)/2 + b(b−1)/2 pairs of voters agree about the pair and a·b disagree.
# So the whole electorate is counted exactly in O(m²), whatever the number of voters.


def untied_pairs(tier_sizes: Sequence[int], items: int) -> int:
    """Pairs of ``items`` that an order with tied groups of ``tier_sizes`` (and every item
    not in them in one more group) puts in different places."""
    rest = items - sum(tier_sizes)
    tied = sum(size * (size - 1) // 2 for size in (*tier_sizes, rest))
    return items * (items - 1) // 2 - tied


def voters_agreement(above: np.ndarray, voters: int) -> PairAgreement:
    """``order_agreement`` summed over every two of ``voters`` voters, from ``above[i, j]``:
    how many of them put item i above item j."""
    above = np.rint(np.asarray(above, dtype=np.float64)).astype(np.int64)
    np.fill_diagonal(above, 0)
    agree = int((above * (above - 1) // 2).sum())  # each ordered (i, j) counts one way round
    disagree = int((above * above.T).sum()) // 2
    m = above.shape[0]
    every = voters * (voters - 1) // 2 * (m * (m - 1) // 2)
    return PairAgreement(agree=agree, disagree=disagree, tied=every - agree - disagree)


def mean_tau_b_between_voters(scaled: np.ndarray, voters: int) -> float | None:
    """The mean of Kendall's tau-b over every two of ``voters`` voters, from ``scaled[i, j]``:
    the sum over the voters who put item i above j of 1 / √(the pairs they put apart).

    Voter u's order as a vector of signs over item pairs, divided by √(its untied pairs), has
    length 1, and tau-b of two voters is the dot product of theirs; summed over every two
    voters that is (|Σ vectors|² − voters) / 2, and Σ vectors over pair (i, j) is
    scaled[i, j] − scaled[j, i]. Count only voters who put some pair apart (tau-b is
    undefined for the others); None with fewer than two."""
    if voters < 2:
        return None
    difference = np.asarray(scaled, dtype=np.float64)
    difference = difference - difference.T
    together = float(np.square(difference).sum()) / 2  # each unordered pair once
    mean = (together - voters) / (voters * (voters - 1))
    return min(1.0, max(-1.0, mean))  # float rounding can step a hair past ±1
