"""The backlog pages in O(page): the score order and filters page by keyset, a deep page
of the manual order carries its ranks in the cursor instead of counting the items above,
and the manual ranks stay right on every page."""

from __future__ import annotations

import random
import re
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from backlog import ordering
from backlog.models import OPEN_STATUSES, BacklogItem, ItemStatus
from prioritisation.models import ItemScore

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
STATUSES = [ItemStatus.IDEA, ItemStatus.READY, ItemStatus.DONE, ItemStatus.IN_PROGRESS]


@pytest.fixture
def backlog(product):
    """600 items, a quarter of them done, with score ranks for the open ones in a random
    order and some open items left unscored."""
    keys = ordering.spread_keys(600)
    items = BacklogItem.objects.bulk_create(
        BacklogItem(
            product=product,
            title=f"Item {i:03}",
            rank_key=keys[i],
            status=STATUSES[i % 4],
            effort=(i % 5) + 1,
        )
        for i in range(600)
    )
    open_items = [i for i in items if i.status in OPEN_STATUSES]
    scored = random.Random(4).sample(open_items, len(open_items) - 10)
    ItemScore.objects.bulk_create(
        ItemScore(
            item=item,
            product=product,
            method="benefit_per_effort",
            rank=rank,
            computed_at="2026-11-01T00:00Z",
        )
        for rank, item in enumerate(scored, start=1)
    )
    return items


def manual_ranks(product) -> dict[int, int]:
    open_ids = (
        BacklogItem.objects.filter(product=product, status__in=OPEN_STATUSES)
        .order_by("rank_key")
        .values_list("pk", flat=True)
    )
    return {pk: n for n, pk in enumerate(open_ids, start=1)}


ROW = re.compile(r'<tr data-item-id="(\d+)".*?data-label="Manual rank">([^<]*)<', re.S)
MORE = re.compile(r'id="load-more">.*?href="([^"]+)"', re.S)


def walk(client, url: str, query: dict) -> tuple[list[int], dict[int, int | None], list[str]]:
    """Every page of a listing through its load-more links, as the browser follows them:
    item ids in order, the manual rank each row showed, and the SQL of the later pages."""
    ids, shown, sql = [], {}, []
    response = client.get(url, query)
    while True:
        html = response.content.decode()
        for pk, rank in ROW.findall(html):
            ids.append(int(pk))
            shown[int(pk)] = int(rank) if rank.isdigit() else None
        more = MORE.search(html)
        if not more:
            return ids, shown, sql
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(unescape(more.group(1)), **HTMX)
        sql += [q["sql"] for q in ctx.captured_queries]


def test_the_score_order_pages_by_keyset_through_ranked_then_unranked_items(
    owner_client, product, backlog
):
    url = reverse("backlog:product_backlog", args=[product.pk])
    ids, shown, sql = walk(owner_client, url, {"order": "score"})
    ranked = list(
        ItemScore.objects.filter(product=product).order_by("rank").values_list("item", flat=True)
    )
    unranked = [
        pk
        for pk in BacklogItem.objects.filter(product=product)
        .order_by("rank_key")
        .values_list("pk", flat=True)
        if pk not in set(ranked)
    ]
    assert ids == ranked + unranked
    expected = manual_ranks(product)
    assert shown == {pk: expected.get(pk) for pk in ids}
    assert not any("OFFSET" in q for q in sql)


def test_a_filtered_listing_shows_manual_ranks_counting_the_open_items_it_hides(
    owner_client, product, backlog
):
    url = reverse("backlog:product_backlog", args=[product.pk])
    ids, shown, sql = walk(owner_client, url, {"status": ItemStatus.READY})
    ready = list(
        BacklogItem.objects.filter(product=product, status=ItemStatus.READY)
        .order_by("rank_key")
        .values_list("pk", flat=True)
    )
    assert ids == ready and len(ready) > 100  # more than one page
    expected = manual_ranks(product)
    assert shown == {pk: expected[pk] for pk in ids}
    assert not any("ROW_NUMBER" in q or "OFFSET" in q for q in sql)


def test_a_deep_page_of_the_manual_order_takes_its_ranks_from_the_cursor_not_a_count(
    owner_client, product, backlog
):
    url = reverse("backlog:product_backlog", args=[product.pk])
    ids, shown, sql = walk(owner_client, url, {})
    expected = manual_ranks(product)
    assert ids == list(
        BacklogItem.objects.filter(product=product)
        .order_by("rank_key")
        .values_list("pk", flat=True)
    )
    assert shown == {pk: expected.get(pk) for pk in ids}
    assert sql and not any(re.search(r"\bCOUNT\(", q) for q in sql)


def test_a_bare_key_cursor_from_an_old_link_still_gives_the_right_ranks(
    owner_client, product, backlog
):
    url = reverse("backlog:product_backlog", args=[product.pk])
    keys = list(
        BacklogItem.objects.filter(product=product)
        .order_by("rank_key")
        .values_list("pk", "rank_key")
    )
    response = owner_client.get(url, {"after": keys[449][1], "start": 450}, **HTMX)
    expected = manual_ranks(product)
    rows = [(int(pk), rank) for pk, rank in ROW.findall(response.content.decode())]
    assert [pk for pk, _ in rows] == [pk for pk, _ in keys[450:550]]
    assert {pk: int(rank) if rank.isdigit() else None for pk, rank in rows} == {
        pk: expected.get(pk) for pk, _ in keys[450:550]
    }


@pytest.mark.parametrize(
    "cursor", ["~x~y", "a0V~12~oops", "a0V~12~NaN", "a0V~3~-Infinity", "r12.x", "k", "rzz"]
)
def test_a_mangled_cursor_is_a_page_not_an_error(owner_client, product, backlog, cursor):
    url = reverse("backlog:product_backlog", args=[product.pk])
    for order in ("manual", "score"):
        response = owner_client.get(url, {"order": order, "after": cursor})
        assert response.status_code == 200
