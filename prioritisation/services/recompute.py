"""Recomputing a product's scores: arrays in, ranks out, the changed rows stored in bulk.

Reads go through ``prioritisation.selectors.scoring_data`` (a fixed number of queries), the
arithmetic is ``prioritisation.scoring`` (pure NumPy), and on PostgreSQL the rows reach the
database by one binary COPY into a staging table, from which one UPDATE rewrites the rows
that changed. Reading and computing hold no lock; the write holds a lock of its own that
moves never take, after checking that the inputs did not change meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.db import OperationalError, connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from psycopg.errors import LockNotAvailable

from backlog.models import Product, ScoringMethod
from prioritisation import scoring, selectors
from prioritisation.models import CONFIDENCE_FRACTION, ItemScore, MoscowBucket, PendingRescore


@dataclass(frozen=True)
class ComputedScores:
    item_ids: np.ndarray
    raw_benefit: np.ndarray
    benefit: np.ndarray
    raw_score: np.ndarray
    score: np.ndarray
    rank: np.ndarray  # 0 for items outside the open backlog
    needs_estimates: np.ndarray
    by_cohort: np.ndarray  # [item, cohort] share of the adjusted score
    by_metric: np.ndarray  # [item, metric]
    cohort_ranks: np.ndarray  # [item, cohort], 0 outside the open backlog
    cohort_ids: list[int]
    metric_ids: list[int]


def scores_compute(*, product: Product, data: selectors.ScoringData) -> ComputedScores:
    """Score and rank a product from its arrays (no queries)."""
    n, n_cohorts, n_metrics = len(data.item_ids), len(data.cohort_ids), len(data.metric_ids)
    item_i, cohort_i, metric_i, value, confidence = data.estimate_rows
    values, confidences = scoring.scatter_estimates(
        item_i,
        cohort_i,
        metric_i,
        value * data.metric_sign[metric_i] if n_metrics else value,
        confidence,
        shape=(n, n_cohorts, n_metrics),
        dtype=np.float64,
    )
    effort_known = ~np.isnan(data.effort)
    uplift, haircut = float(product.effort_uplift), float(product.benefit_haircut)
    result = scoring.benefit_per_effort(
        values,
        confidences,
        data.cohort_weight,
        data.metric_weight,
        np.where(effort_known, data.effort, 1.0),
        effort_uplift=uplift,
        benefit_haircut=haircut,
    )
    needs = result.needs_estimates | ~effort_known
    raw_score = np.where(effort_known, result.raw_score, 0.0)
    score = np.where(effort_known, result.adjusted_score, 0.0)
    # Shares of the adjusted score: each cohort's (metric's) benefit over the adjusted effort.
    to_score = (result.benefit_factor / result.adjusted_effort)[:, None]
    by_cohort = np.where(effort_known[:, None], result.by_cohort * to_score, 0.0)
    by_metric = np.where(effort_known[:, None], result.by_metric * to_score, 0.0)

    method = product.scoring_method
    if method in (ScoringMethod.RICE, ScoringMethod.WSJF, ScoringMethod.ICE):
        raw_score, score, needs = _framework_scores(method, data, uplift, haircut)

    rank = np.zeros(n, dtype=np.int64)
    cohort_ranks = np.zeros((n, n_cohorts), dtype=np.int64)
    open_at = np.flatnonzero(data.open_mask)
    if open_at.size:
        age = data.age_key[open_at]
        if method == ScoringMethod.MOSCOW:
            buckets = _moscow_buckets(data)
            needs = needs | (buckets == -1)
            ranks, _ = scoring.moscow_rank(
                np.where(buckets[open_at] == -1, 2, buckets[open_at]),
                score[open_at],
                age,
                benefit=result.adjusted_benefit[open_at],
            )
        else:
            ranks, _ = scoring.rank(score[open_at], result.adjusted_benefit[open_at], age)
        rank[open_at] = ranks
        for c in range(n_cohorts):
            ranks, _ = scoring.rank(by_cohort[open_at, c], result.by_cohort[open_at, c], age)
            cohort_ranks[open_at, c] = ranks
    return ComputedScores(
        item_ids=data.item_ids,
        raw_benefit=result.raw_benefit,
        benefit=result.adjusted_benefit,
        raw_score=raw_score,
        score=score,
        rank=rank,
        needs_estimates=needs,
        by_cohort=by_cohort,
        by_metric=by_metric,
        cohort_ranks=cohort_ranks,
        cohort_ids=data.cohort_ids,
        metric_ids=data.metric_ids,
    )


def _framework_scores(
    method: str, data: selectors.ScoringData, uplift: float, haircut: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw and optimism-adjusted RICE / WSJF / ICE scores; items missing inputs score 0."""
    n = len(data.item_ids)
    raw, needs = np.zeros(n), np.ones(n, dtype=bool)
    for i, item_id in enumerate(data.item_ids.tolist()):
        given = data.inputs.get(item_id)
        if given is None:
            continue
        try:
            if method == ScoringMethod.RICE:
                parts = (given.rice_impact, given.rice_confidence, given.rice_effort_months)
                if None in parts or "" in parts:
                    continue
                raw[i] = scoring.rice(
                    data.reach[i],
                    float(given.rice_impact),
                    CONFIDENCE_FRACTION[given.rice_confidence],
                    float(given.rice_effort_months),
                )
            elif method == ScoringMethod.WSJF:
                parts = (
                    given.wsjf_business_value,
                    given.wsjf_time_criticality,
                    given.wsjf_risk_reduction,
                    given.wsjf_job_size,
                )
                if None in parts:
                    continue
                raw[i] = scoring.wsjf(*parts)
            else:
                parts = (given.ice_impact, given.ice_confidence, given.ice_ease)
                if None in parts:
                    continue
                raw[i] = scoring.ice(*parts)
        except ValueError:
            continue  # out-of-range input saved outside the forms: flagged, not fatal
        needs[i] = False
    # RICE and WSJF divide by effort, so the uplift applies; ICE has no effort term.
    divisor = 1.0 if method == ScoringMethod.ICE else 1.0 + uplift
    return raw, raw * (1.0 - haircut) / divisor, needs


