"""Manual order: moves against a reference list, stale views, rebalancing, pins, undo,
rows written, and concurrent moves on PostgreSQL."""

from __future__ import annotations

import contextlib
import random
import re
import threading

import pytest
from django.db import connection, connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backlog import ordering, services
from backlog.models import BacklogItem, OrderSnapshot
from backlog.services import MoveRefused
from bench._django import WriteCounter
from prioritisation.models import ItemScore
from tests.conftest import require_postgresql
from tests.factories import BacklogItemFactory

pytestmark = pytest.mark.django_db


def order_of(product) -> list[int]:
    return list(
        BacklogItem.objects.filter(product=product)
        .order_by("rank_key")
        .values_list("pk", flat=True)
    )


def make_items(product, n: int) -> list[BacklogItem]:
    keys = ordering.spread_keys(n)
    return BacklogItem.objects.bulk_create(
        BacklogItem(product=product, title=f"Item {i}", rank_key=keys[i]) for i in range(n)
    )


def reference_move(ref: list[int], item_id: int, to: str, **kw) -> None:
    i = ref.index(item_id)
    if to == "up":
        if i:
            ref[i - 1], ref[i] = ref[i], ref[i - 1]
    elif to == "down":
        if i < len(ref) - 1:
            ref[i + 1], ref[i] = ref[i], ref[i + 1]
    else:
        ref.remove(item_id)
        if to == "top":
            ref.insert(0, item_id)
        elif to == "bottom":
            ref.append(item_id)
        elif to == "position":
            ref.insert(min(kw["position"], len(ref) + 1) - 1, item_id)
        elif to == "between":
            ref.insert(ref.index(kw["before_id"]) + 1, item_id)


def test_each_kind_of_move_matches_the_reference_list(product, owner):
    items = make_items(product, 8)
    ref = [i.pk for i in items]
    moves = [
        (items[4], "top", {}),
        (items[0], "bottom", {}),
        (items[3], "up", {}),
        (items[3], "down", {}),
        (items[6], "position", {"position": 3}),
        (items[1], "between", "after item 5"),
        (items[2], "position", {"position": 99}),
    ]
    for item, to, kw in moves:
        if kw == "after item 5":  # between item 5 and whatever follows it now
            at = ref.index(items[5].pk)
            kw = {"before_id": ref[at], "after_id": ref[at + 1]}
        services.item_move(item=item, actor=owner, to=to, **kw)
        reference_move(ref, item.pk, to, **kw)
        assert order_of(product) == ref, (to, kw)


