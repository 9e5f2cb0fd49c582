"""Scoring formulas for ranking a product's backlog, free of the ORM.

Every function takes plain numbers or NumPy arrays, so the service layer can go from
database rows to ranks without touching a model, and the rules can be tested and
benchmarked on their own. Inputs are validated here even though forms validate them too:
a bad number must never turn into a plausible-looking rank.

Benefit per effort normalises each metric by its largest absolute value across the
product (``value / max|value|``), not min-max: min-max would move "no estimate" (0) away
from 0 as soon as a metric has a negative estimate, and would give the smallest real
estimate no weight at all. Estimates for lower-is-better metrics arrive already expressed
as improvements (hours saved, not hours taken), so a bigger number is always better.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

RICE_IMPACT_SCALE = (3.0, 2.0, 1.0, 0.5, 0.25)
RICE_MIN_EFFORT = 0.5
WSJF_SCALE = (1, 2, 3, 5, 8, 13, 20)
ICE_MIN, ICE_MAX = 1, 10
MOSCOW_BUCKETS = ("must", "should", "could", "wont")


def _out(x: NDArray) -> NDArray | np.generic:
    """Scalars in, NumPy scalar out; arrays in, array out."""
    return x[()] if x.ndim == 0 else x


def _require(ok: NDArray, x: NDArray, what: str) -> None:
    """Raise ``ValueError`` naming the first offending value (and where it sits)."""
    if np.all(ok):
        return
    bad = np.flatnonzero(~np.broadcast_to(ok, x.shape))[0]
    index = tuple(int(i) for i in np.unravel_index(bad, x.shape))
    where = "" if not index else f" at index {index[0] if len(index) == 1 else index}"
    raise ValueError(f"{what}; got {x.flat[bad].item()!r}{where}")


def _floats(*args: ArrayLike) -> list[NDArray[np.float64]]:
    return [np.asarray(a, dtype=np.float64) for a in args]


def rice(reach: ArrayLike, impact: ArrayLike, confidence: ArrayLike, effort: ArrayLike):
    """RICE = reach × impact × confidence ÷ effort.

    ``reach`` ≥ 0 (people or events per period); ``impact`` one of 3, 2, 1, 0.5, 0.25;
    ``confidence`` a fraction in [0, 1] (1.0 high, 0.8 medium, 0.5 low); ``effort`` in
    person-months, > 0, with anything under 0.5 counted as 0.5 so that tiny tasks do not
    swamp the list. Raises ``ValueError`` otherwise.
    """
    reach, impact, confidence, effort = _floats(reach, impact, confidence, effort)
    _require(np.isfinite(reach) & (reach >= 0), reach, "RICE reach must be 0 or more")
    _require(np.isin(impact, RICE_IMPACT_SCALE), impact, "RICE impact must be 3, 2, 1, 0.5 or 0.25")
    _require(
        (confidence >= 0) & (confidence <= 1), confidence, "RICE confidence must be between 0 and 1"
    )
    _require(
        np.isfinite(effort) & (effort > 0), effort, "RICE effort must be more than 0 person-months"
    )
    return _out(reach * impact * confidence / np.maximum(effort, RICE_MIN_EFFORT))


def wsjf(
    business_value: ArrayLike,
    time_criticality: ArrayLike,
    risk_reduction: ArrayLike,
    job_size: ArrayLike,
):
    """WSJF = (business value + time criticality + risk reduction) ÷ job size.

    Every input must be on the scale 1, 2, 3, 5, 8, 13, 20; ``ValueError`` otherwise.
    """
    parts = _floats(business_value, time_criticality, risk_reduction, job_size)
    names = ("business value", "time criticality", "risk reduction", "job size")
    for name, x in zip(names, parts, strict=True):
        _require(np.isin(x, WSJF_SCALE), x, f"WSJF {name} must be one of {WSJF_SCALE}")
    value, time, risk, size = parts
    return _out((value + time + risk) / size)


def ice(impact: ArrayLike, confidence: ArrayLike, ease: ArrayLike):
    """ICE = impact × confidence × ease, each between 1 and 10 inclusive (``ValueError`` if not).

    Fractional values are accepted, so a team may average several people's marks.
    """
    parts = _floats(impact, confidence, ease)
    for name, x in zip(("impact", "confidence", "ease"), parts, strict=True):
        _require((x >= ICE_MIN) & (x <= ICE_MAX), x, f"ICE {name} must be between 1 and 10")
    impact, confidence, ease = parts
    return _out(impact * confidence * ease)


def scatter_estimates(
    item_index: ArrayLike,
    cohort_index: ArrayLike,
    metric_index: ArrayLike,
    value: ArrayLike,
    confidence: ArrayLike,
    *,
    shape: tuple[int, int, int],
    dtype: np.dtype | type = np.float32,
) -> tuple[NDArray, NDArray]:
    """Scatter estimate rows (parallel arrays, as the database returns them) into dense arrays.

    Returns ``(values, confidence)`` indexed ``[item, cohort, metric]`` (``shape`` is
    items, cohorts, metrics), 0 and 0 where there is no row: views onto item-fastest
    storage, the layout ``benefit_per_effort`` reads without copying. float32 because
    estimates carry a few significant figures and a score sums cohorts × metrics terms,
    far inside its seven digits. ``ValueError`` for an index out of range or a repeated cell.
    """
    n_items, n_cohorts, n_metrics = shape
    columns = [np.asarray(a) for a in (item_index, cohort_index, metric_index, value, confidence)]
    if len({a.shape for a in columns}) != 1 or columns[0].ndim != 1:
        raise ValueError("estimate columns must be 1-D arrays of the same length")
    items, cohorts, metrics, value, confidence = columns
    store_values = np.zeros((n_cohorts, n_metrics, n_items), dtype=dtype)
    store_confidence = np.zeros_like(store_values)
    try:
        cell = np.ravel_multi_index((cohorts, metrics, items), store_values.shape)
    except ValueError as error:
        raise ValueError(f"estimate index out of range for shape {shape}") from error
    seen = np.zeros(store_values.size, dtype=bool)
    seen[cell] = True
    if np.count_nonzero(seen) != cell.size:
        raise ValueError("two estimates for the same item, cohort and metric")
    store_values.reshape(-1)[cell] = value
    store_confidence.reshape(-1)[cell] = confidence
    return store_values.transpose(2, 0, 1), store_confidence.transpose(2, 0, 1)


@dataclass(frozen=True, eq=False)
class BenefitScores:
    """Benefit-per-effort figures for every item of one product, indexed by item.

    ``by_cohort`` [item, cohort] and ``by_metric`` [item, metric] split ``raw_benefit``
    (before the haircut) so a page can say where an item's benefit comes from; each
    sums to ``raw_benefit`` up to rounding. ``metric_scale`` is the divisor used to
    normalise each metric (0 when the metric has no estimates).

    Ranking never needs ``by_metric``, so it is worked out on first use (then kept) from
    the estimate arrays the scores were computed from, which are kept by reference:
    change those arrays in place and a ``by_metric`` not yet read will follow the change.
    """

    raw_benefit: NDArray[np.float64]
    adjusted_benefit: NDArray[np.float64]
    raw_score: NDArray[np.float64]
    adjusted_score: NDArray[np.float64]
    effort: NDArray[np.float64]
    adjusted_effort: NDArray[np.float64]
    by_cohort: NDArray[np.floating]
    needs_estimates: NDArray[np.bool_]
    metric_scale: NDArray[np.float64]
    benefit_factor: NDArray[np.float64]
    # (values, confidence, weight) as ``_contributions`` took them, for ``by_metric``.
    _terms: tuple[NDArray, NDArray, NDArray] = field(repr=False)

    @cached_property
    def by_metric(self) -> NDArray[np.floating]:
        """Raw benefit per metric, [item, metric]; computed on first use."""
        return _metric_sums(*self._terms).T

    def cohort_scores(self) -> NDArray[np.float64]:
        """Adjusted score as if only one cohort counted, [item, cohort].

        Rank column ``c`` with ``rank(s[:, c], scores.by_cohort[:, c], age_key)``; the
        columns sum to ``adjusted_score``.
        """
        return self.by_cohort * (self.benefit_factor / self.adjusted_effort)[:, None]


def _item_last(a: ArrayLike, dtype: np.dtype, name: str) -> NDArray:
    """``a[item, cohort, metric]`` as contiguous ``[cohort, metric, item]``; no copy if it is."""
    a = np.asarray(a)
    if a.ndim != 3:
        raise ValueError(f"{name} must be indexed [item, cohort, metric]; got shape {a.shape}")
    return np.ascontiguousarray(np.moveaxis(a, 0, -1), dtype=dtype)


_CHUNK = 16384  # items per block: a block's products stay in cache while they are summed


def _contributions(v: NDArray, c: NDArray, weight: NDArray) -> tuple[NDArray, tuple]:
    """Sum ``v × c × weight`` ([cohort, metric, item]) over metrics, [cohort, item].

    Also returns the (lowest, highest) confidence, checked here so that no extra pass is
    needed. Works through the items in blocks so the products never make a round trip
    through main memory, and adds term by term in a fixed order rather than with BLAS,
    whose order can vary with an item's position: identical items must score identically
    so that age, not rounding, separates them.
    """
    n_cohorts, n_metrics, n_items = v.shape
    by_cohort = np.zeros((n_cohorts, n_items), v.dtype)
    product = np.empty((n_cohorts, n_metrics, min(n_items, _CHUNK)), v.dtype)
    low, high = [0.0], [0.0]
    for start in range(0, n_items, _CHUNK):
        part = slice(start, start + _CHUNK)
        c_part = c[:, :, part]
        p = np.multiply(v[:, :, part], c_part, out=product[:, :, : c_part.shape[2]])
        p *= weight
        cohort_part = by_cohort[:, part]
        for m in range(n_metrics):
            cohort_part += p[:, m]
        low.append(c_part.min(initial=0))
        high.append(c_part.max(initial=0))
    return by_cohort, (np.min(low), np.max(high))


def _metric_sums(v: NDArray, c: NDArray, weight: NDArray) -> NDArray:
    """Sum ``v × c × weight`` ([cohort, metric, item]) over cohorts, [metric, item].

    The same products as ``_contributions``, added in a fixed order (cohort 0 first).
    """
    n_cohorts, n_metrics, n_items = v.shape
    by_metric = np.zeros((n_metrics, n_items), v.dtype)
    product = np.empty((n_metrics, min(n_items, _CHUNK)), v.dtype)
    for start in range(0, n_items, _CHUNK):
        part = slice(start, start + _CHUNK)
        metric_part = by_metric[:, part]
        for k in range(n_cohorts):
            p = np.multiply(v[k, :, part], c[k, :, part], out=product[:, : metric_part.shape[1]])
            p *= weight[k]
            metric_part += p
    return by_metric


def _metric_scale(v: NDArray, c: NDArray) -> NDArray:
    """Largest ``|value|`` per metric among cells holding an estimate; ``v``, ``c`` [c, m, i].

    Masking every cell by its confidence costs more than the rest of the scoring, and it
    only matters when a cell with confidence 0 holds a value, which ``scatter_estimates``
    never produces. So find each row's extreme first and mask only if one sits in such
    a cell. NaN and inf come through as a non-finite scale for the caller to handle.
    """
    n_cohorts, n_metrics, n_items = v.shape
    if v.size == 0:
        return np.zeros(n_metrics, dtype=v.dtype)
    rows_v, rows_c = v.reshape(-1, n_items), c.reshape(-1, n_items)
    row = np.arange(rows_v.shape[0])
    high, low = rows_v.argmax(axis=1), rows_v.argmin(axis=1)
    high_wins = rows_v[row, high] >= -rows_v[row, low]
    at = np.where(high_wins, high, low)
    magnitude = np.abs(rows_v[row, at])
    if not np.all((magnitude == 0) | (rows_c[row, at] > 0)):
        magnitude = (np.abs(rows_v) * np.ceil(rows_c)).max(axis=1)  # ceil: 1 if 0 < c <= 1
    return magnitude.reshape(n_cohorts, n_metrics).max(axis=0)


def benefit_per_effort(
    values: ArrayLike,
    confidence: ArrayLike,
    cohort_weight: ArrayLike,
    metric_weight: ArrayLike,
    effort: ArrayLike,
    *,
    effort_uplift: ArrayLike = 0.0,
    benefit_haircut: ArrayLike = 0.0,
) -> BenefitScores:
    """Score every item of a product by benefit per point of effort.

    benefit[i] = Σ over cohorts c, metrics m of cohort_weight[c] × metric_weight[m] ×
    values[i, c, m] / scale[m] × confidence[i, c, m], where scale[m] is the largest
    |value| of metric m over all items and cohorts (a metric's unit is the same for every
    cohort; the cohort weight says how much each cohort matters). A cell is an estimate
    when its confidence is above 0; NaN values count as missing. Adjusted benefit is
    benefit × (1 − haircut), adjusted effort effort × (1 + uplift), each scalar or per
    item. Items with no estimate score exactly 0 and are flagged ``needs_estimates``.
    ``ValueError`` for effort ≤ 0, confidence outside [0, 1], infinite values, uplift < 0,
    haircut outside [0, 1) or shapes that disagree. Identical items score bit-identically
    wherever they sit. Computes in float32 if values and confidence both are, else float64.
    """
    dtype = np.result_type(np.asarray(values).dtype, np.asarray(confidence).dtype, np.float32)
    v = _item_last(values, dtype, "values")
    c = _item_last(confidence, dtype, "confidence")
    if v.shape != c.shape:
        raise ValueError(f"values and confidence differ in shape: {v.shape} vs {c.shape}")
    n_cohorts, n_metrics, n_items = v.shape
    cohort_weight, metric_weight, effort, uplift, haircut = _floats(
        cohort_weight, metric_weight, effort, effort_uplift, benefit_haircut
    )
    if cohort_weight.shape != (n_cohorts,) or metric_weight.shape != (n_metrics,):
        raise ValueError("need one weight per cohort and one per metric")
    if effort.shape != (n_items,) or not {uplift.shape, haircut.shape} <= {(), (n_items,)}:
        raise ValueError(
            f"need one effort per item ({n_items}), and uplift and haircut "
            "as one number or one per item"
        )
    _require(np.isfinite(effort) & (effort > 0), effort, "effort must be more than 0 points")
    _require(np.isfinite(uplift) & (uplift >= 0), uplift, "effort uplift must be 0 or more")
    _require((haircut >= 0) & (haircut < 1), haircut, "benefit haircut must be in [0, 1)")
    for name, w in (("cohort", cohort_weight), ("metric", metric_weight)):
        _require(np.isfinite(w) & (w >= 0), w, f"{name} weights must be 0 or more")
    scale = _metric_scale(v, c)
    if not np.all(np.isfinite(scale)):
        if np.isinf(v).any():
            raise ValueError("values must be finite; use NaN or 0 for a missing estimate")
        missing = np.isnan(v)
        v, c = np.where(missing, 0, v), np.where(missing, 0, c)
        scale = _metric_scale(v, c)

    with np.errstate(divide="ignore", invalid="ignore"):
        per_metric = np.where(scale > 0, metric_weight / scale, 0.0)
    weight = (cohort_weight[:, None] * per_metric[None, :]).astype(dtype)[:, :, None]
    by_cohort, (low, high) = _contributions(v, c, weight)
    if not (low >= 0 and high <= 1):
        raise ValueError("confidence must be between 0 and 1 (0 = no estimate)")
    raw_benefit = by_cohort.sum(axis=0).astype(np.float64)
    # An item with non-zero benefit has an estimate; only the rest need their cells read.
    needs_estimates = raw_benefit == 0
    unscored = np.flatnonzero(needs_estimates)
    cells = np.take(c.reshape(n_cohorts * n_metrics, n_items), unscored, axis=1)
    needs_estimates[unscored] = cells.max(axis=0, initial=0) == 0

    benefit_factor = 1.0 - haircut
    adjusted_effort = effort * (1.0 + uplift)
    adjusted_benefit = raw_benefit * benefit_factor
    return BenefitScores(
        raw_benefit=raw_benefit,
        adjusted_benefit=adjusted_benefit,
        raw_score=raw_benefit / effort,
        adjusted_score=adjusted_benefit / adjusted_effort,
        effort=effort,
        adjusted_effort=adjusted_effort,
        by_cohort=by_cohort.T,
        needs_estimates=needs_estimates,
        metric_scale=scale.astype(np.float64),
        benefit_factor=benefit_factor,
        _terms=(v, c, weight),
    )


def _same_length(*arrays: NDArray) -> None:
    if any(a.ndim != 1 for a in arrays) or len({a.size for a in arrays}) != 1:
        raise ValueError("rank inputs must be 1-D arrays of the same length")


def _ranks(order: NDArray[np.intp]) -> NDArray[np.int64]:
    ranks = np.empty(order.size, dtype=np.int64)
    ranks[order] = np.arange(1, order.size + 1)
    return ranks


def rank(
    score: ArrayLike, benefit: ArrayLike, age_key: ArrayLike
) -> tuple[NDArray[np.int64], NDArray[np.intp]]:
    """Rank items: higher score first, then higher benefit, then older (smaller ``age_key``).

    Returns ``(ranks, order)``: ``ranks[i]`` is item i's 1-based rank, ``order`` lists item
    indices from first to last. The order is strict and total; should ``age_key`` repeat,
    the lower array position goes first. Scores and benefits must be finite.
    """
    score, benefit = _floats(score, benefit)
    age_key = np.asarray(age_key)
    _same_length(score, benefit, age_key)
    if not (np.isfinite(score).all() and np.isfinite(benefit).all()):
        raise ValueError("scores and benefits must be finite numbers")
    # Sorting by score alone is the expensive part, and NumPy's unstable argsort is the
    # fastest sort it has; only items whose scores tie need the full three-key lexsort.
    order = np.argsort(-score)
    ordered = score[order]
    tie = ordered[1:] == ordered[:-1]
    if tie.any():
        tied = np.zeros(order.size, dtype=bool)
        tied[:-1] = tie
        tied[1:] |= tie
        at = np.flatnonzero(tied)
        items = np.sort(order[at])  # array position as the last resort
        order[at] = items[np.lexsort((age_key[items], -benefit[items], -score[items]))]
    return _ranks(order), order


def moscow_rank(
    bucket_codes: ArrayLike,
    benefit_score: ArrayLike,
    age_key: ArrayLike,
    *,
    benefit: ArrayLike | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.intp]]:
    """Rank by MoSCoW bucket (must, should, could, won't), then as ``rank`` inside each bucket.

    ``bucket_codes`` are 0–3 (0 = must) or the strings in ``MOSCOW_BUCKETS``. Inside a
    bucket: higher ``benefit_score`` first, then higher ``benefit`` if given, then older.
    """
    codes = np.asarray(bucket_codes)
    if codes.dtype.kind in "OUS":
        unknown = set(codes.tolist()) - set(MOSCOW_BUCKETS)
        if unknown:
            raise ValueError(
                f"MoSCoW bucket must be one of {MOSCOW_BUCKETS}; got {unknown.pop()!r}"
            )
        codes = np.array([MOSCOW_BUCKETS.index(x) for x in codes.tolist()], dtype=np.int64)
    _require(np.isin(codes, range(4)), codes, "MoSCoW bucket code must be 0, 1, 2 or 3")
    score, age_key = np.asarray(benefit_score, dtype=np.float64), np.asarray(age_key)
    tiebreak = np.zeros(score.size) if benefit is None else np.asarray(benefit, dtype=np.float64)
    _same_length(codes, score, tiebreak, age_key)
    if not (np.isfinite(score).all() and np.isfinite(tiebreak).all()):
        raise ValueError("scores and benefits must be finite numbers")
    order = np.lexsort((age_key, -tiebreak, -score, codes))
    return _ranks(order), order


class Ranking(NamedTuple):
    scores: BenefitScores
    ranks: NDArray[np.int64]
    order: NDArray[np.intp]


def rank_product(
    values: ArrayLike,
    confidence: ArrayLike,
    cohort_weight: ArrayLike,
    metric_weight: ArrayLike,
    effort: ArrayLike,
    age_key: ArrayLike,
    *,
    effort_uplift: ArrayLike = 0.0,
    benefit_haircut: ArrayLike = 0.0,
) -> Ranking:
    """Score a whole product with ``benefit_per_effort`` and rank it by adjusted score."""
    scores = benefit_per_effort(
        values,
        confidence,
        cohort_weight,
        metric_weight,
        effort,
        effort_uplift=effort_uplift,
        benefit_haircut=benefit_haircut,
    )
    ranks, order = rank(scores.adjusted_score, scores.adjusted_benefit, age_key)
    return Ranking(scores, ranks, order)


def explain(scores: BenefitScores, a: int, b: int, *, age_key: ArrayLike) -> dict:
    """Why item ``a`` sits above (or below) item ``b``, as plain data.

    Differences are a − b in adjusted terms. ``cohorts`` and ``metrics`` split the score
    difference (they sum to it, up to rounding), biggest share of the gap first.
    ``decided_by`` names the key that separates the two under ``rank``'s rules.
    """
    age_key = np.asarray(age_key)
    score, benefit, effort = scores.adjusted_score, scores.adjusted_benefit, scores.adjusted_effort
    decided_by, a_above_b = "position", a < b
    for name, key, higher_first in (
        ("score", score, True),
        ("benefit", benefit, True),
        ("age", age_key, False),
    ):
        if key[a] != key[b]:
            decided_by, a_above_b = name, bool((key[a] > key[b]) == higher_first)
            break

    # Raw benefit → adjusted score, as in cohort_scores(), for just the two items.
    factor = [np.broadcast_to(scores.benefit_factor, score.shape)[i] / effort[i] for i in (a, b)]

    def split(contribution: NDArray, label: str) -> list[dict]:
        gap = contribution[a] * factor[0] - contribution[b] * factor[1]
        biggest_first = np.argsort(-abs(gap), kind="stable")
        return [{label: int(j), "score_difference": float(gap[j])} for j in biggest_first]

    def item(i: int) -> dict:
        return {
            "item": int(i),
            "score": float(score[i]),
            "benefit": float(benefit[i]),
            "adjusted_effort": float(effort[i]),
            "needs_estimates": bool(scores.needs_estimates[i]),
        }

    return {
        "a": item(a),
        "b": item(b),
        "a_above_b": a_above_b,
        "decided_by": decided_by,
        "score_difference": float(score[a] - score[b]),
        "benefit_difference": float(benefit[a] - benefit[b]),
        "effort_difference": float(effort[a] - effort[b]),
        "cohorts": split(scores.by_cohort, "cohort"),
        "metrics": split(scores.by_metric, "metric"),
    }
