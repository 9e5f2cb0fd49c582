"""Vote aggregation: ballots in, a ranking of candidates out. Pure Python and NumPy, no ORM.

A ranked ballot is ``(ranking, weight)``. ``ranking`` lists candidates best first; an entry
that is a list, tuple, set or frozenset is a group of tied candidates (so a candidate itself
must not be one of those types). Candidates a ballot does not mention are tied below all it
ranks. A dots ballot is ``(points_by_candidate, weight)``.

Every method works from the weighted pairwise matrix ``P``, where ``P[i, j]`` is the total
weight of ballots that put candidate ``i`` strictly above candidate ``j``:

- schulze: strongest paths over winning votes (a path is as strong as its weakest defeat);
  ``i`` is ahead of ``j`` when its path to ``j`` is stronger than the path back. The first
  tier is the Schulze winners (beaten by no one), the next the unbeaten among the rest, …
- ranked_pairs: pairwise victories are locked in order of margin, skipping any that would
  close a cycle; equal margins go in ``candidates`` order, by winner and then by loser.
  Tiers are the layers of the locked graph, built like Schulze's.
- borda: m−1 … 0 points by position; tied candidates (unranked ones too) share the average
  of their positions' points.
- copeland: pairwise wins minus pairwise losses.
- dots: points × weight, summed.
"""

from __future__ import annotations

import math
import numbers
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from backlog.agreement import pair_agreement

Candidate = Hashable

METHODS = ("schulze", "borda", "copeland", "ranked_pairs", "dots")

# Weights are floats, and sums that are equal in exact arithmetic can differ in their last bits
# depending on the order of addition; rounding keeps such ties tied (a margin of 1e-16 is noise,
# not a pairwise win). Integer weights are unaffected.
_DECIMALS = 9
_GROUP_TYPES = (list, tuple, set, frozenset)
# Candidate pairs (or comparison cells) handled per vectorised step: bounds the temporaries to
# roughly 100 MB whatever the number of ballots.
_CELLS_PER_BATCH = 1 << 22


@dataclass(frozen=True)
class Result:
    """The outcome of :func:`aggregate`.

    ``ranking`` is a list of tiers, best first; within a tier candidates keep ``candidates``
    order. ``pairwise[i, j]`` is the total weight of ballots preferring ``candidates[i]`` to
    ``candidates[j]`` (read-only float64; for dots, a ballot prefers i to j when it gives i
    more points). ``scores`` holds Borda points, Copeland wins − losses or dots per candidate,
    and is None for Schulze and ranked pairs, which have no scores.
    """

    method: str
    candidates: tuple[Candidate, ...]
    ranking: list[list[Candidate]]
    pairwise: np.ndarray = field(repr=False, compare=False)
    scores: dict[Candidate, float] | None = None

    @property
    def winners(self) -> list[Candidate]:
        """The first tier: more than one candidate when the method leaves them tied."""
        return list(self.ranking[0]) if self.ranking else []


class _Profile(NamedTuple):
    """Ballots flattened: ballot b ranks ``entries[offsets[b]:offsets[b] + lengths[b]]``."""

    entries: np.ndarray  # candidate index of each ranked entry, ballot after ballot
    levels: np.ndarray  # its tier within the ballot, non-decreasing, 0 = best
    lengths: np.ndarray  # ranked entries per ballot
    weights: np.ndarray  # per ballot


