"""How far two orders of the same items agree, as a share of pairs a person can read.

Kendall's tau says the same thing to a statistician; "they agree on 59% of pairs" says it
to everyone else. Pure computation over NumPy arrays, no ORM: a 100,000-item backlog is
counted in a fraction of a second (merge counting, O(n log² n)), not pair by pair.

(prioritisation has a function like this for ballots; this one serves the compare page,
which sits beside the backlog core and cannot import it.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray


@dataclass(frozen=True)
class PairAgreement:
    """Pairs of items two orders put the same way round (``agree``), opposite ways round
    (``disagree``), and pairs at least one of them puts level (``tied``), counted neither
    way: an order that cannot tell two items apart neither agrees nor disagrees about them."""

    agree: int = 0
    disagree: int = 0
    tied: int = 0

    @property
    def compared(self) -> int:
        return self.agree + self.disagree

    @property
    def share(self) -> float | None:
        """The share of compared pairs the orders agree on; None when no pair is compared."""
        return self.agree / self.compared if self.compared else None

    def __add__(self, other: PairAgreement) -> PairAgreement:
        return PairAgreement(
            agree=self.agree + other.agree,
            disagree=self.disagree + other.disagree,
            tied=self.tied + other.tied,
        )


def pair_agreement(first: ArrayLike, second: ArrayLike) -> PairAgreement:
    """Compare two orders of the same items, given as ranks: ``first[i]`` and ``second[i]``
    are item i's places in each (smaller is higher; equal places are a tie, as in the tiers
    of a vote). ``ValueError`` if the arrays are not 1-D of one length or hold NaN."""
    first, second = np.asarray(first), np.asarray(second)
    if first.ndim != 1 or first.shape != second.shape:
        raise ValueError("both orders must rank the same items: 1-D arrays of one length")
    if any(a.dtype.kind == "f" and np.isnan(a).any() for a in (first, second)):
        raise ValueError("ranks must be numbers, not NaN")
    n = first.size
    first, second = _dense(first), _dense(second)
    both = first * n + second  # one number per (first, second) place
    tied = _tied_pairs(first) + _tied_pairs(second) - _tied_pairs(both)
    # In first's order, ties in first broken by second's: then a pair is put opposite ways
    # round exactly when second's places fall along the sequence (a strict inversion).
    disagree = _strict_inversions(second[np.argsort(both, kind="stable")])
    return PairAgreement(agree=n * (n - 1) // 2 - tied - disagree, disagree=disagree, tied=tied)


def agreement_words(share: float | None) -> str:
    """A share of agreeing pairs in words. Half the pairs is what two unrelated orders
    share, so the scale is symmetric about 0.5."""
    if share is None:
        return "nothing to compare"
    for floor, words in (
        (0.9, "strong agreement"),
        (0.75, "moderate agreement"),
        (0.55, "weak agreement"),
        (0.45, "no real agreement either way"),
        (0.25, "weak disagreement"),
        (0.1, "moderate disagreement"),
    ):
        if share >= floor:
            return words
    return "strong disagreement"


def _dense(ranks: NDArray) -> NDArray[np.int64]:
    """Ranks as 0, 1, 2… keeping order and ties."""
    return np.unique(ranks, return_inverse=True)[1].reshape(-1).astype(np.int64)


def _tied_pairs(values: NDArray[np.int64]) -> int:
    counts = np.unique(values, return_counts=True)[1].astype(np.int64)
    return int((counts * (counts - 1) // 2).sum())


def _strict_inversions(values: NDArray[np.int64]) -> int:
    """Pairs i < j with values[i] > values[j] (values 0 … n−1 at most), by bottom-up merge
    sort. Each level merges every block's two sorted halves in one sort of the whole array,
    each block shifted by a multiple of n so blocks never mix; the left halves together are
    then sorted too, so one ``searchsorted`` counts, for every right-half value, the
    left-half values of its block above it."""
    n = values.size
    position = np.arange(n, dtype=np.int64)
    count, width = 0, 1
    while width < n:
        block = position // (2 * width)
        key = values + block * n
        in_left = (position // width) % 2 == 0
        left, right = key[in_left], key[~in_left]
        block_end = np.searchsorted(left, (block[~in_left] + 1) * n)
        count += int((block_end - np.searchsorted(left, right, side="right")).sum())
        # Stable sort: Timsort finds the sorted halves as runs and only merges them.
        values = np.sort(key, kind="stable") - block * n
        width *= 2
    return count
