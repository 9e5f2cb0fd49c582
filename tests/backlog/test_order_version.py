"""The order version (kept by statement-level triggers on PostgreSQL) and the manual ranks
the score-ordered pages read from the cache under it: right after every kind of change,
and without numbering the open items again while the order stands."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from backlog import ordering, services
from backlog.models import OPEN_STATUSES, BacklogItem, ItemStatus, OrderVersion
from prioritisation.models import ItemScore

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the order version is kept by triggers"
    ),
]

ROW = re.compile(r'<tr data-item-id="(\d+)".*?data-label="Manual rank">([^<]*)<', re.S)


def version(product) -> int:
    row = OrderVersion.objects.filter(product=product).first()
    return row.version if row else 0


@pytest.fixture
def backlog(product):
    keys = ordering.spread_keys(30)
    items = BacklogItem.objects.bulk_create(
        BacklogItem(product=product, title=f"Item {i:02}", rank_key=keys[i]) for i in range(30)
    )
    # Score ranks in reverse of the manual order.
    ItemScore.objects.bulk_create(
        ItemScore(
            item=item,
            product=product,
            method="benefit_per_effort",
            rank=30 - n,
            computed_at="2026-11-01T00:00Z",
        )
        for n, item in enumerate(items)
    )
    return items


def test_every_kind_of_change_to_the_items_moves_the_version_once_per_statement(
    product, backlog, owner
):
    before = version(product)  # the bulk insert was one statement
    assert before == 1
    services.item_move(item=backlog[5], actor=owner, to="top")
    assert version(product) == before + 1
    BacklogItem.objects.filter(pk=backlog[6].pk).update(status=ItemStatus.DONE)
    assert version(product) == before + 2
    BacklogItem.objects.filter(product=product).update(title="Same title")  # 30 rows
    assert version(product) == before + 3
    backlog[7].delete()
    assert version(product) == before + 4


def test_the_version_of_another_product_stands(product, other_product, backlog, owner):
    theirs = version(other_product)
    services.item_move(item=backlog[5], actor=owner, to="top")
    assert version(other_product) == theirs


def score_page(client, product) -> tuple[dict[int, str], list[str]]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(
            reverse("backlog:product_backlog", args=[product.pk]), {"order": "score"}
        )
    assert response.status_code == 200
    shown = {int(pk): rank for pk, rank in ROW.findall(response.content.decode())}
    return shown, [q["sql"] for q in ctx.captured_queries]


def expected_ranks(product) -> dict[int, str]:
    open_ids = (
        BacklogItem.objects.filter(product=product, status__in=OPEN_STATUSES)
        .order_by("rank_key")
        .values_list("pk", flat=True)
    )
    return {pk: str(n) for n, pk in enumerate(open_ids, start=1)}


def numbered_open_items(sql: list[str]) -> bool:
    return any("ORDER BY rank_key" in q and "ARRAY(" in q for q in sql)


def test_the_score_order_reads_manual_ranks_from_the_cache_while_the_order_stands(
    owner_client, product, backlog, owner
):
    shown, sql = score_page(owner_client, product)
    assert shown == expected_ranks(product) and numbered_open_items(sql)
    shown, sql = score_page(owner_client, product)
    assert shown == expected_ranks(product)
    assert not numbered_open_items(sql)  # a cache hit: one small query for the version

    # After a move, a status change and a new item, the ranks are the new order's.
    services.item_move(item=backlog[20], actor=owner, to="top")
    shown, sql = score_page(owner_client, product)
    assert numbered_open_items(sql)
    assert shown[backlog[20].pk] == "1" and shown == expected_ranks(product)
    BacklogItem.objects.filter(pk=backlog[0].pk).update(status=ItemStatus.DONE)
    shown, _ = score_page(owner_client, product)
    assert shown[backlog[0].pk] == "–" and shown == {
        **expected_ranks(product),
        backlog[0].pk: "–",
    }