_MOSCOW_CODE = {bucket: code for code, bucket in enumerate(MoscowBucket.values)}


def _moscow_buckets(data: selectors.ScoringData) -> np.ndarray:
    """Bucket code per item (0 must … 3 won't), −1 where none is set."""
    codes = np.full(len(data.item_ids), -1, dtype=np.int64)
    for i, item_id in enumerate(data.item_ids.tolist()):
        given = data.inputs.get(item_id)
        if given is not None and given.moscow:
            codes[i] = _MOSCOW_CODE[given.moscow]
    return codes


# ---------------------------------------------------------------- storing


# Namespace of the advisory lock that serialises the writers of one product's score rows
# (pg_advisory_xact_lock(namespace, product id)); any constant no other lock uses.
_SCORES_LOCK_NAMESPACE = 7_100
# How long a background rescore's write waits for a row lock before it gives way and tries
# again. Shorter than PostgreSQL's deadlock_timeout (1 s), so if a person's request ever
# waits on the rescore while the rescore waits on it, the rescore is the one that yields.
_WRITE_LOCK_TIMEOUT = "200ms"
# Rounds of read, compute and write before a rescore whose inputs keep changing stops and
# queues another run (each change also queued its own).
_MAX_ROUNDS = 3


class _InputsChanged(Exception):
    """The product's inputs changed between the rescore's read and its write."""


