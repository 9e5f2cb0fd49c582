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

__all__ = ["PairAgreement", "agreement_words", "order_agreement"]

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
