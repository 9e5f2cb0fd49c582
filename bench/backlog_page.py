"""Product backlog page of a large product: server time (median) and query count.

Full size: 100,000 items; --quick: 10,000. Also the 10,000-item page (issue 2's target) at
full size. The floor is a plain Django view that renders the same 100 rows from a bare query
through the same middleware; the ratio is page time ÷ floor time.
"""

from __future__ import annotations

from collections.abc import Iterable

from bench._django import bench_database, count_queries, make_product_with_items
from bench._util import median_seconds, row


def _measure(client, url: str, repeat: int) -> tuple[float, int]:
    response, queries = count_queries(lambda: client.get(url))
    assert response.status_code == 200, (url, response.status_code)
    return median_seconds(lambda: client.get(url), repeat=repeat, warmup=2), len(queries)


def run(quick: bool) -> Iterable[dict]:
    from django.test import Client, override_settings
    from django.urls import reverse

    sizes = [10_000] if quick else [10_000, 100_000]
    repeat = 15 if quick else 31
    with bench_database() as vendor, override_settings(ROOT_URLCONF="bench._floor_urls"):
        for size in sizes:
            _org, product, user = make_product_with_items(size, name=f"Bench {size}")
            client = Client()
            client.force_login(user)
            page_url = reverse("backlog:product_backlog", args=[product.pk])
            page_time, page_queries = _measure(client, page_url, repeat)
            floor_time, _ = _measure(client, f"/bench-floor/{product.pk}/", repeat)
            yield row(
                f"backlog_page_{size}_median",
                page_time * 1000,
                "ms",
                baseline=floor_time * 1000,
                items=size,
                database=vendor,
                target_ms=50 if size == 100_000 else None,
                target_ratio=1.5,
            )
            yield row(f"backlog_page_{size}_queries", page_queries, "queries", database=vendor)