def _score_arrays(scores: ComputedScores) -> list[tuple[str, np.ndarray]]:
    """The scores as typed columns of one staging row per item, in the order of the table.

    JSON is not built here: the database builds each row's objects from these columns,
    which costs a fraction of formatting 100,000 rows of JSON text in Python."""
    open_rank = scores.rank.astype(np.int32)
    columns = [
        ("item_id", scores.item_ids.astype(np.int64)),
        ("raw_benefit", scores.raw_benefit.astype(np.float64)),
        ("benefit", scores.benefit.astype(np.float64)),
        ("raw_score", scores.raw_score.astype(np.float64)),
        ("score", scores.score.astype(np.float64)),
        ("rank", open_rank),  # 0 outside the open backlog
        ("needs_estimates", scores.needs_estimates.astype(np.bool_)),
    ]
    # Shares rounded to six places, as the pages show them and so that a rescore that
    # changes nothing writes nothing.
    by_cohort, by_metric = np.round(scores.by_cohort, 6), np.round(scores.by_metric, 6)
    columns += [(f"c{k}", np.ascontiguousarray(by_cohort[:, k])) for k in range(by_cohort.shape[1])]
    columns += [(f"m{k}", np.ascontiguousarray(by_metric[:, k])) for k in range(by_metric.shape[1])]
    columns += [
        (f"r{k}", scores.cohort_ranks[:, k].astype(np.int32))
        for k in range(scores.cohort_ranks.shape[1])
    ]
    return columns


_PG_TYPE = {"i8": "bigint", "f8": "double precision", "i4": "integer", "b1": "boolean"}


def _copy_binary(columns: list[tuple[str, np.ndarray]]) -> bytes:
    """The columns as one PostgreSQL binary COPY stream, laid out by NumPy in one pass.

    Every column is fixed-width and never NULL, so each row is the same bytes: a field
    count, then a length and a big-endian value per field."""
    layout = [("fields", ">i2")]
    for k, (_name, values) in enumerate(columns):
        layout += [(f"len{k}", ">i4"), (f"val{k}", values.dtype.newbyteorder(">"))]
    rows = np.empty(len(columns[0][1]), dtype=layout)
    rows["fields"] = len(columns)
    for k, (_name, values) in enumerate(columns):
        rows[f"len{k}"] = values.dtype.itemsize
        rows[f"val{k}"] = values
    return b"PGCOPY\n\xff\r\n\x00" + bytes(8) + rows.tobytes() + b"\xff\xff"


def _json_sql(keys: list[int], prefix: str) -> str:
    """SQL for a JSON object {key: staged column} (keys are ids: digits only)."""
    pairs = ", ".join(f"'{int(key)}', n.{prefix}{k}" for k, key in enumerate(keys))
    return f"jsonb_build_object({pairs})"


_STORED = (
    "method",
    "raw_benefit",
    "benefit",
    "raw_score",
    "score",
    "rank",
    "needs_estimates",
    "by_cohort",
    "by_metric",
    "cohort_ranks",
)


