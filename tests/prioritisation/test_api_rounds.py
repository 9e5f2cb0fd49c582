"""API v1 for voting rounds: the rounds list, the live or frozen result and the voter's own
ballot. The permission matrix, refused ballots, impersonation and query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from backlog.models import ProductRoleKind
from prioritisation import services
from prioritisation.models import Ballot, ItemScore, VotingRound
from tests.conftest import client_for
from tests.factories import BacklogItemFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

JSON = "application/json"


def make_items(product, count=4):
    """Open items with stored ranks after the product's existing ones."""
    made = [BacklogItemFactory(product=product, title=f"Choice {n}") for n in range(1, count + 1)]
    start = ItemScore.objects.filter(product=product).count()
    ItemScore.objects.bulk_create(
        ItemScore(
            item=item,
            product=product,
            method="benefit_per_effort",
            rank=rank,
            computed_at=timezone.now(),
        )
        for rank, item in enumerate(made, start + 1)
    )
    return made


def open_round(product, actor, *, method="schulze", title="Spring priorities", size=4, **times):
    now = timezone.now()
    return services.round_create(
        product=product,
        actor=actor,
        title=title,
        method=method,
        opens_at=times.get("opens_at", now - timedelta(hours=1)),
        closes_at=times.get("closes_at", now + timedelta(days=1)),
        shortlist_size=size,
    )


@pytest.fixture
def items(product):
    return make_items(product)


@pytest.fixture
def round(product, owner, items):
    return open_round(product, owner)


@pytest.fixture
def dots_round(product, owner, items):
    return open_round(product, owner, method="dots", title="Dots")


@pytest.fixture
def citizens(organisation):
    return organisation.cohorts.get(name="Citizens")


@pytest.fixture
def voter(make_member, product, citizens):
    return make_member(product=product, roles=[ProductRoleKind.BUSINESS_VOTER], cohort=citizens)


@pytest.fixture
def voter_client(voter):
    return client_for(voter)


def rounds_url(product) -> str:
    return reverse("api:product_rounds", args=[product.pk])


def result_url(round) -> str:
    return reverse("api:round_result", args=[round.pk])


def ballot_url(round) -> str:
    return reverse("api:round_ballot", args=[round.pk])


def put(client, url, data):
    return client.put(url, data, content_type=JSON)


def ids(items) -> list[int]:
    return [item.pk for item in items]


def close_by_time(round) -> None:
    """The closing time has passed but nothing has closed the round yet (no scheduler)."""
    VotingRound.objects.filter(pk=round.pk).update(
        opens_at=timezone.now() - timedelta(days=2), closes_at=timezone.now() - timedelta(hours=1)
    )


# ---------------------------------------------------------------- the permission matrix


def test_anonymous_user_is_refused_on_every_endpoint(client, product, round, items):
    for url in [rounds_url(product), result_url(round), ballot_url(round)]:
        assert client.get(url).status_code in {401, 403}, url
    response = put(client, ballot_url(round), {"ranking": [[items[0].pk]]})
    assert response.status_code in {401, 403}
    assert not Ballot.objects.exists()


def test_user_of_another_organisation_gets_404_for_every_endpoint(
    outsider_client, product, round, items
):
    assert outsider_client.get(rounds_url(product)).status_code == 404
    assert outsider_client.get(result_url(round)).status_code == 404
    assert outsider_client.get(ballot_url(round)).status_code == 404
    assert put(outsider_client, ballot_url(round), {"ranking": [ids(items)]}).status_code == 404
    assert put(outsider_client, ballot_url(round), "garbage").status_code == 404
    assert not Ballot.objects.exists()


def test_a_voter_in_another_organisation_gets_404_not_403(
    make_member, other_organisation, product, round, items
):
    """Even a business voter (of a product elsewhere) learns nothing about this round."""
    other = ProductFactory(organisation=other_organisation)
    stranger = make_member(
        org=other_organisation, product=other, roles=[ProductRoleKind.BUSINESS_VOTER]
    )
    client = client_for(stranger)
    assert put(client, ballot_url(round), {"ranking": [ids(items)]}).status_code == 404
    assert client.get(result_url(round)).status_code == 404
    assert not Ballot.objects.exists()


def test_user_in_no_organisation_gets_404(round):
    lonely = client_for(UserFactory())
    assert lonely.get(result_url(round)).status_code == 404
    assert lonely.get(ballot_url(round)).status_code == 404


