"""The database half of the ``scoring`` benchmark: rescore and store, and a move meanwhile.

Each product has 3 cohorts × 6 metrics and 4 estimates per item. Every timed rescore follows
a change of the product's benefit haircut, so every item's score changes and every row is
written: the store's worst case, as after a weight or setting change.
"""

from __future__ import annotations

import multiprocessing
import random
import statistics
import time
import tracemalloc
from collections.abc import Iterable

from bench._django import bench_database, count_queries, make_product_with_items
from bench._util import row

STORE_TARGET_S = {100_000: 1.5}
STORE_MOONSHOT_S = {100_000: 0.7}
MOVE_TARGET_S = 0.1
PEAK_TARGET_MB = 100


def _add_estimates(product, *, per_item: int) -> int:
    """A sixth metric, then ``per_item`` estimates for every item over random cohort ×
    metric cells, inserted by one statement (400,000 rows at 100k in a few seconds)."""
    from django.db import connection, transaction

    from prioritisation.models import BenefitEstimate, BenefitMetric

    BenefitMetric.objects.create(
        organisation=product.organisation, name="Errors avoided", unit="per month"
    )
    cohorts = list(product.organisation.cohorts.values_list("pk", flat=True))
    metrics = list(product.organisation.metrics.values_list("pk", flat=True))
    table = BenefitEstimate._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        # Fixture data made here, consistent by construction: skip the per-row history
        # and foreign-key triggers, which would take a quarter of an hour at 400,000 rows.
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("SELECT setseed(0.7)")
        # Cell numbers per item: a random permutation of all cells, its first per_item.
        cursor.execute(
            f"""
            INSERT INTO {table} (item_id, cohort_id, metric_id, value, confidence, evidence,
                                 updated_at)
            SELECT item_id, (%(cohorts)s::bigint[])[cell / %(m)s + 1],
                   (%(metrics)s::bigint[])[cell %% %(m)s + 1],
                   1 + floor(random() * 500),
                   (ARRAY['high', 'medium', 'low'])[1 + floor(random() * 3)::int], '', now()
            FROM (
                SELECT i.id AS item_id, c.cell,
                       row_number() OVER (PARTITION BY i.id ORDER BY random()) AS pick
                FROM backlog_backlogitem i
                CROSS JOIN generate_series(0, %(cells)s - 1) AS c(cell)
                WHERE i.product_id = %(product)s
            ) picked
            WHERE pick <= %(per_item)s
            """,
            {
                "cohorts": cohorts,
                "metrics": metrics,
                "m": len(metrics),
                "cells": len(cohorts) * len(metrics),
                "product": product.pk,
                "per_item": per_item,
            },
        )
        count = cursor.rowcount
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return count


def _change_every_score(product, step: int) -> None:
    """Alternate the benefit haircut (without asking for a rescore): every score changes."""
    from decimal import Decimal

    from backlog.models import Product

    haircut = Decimal("0.25") if step % 2 else Decimal("0.2")
    Product.objects.filter(pk=product.pk).update(benefit_haircut=haircut)


def _store_rows(product, size: int, estimates: int, vendor: str, repeat: int) -> Iterable[dict]:
    from prioritisation import services

    services.scores_recompute(product_id=product.pk)  # warm-up, and the first full write
    times = []
    for step in range(repeat):
        _change_every_score(product, step)
        start = time.perf_counter()
        services.scores_recompute(product_id=product.pk)
        times.append(time.perf_counter() - start)
    _change_every_score(product, repeat)
    _, queries = count_queries(lambda: services.scores_recompute(product_id=product.pk))
    _change_every_score(product, repeat + 1)
    tracemalloc.start()
    services.scores_recompute(product_id=product.pk)
    peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    median = statistics.median(times)
    target, moonshot = STORE_TARGET_S.get(size), STORE_MOONSHOT_S.get(size)
    yield row(
        f"scoring_rescore_store_{size}",
        median,
        "s",
        items=size,
        estimates=estimates,
        database=vendor,
        queries=len(queries),
        rows_changed=size,
        peak_python_mb=round(peak_mb, 1),
        peak_target_mb=PEAK_TARGET_MB,
        target_s=target,
        moonshot_s=moonshot,
        meets_target=None if target is None else median <= target and peak_mb <= PEAK_TARGET_MB,
        meets_moonshot=None if moonshot is None else median <= moonshot,
    )


def _rescore_in_child(database: str, product_id: int, started) -> None:
    """A background rescore in a process of its own, as a Celery worker runs it. Spawned,
    not forked: a fork would inherit the parent's connection pool and its threads."""
    from bench._django import setup

    setup()
    from django.db import connection

    from prioritisation import services

    connection.settings_dict["NAME"] = database
    started.set()
    services.scores_recompute(product_id=product_id)


def _move_during_rescore_rows(product, user, size: int, vendor: str, rounds: int):
    """Start a rescore in another process, then move items through the htmx view (the
    request a person waits for, its re-rendered list included) until the rescore ends."""
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from backlog.models import OPEN_STATUSES, BacklogItem

    client = Client()
    client.force_login(user)
    movable = BacklogItem.objects.filter(product=product, status__in=OPEN_STATUSES)
    ids = list(movable.values_list("pk", flat=True))
    rng = random.Random(11)

    def move() -> float:
        url = reverse("backlog:item_move", args=[rng.choice(ids)])
        start = time.perf_counter()
        response = client.post(url, {"to": rng.choice(["up", "down"])}, HTTP_HX_REQUEST="true")
        elapsed = time.perf_counter() - start
        assert response.status_code == 200, response.status_code
        return elapsed

    alone = statistics.median(move() for _ in range(20))
    waits, rescores = [], []
    spawn = multiprocessing.get_context("spawn")
    database = connection.settings_dict["NAME"]
    for step in range(rounds):
        _change_every_score(product, step)
        started = spawn.Event()
        child = spawn.Process(target=_rescore_in_child, args=(database, product.pk, started))
        child.start()
        started.wait()
        began = time.perf_counter()
        while child.is_alive():
            waits.append(move())
        child.join()
        rescores.append(time.perf_counter() - began)
        assert child.exitcode == 0, child.exitcode
    worst = max(waits) if waits else float("nan")
    yield row(
        f"scoring_move_during_rescore_{size}",
        worst,
        "s",
        baseline=alone,
        items=size,
        database=vendor,
        moves=len(waits),
        median_s=round(statistics.median(waits), 4) if waits else None,
        rescore_s=round(statistics.median(rescores), 3),  # from the child's start signal
        target_s=MOVE_TARGET_S,
        meets_target=bool(waits) and worst <= MOVE_TARGET_S,
        note="slowest htmx move (with its re-rendered list) issued while a rescore runs "
        "in another process; baseline: the same move with no rescore",
    )


def db_rows(quick: bool) -> Iterable[dict]:
    """Rescore and store at every size a person can reach (quick: 2,000 and 10,000), then a
    move during a rescore of the largest."""
    sizes = [2_000, 10_000] if quick else [10_000, 100_000]
    repeat = 3 if quick else 5
    with bench_database() as vendor:
        for size in sizes:
            _org, product, user = make_product_with_items(size, name=f"Scoring bench {size}")
            estimates = _add_estimates(product, per_item=4)
            yield from _store_rows(product, size, estimates, vendor, repeat)
        yield from _move_during_rescore_rows(product, user, size, vendor, 1 if quick else 3)