def _store_postgresql(product: Product, scores: ComputedScores, now) -> int:
    """Write the rows whose figures changed, insert missing ones, delete strays; rows written.

    The new figures go into a temporary table by one binary COPY; then one UPDATE … FROM
    rewrites only the rows that differ (a rescore after one estimate changed rewrites the
    rows whose rank moved, not the product), one INSERT adds items scored for the first
    time, and one DELETE drops rows of items no longer in the product. Existing rows are
    updated, never deleted and inserted again: an insert checks the item's foreign key,
    which share-locks the item row until commit, and a move rewrites that row's key."""
    columns = _score_arrays(scores)
    staged = ", ".join(f"{name} {_PG_TYPE[values.dtype.str[1:]]}" for name, values in columns)
    table = ItemScore._meta.db_table
    new = f"""
        SELECT n.item_id, %(method)s::varchar AS method, n.raw_benefit, n.benefit,
               n.raw_score, n.score, NULLIF(n.rank, 0) AS rank, n.needs_estimates,
               {_json_sql(scores.cohort_ids, "c")} AS by_cohort,
               {_json_sql(scores.metric_ids, "m")} AS by_metric,
               CASE WHEN n.rank = 0 THEN '{{}}'::jsonb
                    ELSE {_json_sql(scores.cohort_ids, "r")} END AS cohort_ranks
        FROM pg_temp.item_score_new n
    """
    stored = ", ".join(f"s.{name}" for name in _STORED)
    fresh = ", ".join(f"n.{name}" for name in _STORED)
    params = {"method": product.scoring_method, "now": now, "product": product.pk}
    with connection.cursor() as cursor:
        # Scores are derived data, rebuilt from estimates on demand: losing the last
        # recompute in a server crash costs nothing, so this commit need not wait for
        # the WAL flush (it is still atomic and consistent).
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute("DROP TABLE IF EXISTS pg_temp.item_score_new")
        cursor.execute(
            f"CREATE TEMPORARY TABLE item_score_new ({staged}, PRIMARY KEY (item_id))"
            " ON COMMIT DROP"
        )
        if len(scores.item_ids):
            with cursor.cursor.copy("COPY pg_temp.item_score_new FROM STDIN (FORMAT binary)") as c:
                c.write(_copy_binary(columns))
        # Statistics for the joins below: without them the planner takes the table for
        # empty and may loop over it once per stored row.
        cursor.execute("ANALYZE pg_temp.item_score_new")
        cursor.execute(
            f"""
            UPDATE {table} s SET {", ".join(f"{name} = n.{name}" for name in _STORED)},
                   computed_at = %(now)s
            FROM ({new}) n
            WHERE s.item_id = n.item_id AND ({stored}) IS DISTINCT FROM ({fresh})
            """,
            params,
        )
        written = cursor.rowcount
        cursor.execute(
            f"""
            INSERT INTO {table} (item_id, product_id, {", ".join(_STORED)}, computed_at)
            SELECT n.item_id, %(product)s, {fresh}, %(now)s FROM ({new}) n
            WHERE NOT EXISTS (SELECT 1 FROM {table} s WHERE s.item_id = n.item_id)
            """,
            params,
        )
        written += cursor.rowcount
        cursor.execute(
            f"""
            DELETE FROM {table} s WHERE s.product_id = %(product)s
            AND NOT EXISTS (SELECT 1 FROM pg_temp.item_score_new n WHERE n.item_id = s.item_id)
            """,
            params,
        )
        written += cursor.rowcount
    return written


def _store_other(product: Product, scores: ComputedScores, now) -> int:
    """Replace the product's score rows through the ORM (SQLite, small products); rows."""
    ItemScore.objects.filter(product=product).delete()
    columns = dict(_score_arrays(scores))
    cohorts, metrics = scores.cohort_ids, scores.metric_ids
    lists = {name: values.tolist() for name, values in columns.items()}

    def shares(prefix: str, keys: list[int], i: int) -> dict[str, float]:
        return {str(key): lists[f"{prefix}{k}"][i] for k, key in enumerate(keys)}

    ItemScore.objects.bulk_create(
        (
            ItemScore(
                item_id=item_id,
                product_id=product.pk,
                method=product.scoring_method,
                raw_benefit=lists["raw_benefit"][i],
                benefit=lists["benefit"][i],
                raw_score=lists["raw_score"][i],
                score=lists["score"][i],
                rank=lists["rank"][i] or None,
                needs_estimates=lists["needs_estimates"][i],
                by_cohort=shares("c", cohorts, i),
                by_metric=shares("m", metrics, i),
                cohort_ranks=shares("r", cohorts, i) if lists["rank"][i] else {},
                computed_at=now,
            )
            for i, item_id in enumerate(lists["item_id"])
        ),
        batch_size=500,
    )
    return len(lists["item_id"])


# ---------------------------------------------------------------- rescoring


def _product_with_version(product_id: int) -> Product | None:
    """The product, with ``rescore_requested_at`` from its "being updated" row (or None)."""
    requested = PendingRescore.objects.filter(product_id=OuterRef("pk")).values("requested_at")
    return (
        Product.objects.annotate(rescore_requested_at=Subquery(requested[:1]))
        .filter(pk=product_id)
        .first()
    )


def _version(product: Product) -> tuple:
    """What a change to the product's inputs moves: a request for a rescore (every change to
    a large product records one), a rescore stored by a request (every change to a small
    product makes one), or the scoring settings themselves."""
    return (
        product.rescore_requested_at,
        product.scores_computed_at,
        product.scoring_method,
        product.effort_uplift,
        product.benefit_haircut,
    )