def aggregate(
    ballots: Iterable[tuple[Any, float]],
    method: str = "schulze",
    candidates: Sequence[Candidate] | None = None,
    budget: float | None = None,
) -> Result:
    """Aggregate weighted ballots with ``method`` (one of ``METHODS``).

    ``candidates`` fixes the candidate set and order (the order of ``Result.candidates``, of
    ties within a tier and of ranked pairs' tie-breaks); ballots may then name no one else.
    Without it, the candidates are those the ballots name, in first-seen order (ballot by
    ballot, best first). ``budget`` caps each dots ballot's total points (dots only).

    Raises ValueError for a malformed ballot: a candidate twice, an unknown candidate when
    ``candidates`` is given, a negative or non-finite weight, negative dots, or dots over budget.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    if budget is not None and method != "dots":
        raise ValueError("budget applies only to method='dots'")
    index = _candidate_index(candidates)
    fixed = candidates is not None

    if method == "dots":
        profile, dots = _parse_dots(ballots, index, fixed, budget)
    else:
        profile, dots = _parse_rankings(ballots, index, fixed), None
    names = tuple(index)
    m = len(names)
    pairwise = _pairwise(profile, m)

    scores: np.ndarray | None = None
    if method == "schulze":
        strengths = schulze_strengths(pairwise)
        tiers = _layers(strengths > strengths.T)
    elif method == "ranked_pairs":
        tiers = _layers(_ranked_pairs_locks(pairwise))  # layers of the locked graph
    else:
        if method == "borda":
            # Per ballot, a candidate's averaged Borda points are the candidates strictly below
            # it plus half of those tied with it, which sums to this over all ballots.
            total = float(profile.weights.sum())
            scores = 0.5 * (pairwise - pairwise.T).sum(axis=1) + 0.5 * total * (m - 1)
        elif method == "copeland":
            scores = (pairwise > pairwise.T).sum(axis=1) - (pairwise < pairwise.T).sum(axis=1)
        else:
            scores = dots
        scores = np.round(scores, _DECIMALS)
        tiers = _score_tiers(scores)

    pairwise.setflags(write=False)
    return Result(
        method=method,
        candidates=names,
        ranking=[[names[i] for i in tier] for tier in tiers],
        pairwise=pairwise,
        scores=None if scores is None else dict(zip(names, scores.tolist(), strict=True)),
    )


def schulze_strengths(pairwise: np.ndarray) -> np.ndarray:
    """Strongest-path strengths over winning votes: ``S[i, j]`` is the largest ``s`` such
    that a chain of pairwise wins, each by ``s`` or more winning votes, leads from i to j
    (0 when none does). The Schulze method puts i ahead of j when ``S[i, j] > S[j, i]``.
    """
    if pairwise.size == 0:
        return np.zeros(pairwise.shape)
    values, codes = _order_codes(np.where(pairwise > pairwise.T, pairwise, 0.0))
    strengths = values[_widest_paths(codes)]
    np.fill_diagonal(strengths, 0.0)  # a candidate's path to itself means nothing
    return strengths


def pairwise(
    ballots: Iterable[tuple[Any, float]],
    method: str = "schulze",
    candidates: Sequence[Candidate] | None = None,
) -> np.ndarray:
    """The weighted pairwise matrix of ``ballots`` alone (as ``aggregate(...).pairwise``,
    read the same way), without choosing an order: for agreement between voters, which
    weights each ballot its own way. Dots ballots (``method="dots"``) are read as rankings,
    more dots above fewer; no budget is checked."""
    index = _candidate_index(candidates)
    if method == "dots":
        profile, _dots = _parse_dots(ballots, index, candidates is not None, None)
    else:
        profile = _parse_rankings(ballots, index, candidates is not None)
    return _pairwise(profile, len(index))


def kendall_tau(order_a: Sequence[Any], order_b: Sequence[Any]) -> float:
    """Kendall's tau-b between two rankings of the same items, in [-1, 1].

    Rankings are written like ballots: best first, a list/tuple/set entry being a group of
    tied items; both must list every item exactly once. Returns NaN when either ranking has
    no untied pair (tau-b is undefined there). Pairs are counted by merge sort, O(n log² n):
    1,000 items take about a millisecond (pair by pair took 5 ms and 1 MB)."""
    level_a, level_b = _levels_of(order_a, "order_a"), _levels_of(order_b, "order_b")
    if level_a.keys() != level_b.keys():
        raise ValueError("kendall_tau: the two rankings must cover the same items")
    a = np.fromiter(level_a.values(), dtype=np.int64, count=len(level_a))
    b = np.fromiter((level_b[item] for item in level_a), dtype=np.int64, count=len(level_a))
    pairs = a.size * (a.size - 1) // 2
    found = pair_agreement(a, b)
    # tau-b = (concordant − discordant) / √(pairs untied in a × pairs untied in b)
    untied = (pairs - _tied_pairs(a)) * (pairs - _tied_pairs(b))
    return (found.agree - found.disagree) / math.sqrt(untied) if untied else math.nan


def cohort_weights(
    voter_cohorts: Mapping[Hashable, Hashable], voice_weight: Mapping[Hashable, float]
) -> dict[Hashable, float]:
    """Ballot weight per voter, so that each cohort's voters together weigh its voice weight.

    ``voter_cohorts`` maps each voter who voted to their cohort; each cohort's voice weight is
    split evenly among them (sums are exact up to float rounding). A cohort with no voters
    carries no weight. Raises ValueError for a cohort without a voice weight, or a negative one.
    """
    voters_per_cohort = Counter(voter_cohorts.values())
    share: dict[Hashable, float] = {}
    for cohort, voters in voters_per_cohort.items():
        if cohort not in voice_weight:
            raise ValueError(f"cohort {cohort!r} has voters but no voice weight")
        weight = float(voice_weight[cohort])
        if not math.isfinite(weight) or weight < 0:
            raise ValueError(f"cohort {cohort!r}: voice weight {weight!r} must be finite and ≥ 0")
        share[cohort] = weight / voters
    return {voter: share[cohort] for voter, cohort in voter_cohorts.items()}


# Parsing -------------------------------------------------------------------------------------


def _candidate_index(candidates: Sequence[Candidate] | None) -> dict[Candidate, int]:
    index: dict[Candidate, int] = {}
    for candidate in candidates if candidates is not None else ():
        _check_candidate(candidate, "candidates")
        if candidate in index:
            raise ValueError(f"candidates: {candidate!r} appears twice")
        index[candidate] = len(index)
    return index


def _check_candidate(candidate: Any, where: str) -> None:
    if isinstance(candidate, _GROUP_TYPES):
        raise ValueError(f"{where}: {candidate!r} is a group, not a candidate")
    try:
        hash(candidate)
    except TypeError:
        raise ValueError(f"{where}: candidate {candidate!r} is not hashable") from None


def _index_of(candidate: Any, index: dict[Candidate, int], fixed: bool, where: str) -> int:
    _check_candidate(candidate, where)
    if candidate not in index:
        if fixed:
            raise ValueError(f"{where}: unknown candidate {candidate!r}")
        index[candidate] = len(index)
    return index[candidate]


def _unpack(ballot: Any, where: str) -> tuple[Any, float]:
    try:
        content, weight = ballot
    except (TypeError, ValueError):
        raise ValueError(f"{where}: expected a (ranking, weight) pair") from None
    try:
        weight = float(weight)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: weight {weight!r} is not a number") from None
    if not math.isfinite(weight) or weight < 0:
        raise ValueError(f"{where}: weight {weight!r} must be finite and ≥ 0")
    return content, weight


def _parse_rankings(ballots: Iterable[Any], index: dict, fixed: bool) -> _Profile:
    entries: list[int] = []
    levels: list[int] = []
    lengths: list[int] = []
    weights: list[float] = []
    lookup = index.__getitem__
    for number, ballot in enumerate(ballots):
        where = f"ballot {number}"
        ranking, weight = _unpack(ballot, where)
        if not isinstance(ranking, Sequence) or isinstance(ranking, str):
            raise ValueError(f"{where}: a ranking must be a list, best first")
        try:
            # Fast path: every entry a known single candidate (a group is unhashable or not a
            # key, as no candidate may be a tuple or frozenset).
            found = list(map(lookup, ranking))
            tiers: Iterable[int] = range(len(found))
        except (KeyError, TypeError):
            found, tiers = [], []
            for level, entry in enumerate(ranking):
                for candidate in entry if isinstance(entry, _GROUP_TYPES) else (entry,):
                    found.append(_index_of(candidate, index, fixed, where))
                    tiers.append(level)
        if len(set(found)) != len(found):
            raise ValueError(f"{where}: a candidate appears more than once")
        entries.extend(found)
        levels.extend(tiers)
        lengths.append(len(found))
        weights.append(weight)
    return _Profile(
        entries=np.array(entries, dtype=np.int64),
        levels=np.array(levels, dtype=np.int64),
        lengths=np.array(lengths, dtype=np.int64),
        weights=np.array(weights, dtype=np.float64),
    )


def _parse_dots(
    ballots: Iterable[Any], index: dict, fixed: bool, budget: float | None
) -> tuple[_Profile, np.ndarray]:
    """Dots per candidate, and the ballots read as rankings: more points ranks higher, equal
    points tie, and candidates given no points are unranked."""
    rankings: list[tuple[list[list[Candidate]], float]] = []
    dotted: list[int] = []
    dotted_weight: list[float] = []
    for number, ballot in enumerate(ballots):
        where = f"ballot {number}"
        points_by_candidate, weight = _unpack(ballot, where)
        if not isinstance(points_by_candidate, Mapping):
            raise ValueError(f"{where}: a dots ballot must map candidates to points")
        by_points: dict[float, list[Candidate]] = {}
        for candidate, points in points_by_candidate.items():
            if isinstance(points, bool) or not isinstance(points, numbers.Real):
                raise ValueError(f"{where}: points {points!r} for {candidate!r} not a number")
            if not math.isfinite(points) or points < 0:
                raise ValueError(f"{where}: points for {candidate!r} must be finite and ≥ 0")
            dotted.append(_index_of(candidate, index, fixed, where))
            dotted_weight.append(float(points) * weight)
            if points > 0:
                by_points.setdefault(float(points), []).append(candidate)
        total = math.fsum(points_by_candidate.values())
        if budget is not None and total > budget:
            raise ValueError(f"{where}: {total:g} dots is over the budget of {budget:g}")
        rankings.append(([by_points[p] for p in sorted(by_points, reverse=True)], weight))
    dots = np.bincount(np.array(dotted, dtype=np.int64), dotted_weight, minlength=len(index))
    return _parse_rankings(rankings, index, fixed), dots


def _levels_of(order: Sequence[Any], where: str) -> dict[Any, int]:
    levels: dict[Any, int] = {}
    for level, entry in enumerate(order):
        for item in entry if isinstance(entry, _GROUP_TYPES) else (entry,):
            _check_candidate(item, where)
            if item in levels:
                raise ValueError(f"{where}: {item!r} appears more than once")
            levels[item] = level
    return levels


def _tied_pairs(levels: np.ndarray) -> int:
    counts = np.unique(levels, return_counts=True)[1].astype(np.int64)
    return int((counts * (counts - 1) // 2).sum())


# Pairwise matrix ----------------------------------------------------------------------------


def _pairwise(profile: _Profile, m: int) -> np.ndarray:
    """P[i, j] = weight of ballots ranking i strictly above j, unranked candidates included.

    A ballot ranking k of the m candidates is counted densely (m² comparisons, cheap in NumPy)
    when k ≥ m/4, and through its ranked pairs alone (k²/2, each dearer) when shorter. The
    crossover was measured; both ways give the same P.
    """
    lengths = profile.lengths
    pairwise = np.zeros((m, m))
    if m == 0 or lengths.size == 0:
        return pairwise
    offsets = np.cumsum(lengths) - lengths
    long = 4 * lengths >= m
    pairwise += _pairwise_long(profile, offsets, np.flatnonzero(long), m)
    pairwise += _pairwise_short(profile, offsets, np.flatnonzero(~long), m)
    np.fill_diagonal(pairwise, 0.0)
    return np.round(pairwise, _DECIMALS)


def _entry_positions(offsets: np.ndarray, lengths: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Positions in ``entries`` of the ranked entries of ballots ``rows``, ballot by ballot."""
    counts = lengths[rows]
    return np.repeat(offsets[rows] - (np.cumsum(counts) - counts), counts) + np.arange(counts.sum())


