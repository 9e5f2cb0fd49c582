"""Bulk reorders (apply the score order, adopt a vote order, undo) write only the rows
whose key changes, each once, and undo puts back exactly the keys it saved."""

from __future__ import annotations

import random

import pytest
from django.db import connection

from backlog import ordering, services
from backlog.models import BacklogItem, ItemStatus, ReorderKind
from bench._django import WriteCounter
from prioritisation.models import ItemScore

pytestmark = pytest.mark.django_db

ITEMS = "backlog_backlogitem"


def make_items(product, n: int) -> list[BacklogItem]:
    keys = ordering.spread_keys(n)
    return BacklogItem.objects.bulk_create(
        BacklogItem(product=product, title=f"Item {i}", rank_key=keys[i]) for i in range(n)
    )


def keys_of(product) -> dict[int, str]:
    return dict(BacklogItem.objects.filter(product=product).values_list("pk", "rank_key"))


def order_of(product) -> list[int]:
    return list(
        BacklogItem.objects.filter(product=product)
        .order_by("rank_key")
        .values_list("pk", flat=True)
    )


def score(items_best_first) -> None:
    for rank, item in enumerate(items_best_first, start=1):
        ItemScore.objects.create(
            item=item,
            product=item.product,
            method="benefit_per_effort",
            rank=rank,
            computed_at="2026-11-01T00:00Z",
        )


def item_rows_written(fn) -> tuple[object, int]:
    """Run ``fn`` and count the backlog item rows its UPDATEs touched (from the cursor's
    row counts of the SQL the database ran)."""
    counter = WriteCounter()
    with connection.execute_wrapper(counter):
        result = fn()
    return result, counter.rows.get(ITEMS, 0)


def changed(before: dict[int, str], after: dict[int, str]) -> int:
    return sum(before[pk] != after[pk] for pk in before)


def test_adopting_k_items_of_a_large_backlog_writes_k_rows(product, owner):
    items = make_items(product, 2000)
    chosen = [items[1990].pk, items[1500].pk, items[3].pk, items[700].pk, items[1999].pk]
    before = keys_of(product)
    _, written = item_rows_written(
        lambda: services.order_adopt(
            product=product, actor=owner, ranked_ids=chosen, kind=ReorderKind.VOTE_ORDER, note=""
        )
    )
    assert written == len(chosen)
    assert changed(before, keys_of(product)) == len(chosen)
    rest = [i.pk for i in items if i.pk not in chosen]
    assert order_of(product) == chosen + rest


def test_applying_the_score_order_writes_each_moved_row_once(product, owner):
    items = make_items(product, 300)
    # The score order is the manual order reversed but for a block of 50 already in order.
    best_first = list(reversed(items[:250])) + items[250:]
    score(best_first)
    before = keys_of(product)
    _, written = item_rows_written(
        lambda: services.order_apply_scores(product=product, actor=owner)
    )
    assert order_of(product) == [i.pk for i in best_first]
    # The 50 in order plus one of the reversed 250 keep their keys; the other 249 moved.
    assert written == changed(before, keys_of(product)) == 249


def test_applying_the_score_order_twice_writes_nothing_the_second_time(product, owner):
    items = make_items(product, 50)
    score(random.Random(5).sample(items, len(items)))
    services.order_apply_scores(product=product, actor=owner)
    _, written = item_rows_written(
        lambda: services.order_apply_scores(product=product, actor=owner)
    )
    assert written == 0


def test_undo_puts_back_exactly_the_saved_keys_writing_only_the_changed_rows(product, owner):
    items = make_items(product, 500)
    chosen = [items[400].pk, items[10].pk, items[250].pk]
    before = keys_of(product)
    services.order_adopt(
        product=product, actor=owner, ranked_ids=chosen, kind=ReorderKind.VOTE_ORDER, note=""
    )
    undone, written = item_rows_written(lambda: services.order_undo(product=product, actor=owner))
    assert undone is not None and undone.kind == ReorderKind.VOTE_ORDER
    assert keys_of(product) == before
    assert written == len(chosen)


def test_undo_after_a_score_order_restores_exactly_and_newcomers_go_to_the_bottom(product, owner):
    items = make_items(product, 200)
    score(random.Random(7).sample(items, len(items)))
    before = keys_of(product)
    services.order_apply_scores(product=product, actor=owner)
    newcomer = BacklogItem.objects.create(product=product, title="New", rank_key="A00")
    services.order_undo(product=product, actor=owner)
    after = keys_of(product)
    assert {pk: after[pk] for pk in before} == before
    assert order_of(product) == [i.pk for i in items] + [newcomer.pk]


def test_closed_items_keep_their_places_in_a_score_order(product, owner):
    items = make_items(product, 6)
    BacklogItem.objects.filter(pk=items[1].pk).update(status=ItemStatus.DONE)
    score([items[5], items[4], items[3], items[2], items[0]])
    services.order_apply_scores(product=product, actor=owner)
    # The closed item has no score rank: it follows the ranked ones in manual order.
    assert order_of(product)[-1] == items[1].pk


def test_the_check_under_the_lock_matches_the_rows_read_before_it(product, owner):
    """The database's digest of the rows equals the one made from the rows read without the
    lock, so an unchanged product is written without reading its rows again."""
    from backlog.services import order

    items = make_items(product, 40)
    score(items[::2])
    BacklogItem.objects.filter(pk=items[3].pk).update(pinned=True, status=ItemStatus.DONE)
    rows = order._order_rows(product.pk)
    assert order._fingerprint_now(product.pk) == order._fingerprint(rows)


def test_a_reorder_plans_again_when_the_order_changed_before_it_took_the_lock(product, owner):
    items = make_items(product, 30)
    score(list(reversed(items)))
    moved = items[10]

    def someone_moves_an_item() -> None:
        BacklogItem.objects.filter(pk=moved.pk).update(rank_key="a0")  # now first

    snapshot = services.order_apply_scores(
        product=product, actor=owner, on_locked=someone_moves_an_item
    )
    assert order_of(product) == [i.pk for i in reversed(items)]
    assert dict(snapshot.keys)[moved.pk] == "a0"  # the snapshot is the order it replaced
