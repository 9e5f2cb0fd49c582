"""Vote aggregation: pure tests, no database, pinned to published worked examples.

Profiles are written as (count, "ABC…") pairs, the string being one ranking best first, as
the sources print them.
"""

import math
import re

import numpy as np
import pytest

from prioritisation.voting import (
    METHODS,
    Result,
    aggregate,
    cohort_weights,
    kendall_tau,
    schulze_strengths,
)


def ballots_from(profile: list[tuple[int, str]]) -> list[tuple[list[str], int]]:
    return [(list(ranking), count) for count, ranking in profile]


# Wikipedia, "Schulze method", section "Example" (45 voters, candidates A–E); the same example
# is Markus Schulze's own first worked example (Electowiki / Wikipedia user page "Schulze
# method examples", Example 1).
WIKIPEDIA_SCHULZE = [
    (5, "ACBED"),
    (5, "ADECB"),
    (8, "BEDAC"),
    (3, "CABED"),
    (7, "CAEBD"),
    (2, "CBADE"),
    (7, "DCEBA"),
    (8, "EBADC"),
]

# Wikipedia's Tennessee capital example, used in "Ranked pairs", "Borda count" and "Copeland's
# method": 42% live in Memphis, 26% Nashville, 15% Chattanooga, 17% Knoxville, and each voter
# ranks the cities by distance from home. Weights are the percentages.
TENNESSEE = [
    (["Memphis", "Nashville", "Chattanooga", "Knoxville"], 42),
    (["Nashville", "Chattanooga", "Knoxville", "Memphis"], 26),
    (["Chattanooga", "Knoxville", "Nashville", "Memphis"], 15),
    (["Knoxville", "Chattanooga", "Nashville", "Memphis"], 17),
]


def test_schulze_reproduces_the_wikipedia_example_matrices_and_ranking() -> None:
    """Wikipedia "Schulze method": d[X, Y] and strongest paths p[X, Y] as tabulated there,
    winner E, Schulze ranking E > A > C > B > D."""
    result = aggregate(ballots_from(WIKIPEDIA_SCHULZE), candidates=list("ABCDE"))

    assert result.pairwise.tolist() == [
        [0, 20, 26, 30, 22],
        [25, 0, 16, 33, 18],
        [19, 29, 0, 17, 24],
        [15, 12, 28, 0, 14],
        [23, 27, 21, 31, 0],
    ]
    assert schulze_strengths(result.pairwise).tolist() == [
        [0, 28, 28, 30, 24],
        [25, 0, 28, 33, 24],
        [25, 29, 0, 29, 24],
        [25, 28, 28, 0, 24],
        [25, 28, 28, 31, 0],
    ]
    assert result.winners == ["E"]
    assert result.ranking == [["E"], ["A"], ["C"], ["B"], ["D"]]
    assert result.scores is None


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        pytest.param(
            [
                (5, "ACBD"),
                (2, "ACDB"),
                (3, "ADCB"),
                (4, "BACD"),
                (3, "CBDA"),
                (3, "CDBA"),
                (1, "DACB"),
                (5, "DBAC"),
                (4, "DCBA"),
            ],
            [["D"], ["A"], ["C"], ["B"]],
            id="example-2-30-voters",
        ),
        pytest.param(
            [
                (3, "ABDEC"),
                (5, "ADEBC"),
                (1, "ADECB"),
                (2, "BADEC"),
                (2, "BDECA"),
                (4, "CABDE"),
                (6, "CBADE"),
                (2, "DBECA"),
                (5, "DECAB"),
            ],
            [["B"], ["A"], ["D"], ["E"], ["C"]],
            id="example-3-30-voters",
        ),
        pytest.param(
            [(3, "ABCD"), (2, "DABC"), (2, "DBCA"), (2, "CBDA")],
            [["B", "D"], ["A", "C"]],
            id="example-4-9-voters-two-winners",
        ),
    ],
)
def test_schulze_matches_markus_schulzes_worked_examples(
    profile: list[tuple[int, str]], expected: list[list[str]]
) -> None:
    """Markus Schulze's Examples 2–4 in Electowiki's "Schulze method" (wiki.electorama.com,
    oldid=70012): winners D, B, and {B, D}. In Example 4, B and D are both potential winners
    (p[B,D] = p[D,B] = 5); D beats A and B beats C, while A and C tie (p = 5 both ways), so the
    tiers {B, D} then {A, C} follow by hand from the published d[·,·]."""
    candidates = sorted(set(profile[0][1]))

    result = aggregate(ballots_from(profile), candidates=candidates)

    assert result.ranking == expected


