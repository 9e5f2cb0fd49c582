"""Vote aggregation: property tests against pref_voting and against naive reference code.

pref_voting (Holliday & Pacuit) is the reference for complete ballots. Its profiles hold vote
counts, so those comparisons use weight 1; weights, ties and unranked candidates are checked
against the slow, obviously-correct implementations below.
"""

import math
from collections import defaultdict
from itertools import combinations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pref_voting.c1_methods import copeland_ranking
from pref_voting.margin_based_methods import beat_path, ranked_pairs_tb
from pref_voting.profiles import Profile
from pref_voting.scoring_methods import borda_ranking

from prioritisation import voting
from prioritisation.voting import aggregate, cohort_weights, kendall_tau

# pref_voting's checks dominate the run time; these counts keep the file well under a minute.
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# Strategies ------------------------------------------------------------------------------------


@st.composite
def complete_profiles(draw, max_candidates: int = 6, max_voters: int = 12) -> list[list[int]]:
    """Strict rankings of all of candidates 0..m-1, one per voter."""
    m = draw(st.integers(2, max_candidates))
    n = draw(st.integers(1, max_voters))
    return [draw(st.permutations(range(m))) for _ in range(n)]


@st.composite
def ranking_with_ties(draw, m: int, complete: bool = False) -> list[list[int]]:
    """Candidates 0..m-1 (or some of them) split into tied groups, best first."""
    if complete:
        ranked = draw(st.permutations(range(m)))
    else:
        ranked = draw(st.lists(st.integers(0, m - 1), unique=True, max_size=m))
    groups, start = [], 0
    while start < len(ranked):
        size = draw(st.integers(1, len(ranked) - start))
        groups.append(ranked[start : start + size])
        start += size
    return groups


weights = st.one_of(
    st.integers(0, 5),
    st.sampled_from([0.1, 0.2, 1 / 3, 0.7]),
    st.floats(0, 10, allow_nan=False, allow_infinity=False),
)


@st.composite
def weighted_profiles(draw, max_candidates: int = 8, max_voters: int = 10) -> tuple[int, list]:
    """(m, ballots): incomplete rankings with ties, written as groups, and assorted weights."""
    m = draw(st.integers(1, max_candidates))
    n = draw(st.integers(0, max_voters))
    ballots = [(draw(ranking_with_ties(m)), draw(weights)) for _ in range(n)]
    return m, ballots


# Naive references ------------------------------------------------------------------------------


def naive_pairwise(m: int, ballots: list) -> np.ndarray:
    """P[i, j] straight from the definition, one ballot and one pair at a time."""
    p = np.zeros((m, m))
    for groups, weight in ballots:
        level = {c: t for t, group in enumerate(groups) for c in group}
        unranked = len(groups)
        for i in range(m):
            for j in range(m):
                if level.get(i, unranked) < level.get(j, unranked):
                    p[i, j] += weight
    return p


def naive_borda(m: int, ballots: list) -> list[float]:
    """Positions get m−1 … 0 points; a tied group (unranked ones too) averages its positions."""
    scores = [0.0] * m
    for groups, weight in ballots:
        ranked = {c for group in groups for c in group}
        tiers = [*groups, [c for c in range(m) if c not in ranked]]
        position = 0
        for tier in tiers:
            points = [m - 1 - (position + k) for k in range(len(tier))]
            for c in tier:
                scores[c] += weight * sum(points) / len(tier)
            position += len(tier)
    return scores


def naive_strongest_paths(p: np.ndarray) -> np.ndarray:
    """Wikipedia's Schulze pseudocode (winning votes), loops and all."""
    m = p.shape[0]
    s = np.where(p > p.T, p, 0.0)
    for i in range(m):
        for j in range(m):
            if i != j:
                for k in range(m):
                    if i != k and j != k:
                        s[j, k] = max(s[j, k], min(s[j, i], s[i, k]))
    np.fill_diagonal(s, 0.0)
    return s


def naive_ranked_pairs(p: np.ndarray) -> list[list[int]]:
    """Lock victories by margin (ties in index order) unless the loser already reaches the
    winner; then peel off the candidates no remaining candidate is locked over."""
    m = p.shape[0]
    margin = np.round(p - p.T, 9)
    victories = sorted(
        (-margin[i, j], i, j) for i in range(m) for j in range(m) if margin[i, j] > 0
    )
    locked: set[tuple[int, int]] = set()

    def reaches(start: int, goal: int) -> bool:
        seen, stack = {start}, [start]
        while stack:
            node = stack.pop()
            if node == goal:
                return True
            for x, y in locked:
                if x == node and y not in seen:
                    seen.add(y)
                    stack.append(y)
        return False

    for _, i, j in victories:
        if not reaches(j, i):
            locked.add((i, j))
    remaining, tiers = set(range(m)), []
    while remaining:
        top = sorted(c for c in remaining if not any((d, c) in locked for d in remaining))
        tiers.append(top)
        remaining -= set(top)
    return tiers