def test_moving_to_where_the_item_already_is_writes_nothing(product, owner):
    items = make_items(product, 3)
    result = services.item_move(item=items[0], actor=owner, to="top")
    assert not result.moved
    assert not items[0].events.exists()
    assert not services.item_move(item=items[2], actor=owner, to="down").moved


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    moves=st.lists(
        st.tuples(
            st.integers(0, 11),
            st.sampled_from(["up", "down", "top", "bottom", "position", "between"]),
            st.integers(1, 13),
            st.integers(0, 11),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_random_moves_through_the_service_keep_the_reference_order(product, owner, moves):
    BacklogItem.objects.filter(product=product).delete()
    items = make_items(product, 12)
    ref = [i.pk for i in items]
    for index, to, position, other in moves:
        item = items[index]
        kw: dict = {}
        if to == "position":
            kw = {"position": position}
        elif to == "between":
            before = items[other]
            if before.pk == item.pk:
                continue
            after_index = ref.index(before.pk) + 1
            after = ref[after_index] if after_index < len(ref) else None
            if after == item.pk:  # dropping right after itself: the item's own next
                nxt = after_index + 1
                after = ref[nxt] if nxt < len(ref) else None
            kw = {"before_id": before.pk, "after_id": after}
        services.item_move(item=item, actor=owner, to=to, **kw)
        reference_move(ref, item.pk, to, **kw)
    assert order_of(product) == ref
    keys = list(BacklogItem.objects.filter(product=product).values_list("rank_key", flat=True))
    assert len(set(keys)) == len(keys)


def test_repeated_moves_into_one_gap_rebalance_and_keep_the_order(product, owner):
    items = make_items(product, 30)
    ref = [i.pk for i in items]
    rebalanced = 0
    for i in range(400):
        mover = items[2 + i % 27]
        # Always drop right after the first item: the same gap gets narrower every time.
        if ref[1] == mover.pk:
            continue
        result = services.item_move(
            item=mover, actor=owner, to="between", before_id=ref[0], after_id=ref[1]
        )
        reference_move(ref, mover.pk, "between", before_id=ref[0])
        rebalanced += result.rebalanced
    assert rebalanced >= 1
    assert order_of(product) == ref
    longest = max(len(k) for k in BacklogItem.objects.values_list("rank_key", flat=True))
    assert longest <= ordering.MAX_KEY_LENGTH


def test_a_stale_view_is_refused_and_nothing_is_written(product, owner):
    items = make_items(product, 5)
    before = order_of(product)
    with pytest.raises(MoveRefused, match="changed while you were looking"):
        # The person saw 3 before 1, but 1 is above 3 now.
        services.item_move(
            item=items[0], actor=owner, to="between", before_id=items[3].pk, after_id=items[1].pk
        )
    other_product_item = BacklogItemFactory()
    with pytest.raises(MoveRefused):
        services.item_move(
            item=items[0], actor=owner, to="between", before_id=other_product_item.pk
        )
    assert order_of(product) == before
    assert not any(i.events.exists() for i in items)


def test_a_drop_between_neighbours_that_drifted_apart_follows_the_named_item(product, owner):
    """Someone moved item 4 between 1 and 2 after the page loaded; a drop "between 1 and 2"
    still lands right after 1."""
    items = make_items(product, 6)
    services.item_move(
        item=items[4], actor=owner, to="between", before_id=items[1].pk, after_id=items[2].pk
    )
    services.item_move(
        item=items[5], actor=owner, to="between", before_id=items[1].pk, after_id=items[2].pk
    )
    ids = [i.pk for i in items]
    assert order_of(product) == [ids[0], ids[1], ids[5], ids[4], ids[2], ids[3]]


@pytest.mark.parametrize("to", ["top", "bottom", "position", "between", "up"])
def test_a_move_writes_one_item_row_and_a_constant_number_of_queries_at_10000_items(
    product, owner, to, django_assert_max_num_queries
):
    """Guards against a move touching or reading more rows as the backlog grows."""
    items = make_items(product, 10_000)
    kw = {
        "position": {"position": 5000},
        "between": {"before_id": items[7000].pk, "after_id": items[7001].pk},
    }.get(to, {})
    counter = WriteCounter()
    # A position also counts the open items, to walk to it from the nearer end.
    most = 9 if to == "position" else 8
    with django_assert_max_num_queries(most), connection.execute_wrapper(counter):
        result = services.item_move(item=items[3000], actor=owner, to=to, **kw)
    assert result.moved and not result.rebalanced
    assert counter.rows == {"backlog_backlogitem": 1, "backlog_itemevent": 1}


def test_apply_score_order_keeps_pins_in_place_and_undo_restores(product, owner):
    items = make_items(product, 6)
    ids = [i.pk for i in items]
    # Score ranks: item 5 best ... item 0 worst; item 2 is pinned at position 3.
    for rank, item in enumerate(reversed(items), start=1):
        ItemScore.objects.create(
            item=item,
            product=product,
            method="benefit_per_effort",
            rank=rank,
            computed_at="2026-11-01T00:00Z",
        )
    services.item_pin(item=items[2], actor=owner, pinned=True)
    before = order_of(product)
    snapshot = services.order_apply_scores(product=product, actor=owner)
    assert order_of(product) == [ids[5], ids[4], ids[2], ids[3], ids[1], ids[0]]
    assert snapshot.keys and snapshot.actor == owner
    newcomer = BacklogItem.objects.create(product=product, title="New", rank_key="b00")
    services.order_undo(product=product, actor=owner)
    assert order_of(product) == [*before, newcomer.pk]
    assert OrderSnapshot.objects.get(pk=snapshot.pk).undone_at is not None
    assert services.order_undo(product=product, actor=owner) is None  # nothing left to undo


def test_unscored_items_follow_the_ranked_ones_in_their_manual_order(product, owner):
    items = make_items(product, 4)
    ItemScore.objects.create(
        item=items[3],
        product=product,
        method="benefit_per_effort",
        rank=1,
        computed_at="2026-11-01T00:00Z",
    )
    services.order_apply_scores(product=product, actor=owner)
    assert order_of(product) == [items[3].pk, items[0].pk, items[1].pk, items[2].pk]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_moves_on_postgresql_leave_a_consistent_order(product, owner):
    require_postgresql()
    items = make_items(product, 40)
    errors: list[BaseException] = []
    moves_made: list[int] = []

    def mover(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(25):
                item = rng.choice(items)
                to = rng.choice(["top", "bottom", "up", "down", "position", "between"])
                kw: dict = {}
                if to == "position":
                    kw = {"position": rng.randint(1, 40)}
                elif to == "between":
                    other = rng.choice([i for i in items if i.pk != item.pk])
                    kw = {"before_id": other.pk}
                with contextlib.suppress(MoveRefused):
                    if services.item_move(item=item, actor=owner, to=to, **kw).moved:
                        moves_made.append(1)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=mover, args=(seed,)) for seed in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    keys = list(BacklogItem.objects.filter(product=product).values_list("rank_key", flat=True))
    assert len(keys) == 40 and len(set(keys)) == 40
    assert sorted(order_of(product)) == sorted(i.pk for i in items)
    # Every move that reported success wrote its row and its history, none half-done; and
    # the keys still read as one strict order (no two equal, none past the length limit).
    moved = sum(i.events.filter(kind="moved").count() for i in items)
    assert moved == len(moves_made) > 0
    assert all(len(k) <= ordering.MAX_KEY_LENGTH for k in keys)


def test_a_position_past_the_end_goes_to_the_bottom_and_says_which_position(product, owner):
    items = make_items(product, 44)
    result = services.item_move(item=items[3], actor=owner, to="position", position=9999)
    assert result.moved and result.at_end == "bottom"
    assert result.position == 44
    assert order_of(product)[-1] == items[3].pk


@pytest.mark.parametrize("position", [0, -3, None])
def test_a_position_below_one_is_refused_and_nothing_moves(product, owner, position):
    items = make_items(product, 5)
    before = order_of(product)
    with pytest.raises(MoveRefused, match="position of 1 or more"):
        services.item_move(item=items[3], actor=owner, to="position", position=position)
    assert order_of(product) == before
    assert not items[3].events.exists()


@pytest.mark.parametrize("status", ["done", "rejected", "live"])
@pytest.mark.parametrize("to", ["up", "down", "top", "bottom", "position", "between"])
def test_a_closed_item_cannot_be_moved(product, owner, status, to):
    items = make_items(product, 5)
    BacklogItem.objects.filter(pk=items[2].pk).update(status=status)
    items[2].refresh_from_db()
    before = order_of(product)
    kw = {"position": {"position": 1}, "between": {"before_id": items[0].pk}}.get(to, {})
    with pytest.raises(MoveRefused, match="only open items"):
        services.item_move(item=items[2], actor=owner, to=to, **kw)
    assert order_of(product) == before
    assert not items[2].events.exists()


def test_up_and_down_step_over_closed_items_to_the_next_open_one(product, owner):
    """Closed items have no manual rank: a step that only passed one would change nothing
    the person can see in the ranks."""
    items = make_items(product, 5)
    ids = [i.pk for i in items]
    BacklogItem.objects.filter(pk__in=[ids[1], ids[2]]).update(status="done")
    result = services.item_move(item=items[3], actor=owner, to="up")
    assert result.moved
    assert order_of(product) == [ids[3], ids[0], ids[1], ids[2], ids[4]]
    services.item_move(item=items[3], actor=owner, to="down")
    assert order_of(product).index(ids[3]) > order_of(product).index(ids[0])


def test_up_on_the_first_open_item_moves_nothing_even_below_a_closed_one(product, owner):
    items = make_items(product, 3)
    BacklogItem.objects.filter(pk=items[0].pk).update(status="done")
    before = order_of(product)
    result = services.item_move(item=items[1], actor=owner, to="up")
    assert not result.moved and result.at_end == "top"
    assert order_of(product) == before
    result = services.item_move(item=items[2], actor=owner, to="down")
    assert not result.moved and result.at_end == "bottom"


def test_a_position_counts_open_items_only(product, owner):
    """Position 2 is manual rank 2: the closed items between do not count."""
    items = make_items(product, 6)
    ids = [i.pk for i in items]
    BacklogItem.objects.filter(pk__in=[ids[0], ids[1]]).update(status="rejected")
    result = services.item_move(item=items[5], actor=owner, to="position", position=2)
    assert result.moved and result.position == 2
    open_order = [pk for pk in order_of(product) if pk not in (ids[0], ids[1])]
    assert open_order == [ids[2], ids[5], ids[3], ids[4]]


def test_a_position_near_the_end_is_found_from_the_end_not_by_an_offset_over_the_list(
    product, owner
):
    items = make_items(product, 300)
    ref = [i.pk for i in items]
    from django.test.utils import CaptureQueriesContext

    for position in (297, 300, 150, 2):
        moving = items[position % 7]
        with CaptureQueriesContext(connection) as ctx:
            result = services.item_move(item=moving, actor=owner, to="position", position=position)
        reference_move(ref, moving.pk, "position", position=position)
        assert order_of(product) == ref and result.position == position
        offsets = [
            int(n) for q in ctx.captured_queries for n in re.findall(r"OFFSET (\d+)", q["sql"])
        ]
        assert all(offset <= min(position, 300 - position) for offset in offsets), offsets


def test_two_items_of_a_product_can_never_share_a_rank_key(product):
    """On PostgreSQL a deferrable unique constraint, on SQLite a unique index (migration
    0008): either way the database itself refuses a second item on the same key."""
    from django.db import IntegrityError, transaction

    first, second = BacklogItemFactory.create_batch(2, product=product)
    with pytest.raises(IntegrityError), transaction.atomic():
        BacklogItem.objects.filter(pk=second.pk).update(rank_key=first.rank_key)
    second.refresh_from_db()
    assert second.rank_key != first.rank_key