def test_tennessee_condorcet_winner_nashville_wins_schulze_and_ranked_pairs() -> None:
    """Wikipedia "Ranked pairs", Tennessee example: pairs locked in order C>K (83), N>C (68),
    N>K (68), then the 58% wins over Memphis, giving Nashville > Chattanooga > Knoxville >
    Memphis. Nashville is the Condorcet winner, so Schulze elects it too."""
    ranked_pairs = aggregate(TENNESSEE, method="ranked_pairs")
    schulze = aggregate(TENNESSEE, method="schulze")

    assert ranked_pairs.ranking == [["Nashville"], ["Chattanooga"], ["Knoxville"], ["Memphis"]]
    assert schulze.ranking == ranked_pairs.ranking
    assert schulze.pairwise[1, 0] == 58  # Nashville over Memphis
    assert schulze.pairwise[2, 3] == 83  # Chattanooga over Knoxville


def test_tennessee_borda_scores_match_wikipedia() -> None:
    """Wikipedia "Borda count", Tennessee example (3, 2, 1, 0 points, per 100 voters):
    Nashville 194, Chattanooga 173, Memphis 126, Knoxville 107."""
    result = aggregate(TENNESSEE, method="borda")

    assert result.scores == {
        "Memphis": 126,
        "Nashville": 194,
        "Chattanooga": 173,
        "Knoxville": 107,
    }
    assert result.ranking == [["Nashville"], ["Chattanooga"], ["Memphis"], ["Knoxville"]]


def test_tennessee_copeland_scores_are_wins_minus_losses() -> None:
    """Wikipedia "Copeland's method", Tennessee example: Nashville wins 3 contests,
    Chattanooga 2, Knoxville 1, Memphis 0; among four cities wins − losses is 2·wins − 3."""
    result = aggregate(TENNESSEE, method="copeland")

    assert result.scores == {"Nashville": 3, "Chattanooga": 1, "Knoxville": -1, "Memphis": -3}
    assert result.ranking == [["Nashville"], ["Chattanooga"], ["Knoxville"], ["Memphis"]]


def test_ranked_pairs_on_the_schulze_example_differs_from_schulze() -> None:
    """Worked by hand from Wikipedia's d[·,·] for the 45-voter Schulze example. Margins:
    B>D 21, E>D 17, A>D 15, C>B 13, D>C 11, E>B 9, A>C 7, B>A 5, C>E 3, E>A 1.
    Locked: B>D, E>D, A>D, C>B; D>C skipped (C>B>D>C); E>B, A>C locked; B>A skipped
    (A>C>B>A); C>E locked; E>A skipped (A>C>E>A). So A > C > E > B > D: A wins, not E."""
    result = aggregate(
        ballots_from(WIKIPEDIA_SCHULZE), method="ranked_pairs", candidates=list("ABCDE")
    )

    assert result.ranking == [["A"], ["C"], ["E"], ["B"], ["D"]]


def test_ranked_pairs_breaks_equal_margins_in_candidates_order() -> None:
    """A Condorcet cycle with equal margins (a > b > c > a, each 2 to 1): the first victory in
    `candidates` order is locked first, then the next, and the third would close the cycle."""
    cycle = [(["a", "b", "c"], 1), (["b", "c", "a"], 1), (["c", "a", "b"], 1)]

    assert aggregate(cycle, "ranked_pairs", candidates=["a", "b", "c"]).ranking == [
        ["a"],
        ["b"],
        ["c"],
    ]
    # With c first, c > a is locked first, then b > c; a > b would close the cycle.
    assert aggregate(cycle, "ranked_pairs", candidates=["c", "b", "a"]).ranking == [
        ["b"],
        ["c"],
        ["a"],
    ]


