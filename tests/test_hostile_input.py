"""Never a 500 for bad input: each defect the security review found, pinned.

Every request goes through a client that returns a 500 instead of raising, so a failure
reads as the status the person would have seen.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from backlog.models import (
    BacklogItem,
    Decision,
    GoLiveSignature,
    ItemStatus,
    ProductRoleKind,
)
from backlog.services import sessions
from prioritisation.models import VotingRound
from tests.factories import BacklogItemFactory, give_score_ranks, open_round

pytestmark = pytest.mark.django_db

JSON = "application/json"
AMIGOS = [
    ProductRoleKind.SPONSOR,
    ProductRoleKind.BUSINESS_ANALYST,
    ProductRoleKind.LEAD_ENGINEER,
    ProductRoleKind.DELIVERY_LEAD,
]


def client_for(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.fixture
def items(product):
    made = [BacklogItemFactory(product=product, title=f"Item {n}") for n in range(1, 6)]
    give_score_ranks(made)
    return made


@pytest.fixture
def done_item(product):
    return BacklogItemFactory(product=product, status=ItemStatus.DONE, done_at=timezone.now())


@pytest.fixture
def amigos(make_member, product):
    return {role: make_member(product=product, roles=[role]) for role in AMIGOS}


@pytest.fixture
def session(product):
    made, _ = sessions.session_for_week(product=product, day=sessions.local_today(product))
    return made


@pytest.fixture
def owner_client(owner):
    return client_for(owner)


@pytest.fixture
def voter(make_member, product, organisation):
    cohort = organisation.cohorts.get(name="Citizens")
    return make_member(product=product, roles=[ProductRoleKind.BUSINESS_VOTER], cohort=cohort)


@pytest.fixture
def ranked_round(product, owner, items):
    return open_round(product, owner, title="Spring priorities")


# ---------------------------------------------------------------- next: same-site paths only


def session_actions(session, item) -> dict[str, tuple[str, dict]]:
    """Each show-and-tell action that goes back to ``next``, with a valid form."""
    return {
        "sign": (
            reverse("backlog:go_live_sign", args=[session.pk, item.pk]),
            {"role": ProductRoleKind.SPONSOR},
        ),
        "withdraw": (
            reverse("backlog:go_live_withdraw", args=[session.pk, item.pk]),
            {"role": ProductRoleKind.SPONSOR},
        ),
        "next-up": (reverse("backlog:next_up_confirm", args=[session.pk]), {}),
        "decision": (
            reverse("backlog:decision_add", args=[session.pk]),
            {"kind": "decision", "text": "Ship it"},
        ),
    }


@pytest.mark.parametrize("action", ["sign", "withdraw", "next-up", "decision"])
@pytest.mark.parametrize(
    "target", ["abc", "backlog:home", "session_detail", "javascript:alert(1)", "", "?x=1"]
)
def test_a_next_that_is_not_a_same_site_path_goes_back_to_the_session(
    session, amigos, done_item, action, target
):
    """``redirect("abc")`` would look "abc" up as a view name and answer 500."""
    sponsor = client_for(amigos[ProductRoleKind.SPONSOR])
    url, data = session_actions(session, done_item)[action]
    response = sponsor.post(url, {**data, "next": target})
    assert response.status_code == 302
    assert response.url == reverse("backlog:session_detail", args=[session.pk])


def test_a_same_site_next_is_followed_with_its_query(session, amigos, done_item):
    sponsor = client_for(amigos[ProductRoleKind.SPONSOR])
    back = reverse("backlog:session_detail", args=[session.pk]) + "?section=golive"
    url, data = session_actions(session, done_item)["sign"]
    response = sponsor.post(url, {**data, "next": back})
    assert response.status_code == 302 and response.url == back
    assert GoLiveSignature.objects.filter(item=done_item, role=ProductRoleKind.SPONSOR).exists()


# ---------------------------------------------------------------- NUL bytes


def test_a_nul_byte_in_a_decision_is_refused_with_a_message(session, amigos):
    lead = client_for(amigos[ProductRoleKind.DELIVERY_LEAD])
    response = lead.post(
        reverse("backlog:decision_add", args=[session.pk]), {"kind": "decision", "text": "a\0b"}
    )
    assert response.status_code == 400
    assert b"NUL" in response.content
    assert not Decision.objects.exists()


def test_a_nul_byte_in_a_keep_reason_is_refused(owner, ranked_round):
    response = client_for(owner).post(
        reverse("prioritisation:round_keep", args=[ranked_round.pk]), {"reason": "\0"}
    )
    assert response.status_code == 400
    ranked_round.refresh_from_db()
    assert ranked_round.kept_reason == ""


def test_a_nul_byte_as_a_withdrawn_role_is_refused(session, amigos, done_item):
    sponsor = client_for(amigos[ProductRoleKind.SPONSOR])
    url = reverse("backlog:go_live_withdraw", args=[session.pk, done_item.pk])
    assert sponsor.post(url, {"role": "\0"}).status_code == 400


def test_a_nul_byte_in_the_backlog_query_is_refused(owner_client, product, items):
    url = reverse("backlog:product_backlog", args=[product.pk])
    assert owner_client.get(url, {"after": "\0"}).status_code == 400
    assert owner_client.get(url, {"q\0": "x"}).status_code == 400


def test_a_nul_byte_in_the_listing_after_a_move_is_refused_and_nothing_moves(
    owner_client, product, items
):
    url = reverse("backlog:item_move", args=[items[4].pk])
    response = owner_client.post(url, {"to": "top", "listing": "after=\0"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert BacklogItem.objects.filter(product=product).order_by("rank_key").first() == items[0]


def test_a_nul_byte_in_a_cookie_is_refused(owner_client, product):
    owner_client.cookies["sessionid"] = "aaaaaaaaaaaaaaaa\0"
    assert owner_client.get(reverse("backlog:home")).status_code == 400


def test_the_api_refuses_a_nul_byte_in_a_query_with_json(owner_client, product):
    url = reverse("api:product_items", args=[product.pk])
    response = owner_client.get(url, {"q": "a\0"})
    assert response.status_code == 400
    assert response["Content-Type"] == JSON
    assert "NUL" in response.json()["detail"]


# ---------------------------------------------------------------- integer overflow

HUGE = "9" * 30


def test_a_huge_position_moves_the_item_to_the_bottom(owner_client, product, items):
    response = owner_client.post(
        reverse("backlog:item_move", args=[items[0].pk]), {"to": "position", "position": HUGE}
    )
    assert response.status_code == 302
    assert BacklogItem.objects.filter(product=product).order_by("rank_key").last() == items[0]


@pytest.mark.parametrize("name", ["before_id", "after_id"])
def test_a_huge_neighbour_id_is_a_stale_view_not_an_error(owner_client, product, items, name):
    response = owner_client.post(
        reverse("backlog:item_move", args=[items[0].pk]),
        {"to": "between", name: HUGE},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert b"The backlog changed" in response.content


def test_a_huge_start_in_the_score_order_shows_an_empty_page(owner_client, product, items):
    url = reverse("backlog:product_backlog", args=[product.pk])
    response = owner_client.get(url, {"order": "score", "start": HUGE})
    assert response.status_code == 200


@pytest.mark.parametrize("value", ["²", "٣", "3_0", "-1", " 1e3", "0x10", "1.0", "٣" * 5000])
def test_the_ballot_refuses_a_position_that_is_not_plain_digits(voter, ranked_round, items, value):
    url = reverse("prioritisation:ballot", args=[ranked_round.pk])
    response = client_for(voter).post(url, {f"rank-{items[0].pk}": value})
    assert response.status_code == 422
    assert b"whole number" in response.content or b"start at 1" in response.content
    assert not ranked_round.ballots.exists()


def test_the_ballot_accepts_plain_positions_with_spaces(voter, ranked_round, items):
    url = reverse("prioritisation:ballot", args=[ranked_round.pk])
    response = client_for(voter).post(
        url, {f"rank-{items[0].pk}": " 2 ", f"rank-{items[1].pk}": "1"}
    )
    assert response.status_code == 302
    assert ranked_round.ballots.get().ranking == [[items[1].pk], [items[0].pk]]


def test_a_five_thousand_digit_position_ranks_the_item_last(voter, ranked_round, items):
    """int() refuses more than 4,300 digits (after str.isdigit() let them through)."""
    url = reverse("prioritisation:ballot", args=[ranked_round.pk])
    response = client_for(voter).post(
        url, {f"rank-{items[0].pk}": "1" * 5000, f"rank-{items[1].pk}": "1"}
    )
    assert response.status_code == 302
    assert ranked_round.ballots.get().ranking == [[items[1].pk], [items[0].pk]]


def test_a_five_thousand_digit_count_of_dots_is_over_the_limit(voter, product, owner, items):
    round = open_round(product, owner, title="Dots", method="dots")
    url = reverse("prioritisation:ballot", args=[round.pk])
    response = client_for(voter).post(url, {f"dots-{items[0].pk}": "1" * 5000})
    assert response.status_code == 422
    assert f"Dots for “{items[0].title}”: at most 3 on one item.".encode() in response.content
    assert not round.ballots.exists()


@pytest.mark.parametrize("value", ["²", "٣", "1.5", "-0x1"])
def test_dot_voting_refuses_dots_that_are_not_plain_digits(voter, product, owner, items, value):
    round = open_round(product, owner, title="Dots", method="dots")
    url = reverse("prioritisation:ballot", args=[round.pk])
    response = client_for(voter).post(url, {f"dots-{items[0].pk}": value})
    assert response.status_code == 422
    assert b"whole number" in response.content


# ---------------------------------------------------------------- round dates


@pytest.mark.parametrize(
    ("opens", "closes"),
    [("0001-01-01T00:00", "2030-01-01T00:00"), ("2030-01-01T00:00", "9999-12-31T23:59")],
)
def test_a_round_outside_years_2000_to_9999_is_refused_with_a_message(
    owner_client, product, items, opens, closes
):
    data = {
        "title": "Far away",
        "method": "borda",
        "shortlist_size": 3,
        "opens_at": opens,
        "closes_at": closes,
        "dot_budget": 10,
        "dot_max_per_item": 3,
    }
    with timezone.override("America/New_York"):  # 9999-12-31 23:59 here is year 10000 in UTC
        response = owner_client.post(
            reverse("prioritisation:round_create", args=[product.pk]), data
        )
    assert response.status_code == 422
    assert b"between 2000 and 9999" in response.content
    assert not VotingRound.objects.filter(title="Far away").exists()


def test_the_round_service_refuses_times_outside_years_2000_to_9999(product, owner, items):
    """The form and any other caller: year 1 in London was stored, then served by the API
    as 0001-01-01T00:00:00-00:01:15, which is not an RFC 3339 time."""
    from prioritisation import services

    with pytest.raises(ValidationError) as refused:
        services.round_create(
            product=product,
            actor=owner,
            title="Ancient",
            method="borda",
            opens_at=datetime(1, 1, 1, tzinfo=UTC),
            closes_at=datetime(2030, 1, 1, tzinfo=UTC),
            shortlist_size=3,
        )
    assert "opens_at" in refused.value.message_dict


# ---------------------------------------------------------------- API: JSON, pagination, types


def deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def api_writes(product, item, round) -> list[tuple[str, str]]:
    return [
        ("post", reverse("api:product_items", args=[product.pk])),
        ("patch", reverse("api:item_detail", args=[item.pk])),
        ("put", reverse("api:item_estimates", args=[item.pk])),
        ("put", reverse("api:round_ballot", args=[round.pk])),
    ]


@pytest.mark.parametrize("depth", [100_000, 5_000, 200])
def test_deeply_nested_json_is_refused_on_every_api_write(
    owner, voter, product, items, ranked_round, depth
):
    for method, url in api_writes(product, items[0], ranked_round):
        client = client_for(voter if "ballot" in url else owner)
        response = getattr(client, method)(url, deep(depth), content_type=JSON)
        assert response.status_code == 400, (url, response.status_code)
        assert "nested" in response.json()["detail"]


def test_json_with_a_lone_surrogate_is_refused(owner_client, product):
    url = reverse("api:product_items", args=[product.pk])
    response = owner_client.post(url, '{"title": "a\\ud800b"}', content_type=JSON)
    assert response.status_code == 400
    response = owner_client.post(url, '{"title": "x", "\\udfff": 1}', content_type=JSON)
    assert response.status_code == 400


def test_json_nan_and_infinity_are_refused(owner_client, product, items):
    url = reverse("api:item_detail", args=[items[0].pk])
    for body in ('{"effort": NaN}', '{"effort": Infinity}', '{"effort": -Infinity}'):
        assert owner_client.patch(url, body, content_type=JSON).status_code == 400, body


def list_urls(product) -> list[str]:
    return [
        reverse("api:product_list"),
        reverse("api:metric_list"),
        reverse("api:product_rounds", args=[product.pk]),
        reverse("api:product_sessions", args=[product.pk]),
        reverse("api:product_items", args=[product.pk]),
    ]


def test_a_huge_limit_is_capped_on_every_list(make_member, product, items, session, ranked_round):
    lead = client_for(
        make_member(
            product=product, roles=[ProductRoleKind.PRODUCT_OWNER, ProductRoleKind.DELIVERY_LEAD]
        )
    )
    for url in list_urls(product):
        response = lead.get(url, {"limit": "99999999999999999999"})
        assert response.status_code == 200, url
        assert response.json()["results"], url
        assert response.json()["next"] is None, url  # capped at 1,000, all on one page


@pytest.mark.parametrize(
    "params",
    [
        {"offset": "null"},
        {"limit": "null"},
        {"limit": "0"},
        {"limit": "-1"},
        {"offset": "-5"},
        {"limit": "²"},
        {"offset": "1.5"},
        {"offset": "0"},  # lists page by cursor
        {"cursor": "null"},
        {"cursor": HUGE},
    ],
)
def test_a_limit_offset_or_cursor_that_is_not_one_is_refused(
    make_member, product, items, session, params
):
    lead = client_for(
        make_member(
            product=product, roles=[ProductRoleKind.PRODUCT_OWNER, ProductRoleKind.DELIVERY_LEAD]
        )
    )
    for url in list_urls(product):
        response = lead.get(url, params)
        assert response.status_code == 400, url
        assert set(response.json()) <= {"limit", "offset", "cursor"}


@pytest.mark.parametrize("title", [0, 1.5, True, [], {}, None])
def test_a_title_must_be_text(owner_client, product, title):
    url = reverse("api:product_items", args=[product.pk])
    response = owner_client.post(url, json.dumps({"title": title}), content_type=JSON)
    assert response.status_code == 400
    assert "title" in response.json()
    assert not BacklogItem.objects.filter(product=product).exists()


@pytest.mark.parametrize("effort", ["", "  ", "abc", True, [], "NaN", "Infinity", "1e400"])
def test_an_effort_must_be_a_number_or_null(owner_client, items, effort):
    url = reverse("api:item_detail", args=[items[0].pk])
    response = owner_client.patch(url, json.dumps({"effort": effort}), content_type=JSON)
    assert response.status_code == 400
    assert "effort" in response.json()


def test_the_round_form_accepts_a_date_in_range(owner_client, product, items):
    now = timezone.localtime()
    data = {
        "title": "Near",
        "method": "borda",
        "shortlist_size": 3,
        "opens_at": now.strftime("%Y-%m-%dT%H:%M"),
        "closes_at": (now + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
        "dot_budget": 10,
        "dot_max_per_item": 3,
    }
    response = owner_client.post(reverse("prioritisation:round_create", args=[product.pk]), data)
    assert response.status_code == 302
