"""The load benchmark's after-the-run checks: they find a lost move or ballot, and they
agree with the services about where a move puts an item (so a check that passes means the
writes are there, not that the check is blind)."""

from __future__ import annotations

import random

import pytest

from backlog import ordering, services
from backlog.models import BacklogItem, ItemEvent, ItemEventKind, ProductRoleKind
from backlog.services import MoveRefused
from bench.load import _check_ballots, _check_moves, _state
from prioritisation.models import Ballot
from prioritisation.services import ballot_submit
from tests.factories import give_score_ranks, open_round

pytestmark = pytest.mark.django_db


def make_items(product, n: int) -> list[BacklogItem]:
    keys = ordering.spread_keys(n)
    return BacklogItem.objects.bulk_create(
        BacklogItem(product=product, title=f"Item {i}", rank_key=keys[i]) for i in range(n)
    )


def order_of(product) -> list[int]:
    return list(
        BacklogItem.objects.filter(product=product)
        .order_by("rank_key")
        .values_list("pk", flat=True)
    )


def send_moves(product, people, count: int, rng: random.Random) -> list[dict]:
    """Moves of every kind, as the locust users send them, made by the real service and
    recorded with its answer as the locust users record them."""
    sent = []
    for n in range(count):
        person = people[n % len(people)]
        order = order_of(product)
        item = rng.choice(order)
        move = {"user": person.username, "product": product.pk, "item": item}
        move.update(
            to=rng.choice(["up", "down", "top", "bottom", "position", "between", "between"]),
            before_id=None,
            after_id=None,
            position=None,
        )
        if move["to"] == "position":
            move["position"] = rng.randint(1, len(order) + 3)
        elif move["to"] == "between":
            others = [pk for pk in order if pk != item]
            at = rng.randint(0, len(others))
            move["before_id"] = others[at - 1] if at else None
            move["after_id"] = others[at] if at < len(others) else None
            if rng.random() < 0.1 and at and at < len(others):  # a stale view, refused
                move["before_id"], move["after_id"] = move["after_id"], move["before_id"]
        try:
            result = services.item_move(
                item=BacklogItem.objects.get(pk=item),
                actor=person,
                to=move["to"],
                position=move["position"],
                before_id=move["before_id"],
                after_id=move["after_id"],
            )
        except MoveRefused:
            move["outcome"] = "refused"
        else:
            move["outcome"] = "moved" if result.moved else "already"
        sent.append(move)
    return sent


@pytest.fixture
def owners(make_member, product):
    return [make_member(product=product, roles=[ProductRoleKind.PRODUCT_OWNER]) for _ in "ab"]


def seed_of(product, people) -> dict:
    return {"products": [product.pk], "accounts": [{"username": p.username} for p in people]}


def test_replaying_the_move_history_gives_the_order_the_services_made(product, owners):
    """Checked every few moves: a later move to the top or bottom can hide a wrong replay."""
    make_items(product, 12)
    seed = seed_of(product, owners)
    rng = random.Random(7)
    outcomes = set()
    for _ in range(12):
        before = _state(seed)
        sent = send_moves(product, owners, 8, rng)

        checked = _check_moves(sent, before, _state(seed))

        assert checked["history_rows"] == checked.get("moves_moved", 0)
        assert (checked["lost"], checked["misplaced"], checked["products_differing"]) == (0, 0, 0)
        outcomes |= {(m["to"], m["outcome"]) for m in sent}
    kinds = {"up", "down", "top", "bottom", "position", "between"}
    assert {to for to, outcome in outcomes if outcome == "moved"} == kinds
    assert ("between", "refused") in outcomes


def test_an_acknowledged_move_without_its_history_row_is_lost(product, owners):
    make_items(product, 8)
    seed = seed_of(product, owners)
    before = _state(seed)
    sent = send_moves(product, owners, 20, random.Random(3))
    last_moved = next(m for m in reversed(sent) if m["outcome"] == "moved")
    ItemEvent.objects.filter(item_id=last_moved["item"], kind=ItemEventKind.MOVED).order_by(
        "-pk"
    ).first().delete()

    assert _check_moves(sent, before, _state(seed))["lost"] == 1


