"""Voting rounds: shortlists, ballots, cohort weighting, closing, adopting, concurrency."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connections
from django.utils import timezone

from backlog.models import BacklogItem, ProductRoleKind
from prioritisation import results, services
from prioritisation.models import Ballot, VotingRound
from prioritisation.services import BallotRefused
from prioritisation.tasks import close_due_rounds
from tests.conftest import require_postgresql
from tests.factories import BacklogItemFactory, give_score_ranks, open_round

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored_items(product):
    items = [BacklogItemFactory(product=product, title=f"Item {n}") for n in range(1, 6)]
    give_score_ranks(items)
    return items


@pytest.fixture
def voter(make_member, product, cohorts):
    return make_member(
        product=product, roles=[ProductRoleKind.BUSINESS_VOTER], cohort=cohorts["Colleagues"]
    )


def test_a_round_shortlists_the_top_items_by_score(product, owner, scored_items):
    round = open_round(product, owner)
    assert results.candidate_ids(round) == [i.pk for i in scored_items[:4]]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"shortlist_size": 1}, "shortlist_size"),
        ({"method": "coin toss"}, "method"),
        ({"closes_at": timezone.now() - timedelta(days=1)}, "closes_at"),
        ({"method": "dots", "dot_budget": 3, "dot_max_per_item": 5}, "dot_max_per_item"),
    ],
)
def test_bad_round_settings_are_refused_and_nothing_is_saved(
    product, owner, scored_items, changes, field
):
    with pytest.raises(ValidationError) as error:
        open_round(product, owner, **changes)
    assert field in error.value.message_dict
    assert not VotingRound.objects.exists()


def test_a_hand_picked_shortlist_must_be_this_products_open_items(
    product, owner, scored_items, other_product
):
    foreign = BacklogItemFactory(product=other_product)
    with pytest.raises(ValidationError, match="open item of this product"):
        open_round(product, owner, shortlist_size=None, item_ids=[scored_items[0].pk, foreign.pk])


def test_a_voter_ranks_and_changes_their_ballot(product, owner, voter, scored_items):
    round = open_round(product, owner)
    a, b, c, d = (i.pk for i in scored_items[:4])
    services.ballot_submit(round=round, voter=voter, ranking=[[c], [a, b]])
    services.ballot_submit(round=round, voter=voter, ranking=[[d], [c]])
    ballot = Ballot.objects.get(round=round, voter=voter)
    assert ballot.ranking == [[d], [c]] and ballot.revisions == 2
    assert results.compute(round)["ranking"][0] == [d]


@pytest.mark.parametrize(
    ("ranking", "message"),
    [
        ("twice", "more than once"),
        ("stranger", "unknown"),
    ],
)
def test_bad_ballots_are_refused_with_a_reason(
    product, owner, voter, scored_items, ranking, message
):
    round = open_round(product, owner)
    a = scored_items[0].pk
    stranger = scored_items[4].pk  # not on the 4-item shortlist
    tiers = [[a], [a]] if ranking == "twice" else [[stranger]]
    with pytest.raises(BallotRefused, match=message):
        services.ballot_submit(round=round, voter=voter, ranking=tiers)
    assert not Ballot.objects.exists()


def test_only_business_voters_may_vote(product, owner, make_member, scored_items):
    round = open_round(product, owner)
    viewer = make_member(product=product, roles=[ProductRoleKind.VIEWER])
    with pytest.raises(BallotRefused, match="business voters"):
        services.ballot_submit(round=round, voter=viewer, ranking=[[scored_items[0].pk]])


def test_dots_respect_the_budget_and_the_per_item_cap(product, owner, voter, scored_items):
    round = open_round(product, owner, method="dots", dot_budget=5, dot_max_per_item=3)
    a, b = scored_items[0].pk, scored_items[1].pk
    with pytest.raises(BallotRefused, match="At most 3"):
        services.ballot_submit(round=round, voter=voter, points={a: 4})
    with pytest.raises(BallotRefused, match="budget"):
        services.ballot_submit(round=round, voter=voter, points={a: 3, b: 3})
    services.ballot_submit(round=round, voter=voter, points={a: 3, b: 2})
    assert results.compute(round)["ranking"][0] == [a]


def test_cohort_weighting_gives_three_colleagues_the_same_voice_as_one_leader(
    product, owner, make_member, cohorts, scored_items
):
    """Equal voice weights: the leader's a > b (weight 1) against three colleagues' b > a
    (1/3 each) makes P[a, b] = P[b, a] = 1. One person one vote: 1 against 3."""
    round = open_round(product, owner)
    a, b = scored_items[0].pk, scored_items[1].pk
    leader = make_member(
        product=product, roles=[ProductRoleKind.BUSINESS_VOTER], cohort=cohorts["Leaders"]
    )
    services.ballot_submit(round=round, voter=leader, ranking=[[a], [b]])
    for _ in range(3):
        colleague = make_member(
            product=product, roles=[ProductRoleKind.BUSINESS_VOTER], cohort=cohorts["Colleagues"]
        )
        services.ballot_submit(round=round, voter=colleague, ranking=[[b], [a]])
    result = results.compute(round)
    ia, ib = result["candidates"].index(a), result["candidates"].index(b)
    assert result["pairwise"][ia][ib] == pytest.approx(1.0)
    assert result["pairwise"][ib][ia] == pytest.approx(1.0)
    assert result["turnout"][str(cohorts["Colleagues"].pk)]["voted"] == 3
    round.cohort_weighting = False
    round.save()
    flat = results.compute(round)
    assert flat["pairwise"][ib][ia] == pytest.approx(3.0)
    assert flat["ranking"][0] == [b]


def test_closing_freezes_the_result_and_later_ballots_are_refused(
    product, owner, voter, scored_items
):
    round = open_round(product, owner)
    a = scored_items[0].pk
    services.ballot_submit(round=round, voter=voter, ranking=[[a]])
    services.round_close(round_id=round.pk)
    round.refresh_from_db()
    frozen = round.result
    assert round.closed_at and frozen["ballots"] == 1
    with pytest.raises(BallotRefused, match="closed at"):
        services.ballot_submit(round=round, voter=voter, ranking=[[scored_items[1].pk]])
    services.round_close(round_id=round.pk)  # twice: nothing changes
    round.refresh_from_db()
    assert round.result == frozen


def test_the_beat_task_closes_only_rounds_whose_time_is_up(product, owner, scored_items):
    due = open_round(product, owner)
    VotingRound.objects.filter(pk=due.pk).update(closes_at=timezone.now() - timedelta(seconds=1))
    later = open_round(product, owner)
    assert close_due_rounds() == [due.pk]
    assert close_due_rounds() == []
    assert VotingRound.objects.get(pk=later.pk).closed_at is None


def test_adopting_puts_the_vote_order_on_top_and_keeping_needs_a_reason(
    product, owner, voter, scored_items
):
    round = open_round(product, owner)
    a, b, c, d = (i.pk for i in scored_items[:4])
    services.ballot_submit(round=round, voter=voter, ranking=[[d], [c], [b], [a]])
    with pytest.raises(ValidationError):
        services.round_adopt(round=round, actor=owner)  # still open
    round = services.round_close(round_id=round.pk)
    services.round_adopt(round=round, actor=owner)
    order = list(
        BacklogItem.objects.filter(product=product)
        .order_by("rank_key")
        .values_list("pk", flat=True)
    )
    assert order[:4] == [d, c, b, a]
    assert round.adopted_by == owner
    with pytest.raises(ValidationError):
        services.round_keep(round=round, actor=owner, reason="  ")
    services.round_keep(round=round, actor=owner, reason="Statutory deadline for item 1")
    assert "Statutory deadline" in round.kept_reason


@pytest.mark.django_db(transaction=True)
def test_the_same_voter_submitting_in_parallel_ends_with_one_ballot(
    product, owner, voter, scored_items
):
    require_postgresql()
    round = open_round(product, owner)
    ids = [i.pk for i in scored_items[:4]]
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def submit(n: int) -> None:
        try:
            barrier.wait()
            services.ballot_submit(round=round, voter=voter, ranking=[[ids[n % 4]]])
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert Ballot.objects.filter(round=round, voter=voter).count() == 1
    assert Ballot.objects.get(round=round, voter=voter).revisions == 6