@pytest.mark.parametrize(
    "roles, admin",
    [
        ([ProductRoleKind.PRODUCT_OWNER], False),
        ([ProductRoleKind.VIEWER], False),
        ([ProductRoleKind.SPONSOR], False),
        ([], True),
        ([], False),
    ],
)
def test_only_business_voters_may_vote_or_see_a_ballot(
    make_member, product, round, items, roles, admin
):
    client = client_for(make_member(product=product, roles=roles, admin=admin))
    response = put(client, ballot_url(round), {"ranking": [ids(items)]})
    assert response.status_code == 403
    assert "business voters" in response.json()["detail"]
    assert client.get(ballot_url(round)).status_code == 403
    assert not Ballot.objects.exists()


def test_non_voter_gets_403_not_400_for_an_invalid_ballot(viewer_client, round):
    assert put(viewer_client, ballot_url(round), {"ranking": "first"}).status_code == 403


def test_any_member_of_the_organisation_may_read_rounds_and_results(make_member, product, round):
    """As the pages: the rounds list and results need no role on the product."""
    client = client_for(make_member())
    assert client.get(rounds_url(product)).status_code == 200
    assert client.get(result_url(round)).status_code == 200


# ---------------------------------------------------------------- the rounds list


def test_rounds_list_shows_the_products_rounds_with_their_shortlist(
    viewer_client, owner, product, organisation, round, items
):
    later = make_items(product, 2)
    other_product = ProductFactory(organisation=organisation)
    make_items(other_product, 2)
    open_round(other_product, owner, title="Not this product", size=2)
    newer = open_round(product, owner, method="dots", title="Dots", size=6)
    response = viewer_client.get(rounds_url(product))
    assert response.status_code == 200
    body = response.json()
    latest, earlier = body["results"]  # newest opening first
    assert [latest["id"], latest["title"], latest["method"]] == [newer.pk, "Dots", "dots"]
    assert earlier["id"] == round.pk
    assert earlier["title"] == "Spring priorities" and earlier["method"] == "schulze"
    assert earlier["candidates"] == ids(items)
    assert latest["candidates"] == ids(items) + ids(later)
    assert earlier["closed_at"] is None and earlier["cohort_weighting"] is True
    assert set(earlier) == {
        "id",
        "title",
        "method",
        "opens_at",
        "closes_at",
        "closed_at",
        "cohort_weighting",
        "candidates",
    }


def test_rounds_list_query_count_does_not_grow_with_rounds(
    owner_client, owner, product, django_assert_max_num_queries
):
    make_items(product, 12)
    for n in range(15):
        open_round(product, owner, title=f"Round {n}", size=2 + n % 10)
    with django_assert_max_num_queries(7):
        response = owner_client.get(rounds_url(product))
    assert len(response.json()["results"]) == 15
    assert all(len(r["candidates"]) >= 2 for r in response.json()["results"])


# ---------------------------------------------------------------- the result


def test_live_result_counts_the_ballots_so_far(viewer_client, voter_client, round, items):
    a, b, c, d = ids(items)
    assert put(voter_client, ballot_url(round), {"ranking": [[c], [a, b]]}).status_code == 201
    response = viewer_client.get(result_url(round))
    assert response.status_code == 200
    result = response.json()
    assert result["round"] == round.pk
    assert result["closed"] is False
    assert result["method"] == "schulze"
    assert result["ballots"] == 1
    assert result["candidates"] == [a, b, c, d]
    assert result["ranking"] == [[c], [a, b], [d]]
    assert len(result["pairwise"]) == 4 and all(len(row) == 4 for row in result["pairwise"])
    c_over_d = result["pairwise"][2][3]
    assert c_over_d > result["pairwise"][3][2]
    citizens = str(round.product.organisation.cohorts.get(name="Citizens").pk)
    assert result["by_cohort"] == {citizens: [[c], [a, b], [d]]}
    assert result["turnout"][citizens] == {
        "name": "Citizens",
        "voted": 1,
        "eligible": 1,
        "voice_weight": result["turnout"][citizens]["voice_weight"],
    }
    assert result["voter_agreement"] is None  # one voter: nothing to compare
    assert set(result["scores"]) <= {str(pk) for pk in (a, b, c, d)}
    assert "vote_vs_score" in result and "score_order" in result