def tiers_of(ranking) -> list[list[int]]:
    """A pref_voting Ranking as our tiers: lists of candidates, best first, sorted within."""
    by_rank = defaultdict(list)
    for candidate, rank in ranking.rmap.items():
        by_rank[rank].append(candidate)
    return [sorted(by_rank[rank]) for rank in sorted(by_rank)]


def as_ballots(profile: list[list[int]]) -> list[tuple[list[int], int]]:
    return [(list(ranking), 1) for ranking in profile]


# Against pref_voting ---------------------------------------------------------------------------


@FAST
@given(complete_profiles())
def test_borda_ranking_matches_pref_voting(profile: list[list[int]]) -> None:
    m = len(profile[0])
    ours = aggregate(as_ballots(profile), method="borda", candidates=range(m))

    assert ours.ranking == tiers_of(borda_ranking(Profile(profile)))


@FAST
@given(complete_profiles())
def test_copeland_ranking_matches_pref_voting(profile: list[list[int]]) -> None:
    m = len(profile[0])
    ours = aggregate(as_ballots(profile), method="copeland", candidates=range(m))

    assert ours.ranking == tiers_of(copeland_ranking(Profile(profile)))


@FAST
@given(complete_profiles())
def test_schulze_winners_match_pref_voting_beat_path(profile: list[list[int]]) -> None:
    """Complete strict ballots make winning votes and margins order the defeats alike, so the
    winners agree with pref_voting's margin-based beat path."""
    m = len(profile[0])
    ours = aggregate(as_ballots(profile), method="schulze", candidates=range(m))

    assert sorted(ours.winners) == beat_path(Profile(profile))


@FAST
@given(complete_profiles(max_candidates=5))
def test_ranked_pairs_winner_matches_pref_voting_with_the_same_tie_breaker(
    profile: list[list[int]],
) -> None:
    """With an odd number of voters there are no zero margins, where pref_voting's ranked
    pairs TB differs (it also orders tied pairs); equal margins are then broken alike."""
    assume(len(profile) % 2 == 1)
    m = len(profile[0])
    ours = aggregate(as_ballots(profile), method="ranked_pairs", candidates=range(m))

    assert ours.winners == ranked_pairs_tb(Profile(profile), tie_breaker=list(range(m)))


# Against the definitions -----------------------------------------------------------------------


@FAST
@given(weighted_profiles())
def test_condorcet_winner_wins_schulze_and_ranked_pairs(case: tuple[int, list]) -> None:
    m, ballots = case
    # The naive matrix, independent of the code under test, rounded as `aggregate` rounds
    # (to 9 decimals) so that near-ties in float sums count as ties on both sides.
    p = np.round(naive_pairwise(m, ballots), 9)
    beats_everyone = [c for c in range(m) if all(p[c, d] > p[d, c] for d in range(m) if d != c)]
    assume(beats_everyone)

    for method in ("schulze", "ranked_pairs"):
        assert aggregate(ballots, method=method, candidates=range(m)).ranking[0] == beats_everyone


@FAST
@given(weighted_profiles(max_candidates=10))
def test_every_method_handles_incomplete_tied_weighted_ballots(case: tuple[int, list]) -> None:
    m, ballots = case
    expected = naive_pairwise(m, ballots)

    for method in ("schulze", "borda", "copeland", "ranked_pairs"):
        result = aggregate(ballots, method=method, candidates=range(m))
        assert np.allclose(result.pairwise, expected, rtol=0, atol=1e-8)
        assert sorted(c for tier in result.ranking for c in tier) == list(range(m))


@FAST
@given(weighted_profiles(max_candidates=16, max_voters=14))
def test_ranked_pairs_tiers_match_a_naive_implementation(case: tuple[int, list]) -> None:
    """The module keeps the locked graph in a dynamic topological order instead of
    recomputing reachability; the tiers must be those of the plain algorithm."""
    m, ballots = case
    result = aggregate(ballots, method="ranked_pairs", candidates=range(m))

    assert result.ranking == naive_ranked_pairs(result.pairwise)


@FAST
@given(weighted_profiles())
def test_borda_scores_are_averaged_positional_points(case: tuple[int, list]) -> None:
    m, ballots = case
    result = aggregate(ballots, method="borda", candidates=range(m))

    assert list(result.scores.values()) == pytest.approx(naive_borda(m, ballots), abs=1e-7)