def _pairwise_long(profile: _Profile, offsets: np.ndarray, rows: np.ndarray, m: int) -> np.ndarray:
    entries, levels, lengths, weights = profile
    pairwise = np.zeros((m, m))
    step = max(1, _CELLS_PER_BATCH // (m * m))
    # Narrow levels make the m² comparisons several times cheaper; the sentinel is "unranked".
    dtype = np.int16 if levels.size == 0 or levels.max() < (1 << 15) - 1 else np.int64
    # Ballots of equal weight (a cohort's, say) are counted together in integers, scaled once.
    distinct, group = np.unique(weights[rows], return_inverse=True)
    for g, weight in enumerate(distinct.tolist()):
        members = rows[group == g]
        counts = np.zeros((m, m), dtype=np.int64)
        for start in range(0, members.size, step):
            chosen = members[start : start + step]
            at = _entry_positions(offsets, lengths, chosen)
            level = np.full((chosen.size, m), np.iinfo(dtype).max, dtype=dtype)
            level[np.repeat(np.arange(chosen.size), lengths[chosen]), entries[at]] = levels[at]
            counts += (level[:, :, None] < level[:, None, :]).sum(axis=0, dtype=np.int32)
        pairwise += weight * counts
    return pairwise


def _pairwise_short(profile: _Profile, offsets: np.ndarray, rows: np.ndarray, m: int) -> np.ndarray:
    """A ballot ranking i puts it above j unless it ranks j above or level with i. So with
    ``ranked[i]`` the weight of ballots ranking i and ``Q[i, j]`` the weight of those ranking
    both with j at or above i, P = ranked[:, None] − Q: a ballot's m − k unranked candidates
    cost nothing, and Q needs only its k(k−1)/2 ranked pairs (plus tied ones reversed).
    """
    entries, levels, lengths, weights = profile
    at = _entry_positions(offsets, lengths, rows)
    ranked = np.bincount(entries[at], np.repeat(weights[rows], lengths[rows]), minlength=m)
    q = np.zeros(m * m)
    pairs: list[np.ndarray] = []
    pair_weights: list[np.ndarray] = []
    for k in np.unique(lengths[rows]).tolist():
        below, above = np.tril_indices(k, -1)  # entry `above` is ranked at or above `below`
        same_length = rows[lengths[rows] == k]
        step = max(1, _CELLS_PER_BATCH // max(1, below.size))
        for start in range(0, same_length.size if k > 1 else 0, step):
            chosen = same_length[start : start + step]
            at = offsets[chosen, None] + np.arange(k)
            idx, level = entries[at], levels[at]
            tied = (level[:, below] == level[:, above]).ravel()
            w = np.repeat(weights[chosen], below.size)
            pairs += [(idx[:, below] * m + idx[:, above]).ravel()]
            pairs += [(idx[:, above] * m + idx[:, below]).ravel()[tied]]
            pair_weights += [w, w[tied]]
            if sum(p.size for p in pairs) >= _CELLS_PER_BATCH:
                q += np.bincount(np.concatenate(pairs), np.concatenate(pair_weights), m * m)
                pairs, pair_weights = [], []
    if pairs:
        q += np.bincount(np.concatenate(pairs), np.concatenate(pair_weights), m * m)
    return ranked[:, None] - q.reshape(m, m)


# Methods -----------------------------------------------------------------------------------


def _order_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sorted distinct values and each entry's rank among them, in the narrowest dtype.

    Widest paths use only min and max, which commute with any order-preserving relabelling, so
    the Floyd–Warshall loop can run on one- or two-byte codes: 4–8× less memory traffic.
    """
    if np.all(values == np.rint(values)) and values.max() < (1 << 24):
        whole = values.astype(np.int64)
        present = np.zeros(int(whole.max()) + 1, dtype=bool)
        present[whole] = True
        distinct = np.flatnonzero(present).astype(np.float64)
        codes = (np.cumsum(present) - 1)[whole]
    else:
        distinct, codes = np.unique(values, return_inverse=True)
    n = distinct.size
    dtype = np.uint8 if n <= 1 << 8 else np.uint16 if n <= 1 << 16 else np.uint32
    return distinct, codes.reshape(values.shape).astype(dtype)


def _widest_paths(strength: np.ndarray) -> np.ndarray:
    """Floyd–Warshall for bottleneck paths, one vectorised update per pivot.

    Pivot k can only improve the rows that reach k (a zero strength stays a zero minimum).
    Sorting candidates by how many they beat gathers those rows together, so each pivot
    updates one contiguous band of rows: 40% less time on skewed profiles, 20% on uniform
    ones (measured at 1,000 candidates). Any pivot order gives the same paths.
    """
    order = np.argsort(-(strength > 0).sum(axis=1), kind="stable")
    paths = strength[np.ix_(order, order)]
    via = np.empty_like(paths)
    for k in range(paths.shape[0]):
        reaching = np.flatnonzero(paths[:, k])
        if reaching.size:
            lo, hi = reaching[0], reaching[-1] + 1
            scratch = via[: hi - lo]
            # Row and column k do not change during pivot k, so updating in place is safe.
            np.minimum(paths[lo:hi, k, None], paths[k, None, :], out=scratch)
            np.maximum(paths[lo:hi], scratch, out=paths[lo:hi])
    unsorted = np.empty_like(paths)
    unsorted[np.ix_(order, order)] = paths
    return unsorted


def _ranked_pairs_locks(pairwise: np.ndarray) -> np.ndarray:
    """The locked victories, as a boolean adjacency matrix (acyclic by construction).

    Whether a victory a > b closes a cycle is "does b already reach a?". Keeping the locked
    graph in a topological order (Pearce & Kelly's dynamic topological sort) answers that for
    free when a already stands before b, which a first guess by total margin makes the usual
    case; otherwise only the candidates placed between b and a are searched, then reordered.
    At 1,000 candidates this takes 0.5–2 s where updating a transitive closure took 12–40 s.
    """
    m = pairwise.shape[0]
    margin = np.round(pairwise - pairwise.T, _DECIMALS)
    winner, loser = np.nonzero(margin > 0)
    order = np.lexsort((loser, winner, -margin[winner, loser]))
    position = np.argsort(np.argsort(-margin.sum(axis=1), kind="stable")).tolist()
    beats: list[list[int]] = [[] for _ in range(m)]
    beaten_by: list[list[int]] = [[] for _ in range(m)]
    locked = np.zeros((m, m), dtype=bool)
    for a, b in zip(winner[order].tolist(), loser[order].tolist(), strict=True):
        first, last = position[b], position[a]
        if first < last:  # a stands after b, so b might reach a: search between them
            ahead, stack = {b}, [b]
            while stack and a not in ahead:
                for c in beats[stack.pop()]:
                    if c not in ahead and position[c] <= last:
                        ahead.add(c)
                        stack.append(c)
            if a in ahead:
                continue  # b reaches a: locking a over b would close a cycle
            behind, stack = {a}, [a]
            while stack:
                for c in beaten_by[stack.pop()]:
                    if c not in behind and position[c] > first:
                        behind.add(c)
                        stack.append(c)
            # Everything reaching a moves before everything b reaches, in the same slots.
            moved = sorted(behind, key=position.__getitem__) + sorted(
                ahead, key=position.__getitem__
            )
            for c, slot in zip(moved, sorted(position[c] for c in moved), strict=True):
                position[c] = slot
        beats[a].append(b)
        beaten_by[b].append(a)
        locked[a, b] = True
    return locked


def _layers(beats: np.ndarray) -> list[np.ndarray]:
    """Tiers of a strict partial order: the unbeaten, then the unbeaten among the rest, …"""
    remaining = np.ones(beats.shape[0], dtype=bool)
    beaten_by = beats.sum(axis=0)
    tiers = []
    while remaining.any():
        top = remaining & (beaten_by == 0)
        if not top.any():  # impossible for these transitive relations; fail loudly if not
            raise AssertionError("pairwise relation has a cycle")
        tiers.append(np.flatnonzero(top))
        remaining &= ~top
        beaten_by = beaten_by - beats[top].sum(axis=0)
    return tiers


def _score_tiers(scores: np.ndarray) -> list[np.ndarray]:
    order = np.argsort(-scores, kind="stable")  # stable keeps `candidates` order within a tier
    ranked = scores[order]
    return np.split(order, np.flatnonzero(ranked[1:] != ranked[:-1]) + 1) if order.size else []
