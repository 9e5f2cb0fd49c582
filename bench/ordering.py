"""One move in a large product: rows written (from the SQL executed) and server time.

Full size: 100,000 items; --quick: 10,000. ``move_rows_written`` counts the backlog item
rows that UPDATE/INSERT/DELETE statements touched during one move, outside a rebalance
(target: exactly 1); the history row each move also writes is reported on its own. The
time is the median of the move service plus the HTTP view that serves it (target ≤ 20 ms
on PostgreSQL). A rebalance of the whole product is timed too, for reference.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Iterable

from bench._django import WriteCounter, bench_database, make_product_with_items
from bench._util import row


def run(quick: bool) -> Iterable[dict]:
    size = 10_000 if quick else 100_000
    moves = 40 if quick else 100
    with bench_database() as vendor:
        from django.db import connection
        from django.test import Client
        from django.urls import reverse

        from backlog import services
        from backlog.models import OPEN_STATUSES, BacklogItem

        _org, product, user = make_product_with_items(size, name="Ordering bench")
        # Only open items take part in the manual order (a closed one's move is refused).
        ids = list(
            BacklogItem.objects.filter(product=product, status__in=OPEN_STATUSES)
            .order_by("rank_key")
            .values_list("pk", flat=True)
        )
        rng = random.Random(3)
        kinds = ["top", "bottom", "up", "down", "position", "between"]

        def one_move() -> dict:
            item = BacklogItem(pk=rng.choice(ids), product_id=product.pk, title="")
            to = rng.choice(kinds)
            kw: dict = {}
            if to == "position":
                kw = {"position": rng.randint(1, size)}
            elif to == "between":
                kw = {"before_id": rng.choice([i for i in ids[:50] if i != item.pk])}
            return {"item": item, "to": to, **kw}

        service_times, rows_written, history_rows, rebalances = [], [], [], 0
        for _ in range(moves):
            args = one_move()
            counter = WriteCounter()
            start = time.perf_counter()
            with connection.execute_wrapper(counter):
                result = services.item_move(actor=user, **args)
            service_times.append(time.perf_counter() - start)
            if result.rebalanced:
                rebalances += 1
                continue
            if result.moved:
                rows_written.append(counter.rows.get("backlog_backlogitem", 0))
                history_rows.append(counter.rows.get("backlog_itemevent", 0))

        client = Client()
        client.force_login(user)
        view_times = []
        for _ in range(moves // 2):
            args = one_move()
            data = {
                "to": args["to"],
                "position": args.get("position", ""),
                "before_id": args.get("before_id", ""),
            }
            url = reverse("backlog:item_move", args=[args["item"].pk])
            start = time.perf_counter()
            response = client.post(url, data)
            view_times.append(time.perf_counter() - start)
            assert response.status_code == 302, response.status_code

        from backlog.services.order import _rebalance_with

        start = time.perf_counter()
        from django.db import transaction

        with transaction.atomic():
            _rebalance_with(product.pk, item_id=ids[10], after_key=None)
        rebalance_time = time.perf_counter() - start

    yield row(
        "move_rows_written",
        max(rows_written),
        "rows",
        min=min(rows_written),
        moves=len(rows_written),
        items=size,
        target=1,
        meets_target=set(rows_written) == {1},
        database=vendor,
    )
    yield row("move_history_rows_written", max(history_rows), "rows", items=size)
    yield row(
        "move_service_median",
        statistics.median(service_times) * 1000,
        "ms",
        items=size,
        database=vendor,
        rebalances=rebalances,
    )
    yield row(
        "move_view_median",
        statistics.median(view_times) * 1000,
        "ms",
        items=size,
        database=vendor,
        target_ms=20,
        meets_target=statistics.median(view_times) * 1000 <= 20,
        note="POST without htmx: the move and its redirect, not the re-rendered list",
    )
    yield row("rebalance_whole_product", rebalance_time * 1000, "ms", items=size, database=vendor)