@FAST
@given(weighted_profiles())
def test_schulze_tiers_are_the_layers_of_the_strongest_path_order(case: tuple[int, list]) -> None:
    """Nobody is beaten from their own tier or below; each later candidate is beaten by
    someone in an earlier tier. Strengths match Wikipedia's pseudocode."""
    m, ballots = case
    result = aggregate(ballots, method="schulze", candidates=range(m))
    s = voting.schulze_strengths(result.pairwise)
    assert np.allclose(s, naive_strongest_paths(result.pairwise), rtol=0, atol=1e-9)

    tier_of = {c: t for t, tier in enumerate(result.ranking) for c in tier}
    for i, j in combinations(range(m), 2):
        if s[i, j] > s[j, i]:
            assert tier_of[i] < tier_of[j]
        elif s[j, i] > s[i, j]:
            assert tier_of[j] < tier_of[i]
    for c, t in tier_of.items():
        if t > 0:
            assert any(s[d, c] > s[c, d] for d in result.ranking[t - 1])


@settings(max_examples=60, deadline=None)
@given(st.data(), st.integers(8, 40))
def test_short_and_long_ballot_counting_agree_with_the_definition(data, m: int) -> None:
    """Short ballots (k < m/4) are counted by ranked pairs, long ones densely: small random
    profiles rarely reach the first path through `aggregate`, so both are called directly."""
    ballots = data.draw(st.lists(st.tuples(ranking_with_ties(m), weights), max_size=8))
    profile = voting._parse_rankings(ballots, {c: c for c in range(m)}, fixed=True)
    offsets = np.cumsum(profile.lengths) - profile.lengths
    every_ballot = np.arange(len(ballots))
    expected = naive_pairwise(m, ballots)

    for count in (voting._pairwise_short, voting._pairwise_long):
        counted = count(profile, offsets, every_ballot, m)
        np.fill_diagonal(counted, 0.0)
        assert np.allclose(counted, expected, rtol=0, atol=1e-8), count.__name__


@FAST
@given(
    st.integers(1, 8).flatmap(
        lambda m: st.lists(
            st.tuples(
                st.dictionaries(st.integers(0, m - 1), st.integers(0, 5) | st.floats(0, 5)),
                weights,
            ),
            max_size=8,
        ).map(lambda ballots: (m, ballots))
    )
)
def test_dots_are_summed_and_read_as_rankings_by_points(case: tuple[int, list]) -> None:
    m, ballots = case
    result = aggregate(ballots, method="dots", candidates=range(m))

    expected_scores = [sum(b.get(c, 0) * w for b, w in ballots) for c in range(m)]
    assert list(result.scores.values()) == pytest.approx(expected_scores, abs=1e-7)
    as_rankings = [
        ([[c for c in b if b[c] == p] for p in sorted({v for v in b.values() if v > 0})[::-1]], w)
        for b, w in ballots
    ]
    assert np.allclose(result.pairwise, naive_pairwise(m, as_rankings), rtol=0, atol=1e-8)


# Helpers ---------------------------------------------------------------------------------------


@FAST
@given(
    st.dictionaries(st.integers(0, 60), st.sampled_from("abcde"), min_size=1),
    st.dictionaries(
        st.sampled_from("abcdef"), st.just(0.0) | st.floats(1e-300, 1e6) | st.integers(0, 100)
    ),
)
def test_each_cohort_carries_exactly_its_voice_weight(
    voter_cohorts: dict[int, str], voice_weight: dict[str, float]
) -> None:
    assume(set(voter_cohorts.values()) <= set(voice_weight))

    weights = cohort_weights(voter_cohorts, voice_weight)

    assert weights.keys() == voter_cohorts.keys()
    for cohort in set(voter_cohorts.values()):
        shares = [w for voter, w in weights.items() if voter_cohorts[voter] == cohort]
        assert len(set(shares)) == 1  # split evenly
        # Exact up to the last bit: w/n × n need not round back to w in binary floating point
        # (1/49 × 49 does not), so "exactly" here means within one unit in the last place.
        voice = float(voice_weight[cohort])
        assert abs(math.fsum(shares) - voice) <= math.ulp(voice)


@FAST
@given(
    st.integers(1, 12).flatmap(
        lambda n: st.tuples(ranking_with_ties(n, complete=True), ranking_with_ties(n, True))
    )
)
def test_kendall_tau_b_matches_its_pair_counting_definition(orders) -> None:
    order_a, order_b = orders
    items = sorted(c for group in order_a for c in group)
    level_a = {c: t for t, group in enumerate(order_a) for c in group}
    level_b = {c: t for t, group in enumerate(order_b) for c in group}

    concordant = discordant = tied_a = tied_b = 0
    for x, y in combinations(items, 2):
        da, db = np.sign(level_a[x] - level_a[y]), np.sign(level_b[x] - level_b[y])
        concordant += da * db > 0
        discordant += da * db < 0
        tied_a += da == 0
        tied_b += db == 0
    pairs = len(items) * (len(items) - 1) // 2
    denominator = math.sqrt((pairs - tied_a) * (pairs - tied_b))

    tau = kendall_tau(order_a, order_b)
    if denominator == 0:
        assert math.isnan(tau)
    else:
        assert tau == pytest.approx((concordant - discordant) / denominator, abs=1e-12)
