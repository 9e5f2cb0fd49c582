"""API items list of a large product: first and last page, and a walk through every page.

Full size: 100,000 items; --quick: 10,000. Requests go through the whole stack as an API
client sends them (a personal token, the JSON renderer). The last page is reached by the
links the API gives, never by building a query string, so the benchmark times whatever
paging the API does. Target: the last page costs at most 1.2x the first; the walk at
limit=1000 costs at most 1.2x as many first pages of that size.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterable
from functools import partial
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bench._django import bench_database, count_queries, make_product_with_items
from bench._util import row

PAGE = 100  # the API's default page size
WALK_PAGE = 1000  # the largest page the API gives
TARGET_RATIO = 1.2


def _with_limit(url: str, limit: int) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query["limit"] = str(limit)
    return urlunsplit(parts._replace(query=urlencode(query)))


def _get(client, url: str, token: str) -> dict:
    response = client.get(url, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, (url, response.status_code, response.content[:300])
    return response.json()


def _walk(client, first_url: str, token: str) -> tuple[int, list[str]]:
    """Follow ``next`` from the first page to the end: (items seen, every page's URL)."""
    urls, seen, url = [], 0, first_url
    while url:
        urls.append(url)
        body = _get(client, url, token)
        seen += len(body["results"])
        url = body["next"]
    return seen, urls


def _last_page_url(walked: list[str]) -> str:
    """The URL of the last ``PAGE`` items, from the walk's links alone: the last walk page
    asked for ``WALK_PAGE - PAGE`` items points, by its ``next``, at the last ``PAGE``."""
    assert len(walked) >= 2, "the product needs more than one walk page"
    return _with_limit(walked[-1], WALK_PAGE - PAGE)


def _interleaved(client, urls: list[str], token: str, repeat: int) -> list[float]:
    """Median seconds of each URL, requested in turn so that noise from the rest of the
    machine falls on all alike."""
    for url in urls:
        for _ in range(3):
            _get(client, url, token)
    times: list[list[float]] = [[] for _ in urls]
    for _ in range(repeat):
        for url, spent in zip(urls, times, strict=True):
            start = time.perf_counter()
            _get(client, url, token)
            spent.append(time.perf_counter() - start)
    return [statistics.median(spent) for spent in times]


def run(quick: bool) -> Iterable[dict]:
    from django.test import Client
    from django.urls import reverse

    size = 10_000 if quick else 100_000
    repeat = 21 if quick else 41
    walks = 3 if quick else 1
    with bench_database() as vendor:
        from customers.services import api_token_create

        _org, product, user = make_product_with_items(size, name=f"Bench {size}")
        _token, token = api_token_create(user=user, name="bench")
        client = Client()
        items_url = reverse("api:product_items", args=[product.pk])

        walk_first = _with_limit(items_url, WALK_PAGE)
        seen, walked = _walk(client, walk_first, token)
        assert seen == size, (seen, size)
        penultimate = _get(client, _last_page_url(walked), token)
        last_url = _with_limit(penultimate["next"], PAGE)
        last = _get(client, last_url, token)
        assert len(last["results"]) == PAGE and last["next"] is None, last_url

        first_url = _with_limit(items_url, PAGE)
        first_time, last_time, walk_page_time = _interleaved(
            client, [first_url, last_url, walk_first], token, repeat
        )
        walk_times = []
        for _ in range(walks):
            start = time.perf_counter()
            _walk(client, walk_first, token)
            walk_times.append(time.perf_counter() - start)
        walk_time = statistics.median(walk_times)

        common = {"items": size, "database": vendor}
        yield row(
            f"api_list_{size}_first_page_median", first_time * 1000, "ms", limit=PAGE, **common
        )
        yield row(
            f"api_list_{size}_last_page_median",
            last_time * 1000,
            "ms",
            baseline=first_time * 1000,
            limit=PAGE,
            target_ratio=TARGET_RATIO,
            meets_target=last_time <= TARGET_RATIO * first_time,
            **common,
        )
        pages = len(walked)
        yield row(
            f"api_list_{size}_walk_all",
            walk_time,
            "s",
            baseline=pages * walk_page_time,
            limit=WALK_PAGE,
            pages=pages,
            target_ratio=TARGET_RATIO,
            meets_target=walk_time <= TARGET_RATIO * pages * walk_page_time,
            **common,
        )
        auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        for name, url in (("first", first_url), ("last", last_url)):
            _, queries = count_queries(partial(client.get, url, **auth))
            counts = sum("COUNT(" in sql.upper() for sql in queries)
            yield row(
                f"api_list_{size}_{name}_page_queries",
                len(queries),
                "queries",
                count_queries=counts,
                **common,
            )