def _lock_scores(product_id: int) -> None:
    """Serialise the writers of one product's score rows, for the rest of the transaction.

    Not the product row lock, which moves wait on: a rescore holds this one while it writes
    up to 100,000 rows. Lock order: product, item, then this; a rescore takes it first and
    then waits on no product or item lock (its updates touch score rows only) beyond the
    share lock an insert takes on a newly scored item, which ``_WRITE_LOCK_TIMEOUT`` bounds.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [_SCORES_LOCK_NAMESPACE, product_id]
            )


def scores_store(*, product: Product, scores: ComputedScores, version: tuple) -> int:
    """Store computed scores if the inputs they came from are still current; rows written.

    Raises ``_InputsChanged`` (storing nothing) if the product's version moved since
    ``version`` was read, before the data."""
    background = not connection.in_atomic_block
    now = timezone.now()
    with transaction.atomic():
        _lock_scores(product.pk)
        if background and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = '{_WRITE_LOCK_TIMEOUT}'")
        current = _product_with_version(product.pk)
        if current is None:
            return 0
        if _version(current) != version:
            raise _InputsChanged
        if connection.vendor == "postgresql":
            written = _store_postgresql(product, scores, now)
        else:
            written = _store_other(product, scores, now)
    # After the scores' transaction, so that a background rescore never holds the scores
    # lock while it waits for the product row (a request holding the product row may be
    # waiting for the scores lock). In a request's transaction the product is already its.
    Product.objects.filter(pk=product.pk).update(scores_computed_at=now)
    product.scores_computed_at = now
    return written


@dataclass(frozen=True)
class Rescore:
    items: int
    rows_written: int


def scores_rescore(*, product_id: int, pause=None) -> Rescore:
    """Recompute the product's scores and store the rows that changed.

    The product's inputs are read and the scores computed with no lock held, so a move (which
    locks the product row) never waits on a rescore. The write takes only the scores lock
    (``_lock_scores``), and only if no change to the inputs arrived since the read: a run
    that finds one reads and computes again, so stale scores are never stored. A run whose
    write would wait on a row lock gives way and tries again (see ``_WRITE_LOCK_TIMEOUT``).
    After ``_MAX_ROUNDS`` such rounds it queues another run and leaves the notice up.

    Safe to run twice or concurrently. Clears the product's "being updated" notice if no
    request for a rescore came after the data was read. ``pause``, for tests, is called
    between the computation and the write.
    """
    for _round in range(_MAX_ROUNDS):
        # Read before the data: every change behind this version is visible to the reads
        # that follow (each statement sees what had committed when it started).
        product = _product_with_version(product_id)
        if product is None:
            return Rescore(items=0, rows_written=0)  # deleted since the task was queued
        version = _version(product)
        data = selectors.scoring_data(
            product=product, with_inputs=product.scoring_method != ScoringMethod.BENEFIT_PER_EFFORT
        )
        scores = scores_compute(product=product, data=data)
        if pause is not None:
            pause()
        try:
            written = scores_store(product=product, scores=scores, version=version)
        except _InputsChanged:
            continue
        except OperationalError as error:
            if not isinstance(error.__cause__, LockNotAvailable):
                raise
            continue
        if product.rescore_requested_at is not None:
            # After the commit, so the rescore's locks are not held while this waits on a
            # request that is marking the product again (its row then no longer matches).
            PendingRescore.objects.filter(
                product_id=product_id, requested_at=product.rescore_requested_at
            ).delete()
        return Rescore(items=len(data.item_ids), rows_written=written)
    from prioritisation.services.scores import scores_request_rescore

    with transaction.atomic():
        scores_request_rescore(product_ids=[product_id])
    return Rescore(items=0, rows_written=0)


def scores_recompute(*, product_id: int) -> int:
    """Recompute and store a product's scores (see ``scores_rescore``); the item count."""
    return scores_rescore(product_id=product_id).items
