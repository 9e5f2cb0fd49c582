"""Product backlog page of a large product: server time (median) and query count.

Full size: 100,000 items; --quick: 10,000. Also the 10,000-item page (issue 2's target) at
full size. The floor is a plain Django view that renders the same 100 rows from a bare query
through the same middleware; the ratio is page time ÷ floor time.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterable
from functools import partial

from bench._django import bench_database, count_queries, make_product_with_items
from bench._util import row


def _interleaved(client, page_url: str, floor_url: str, repeat: int) -> tuple[float, float]:
    """Median seconds of the page and of the floor, requested alternately so that noise
    from the rest of the machine falls on both alike."""
    for url in (page_url, floor_url):
        for _ in range(3):
            assert client.get(url).status_code == 200, url
    page, floor = [], []
    for _ in range(repeat):
        for url, times in ((page_url, page), (floor_url, floor)):
            start = time.perf_counter()
            client.get(url)
            times.append(time.perf_counter() - start)
    return statistics.median(page), statistics.median(floor)


def run(quick: bool) -> Iterable[dict]:
    from django.test import Client, override_settings
    from django.urls import reverse

    sizes = [10_000] if quick else [10_000, 100_000]
    repeat = 21 if quick else 61
    with bench_database() as vendor, override_settings(ROOT_URLCONF="bench._floor_urls"):
        for size in sizes:
            _org, product, user = make_product_with_items(size, name=f"Bench {size}")
            client = Client()
            client.force_login(user)
            page_url = reverse("backlog:product_backlog", args=[product.pk])
            _, queries = count_queries(partial(client.get, page_url))
            page_time, floor_time = _interleaved(
                client, page_url, f"/bench-floor/{product.pk}/", repeat
            )
            yield row(
                f"backlog_page_{size}_median",
                page_time * 1000,
                "ms",
                baseline=floor_time * 1000,
                items=size,
                database=vendor,
                target_ms=50 if size == 100_000 else None,
                target_ratio=1.5,
                meets_target=page_time <= 1.5 * floor_time
                and (size != 100_000 or page_time * 1000 <= 50),
            )
            yield row(f"backlog_page_{size}_queries", len(queries), "queries", database=vendor)
