"""API v1 for show-and-tells: the list and one session with its sections. Who may see them
(the product's people or an organisation admin), the content, and query counts."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from backlog.models import (
    GoLiveSignature,
    ItemEvent,
    ItemEventKind,
    ItemStatus,
    ProductRoleKind,
    ShowAndTell,
)
from backlog.services import sessions
from prioritisation.models import BenefitEstimate
from tests.conftest import client_for
from tests.factories import BacklogItemFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

AMIGOS = [
    ProductRoleKind.SPONSOR,
    ProductRoleKind.BUSINESS_ANALYST,
    ProductRoleKind.LEAD_ENGINEER,
    ProductRoleKind.DELIVERY_LEAD,
]


@pytest.fixture
def amigos(make_member, product):
    return {role: make_member(product=product, roles=[role]) for role in AMIGOS}


@pytest.fixture
def lead(amigos):
    return amigos[ProductRoleKind.DELIVERY_LEAD]


@pytest.fixture
def session(product, lead):
    made, _ = sessions.session_for_week(
        product=product, day=sessions.local_today(product), actor=lead
    )
    return made


@pytest.fixture
def hours(organisation):
    return organisation.metrics.get(name="Staff hours saved")


def finish(product, actor, title="Finished thing", effort=3):
    """A done item with the history of who moved it there."""
    item = BacklogItemFactory(
        product=product, title=title, status=ItemStatus.DONE, done_at=timezone.now(), effort=effort
    )
    ItemEvent.objects.create(
        item=item, actor=actor, kind=ItemEventKind.STATUS, data={"from": "ready", "to": "done"}
    )
    return item


def sessions_url(product) -> str:
    return reverse("api:product_sessions", args=[product.pk])


def session_url(session) -> str:
    return reverse("api:session_detail", args=[session.pk])


def name(user) -> str:
    return user.get_full_name()


# ---------------------------------------------------------------- the permission matrix


def test_anonymous_user_is_refused(client, product, session):
    assert client.get(sessions_url(product)).status_code in {401, 403}
    assert client.get(session_url(session)).status_code in {401, 403}


def test_user_of_another_organisation_gets_404(outsider_client, product, session):
    assert outsider_client.get(sessions_url(product)).status_code == 404
    assert outsider_client.get(session_url(session)).status_code == 404


def test_user_in_no_organisation_gets_404(product, session):
    lonely = client_for(UserFactory())
    assert lonely.get(sessions_url(product)).status_code == 404
    assert lonely.get(session_url(session)).status_code == 404


def test_a_member_without_a_role_on_the_product_gets_403(make_member, product, session):
    client = client_for(make_member())
    for url in [sessions_url(product), session_url(session)]:
        response = client.get(url)
        assert response.status_code == 403, url
        assert "product's people" in response.json()["detail"]


def test_a_role_on_another_product_of_the_organisation_is_not_enough(
    make_member, organisation, product, session
):
    elsewhere = ProductFactory(organisation=organisation)
    client = client_for(make_member(product=elsewhere, roles=[ProductRoleKind.PRODUCT_OWNER]))
    assert client.get(sessions_url(product)).status_code == 403
    assert client.get(session_url(session)).status_code == 403


@pytest.mark.parametrize(
    "roles, admin",
    [
        ([ProductRoleKind.VIEWER], False),
        ([ProductRoleKind.BUSINESS_VOTER], False),
        ([ProductRoleKind.KEY_USER], False),
        ([ProductRoleKind.PRODUCT_OWNER], False),
        ([], True),  # an organisation admin, without a role on the product
    ],
)
def test_the_products_people_and_admins_may_read_sessions(
    make_member, product, session, roles, admin
):
    client = client_for(make_member(product=product, roles=roles, admin=admin))
    listed = client.get(sessions_url(product))
    assert listed.status_code == 200
    assert [s["id"] for s in listed.json()["results"]] == [session.pk]
    detail = client.get(session_url(session))
    assert detail.status_code == 200
    assert detail.json()["id"] == session.pk


# ---------------------------------------------------------------- the list


def test_sessions_list_shows_the_products_sessions_newest_first(
    viewer_client, organisation, product, session
):
    older = ShowAndTell.objects.create(
        product=product,
        week_start=session.week_start - timedelta(weeks=1),
        date=session.date - timedelta(weeks=1),
        finished_at=timezone.now(),
        digest_sent_at=timezone.now(),
    )
    other = ProductFactory(organisation=organisation)
    ShowAndTell.objects.create(product=other, week_start=session.week_start, date=session.date)
    body = viewer_client.get(sessions_url(product)).json()
    latest, earlier = body["results"]
    assert latest == {
        "id": session.pk,
        "date": session.date.isoformat(),
        "week_start": session.week_start.isoformat(),
        "finished_at": None,
        "digest_sent_at": None,
    }
    assert earlier["id"] == older.pk
    assert earlier["finished_at"] is not None and earlier["digest_sent_at"] is not None


# ---------------------------------------------------------------- one session


def test_session_shows_its_sections(viewer_client, product, amigos, lead, session, cohorts, hours):
    sponsor = amigos[ProductRoleKind.SPONSOR]
    done = finish(product, lead, "Online repair booking", effort=5)
    BenefitEstimate.objects.create(
        item=done, cohort=cohorts["Citizens"], metric=hours, value=Decimal("12.5")
    )
    BenefitEstimate.objects.create(
        item=done, cohort=cohorts["Leaders"], metric=hours, value=Decimal("2")
    )
    sessions.go_live_sign(item=done, signer=sponsor, role=ProductRoleKind.SPONSOR, session=session)
    upcoming = BacklogItemFactory(product=product, title="Repair photos", effort=8)
    sessions.decision_add(
        session=session,
        actor=lead,
        kind="action",
        text="Tell the call centre",
        owner=lead,
        agreed_by=[sponsor],
    )

    response = viewer_client.get(session_url(session))
    assert response.status_code == 200
    data = response.json()
    assert data["id"] == session.pk and data["product"] == product.pk
    assert data["date"] == session.date.isoformat()
    assert data["finished_at"] is None

    assert data["done_count"] == 1
    assert data["done_effort"] == "5.0"
    [row] = data["done"]
    assert row["pk"] == done.pk and row["title"] == "Online repair booking"
    assert row["status"] == "done" and row["by"] == name(lead)
    assert row["finished_at"] is not None

    assert data["week_benefit"] == {
        "cohorts": ["Citizens", "Leaders"],
        "rows": [
            {
                "metric": "Staff hours saved",
                "unit": "hours per month",
                "values": ["12.50", "2.00"],
                "total": "14.50",
            }
        ],
    }
    assert data["quarter_benefit"] == data["week_benefit"]

    assert data["next_up_frozen"] is False
    [next_row] = data["next_up"]
    assert next_row["pk"] == upcoming.pk and next_row["title"] == "Repair photos"
    assert next_row["effort"] == "8.0" and next_row["manual_rank"] == 1
    assert next_row["disagreement"] == ""

    assert data["go_live_waiting"] == 1
    [waiting] = data["go_live"]
    assert waiting["item"] == done.pk and waiting["title"] == "Online repair booking"
    signed = waiting["signatures"]
    assert set(signed) == {role.value for role in AMIGOS}
    assert signed["sponsor"]["signer"] == {"id": sponsor.pk, "name": name(sponsor)}
    assert signed["sponsor"]["signed_at"] is not None
    assert signed["business_analyst"] is None and signed["delivery_lead"] is None

    [decision] = data["decisions"]
    assert decision["kind"] == "action" and decision["text"] == "Tell the call centre"
    assert decision["owner"] == {"id": lead.pk, "name": name(lead)}
    assert decision["agreed_by"] == [{"id": sponsor.pk, "name": name(sponsor)}]


def test_an_empty_session_has_empty_sections(viewer_client, session):
    data = viewer_client.get(session_url(session)).json()
    assert data["done"] == [] and data["done_count"] == 0 and data["done_effort"] == "0.0"
    assert data["week_benefit"] == {"cohorts": [], "rows": []}
    assert data["go_live"] == [] and data["go_live_waiting"] == 0
    assert data["decisions"] == [] and data["next_up"] == []


def test_confirmed_next_up_is_the_frozen_list(viewer_client, product, lead, session):
    first = BacklogItemFactory(product=product, title="Frozen first", effort=2)
    sessions.next_up_confirm(session=session, actor=lead)
    BacklogItemFactory(product=product, title="Added after confirming", effort=1)
    data = viewer_client.get(session_url(session)).json()
    assert data["next_up_frozen"] is True
    assert [row["pk"] for row in data["next_up"]] == [first.pk]
    assert data["next_up"][0]["effort"] == "2.0"


def test_a_signer_without_a_full_name_is_shown_by_username(
    make_member, viewer_client, product, session
):
    sponsor = make_member(product=product, roles=[ProductRoleKind.SPONSOR])
    sponsor.first_name = sponsor.last_name = ""
    sponsor.save()
    done = finish(product, sponsor)
    GoLiveSignature.objects.create(item=done, role=ProductRoleKind.SPONSOR, signer=sponsor)
    data = viewer_client.get(session_url(session)).json()
    signer = data["go_live"][0]["signatures"]["sponsor"]["signer"]
    assert signer == {"id": sponsor.pk, "name": sponsor.username}


def _fill(product, amigos, session, cohorts, hours, count):
    """``count`` done items with history and estimates, each signed by three roles, and
    ``count`` decisions agreed by all four."""
    lead = amigos[ProductRoleKind.DELIVERY_LEAD]
    for n in range(count):
        item = finish(product, lead, f"Done {n}")
        BenefitEstimate.objects.create(
            item=item, cohort=cohorts["Citizens"], metric=hours, value=Decimal(n + 1)
        )
        for role in AMIGOS[:3]:
            GoLiveSignature.objects.create(item=item, role=role, signer=amigos[role])
        BacklogItemFactory(product=product, title=f"Open {n}", effort=1)
        sessions.decision_add(
            session=session,
            actor=lead,
            kind="decision",
            text=f"Decision {n}",
            agreed_by=list(amigos.values()),
        )


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200
    return len(context.captured_queries)


def test_session_query_count_does_not_grow_with_done_items_signatures_or_decisions(
    viewer_client, product, amigos, session, cohorts, hours, django_assert_max_num_queries
):
    _fill(product, amigos, session, cohorts, hours, 2)
    few = _queries(viewer_client, session_url(session))
    _fill(product, amigos, session, cohorts, hours, 40)
    with django_assert_max_num_queries(few):
        response = viewer_client.get(session_url(session))
    data = response.json()
    assert data["done_count"] == 42 and len(data["done"]) == 42
    assert data["go_live_waiting"] == 42 and len(data["decisions"]) == 42
    assert all(len(d["agreed_by"]) == 4 for d in data["decisions"])
    assert few <= 21, few


def test_sessions_list_query_count_does_not_grow_with_sessions(
    viewer_client, product, session, django_assert_max_num_queries
):
    for weeks in range(1, 31):
        ShowAndTell.objects.create(
            product=product,
            week_start=session.week_start - timedelta(weeks=weeks),
            date=session.date - timedelta(weeks=weeks),
        )
    with django_assert_max_num_queries(7):
        response = viewer_client.get(sessions_url(product))
    assert len(response.json()["results"]) == 31


# ---------------------------------------------------------------- schema


def test_openapi_schema_describes_the_session_endpoints_and_is_valid(tmp_path):
    schema = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(schema))
    text = schema.read_text()
    assert "/api/v1/products/{id}/sessions/" in text
    assert "/api/v1/sessions/{id}/" in text


def test_browsable_api_renders_the_session_endpoints(viewer_client, product, session):
    for url in [sessions_url(product), session_url(session)]:
        response = viewer_client.get(url, HTTP_ACCEPT="text/html")
        assert response.status_code == 200, url
        assert response["Content-Type"].startswith("text/html"), url