def test_borda_ties_and_unranked_candidates_share_the_average_of_their_points() -> None:
    """Four candidates give 3, 2, 1, 0 points. Ballot 1, "a, then b and c tied", leaves d
    unranked: a 3, b and c (2 + 1) / 2 = 1.5 each, d 0. Ballot 2 (weight 2) ranks only d:
    d 3, and a, b, c share (2 + 1 + 0) / 3 = 1, so each gets 2 from it."""
    result = aggregate([(["a", ["b", "c"]], 1), (["d"], 2)], method="borda")

    assert result.scores == {"a": 5.0, "b": 3.5, "c": 3.5, "d": 6.0}
    assert result.ranking == [["d"], ["a"], ["b", "c"]]


def test_unranked_candidates_are_tied_below_every_ranked_one() -> None:
    result = aggregate([(["b"], 2)], method="copeland", candidates=["a", "b", "c"])

    assert result.pairwise.tolist() == [[0, 0, 0], [2, 0, 2], [0, 0, 0]]
    assert result.ranking == [["b"], ["a", "c"]]


def test_candidates_default_to_first_seen_order() -> None:
    result = aggregate([(["c", ["a", "d"]], 1), (["b", "c"], 1)], method="borda")

    assert result.candidates == ("c", "a", "d", "b")


def test_candidates_given_fix_the_order_and_include_unvoted_ones() -> None:
    result = aggregate([(["b"], 1)], candidates=["z", "b", "a"])

    assert result.candidates == ("z", "b", "a")
    assert result.ranking == [["b"], ["z", "a"]]


def test_float_weights_equal_in_arithmetic_stay_tied() -> None:
    """0.1 + 0.1 + 0.1 is 0.30000000000000004 in floats; that must not beat 0.3."""
    ballots = [(["a", "b"], 0.1)] * 3 + [(["b", "a"], 0.3)]

    for method in ("schulze", "copeland", "ranked_pairs", "borda"):
        assert aggregate(ballots, method=method).ranking == [["a", "b"]], method


def test_dots_sum_points_times_weight() -> None:
    ballots = [({"a": 3, "b": 2}, 1), ({"c": 5, "a": 0}, 0.5), ({"b": 1, "c": 1}, 2)]

    result = aggregate(ballots, method="dots", budget=5)

    assert result.scores == {"a": 3.0, "b": 4.0, "c": 4.5}
    assert result.ranking == [["c"], ["b"], ["a"]]
    # Pairwise from points: ballot 1 puts a over b and c, b over c; ballot 2 puts c over a and
    # b; ballot 3 puts b and c (tied) over a.
    assert result.pairwise.tolist() == [[0, 1, 1], [2, 0, 1], [2.5, 0.5, 0]]


