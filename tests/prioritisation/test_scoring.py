"""The scoring formulas, pinned to hand-computed cases; no database involved."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prioritisation import scoring
from prioritisation.scoring import (
    benefit_per_effort,
    explain,
    ice,
    moscow_rank,
    rank,
    rank_product,
    rice,
    scatter_estimates,
    wsjf,
)

# ---------------------------------------------------------------- RICE, WSJF, ICE


def test_rice_multiplies_reach_impact_confidence_and_divides_by_effort():
    # 1000 people × impact 2 × 0.8 confidence ÷ 4 person-months = 1600 ÷ 4 = 400
    assert rice(1000, 2, 0.8, 4) == pytest.approx(400.0)


def test_rice_counts_effort_under_half_a_person_month_as_half():
    # 500 × 0.25 × 0.5 ÷ max(0.2, 0.5) = 62.5 ÷ 0.5 = 125
    assert rice(500, 0.25, 0.5, 0.2) == pytest.approx(125.0)


@pytest.mark.parametrize("effort", [0, -1, float("nan")])
def test_rice_refuses_effort_that_is_not_positive(effort):
    with pytest.raises(ValueError, match="RICE effort must be more than 0"):
        rice(100, 1, 1.0, effort)


def test_rice_refuses_impact_off_its_scale():
    with pytest.raises(ValueError, match=r"RICE impact must be 3, 2, 1, 0.5 or 0.25; got 4.0"):
        rice(100, 4, 1.0, 1)


def test_rice_refuses_confidence_above_one():
    with pytest.raises(ValueError, match="RICE confidence"):
        rice(100, 1, 80, 1)


def test_wsjf_adds_the_three_values_and_divides_by_job_size():
    # (8 + 5 + 3) ÷ 8 = 2;  (20 + 13 + 1) ÷ 1 = 34
    assert wsjf(8, 5, 3, 8) == pytest.approx(2.0)
    assert wsjf(20, 13, 1, 1) == pytest.approx(34.0)


@pytest.mark.parametrize("off_scale", [0, 4, 21, 2.5])
def test_wsjf_refuses_values_off_the_fibonacci_scale(off_scale):
    with pytest.raises(ValueError, match="WSJF time criticality must be one of"):
        wsjf(8, off_scale, 3, 8)


def test_wsjf_error_names_the_position_of_a_bad_array_value():
    with pytest.raises(ValueError, match=r"job size .* got 7.0 at index 1$"):
        wsjf([1, 1], [1, 1], [1, 1], [2, 7])


def test_ice_multiplies_its_three_marks():
    # 8 × 5 × 10 = 400;  1 × 1 × 1 = 1
    assert ice(8, 5, 10) == pytest.approx(400.0)
    assert ice(1, 1, 1) == pytest.approx(1.0)


@pytest.mark.parametrize("mark", [0, 0.5, 11, float("nan")])
def test_ice_refuses_marks_outside_one_to_ten(mark):
    with pytest.raises(ValueError, match="ICE ease must be between 1 and 10"):
        ice(5, 5, mark)


def test_formulas_return_a_scalar_for_scalars_and_an_array_for_arrays():
    assert np.ndim(rice(10, 1, 1.0, 1)) == 0
    assert isinstance(wsjf(1, 2, 3, 5), np.floating)
    assert isinstance(ice(2, 3, 4), np.floating)
    out = rice([10, 20, 30], 1, [1.0, 0.8, 0.5], [1, 2, 0.1])
    # 10 × 1 × 1 ÷ 1 = 10;  20 × 0.8 ÷ 2 = 8;  30 × 0.5 ÷ 0.5 (clamped) = 30
    np.testing.assert_allclose(out, [10, 8, 30])
    grid = wsjf(np.full((2, 3), 8), 5, 3, np.array([1, 2, 8]))
    assert grid.shape == (2, 3)
    np.testing.assert_allclose(grid[0], [16, 8, 2])
    assert ice(np.array([[2.0]]), 3, 4).shape == (1, 1)


# ------------------------------------------------------------ benefit per effort

# Three items, two cohorts (weights 2 and 1), two metrics (weights 1 and 0.5).
# Metric 0 scale = max(|10|, |5|, |20|) = 20; metric 1 scale = max(|4|) = 4.
# item 0: cohort 0, metric 0: 2 × 1 × 10/20 × 1.0 = 1.0
#         cohort 1, metric 0: 1 × 1 × 5/20 × 0.8  = 0.2   → benefit 1.2, effort 2
# item 1: cohort 0, metric 0: 2 × 1 × 20/20 × 0.5 = 1.0
#         cohort 0, metric 1: 2 × 0.5 × 4/4 × 1.0 = 1.0   → benefit 2.0, effort 5
# item 2: no estimates                                     → benefit 0,   effort 1
VALUES = np.array(
    [
        [[10.0, 0.0], [5.0, 0.0]],
        [[20.0, 4.0], [0.0, 0.0]],
        [[0.0, 0.0], [0.0, 0.0]],
    ]
)
CONFIDENCE = np.array(
    [
        [[1.0, 0.0], [0.8, 0.0]],
        [[0.5, 1.0], [0.0, 0.0]],
        [[0.0, 0.0], [0.0, 0.0]],
    ]
)
COHORT_WEIGHT = [2.0, 1.0]
METRIC_WEIGHT = [1.0, 0.5]
EFFORT = [2.0, 5.0, 1.0]


def _example(**kwargs):
    return benefit_per_effort(VALUES, CONFIDENCE, COHORT_WEIGHT, METRIC_WEIGHT, EFFORT, **kwargs)


def test_benefit_per_effort_matches_the_hand_computed_example():
    scores = _example()
    np.testing.assert_allclose(scores.raw_benefit, [1.2, 2.0, 0.0])
    # 1.2 ÷ 2 = 0.6;  2.0 ÷ 5 = 0.4;  0 ÷ 1 = 0
    np.testing.assert_allclose(scores.raw_score, [0.6, 0.4, 0.0])
    np.testing.assert_allclose(scores.by_cohort, [[1.0, 0.2], [2.0, 0.0], [0.0, 0.0]])
    np.testing.assert_allclose(scores.by_metric, [[1.2, 0.0], [1.0, 1.0], [0.0, 0.0]])
    np.testing.assert_allclose(scores.metric_scale, [20.0, 4.0])
    assert scores.needs_estimates.tolist() == [False, False, True]


def test_uplift_and_haircut_adjust_effort_and_benefit():
    scores = _example(effort_uplift=0.5, benefit_haircut=0.25)
    # efforts × 1.5 = 3, 7.5, 1.5;  benefits × 0.75 = 0.9, 1.5, 0
    np.testing.assert_allclose(scores.adjusted_effort, [3.0, 7.5, 1.5])
    np.testing.assert_allclose(scores.adjusted_benefit, [0.9, 1.5, 0.0])
    # 0.9 ÷ 3 = 0.3;  1.5 ÷ 7.5 = 0.2
    np.testing.assert_allclose(scores.adjusted_score, [0.3, 0.2, 0.0])
    np.testing.assert_allclose(scores.raw_score, [0.6, 0.4, 0.0])


def test_cohort_scores_rank_as_if_only_one_cohort_counted():
    scores = _example(effort_uplift=0.5, benefit_haircut=0.25)
    # item 0: 1.0 × 0.75 ÷ 3 = 0.25 and 0.2 × 0.75 ÷ 3 = 0.05;  item 1: 2 × 0.75 ÷ 7.5 = 0.2
    np.testing.assert_allclose(
        scores.cohort_scores(), [[0.25, 0.05], [0.2, 0.0], [0.0, 0.0]], atol=1e-12
    )
    np.testing.assert_allclose(scores.cohort_scores().sum(axis=1), scores.adjusted_score)
    ranks, _ = rank(scores.cohort_scores()[:, 1], scores.by_cohort[:, 1], [1, 2, 3])
    assert ranks.tolist() == [1, 2, 3]


def test_missing_estimates_may_be_nan_and_score_the_same_as_zero():
    values = VALUES.copy()
    values[CONFIDENCE == 0] = np.nan
    with_nan = benefit_per_effort(values, CONFIDENCE, COHORT_WEIGHT, METRIC_WEIGHT, EFFORT)
    np.testing.assert_allclose(with_nan.adjusted_score, _example().adjusted_score)
    assert with_nan.needs_estimates.tolist() == [False, False, True]
    assert np.isnan(values).sum() == 8  # the caller's array is left alone


def test_a_value_without_confidence_is_ignored_even_for_the_scale():
    values = VALUES.copy()
    values[2, 0, 0] = 1000.0  # confidence 0: not an estimate, so must not set the scale
    scores = benefit_per_effort(values, CONFIDENCE, COHORT_WEIGHT, METRIC_WEIGHT, EFFORT)
    np.testing.assert_allclose(scores.metric_scale, [20.0, 4.0])
    assert scores.needs_estimates[2]


def test_an_estimate_of_zero_is_an_estimate():
    confidence = CONFIDENCE.copy()
    confidence[2, 0, 0] = 0.8  # value 0, "no change expected"
    scores = benefit_per_effort(VALUES, confidence, COHORT_WEIGHT, METRIC_WEIGHT, EFFORT)
    assert scores.raw_score[2] == 0
    assert not scores.needs_estimates[2]


def test_negative_estimates_count_against_an_item_and_zero_stays_zero():
    # One metric, values -20 and 10 (and a missing cell): max |value| = 20, so -1 and 0.5.
    # Min-max would have mapped -20 → 0 and 10 → 1, and lifted "no estimate" to 2/3.
    values = np.array([[[-20.0]], [[10.0]], [[0.0]]])
    confidence = np.array([[[1.0]], [[1.0]], [[0.0]]])
    scores = benefit_per_effort(values, confidence, [1.0], [1.0], [1.0, 1.0, 1.0])
    np.testing.assert_allclose(scores.raw_benefit, [-1.0, 0.5, 0.0])


@pytest.mark.parametrize("bad", [0.0, -3.0, np.nan])
def test_benefit_per_effort_refuses_effort_that_is_not_positive(bad):
    effort = [2.0, bad, 1.0]
    with pytest.raises(ValueError, match=r"effort must be more than 0 points; got .* at index 1$"):
        benefit_per_effort(VALUES, CONFIDENCE, COHORT_WEIGHT, METRIC_WEIGHT, effort)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"effort_uplift": -0.1}, "effort uplift must be 0 or more"),
        ({"benefit_haircut": 1.0}, r"benefit haircut must be in \[0, 1\)"),
        ({"benefit_haircut": -0.5}, r"benefit haircut must be in \[0, 1\)"),
    ],
)
def test_benefit_per_effort_refuses_bad_adjustments(change, message):
    with pytest.raises(ValueError, match=message):
        _example(**change)


@pytest.mark.parametrize("bad", [80.0, -0.5, np.nan])
def test_benefit_per_effort_refuses_confidence_outside_zero_to_one(bad):
    confidence = CONFIDENCE.copy()
    confidence[0, 0, 0] = bad
    with pytest.raises(ValueError, match="confidence must be between 0 and 1"):
        benefit_per_effort(VALUES, confidence, COHORT_WEIGHT, METRIC_WEIGHT, EFFORT)


def test_benefit_per_effort_refuses_infinite_values():
    values = VALUES.copy()
    values[0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="values must be finite"):
        benefit_per_effort(values, CONFIDENCE, COHORT_WEIGHT, METRIC_WEIGHT, EFFORT)


def test_benefit_per_effort_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match="need one effort per item"):
        benefit_per_effort(VALUES, CONFIDENCE, COHORT_WEIGHT, METRIC_WEIGHT, [1.0, 2.0])
    with pytest.raises(ValueError, match="one weight per cohort"):
        benefit_per_effort(VALUES, CONFIDENCE, [1.0], METRIC_WEIGHT, EFFORT)
    with pytest.raises(ValueError, match="differ in shape"):
        benefit_per_effort(VALUES, CONFIDENCE[:2], COHORT_WEIGHT, METRIC_WEIGHT, EFFORT)


def test_a_product_with_no_items_scores_to_empty_arrays():
    empty = np.zeros((0, 2, 2))
    scores = benefit_per_effort(empty, empty, COHORT_WEIGHT, METRIC_WEIGHT, [])
    assert scores.adjusted_score.shape == (0,)
    assert scores.by_cohort.shape == (0, 2)
    ranks, order = rank(scores.adjusted_score, scores.adjusted_benefit, [])
    assert ranks.size == order.size == 0


def test_float32_storage_from_scatter_gives_the_float64_answer():
    rows = np.nonzero(CONFIDENCE)
    values, confidence = scatter_estimates(
        *rows, VALUES[rows], CONFIDENCE[rows], shape=VALUES.shape
    )
    assert values.dtype == np.float32
    np.testing.assert_array_equal(values, VALUES)
    scores = benefit_per_effort(values, confidence, COHORT_WEIGHT, METRIC_WEIGHT, EFFORT)
    np.testing.assert_allclose(scores.raw_score, [0.6, 0.4, 0.0], rtol=1e-6)
    assert scores.needs_estimates.tolist() == [False, False, True]


def test_scatter_refuses_two_rows_for_one_cell_and_indices_out_of_range():
    with pytest.raises(ValueError, match="two estimates for the same item, cohort and metric"):
        scatter_estimates([0, 0], [1, 1], [0, 0], [1.0, 2.0], [1.0, 1.0], shape=(1, 2, 1))
    with pytest.raises(ValueError, match="out of range"):
        scatter_estimates([3], [0], [0], [1.0], [1.0], shape=(2, 1, 1))
    with pytest.raises(ValueError, match="same length"):
        scatter_estimates([0], [0], [0], [1.0, 2.0], [1.0], shape=(1, 1, 1))


def _random_product(seed, n_items, n_cohorts=3, n_metrics=6, density=0.4):
    rng = np.random.default_rng(seed)
    shape = (n_items, n_cohorts, n_metrics)
    has = rng.random(shape) < density
    values = np.where(has, rng.gamma(2.0, 50.0, shape) * rng.choice([1, -1], shape), 0.0)
    confidence = np.where(has, rng.choice([1.0, 0.8, 0.5], shape), 0.0)
    weights = rng.random(n_cohorts) + 0.1, rng.random(n_metrics) + 0.1
    effort = rng.choice([1.0, 2.0, 3.0, 5.0, 8.0], n_items)
    return values, confidence, *weights, effort


def test_blocks_of_items_add_up_like_a_plain_sum():
    values, confidence, cohort_weight, metric_weight, effort = _random_product(
        7, 3 * scoring._CHUNK + 5
    )
    scores = benefit_per_effort(values, confidence, cohort_weight, metric_weight, effort)
    normalised = values / np.abs(values).max(axis=(0, 1))
    cells = np.einsum("c,m,icm,icm->icm", cohort_weight, metric_weight, normalised, confidence)
    np.testing.assert_allclose(scores.by_cohort, cells.sum(axis=2), atol=1e-12)
    np.testing.assert_allclose(scores.by_metric, cells.sum(axis=1), atol=1e-12)
    np.testing.assert_allclose(scores.raw_score, cells.sum(axis=(1, 2)) / effort, atol=1e-12)


@pytest.mark.parametrize(
    ("dtype", "n_metrics"), [(np.float32, 6), (np.float64, 6), (np.float32, 11)]
)
@pytest.mark.parametrize("n_items", [7, 1000, scoring._CHUNK + 1001])
def test_identical_items_score_identically_wherever_they_sit(dtype, n_metrics, n_items):
    # BLAS may sum a row in a different order depending on where the row sits (which rows
    # differ depends on the size); identical items must tie exactly so that age, not
    # rounding, decides between them.
    values, confidence, cohort_weight, metric_weight, effort = _random_product(
        11, n_items, n_metrics=n_metrics, density=0.9
    )
    copies = np.r_[1:n_items:7, max(n_items - 50, 1) : n_items]
    values[copies], confidence[copies], effort[copies] = values[0], confidence[0], effort[0]
    scores = benefit_per_effort(
        values.astype(dtype), confidence.astype(dtype), cohort_weight, metric_weight, effort
    )
    assert (scores.adjusted_score[copies] == scores.adjusted_score[0]).all()
    assert (scores.by_metric[copies] == scores.by_metric[0]).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_by_metric_is_worked_out_on_first_use_exactly_as_the_eager_sum(dtype):
    values, confidence, cohort_weight, metric_weight, effort = _random_product(
        5, scoring._CHUNK + 1001
    )
    values, confidence = values.astype(dtype), confidence.astype(dtype)
    scores = benefit_per_effort(values, confidence, cohort_weight, metric_weight, effort)
    assert "by_metric" not in vars(scores)  # scoring and ranking never compute it
    # The eager definition: v × c × weight for every cell, added over the cohorts in order.
    weight = (cohort_weight[:, None] * (metric_weight / scores.metric_scale)).astype(dtype)
    cells = values * confidence * weight
    expected = np.zeros((values.shape[0], values.shape[2]), dtype)
    for k in range(values.shape[1]):
        expected += cells[:, k]
    by_metric = scores.by_metric
    assert by_metric.dtype == dtype
    np.testing.assert_array_equal(by_metric, expected)
    assert scores.by_metric is by_metric  # kept, not recomputed


# --------------------------------------------------------------------- ranking


def test_rank_breaks_ties_by_benefit_then_age():
    score = [1.0, 2.0, 2.0, 2.0, 0.0]
    benefit = [5.0, 1.0, 3.0, 3.0, 0.0]
    age_key = [0, 10, 30, 20, 5]
    # score 2: items 2 and 3 (benefit 3) before item 1 (benefit 1); of 2 and 3, item 3 is
    # older (20 < 30). Then item 0 (score 1), then item 4 (score 0).
    ranks, order = rank(score, benefit, age_key)
    assert order.tolist() == [3, 2, 1, 0, 4]
    assert ranks.tolist() == [4, 3, 2, 1, 5]


def test_rank_falls_back_to_array_position_when_everything_ties():
    ranks, order = rank([1.0, 1.0, 1.0], [2.0, 2.0, 2.0], [7, 7, 7])
    assert order.tolist() == [0, 1, 2]
    assert ranks.tolist() == [1, 2, 3]


def test_rank_refuses_nan_scores():
    with pytest.raises(ValueError, match="finite"):
        rank([1.0, np.nan], [1.0, 1.0], [1, 2])


def test_items_without_estimates_go_last_oldest_first():
    result = rank_product(
        VALUES, CONFIDENCE, COHORT_WEIGHT, METRIC_WEIGHT, [2.0, 5.0, 1.0], [30, 20, 10]
    )
    assert result.order.tolist() == [0, 1, 2]
    assert result.ranks.tolist() == [1, 2, 3]
    assert result.scores.needs_estimates[result.order[-1]]


def test_moscow_ranks_by_bucket_then_by_score_then_age():
    buckets = ["could", "must", "must", "wont", "should", "must"]
    score = [9.0, 1.0, 2.0, 10.0, 0.0, 1.0]
    age_key = [1, 6, 2, 3, 4, 5]
    # must: item 2 (score 2), then items 5 and 1 (score 1; 5 is older); should: 4;
    # could: 0; won't: 3.
    ranks, order = moscow_rank(buckets, score, age_key)
    assert order.tolist() == [2, 5, 1, 4, 0, 3]
    assert ranks.tolist() == [5, 3, 1, 6, 4, 2]
    codes = [2, 0, 0, 3, 1, 0]
    assert moscow_rank(codes, score, age_key)[1].tolist() == order.tolist()


def test_moscow_uses_benefit_before_age_when_given():
    ranks, order = moscow_rank([0, 0], [1.0, 1.0], [1, 2], benefit=[1.0, 5.0])
    assert order.tolist() == [1, 0]


def test_moscow_refuses_an_unknown_bucket():
    with pytest.raises(ValueError, match="MoSCoW bucket must be one of"):
        moscow_rank(["must", "maybe"], [1.0, 1.0], [1, 2])
    with pytest.raises(ValueError, match="MoSCoW bucket code must be 0, 1, 2 or 3"):
        moscow_rank([0, 4], [1.0, 1.0], [1, 2])


# ------------------------------------------------------------------ explanation


def test_explain_says_which_cohorts_and_metrics_open_the_gap():
    scores = _example(effort_uplift=0.5, benefit_haircut=0.25)
    why = explain(scores, 0, 1, age_key=[1, 2, 3])
    assert why["a_above_b"] is True
    assert why["decided_by"] == "score"
    # 0.3 − 0.2 = 0.1; cohort 0: 0.25 − 0.2 = 0.05, cohort 1: 0.05 − 0 = 0.05
    assert why["score_difference"] == pytest.approx(0.1)
    assert [c["score_difference"] for c in why["cohorts"]] == pytest.approx([0.05, 0.05])
    # metric 0: 1.2 × 0.25 − 1.0 × 0.1 = 0.2; metric 1: 0 − 1.0 × 0.1 = −0.1 (0.75/3 = 0.25,
    # 0.75/7.5 = 0.1)
    assert why["metrics"] == [
        {"metric": 0, "score_difference": pytest.approx(0.2)},
        {"metric": 1, "score_difference": pytest.approx(-0.1)},
    ]
    assert why["effort_difference"] == pytest.approx(3.0 - 7.5)
    assert why["b"]["needs_estimates"] is False


def test_explain_names_age_when_everything_else_ties():
    values = np.ones((2, 1, 1))
    scores = benefit_per_effort(values, values, [1.0], [1.0], [1.0, 1.0])
    why = explain(scores, 0, 1, age_key=[9, 4])
    assert (why["a_above_b"], why["decided_by"]) == (False, "age")


# --------------------------------------------------------------------- properties


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    metric=st.integers(0, 5),
    power=st.integers(-30, 30),
    factor=st.floats(1e-3, 1e3),
)
def test_rescaling_one_metric_leaves_the_ranking_alone(seed, metric, power, factor):
    values, confidence, cohort_weight, metric_weight, effort = _random_product(seed, 60)
    age_key = np.arange(60)
    before = rank_product(values, confidence, cohort_weight, metric_weight, effort, age_key)
    # A power of two rescales exactly, so the ranking must not move at all.
    exact = values.copy()
    exact[:, :, metric] *= 2.0**power
    after = rank_product(exact, confidence, cohort_weight, metric_weight, effort, age_key)
    np.testing.assert_array_equal(after.ranks, before.ranks)
    # Any other factor rescales up to rounding: scores agree to rounding error.
    scaled = values.copy()
    scaled[:, :, metric] *= factor
    again = benefit_per_effort(scaled, confidence, cohort_weight, metric_weight, effort)
    np.testing.assert_allclose(
        again.adjusted_score, before.scores.adjusted_score, rtol=1e-9, atol=1e-12
    )


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(st.integers(-3, 3), st.integers(0, 2), st.integers(0, 5)), max_size=40)
)
def test_rank_is_a_permutation_in_key_order(rows):
    score = np.array([r[0] for r in rows], dtype=float) / 2
    benefit = np.array([r[1] for r in rows], dtype=float)
    age_key = np.array([r[2] for r in rows], dtype=np.int64)
    ranks, order = rank(score, benefit, age_key)
    assert sorted(order.tolist()) == list(range(len(rows)))
    assert ranks[order].tolist() == list(range(1, len(rows) + 1))
    expected = np.lexsort((np.arange(len(rows)), age_key, -benefit, -score))
    assert order.tolist() == expected.tolist()


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), a=st.integers(0, 19), b=st.integers(0, 19))
def test_explain_agrees_with_rank(seed, a, b):
    values, confidence, cohort_weight, metric_weight, effort = _random_product(seed, 20, 2, 3)
    values[5:10] = 0.0  # some items without estimates, so some exact ties
    confidence[5:10] = 0.0
    age_key = np.random.default_rng(seed).permutation(20)
    result = rank_product(values, confidence, cohort_weight, metric_weight, effort, age_key)
    why = explain(result.scores, a, b, age_key=age_key)
    if a != b:
        assert why["a_above_b"] == (result.ranks[a] < result.ranks[b])
    total = sum(c["score_difference"] for c in why["cohorts"])
    assert total == pytest.approx(why["score_difference"], abs=1e-12)