def test_result_with_no_ballots_is_one_tie(viewer_client, round, items):
    result = viewer_client.get(result_url(round)).json()
    assert result["ballots"] == 0
    assert result["ranking"] == [ids(items)]
    assert result["vote_vs_score"] is None


def test_a_round_past_its_closing_time_is_closed_and_frozen_on_first_look(
    viewer_client, voter, round, items
):
    a, b, c, d = ids(items)
    services.ballot_submit(round=round, voter=voter, ranking=[[d], [c]])
    close_by_time(round)
    result = viewer_client.get(result_url(round)).json()
    assert result["closed"] is True
    assert result["ranking"][0] == [d]
    round.refresh_from_db()
    assert round.closed_at is not None and round.result["ranking"][0] == [d]
    # Frozen: a ballot changed behind the API's back does not move the result.
    Ballot.objects.filter(round=round).update(ranking=[[a]])
    assert viewer_client.get(result_url(round)).json()["ranking"][0] == [d]


def test_result_query_count_does_not_grow_with_ballots(
    viewer_client, make_member, product, citizens, round, items, django_assert_max_num_queries
):
    a, b, c, d = ids(items)
    voters = [
        make_member(product=product, roles=[ProductRoleKind.BUSINESS_VOTER], cohort=citizens)
        for _ in range(40)
    ]
    Ballot.objects.bulk_create(
        Ballot(round=round, voter=v, cohort=citizens, ranking=[[a], [b, c]] if n % 2 else [[d]])
        for n, v in enumerate(voters)
    )
    # 12: the first look after ballots also reads, checks and keeps the round's tally.
    with django_assert_max_num_queries(12):
        response = viewer_client.get(result_url(round))
    assert response.json()["ballots"] == 40
    assert response.json()["turnout"][str(citizens.pk)]["eligible"] == 40


# ---------------------------------------------------------------- the ballot


def test_a_voter_casts_then_replaces_a_ranked_ballot(voter_client, voter, citizens, round, items):
    a, b, c, d = ids(items)
    assert voter_client.get(ballot_url(round)).status_code == 404  # not voted yet
    response = put(voter_client, ballot_url(round), {"ranking": [[c], [a, b]]})
    assert response.status_code == 201
    assert response.json()["ranking"] == [[c], [a, b]]
    assert response.json()["cohort"] == citizens.pk
    assert response.json()["revisions"] == 1
    response = put(voter_client, ballot_url(round), {"ranking": [[d], [c]]})
    assert response.status_code == 200
    assert response.json()["revisions"] == 2
    ballot = Ballot.objects.get()
    assert ballot.voter == voter and ballot.round == round and ballot.ranking == [[d], [c]]
    mine = voter_client.get(ballot_url(round))
    assert mine.status_code == 200
    assert mine.json()["ranking"] == [[d], [c]] and mine.json()["round"] == round.pk


def test_a_voter_spends_dots(voter_client, dots_round, items):
    a, b, *_ = ids(items)
    response = put(voter_client, ballot_url(dots_round), {"points": {str(a): 3, str(b): 2}})
    assert response.status_code == 201
    assert response.json()["points"] == {str(a): 3, str(b): 2}
    assert Ballot.objects.get().points == {str(a): 3, str(b): 2}


def test_a_ballot_cannot_be_cast_for_someone_else(
    voter_client, voter, make_member, product, round, items
):
    """The voter is always the signed-in user: a "voter" in the body is ignored."""
    other = make_member(product=product, roles=[ProductRoleKind.BUSINESS_VOTER])
    body = {"ranking": [ids(items)[:1]], "voter": other.pk, "voter_id": other.pk}
    assert put(voter_client, ballot_url(round), body).status_code == 201
    assert list(Ballot.objects.values_list("voter_id", flat=True)) == [voter.pk]
    assert not Ballot.objects.filter(voter=other).exists()


def test_another_voters_ballot_is_not_shown(voter_client, make_member, product, round, items):
    other = make_member(product=product, roles=[ProductRoleKind.BUSINESS_VOTER])
    services.ballot_submit(round=round, voter=other, ranking=[ids(items)[:1]])
    assert voter_client.get(ballot_url(round)).status_code == 404