@pytest.mark.parametrize(
    ("ballots", "kwargs", "message"),
    [
        ([(["a", "b", "a"], 1)], {}, "more than once"),
        ([(["a", ["b", "a"]], 1)], {}, "more than once"),
        ([(["a", "x"], 1)], {"candidates": ["a", "b"]}, "unknown candidate 'x'"),
        ([(["a", ["x"]], 1)], {"candidates": ["a", "b"]}, "unknown candidate 'x'"),
        ([(["a"], -1)], {}, "must be finite and ≥ 0"),
        ([(["a"], math.nan)], {}, "must be finite and ≥ 0"),
        ([(["a"], "heavy")], {}, "not a number"),
        ([["a", "b", "c"]], {}, "(ranking, weight) pair"),
        ([("ab", 1)], {}, "must be a list"),
        ([({"a": 1}, 1)], {}, "must be a list"),
        ([(["a", [["b"]]], 1)], {}, "is a group, not a candidate"),
        ([(["a", {"b": 1}], 1)], {}, "not hashable"),
        ([(["a"], 1)], {"candidates": ["a", "a"]}, "appears twice"),
        ([(["a"], 1)], {"method": "plurality"}, "unknown method"),
        ([(["a"], 1)], {"budget": 3}, "only to method='dots'"),
        ([({"a": 4, "b": 2}, 1)], {"method": "dots", "budget": 5}, "over the budget"),
        ([({"a": -1}, 1)], {"method": "dots"}, "must be finite and ≥ 0"),
        ([({"a": "1"}, 1)], {"method": "dots"}, "not a number"),
        ([({"x": 1}, 1)], {"method": "dots", "candidates": ["a"]}, "unknown candidate"),
        ([(["a", "b"], 1)], {"method": "dots"}, "map candidates to points"),
    ],
)
def test_bad_ballots_raise_a_clear_value_error(ballots: list, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        aggregate(ballots, **kwargs)


def test_the_error_names_the_offending_ballot() -> None:
    with pytest.raises(ValueError, match="ballot 1: a candidate appears more than once"):
        aggregate([(["a", "b"], 1), (["b", "b"], 1)])


@pytest.mark.parametrize("method", METHODS)
def test_no_ballots_gives_one_tier_of_all_candidates(method: str) -> None:
    result = aggregate([], method=method, candidates=["a", "b"])

    assert result.ranking == [["a", "b"]]
    assert result.pairwise.shape == (2, 2)


def test_result_is_immutable() -> None:
    result = aggregate([(["a", "b"], 1)])

    assert isinstance(result, Result)
    with pytest.raises(ValueError, match="read-only"):
        result.pairwise[0, 1] = 5
    with pytest.raises(AttributeError):
        result.method = "borda"  # type: ignore[misc]


def test_kendall_tau_b_matches_the_scipy_documentation_example() -> None:
    """scipy.stats.kendalltau docstring: x1 = [12, 2, 1, 12, 2], x2 = [1, 4, 7, 1, 0] give
    tau-b = -0.47140452079103173. Read as rankings of items 0–4 (higher value first)."""
    by_x1 = [[0, 3], [1, 4], 2]
    by_x2 = [2, 1, [0, 3], 4]

    assert kendall_tau(by_x1, by_x2) == pytest.approx(-0.47140452079103173, abs=1e-15)


def test_kendall_tau_of_a_ranking_with_itself_and_its_reverse() -> None:
    order = list(range(50))

    assert kendall_tau(order, order) == 1.0
    assert kendall_tau(order, order[::-1]) == -1.0
    assert math.isnan(kendall_tau([[1, 2, 3]], [1, 2, 3]))


def test_kendall_tau_needs_the_same_items_once_each() -> None:
    with pytest.raises(ValueError, match="same items"):
        kendall_tau([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="more than once"):
        kendall_tau([1, 2, [2, 3]], [1, 2, 3])


def test_cohort_weights_split_each_voice_evenly_among_its_voters() -> None:
    voters = {"ann": "residents", "bob": "residents", "cat": "residents", "dan": "staff"}

    weights = cohort_weights(voters, {"residents": 0.5, "staff": 0.5, "councillors": 2.0})

    assert weights == {"ann": 0.5 / 3, "bob": 0.5 / 3, "cat": 0.5 / 3, "dan": 0.5}


def test_cohort_weights_needs_a_voice_weight_for_every_cohort_that_voted() -> None:
    with pytest.raises(ValueError, match="no voice weight"):
        cohort_weights({"ann": "residents"}, {"staff": 1.0})
    with pytest.raises(ValueError, match="must be finite"):
        cohort_weights({"ann": "residents"}, {"residents": -1.0})


def test_cohort_weighted_ballots_give_a_small_cohort_its_full_voice() -> None:
    """Three residents prefer a, one member of staff prefers b; with equal voice the pairwise
    contest is level, so Schulze ranks a and b together."""
    voters = {"ann": "residents", "bob": "residents", "cat": "residents", "dan": "staff"}
    weights = cohort_weights(voters, {"residents": 1.0, "staff": 1.0})
    rankings = {"ann": ["a", "b"], "bob": ["a", "b"], "cat": ["a", "b"], "dan": ["b", "a"]}

    result = aggregate((rankings[voter], weight) for voter, weight in weights.items())

    assert np.allclose(result.pairwise, [[0, 1], [1, 0]])
    assert result.ranking == [["a", "b"]]
