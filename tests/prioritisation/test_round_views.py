"""Voting pages: who may open, vote, see and adopt; bad ballots; the live results fragment."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from backlog.models import ProductRoleKind
from prioritisation import services
from prioritisation.models import Ballot, VotingRound
from tests.conftest import HTMX, client_for
from tests.factories import BacklogItemFactory, give_score_ranks, open_round

pytestmark = pytest.mark.django_db


@pytest.fixture
def items(product):
    made = [BacklogItemFactory(product=product, title=f"Choice {n}") for n in range(1, 5)]
    give_score_ranks(made)
    return made


@pytest.fixture
def round(product, owner, items):
    return open_round(product, owner, title="Spring priorities")


@pytest.fixture
def voter_client(make_member, product, organisation):
    cohort = organisation.cohorts.get(name="Citizens")
    return client_for(
        make_member(product=product, roles=[ProductRoleKind.BUSINESS_VOTER], cohort=cohort)
    )


def test_the_product_owner_opens_a_round_and_others_cannot(
    owner_client, viewer_client, outsider_client, product, items
):
    url = reverse("prioritisation:round_create", args=[product.pk])
    now = timezone.localtime()
    data = {
        "title": "Q3 vote",
        "method": "borda",
        "shortlist_size": 3,
        "opens_at": now.strftime("%Y-%m-%dT%H:%M"),
        "closes_at": (now + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
        "cohort_weighting": "on",
        "dot_budget": 10,
        "dot_max_per_item": 3,
    }
    assert outsider_client.post(url, data).status_code == 404
    assert viewer_client.post(url, data).status_code == 403
    response = owner_client.post(url, data)
    assert response.status_code == 302
    round = VotingRound.objects.get(title="Q3 vote")
    assert round.candidates.count() == 3 and round.cohort_weighting


def test_a_round_that_closes_before_it_opens_is_refused(owner_client, product, items):
    now = timezone.localtime()
    response = owner_client.post(
        reverse("prioritisation:round_create", args=[product.pk]),
        {
            "title": "Backwards",
            "method": "schulze",
            "shortlist_size": 3,
            "opens_at": now.strftime("%Y-%m-%dT%H:%M"),
            "closes_at": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
            "dot_budget": 10,
            "dot_max_per_item": 3,
        },
    )
    assert response.status_code == 422
    assert b"The round must close after it opens." in response.content
    assert not VotingRound.objects.exists()


def test_a_business_voter_ranks_by_positions_with_a_tie(voter_client, round, items):
    a, b, c, d = (i.pk for i in items)
    url = reverse("prioritisation:ballot", args=[round.pk])
    assert voter_client.get(url).status_code == 200
    response = voter_client.post(
        url, {f"rank-{c}": "1", f"rank-{a}": "2", f"rank-{b}": "2", f"rank-{d}": ""}
    )
    assert response.status_code == 302
    assert Ballot.objects.get(round=round).ranking == [[c], [a, b]]


def test_a_ballot_with_nonsense_positions_is_refused_and_not_saved(voter_client, round, items):
    url = reverse("prioritisation:ballot", args=[round.pk])
    response = voter_client.post(url, {f"rank-{items[0].pk}": "first"})
    assert response.status_code == 422
    assert b"is not a whole number" in response.content
    assert not Ballot.objects.exists()


def test_only_business_voters_see_the_ballot_and_other_organisations_see_nothing(
    owner_client, outsider_client, round
):
    url = reverse("prioritisation:ballot", args=[round.pk])
    assert owner_client.get(url).status_code == 403
    assert outsider_client.get(url).status_code == 404
    assert (
        outsider_client.get(reverse("prioritisation:round_results", args=[round.pk])).status_code
        == 404
    )


def test_a_ballot_after_closing_is_refused_with_a_clear_message(voter_client, round, items):
    services.round_close(round_id=round.pk)
    response = voter_client.post(
        reverse("prioritisation:ballot", args=[round.pk]), {f"rank-{items[0].pk}": "1"}
    )
    assert response.status_code == 422
    assert b"ballots can no longer be changed" in response.content


def test_results_fragment_polls_while_open_and_shows_the_consensus(
    voter_client, viewer_client, round, items
):
    voter_client.post(
        reverse("prioritisation:ballot", args=[round.pk]), {f"rank-{items[2].pk}": "1"}
    )
    url = reverse("prioritisation:round_results", args=[round.pk])
    page = viewer_client.get(url)
    assert page.status_code == 200
    assert b'hx-trigger="every 5s"' in page.content
    fragment = viewer_client.get(url, **HTMX)
    assert b"<html" not in fragment.content and b'id="round-live"' in fragment.content
    assert b"1 ballot so far" in fragment.content  # the live region, swapped out of band
    assert fragment.content.index(b"Choice 3") < fragment.content.index(b"Choice 1")


def test_the_owner_adopts_a_closed_round_and_a_viewer_cannot(
    owner_client, viewer_client, round, items, voter_client
):
    voter_client.post(
        reverse("prioritisation:ballot", args=[round.pk]), {f"rank-{items[3].pk}": "1"}
    )
    services.round_close(round_id=round.pk)
    url = reverse("prioritisation:round_adopt", args=[round.pk])
    assert viewer_client.post(url).status_code == 403
    assert owner_client.post(url).status_code == 302
    round.refresh_from_db()
    assert round.adopted_at is not None


def test_results_page_query_count_does_not_grow_with_ballots(
    round, items, make_member, product, organisation, viewer_client, django_assert_max_num_queries
):
    """Guards against a query per ballot or per candidate in the live results."""
    cohorts = list(organisation.cohorts.all())
    for n in range(40):
        voter = make_member(
            product=product, roles=[ProductRoleKind.BUSINESS_VOTER], cohort=cohorts[n % 3]
        )
        services.ballot_submit(
            round=round, voter=voter, ranking=[[items[n % 4].pk], [items[(n + 1) % 4].pk]]
        )
    with django_assert_max_num_queries(14):
        assert (
            viewer_client.get(reverse("prioritisation:round_results", args=[round.pk])).status_code
            == 200
        )


def test_a_round_past_its_closing_time_is_closed_on_the_first_look(viewer_client, round, items):
    """Without a beat scheduler (the embedded default) the results still freeze on time."""
    VotingRound.objects.filter(pk=round.pk).update(closes_at=timezone.now() - timedelta(seconds=1))
    response = viewer_client.get(reverse("prioritisation:round_results", args=[round.pk]))
    assert b"this result is frozen" in response.content
    assert VotingRound.objects.get(pk=round.pk).closed_at is not None