def test_a_ballot_for_a_closed_round_is_refused_and_the_old_one_kept(
    voter_client, voter, round, items
):
    a, b, c, d = ids(items)
    services.ballot_submit(round=round, voter=voter, ranking=[[a]])
    close_by_time(round)
    response = put(voter_client, ballot_url(round), {"ranking": [[d]]})
    assert response.status_code == 400
    assert "ballots can no longer be changed" in response.json()["detail"]
    ballot = Ballot.objects.get()
    assert ballot.ranking == [[a]] and ballot.revisions == 1


def test_a_ballot_for_a_round_not_yet_open_is_refused(voter_client, product, owner, items):
    now = timezone.now()
    future = open_round(
        product, owner, opens_at=now + timedelta(days=1), closes_at=now + timedelta(days=2)
    )
    response = put(voter_client, ballot_url(future), {"ranking": [ids(items)[:1]]})
    assert response.status_code == 400
    assert response.json() == {"detail": "This round has not opened yet."}
    assert not Ballot.objects.exists()


@pytest.mark.parametrize(
    "ranking",
    [
        "unknown",  # an item id that is not on the shortlist
        "other_product",  # an item of another product
        "twice",  # the same item in two tiers
    ],
)
def test_a_ranking_with_a_bad_candidate_is_refused_and_nothing_saved(
    voter_client, organisation, round, items, ranking
):
    stranger = BacklogItemFactory(product=ProductFactory(organisation=organisation))
    a = items[0].pk
    body = {
        "unknown": [[a], [999_999]],
        "other_product": [[stranger.pk]],
        "twice": [[a], [a]],
    }[ranking]
    response = put(voter_client, ballot_url(round), {"ranking": body})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("This ballot cannot be counted")
    assert not Ballot.objects.exists()


def test_an_unknown_candidate_message_names_it(voter_client, round):
    response = put(voter_client, ballot_url(round), {"ranking": [[999_999]]})
    assert response.status_code == 400
    assert "unknown candidate 999999" in response.json()["detail"]


@pytest.mark.parametrize(
    "points, message",
    [
        ({"A": 4}, "At most 3 dots may go on one item."),
        ({"A": 3, "B": 3, "C": 3, "D": 2}, "over the budget of 10"),
        ({"999999": 1}, "unknown candidate"),
        ({"first": 1}, "cannot be counted"),
    ],
)
def test_a_dots_ballot_out_of_bounds_is_refused_and_nothing_saved(
    voter_client, dots_round, items, points, message
):
    by_letter = dict(zip("ABCD", ids(items), strict=True))
    body = {str(by_letter.get(k, k)): v for k, v in points.items()}
    response = put(voter_client, ballot_url(dots_round), {"points": body})
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert not Ballot.objects.exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"points": {"1": 1}}, "ranking"),  # dots for a ranked round
        ({"ranking": "first"}, "ranking"),
        ({"ranking": [["x"]]}, "ranking"),
        ({}, "ranking"),
    ],
)
def test_a_ballot_of_the_wrong_shape_is_refused_by_field(voter_client, round, body, field):
    response = put(voter_client, ballot_url(round), body)
    assert response.status_code == 400
    assert field in response.json()
    assert not Ballot.objects.exists()


def test_a_ranking_for_a_dots_round_is_refused(voter_client, dots_round, items):
    response = put(voter_client, ballot_url(dots_round), {"ranking": [ids(items)]})
    assert response.status_code == 400
    assert "points" in response.json()
    assert not Ballot.objects.exists()


def test_a_body_that_is_not_json_is_refused(voter_client, round):
    response = voter_client.put(ballot_url(round), "ranking=1", content_type="text/plain")
    assert response.status_code == 415
    assert not Ballot.objects.exists()


# ---------------------------------------------------------------- schema


def test_openapi_schema_describes_the_round_endpoints_and_is_valid(tmp_path):
    schema = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(schema))
    text = schema.read_text()
    for path in [
        "/api/v1/products/{id}/rounds/",
        "/api/v1/rounds/{id}/result/",
        "/api/v1/rounds/{id}/ballot/",
    ]:
        assert path in text, path


def test_browsable_api_renders_the_round_endpoints(voter_client, product, round, items):
    for url in [rounds_url(product), result_url(round), ballot_url(round)]:
        response = voter_client.get(url, HTTP_ACCEPT="text/html")
        assert response["Content-Type"].startswith("text/html"), url
        assert response.status_code in {200, 404}, url  # 404: no ballot yet
    assert (
        b"Spring priorities"
        in voter_client.get(rounds_url(product), HTTP_ACCEPT="text/html").content
    )