def test_a_stray_history_row_does_not_hide_the_persons_later_moves(product, owners):
    """A move of an earlier run that committed late shows up first in the person's
    history; their moves after it are still matched, and it is replayed from its row."""
    items = make_items(product, 10)
    seed = seed_of(product, owners)
    before = _state(seed)
    services.item_move(item=items[-1], actor=owners[0], to="top")  # sent by no one here
    sent = send_moves(product, owners, 30, random.Random(11))

    checked = _check_moves(sent, before, _state(seed))

    assert checked["unexplained_history_rows"] == 1
    assert (checked["lost"], checked["misplaced"], checked["products_differing"]) == (0, 0, 0)


def test_an_order_that_differs_from_the_history_is_reported_misplaced(product, owners):
    first, second, *_ = make_items(product, 8)
    seed = seed_of(product, owners)
    before = _state(seed)
    sent = send_moves(product, owners, 20, random.Random(5))
    a, b = BacklogItem.objects.filter(pk__in=[first.pk, second.pk]).order_by("pk")
    BacklogItem.objects.filter(pk=a.pk).update(rank_key="~")  # swap behind the history's back
    BacklogItem.objects.filter(pk=b.pk).update(rank_key=a.rank_key)
    BacklogItem.objects.filter(pk=a.pk).update(rank_key=b.rank_key)

    checked = _check_moves(sent, before, _state(seed))

    assert (checked["lost"], checked["products_differing"], checked["misplaced"]) == (0, 1, 2)


@pytest.fixture
def voting(product, owner, make_member):
    give_score_ranks(make_items(product, 6))
    round = open_round(product, owner)
    voter = make_member(product=product, roles=[ProductRoleKind.BUSINESS_VOTER])
    return round, voter, seed_of(product, [voter])


def vote(round, voter, ranking: list[list[int]]) -> dict:
    ballot_submit(round=round, voter=voter, ranking=ranking)
    return {"user": voter.username, "ranking": ranking, "outcome": "saved"}


def test_the_last_acknowledged_ballot_stored_is_not_lost(voting):
    round, voter, seed = voting
    ids = list(round.candidates.order_by("position").values_list("item_id", flat=True))
    before = _state(seed)
    sent = [vote(round, voter, [[ids[0]], [ids[1]]]), vote(round, voter, [[ids[2], ids[3]]])]

    assert _check_ballots(sent, before, _state(seed)) == {"lost": 0, "acknowledged": 2, "sent": 2}


def test_a_stored_ballot_other_than_the_last_acknowledged_one_is_lost(voting):
    round, voter, seed = voting
    ids = list(round.candidates.order_by("position").values_list("item_id", flat=True))
    before = _state(seed)
    sent = [vote(round, voter, [[ids[0]], [ids[1]]]), vote(round, voter, [[ids[1]], [ids[0]]])]
    Ballot.objects.filter(voter=voter).update(ranking=[[ids[0]], [ids[1]]])

    assert _check_ballots(sent, before, _state(seed))["lost"] == 1


def test_a_ballot_with_fewer_revisions_than_acknowledgements_is_lost(voting):
    round, voter, seed = voting
    ids = list(round.candidates.order_by("position").values_list("item_id", flat=True))
    before = _state(seed)
    sent = [vote(round, voter, [[ids[0]]]) for _ in range(3)]
    Ballot.objects.filter(voter=voter).update(revisions=2)  # one acknowledged write missing

    assert _check_ballots(sent, before, _state(seed))["lost"] == 1


def test_replaying_agrees_with_the_services_when_closed_items_sit_between_open_ones(
    product, owners
):
    """Moves step over done items (they have no rank) and a done item's move is refused:
    the replay must do the same, or every run with done items would report misplaced ones."""
    items = make_items(product, 14)
    BacklogItem.objects.filter(pk__in=[i.pk for i in items[1::3]]).update(status="done")
    seed = seed_of(product, owners)
    rng = random.Random(11)
    outcomes = set()
    for _ in range(12):
        before = _state(seed)
        sent = send_moves(product, owners, 8, rng)

        checked = _check_moves(sent, before, _state(seed))

        assert (checked["lost"], checked["misplaced"], checked["products_differing"]) == (0, 0, 0)
        outcomes |= {(m["to"], m["outcome"]) for m in sent}
    kinds = {"up", "down", "top", "bottom", "position", "between"}
    assert {to for to, outcome in outcomes if outcome == "moved"} == kinds
