"""How much two orders agree, in words a council's product owner or sponsor reads at a glance.

Pure Python and NumPy, no ORM. Of the pairs of items that *both* orders put apart, the share
they put the same way round. A pair tied in either order says nothing either way, so it is
left out (for two orders without ties the share is (1 + Kendall's tau) / 2). Orders are
written like ballots: best first, a list, tuple, set or frozenset entry is a group of tied
items, and both orders list the same items once each.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

_GROUPS = (list, tuple, set, frozenset)

# Lower bounds on the share of pairs, best first; below the last, "strong disagreement".
# Symmetric around a half, where two orders are no more alike than two random ones.
_WORDS = (
    (0.8, "strong agreement"),
    (0.65, "moderate agreement"),
    (0.55, "weak agreement"),
    (0.45, "no real agreement either way"),
    (0.35, "weak disagreement"),
    (0.2, "moderate disagreement"),
)


@dataclass(frozen=True)
class PairAgreement:
    """Pairs both orders put apart: how many the same way round, how many the other way;
    and the pairs each order puts apart on its own (for Kendall's tau-b)."""

    agree: int = 0
    disagree: int = 0
    apart_a: int = 0
    apart_b: int = 0

    def __add__(self, other: PairAgreement) -> PairAgreement:
        return PairAgreement(
            self.agree + other.agree,
            self.disagree + other.disagree,
            self.apart_a + other.apart_a,
            self.apart_b + other.apart_b,
        )

    @property
    def compared(self) -> int:
        return self.agree + self.disagree

    @property
    def share(self) -> float | None:
        """Agreeing pairs as a fraction of compared pairs; None when no pair is compared."""
        return self.agree / self.compared if self.compared else None

    @property
    def tau_b(self) -> float:
        """Kendall's tau-b of one pair of orders (the precise term statisticians use);
        NaN when either order ties every pair."""
        untied = self.apart_a * self.apart_b
        return (self.agree - self.disagree) / math.sqrt(untied) if untied else math.nan


def _levels(order: Sequence[Any]) -> dict[Any, int]:
    levels: dict[Any, int] = {}
    for level, entry in enumerate(order):
        for item in entry if isinstance(entry, _GROUPS) else (entry,):
            if item in levels:
                raise ValueError(f"pair_agreement: {item!r} is listed twice")
            levels[item] = level
    return levels


def pair_agreement(order_a: Sequence[Any], order_b: Sequence[Any]) -> PairAgreement:
    """Count the pairs of items the two orders put the same way round and the other way
    round, leaving out pairs tied in either. O(n²) memory; fine to a few thousand items."""
    level_a, level_b = _levels(order_a), _levels(order_b)
    if level_a.keys() != level_b.keys():
        raise ValueError("pair_agreement: the two orders must cover the same items")
    n = len(level_a)
    a = np.fromiter(level_a.values(), dtype=np.int64, count=n)
    b = np.fromiter((level_b[item] for item in level_a), dtype=np.int64, count=n)
    upper = np.triu_indices(n, k=1)  # each unordered pair once
    sign_a = np.sign(a[:, None] - a[None, :])[upper]
    sign_b = np.sign(b[:, None] - b[None, :])[upper]
    product = sign_a * sign_b
    return PairAgreement(
        agree=int(np.count_nonzero(product > 0)),
        disagree=int(np.count_nonzero(product < 0)),
        apart_a=int(np.count_nonzero(sign_a)),
        apart_b=int(np.count_nonzero(sign_b)),
    )


def agreement_words(share: float) -> str:
    """A share of agreeing pairs (0 to 1) in words: "weak agreement", "strong disagreement"."""
    for bound, words in _WORDS:
        if share >= bound:
            return words
    return "strong disagreement"
