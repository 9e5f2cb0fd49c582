"""The home page: what is waiting for the signed-in person (ballots, go-live signatures,
estimates, show-and-tells to lead), their products, then the organisation's; each thing
for the right person only, and a constant number of queries however big the organisation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from backlog import ordering
from backlog.models import (
    BacklogItem,
    Capability,
    CapabilityUse,
    ItemCapability,
    ItemStatus,
    Product,
    ProductRole,
    ProductRoleKind,
    ShowAndTell,
)
from backlog.services import sessions
from customers.models import CohortKind
from prioritisation import services as rounds
from prioritisation.models import BenefitEstimate, VotingRound
from tests.conftest import client_for
from tests.factories import BacklogItemFactory, ProductFactory, give_score_ranks, open_round

pytestmark = pytest.mark.django_db

HOME = "backlog:home"
NOTHING = "Nothing is waiting for you."


def home_html(user) -> str:
    response = client_for(user).get(reverse(HOME))
    assert response.status_code == 200
    return response.content.decode()


def waiting_part(html: str) -> str:
    """The "Waiting for you" section alone."""
    start = html.index('id="waiting-heading"')
    return html[start : html.index("</section>", start)]


@pytest.fixture
def scored_items(product):
    items = BacklogItemFactory.create_batch(4, product=product)
    give_score_ranks(items)
    return items


@pytest.fixture
def round_(product, owner, scored_items):
    return open_round(product, owner, title="Spring priorities")


# ---------------------------------------------------------------- ballots


def test_a_voter_sees_the_open_round_they_have_not_voted_in_with_its_closing_time(
    make_member, product, round_
):
    voter = make_member(product=product, roles=[ProductRoleKind.BUSINESS_VOTER])
    waiting = waiting_part(home_html(voter))
    assert "Spring priorities" in waiting
    assert reverse("prioritisation:ballot", args=[round_.pk]) in waiting
    closes = timezone.localtime(round_.closes_at)
    assert f"Closes {closes:%H:%M}" in waiting
    assert NOTHING not in waiting


def test_the_closing_time_is_the_organisations_local_time(
    make_member, product, organisation, round_
):
    from zoneinfo import ZoneInfo

    organisation.time_zone = "Pacific/Auckland"
    organisation.save()
    voter = make_member(product=product, roles=[ProductRoleKind.BUSINESS_VOTER])
    closes = round_.closes_at.astimezone(ZoneInfo("Pacific/Auckland"))
    assert f"Closes {closes:%H:%M} on {closes:%a} {closes.day} {closes:%b %Y}" in home_html(voter)


def test_the_ballot_leaves_the_list_once_cast(make_member, product, round_, scored_items):
    voter = make_member(product=product, roles=[ProductRoleKind.BUSINESS_VOTER])
    rounds.ballot_submit(round=round_, voter=voter, ranking=[[item.pk] for item in scored_items])
    assert "Spring priorities" not in waiting_part(home_html(voter))


def test_no_ballot_for_a_non_voter_another_organisation_or_a_closed_or_future_round(
    make_member, product, owner, round_, outsider, scored_items
):
    viewer = make_member(product=product, roles=[ProductRoleKind.VIEWER])
    admin = make_member(admin=True)
    for person in (viewer, owner, admin, outsider):
        assert "Spring priorities" not in home_html(person)
    voter = make_member(product=product, roles=[ProductRoleKind.BUSINESS_VOTER])
    now = timezone.now()
    open_round(
        product,
        owner,
        title="Not yet open",
        opens_at=now + timedelta(hours=2),
        closes_at=now + timedelta(days=2),
    )
    rounds.round_close_now(round=round_, actor=owner)
    html = waiting_part(home_html(voter))
    assert "Spring priorities" not in html
    assert "Not yet open" not in html
    assert NOTHING in html


# ---------------------------------------------------------------- go-live


@pytest.fixture
def session(product):
    made, _ = sessions.session_for_week(product=product, day=sessions.local_today(product))
    return made


@pytest.fixture
def done_item(product):
    return BacklogItemFactory(
        product=product, title="Online repair booking", status=ItemStatus.DONE
    )


def test_a_signer_sees_the_done_item_waiting_for_their_role_until_they_sign(
    make_member, product, session, done_item
):
    sponsor = make_member(product=product, roles=[ProductRoleKind.SPONSOR])
    waiting = waiting_part(home_html(sponsor))
    assert "Sign for go-live as sponsor" in waiting
    assert "Online repair booking" in waiting
    assert reverse("backlog:session_detail", args=[session.pk]) in waiting
    sessions.go_live_sign(
        item=done_item, signer=sponsor, role=ProductRoleKind.SPONSOR, session=session
    )
    assert NOTHING in waiting_part(home_html(sponsor))


def test_another_roles_signature_does_not_clear_mine(make_member, product, session, done_item):
    sponsor = make_member(product=product, roles=[ProductRoleKind.SPONSOR])
    analyst = make_member(product=product, roles=[ProductRoleKind.BUSINESS_ANALYST])
    sessions.go_live_sign(
        item=done_item, signer=sponsor, role=ProductRoleKind.SPONSOR, session=session
    )
    waiting = waiting_part(home_html(analyst))
    assert "Sign for go-live as business analyst" in waiting
    assert "Online repair booking" in waiting


def test_signatures_are_for_go_live_roles_of_this_product_only(
    make_member, product, organisation, session, done_item, outsider, owner
):
    other = ProductFactory(organisation=organisation, name="Parking")
    sponsor_elsewhere = make_member(product=other, roles=[ProductRoleKind.SPONSOR])
    viewer = make_member(product=product, roles=[ProductRoleKind.VIEWER])
    for person in (sponsor_elsewhere, viewer, owner, outsider):
        assert "Online repair booking" not in waiting_part(home_html(person))


def test_many_done_items_are_named_three_at_a_time_and_counted(make_member, product, session):
    BacklogItemFactory.create_batch(5, product=product, status=ItemStatus.DONE)
    lead = make_member(product=product, roles=[ProductRoleKind.LEAD_ENGINEER])
    waiting = waiting_part(home_html(lead))
    assert "and 2 more items" in waiting
    assert "5 items waiting" in waiting


def test_without_an_open_show_and_tell_the_signature_points_to_the_session_list(
    make_member, product, done_item
):
    sponsor = make_member(product=product, roles=[ProductRoleKind.SPONSOR])
    waiting = waiting_part(home_html(sponsor))
    assert "Online repair booking" in waiting
    assert "No show-and-tell is open yet" in waiting
    assert reverse("backlog:session_list", args=[product.pk]) in waiting


# ---------------------------------------------------------------- estimates


def test_a_product_owner_sees_how_many_open_items_need_estimates(
    owner, product, make_member, cohorts, metrics
):
    no_effort = BacklogItemFactory(product=product, effort=None)
    no_benefit = BacklogItemFactory(product=product, effort=3)
    estimated = BacklogItemFactory(product=product, effort=3)
    BenefitEstimate.objects.create(
        item=estimated, cohort=cohorts["Citizens"], metric=metrics["Staff hours saved"], value=5
    )
    BenefitEstimate.objects.create(
        item=no_effort, cohort=cohorts["Citizens"], metric=metrics["Staff hours saved"], value=5
    )
    BacklogItemFactory(product=product, effort=None, status=ItemStatus.DONE)  # not open
    waiting = waiting_part(home_html(owner))
    assert "2 open items need estimates" in waiting
    assert reverse("backlog:product_backlog", args=[product.pk]) in waiting
    assert no_benefit.pk  # counted: effort but no estimate
    analyst = make_member(product=product, roles=[ProductRoleKind.BUSINESS_ANALYST])
    assert "need estimates" not in home_html(analyst)


def test_a_product_owner_with_everything_estimated_has_nothing_waiting(
    owner, product, cohorts, metrics
):
    item = BacklogItemFactory(product=product, effort=3)
    BenefitEstimate.objects.create(
        item=item, cohort=cohorts["Citizens"], metric=metrics["Staff hours saved"], value=5
    )
    assert NOTHING in waiting_part(home_html(owner))


# ---------------------------------------------------------------- show-and-tells to lead


def test_the_delivery_lead_sees_this_weeks_show_and_tell_until_it_is_finished(
    make_member, product, session
):
    lead = make_member(product=product, roles=[ProductRoleKind.DELIVERY_LEAD])
    waiting = waiting_part(home_html(lead))
    assert "Lead this week’s show-and-tell" in waiting
    assert reverse("backlog:session_detail", args=[session.pk]) in waiting
    sponsor = make_member(product=product, roles=[ProductRoleKind.SPONSOR])
    assert "Lead this week" not in home_html(sponsor)
    sessions.session_finish(session=session, actor=lead)
    assert NOTHING in waiting_part(home_html(lead))


def test_last_weeks_show_and_tell_is_not_this_weeks(make_member, product):
    today = sessions.local_today(product)
    ShowAndTell.objects.create(
        product=product, week_start=sessions.week_start_of(today) - timedelta(days=7), date=today
    )
    lead = make_member(product=product, roles=[ProductRoleKind.DELIVERY_LEAD])
    assert "Lead this week" not in home_html(lead)


# ---------------------------------------------------------------- products


def test_empty_states_for_a_member_with_no_role(make_member, product):
    member = make_member()
    html = home_html(member)
    assert NOTHING in html
    assert "You have no role on any product yet." in html
    assert 'id="organisation-heading"' not in html  # neither admin nor leader


def test_your_products_lists_your_roles_and_leaves_out_archived_products(
    make_member, product, organisation
):
    archived = ProductFactory(organisation=organisation, name="Old parking permits")
    archived.archived_at = timezone.now()
    archived.save()
    BacklogItemFactory(product=archived, status=ItemStatus.DONE)
    ShowAndTell.objects.create(
        product=archived,
        week_start=sessions.week_start_of(sessions.local_today(product)),
        date=sessions.local_today(product),
    )
    person = make_member(
        product=product, roles=[ProductRoleKind.SPONSOR, ProductRoleKind.PRODUCT_OWNER]
    )
    ProductRole.objects.create(product=archived, user=person, role=ProductRoleKind.SPONSOR)
    html = home_html(person)
    assert "You are product owner, sponsor" in html
    assert product.name in html
    assert "Old parking permits" not in html


def test_admins_and_leaders_see_every_product_others_only_their_own(
    make_member, product, organisation, other_product, cohorts
):
    ProductFactory(organisation=organisation, name="Council tax")
    admin = make_member(admin=True)
    leader = make_member(cohort=cohorts["Leaders"])
    assert cohorts["Leaders"].kind == CohortKind.STEERS
    for person in (admin, leader):
        html = home_html(person)
        part = html[html.index('id="organisation-heading"') :]
        assert "Council tax" in part and product.name in part
        assert other_product.name not in html
    assert reverse("customers:cohort_list") in home_html(admin)
    assert reverse("customers:cohort_list") not in home_html(leader).split("<main")[1]
    colleague = make_member(product=product, roles=[ProductRoleKind.VIEWER])
    html = home_html(colleague)
    assert "Council tax" not in html
    assert product.name in html


def test_admins_and_leaders_see_the_most_reused_capabilities_and_those_built_twice(
    make_member, product, organisation, cohorts
):
    parking = ProductFactory(organisation=organisation, name="Parking")
    tax = ProductFactory(organisation=organisation, name="Council tax")
    payments = Capability.objects.create(
        organisation=organisation, name="Card payments", owner_product=product
    )
    booking = Capability.objects.create(organisation=organisation, name="Booking")
    for owner, use in ((product, CapabilityUse.BUILDS), (parking, CapabilityUse.REUSES)):
        ItemCapability.objects.create(
            item=BacklogItemFactory(product=owner), capability=payments, use=use
        )
    for builder in (parking, tax):
        ItemCapability.objects.create(
            item=BacklogItemFactory(product=builder), capability=booking, use=CapabilityUse.BUILDS
        )
    admin = make_member(admin=True)
    html = home_html(admin)
    part = html[html.index("Most reused capabilities") :]
    assert "Card payments</a>: reused by 1 product (1 item), owned by Repairs" in part
    built_twice = part[part.index("Being built twice") :]
    assert "Booking</a>: built by" in built_twice
    assert "Council tax</a> and" in built_twice and "Parking</a>" in built_twice
    assert "Most reused capabilities" in home_html(make_member(cohort=cohorts["Leaders"]))
    assert "Most reused capabilities" not in home_html(make_member(product=product))


# ---------------------------------------------------------------- query count


def _organisation_of(size: int, organisation, person) -> None:
    """``size`` products, the person holding every role on each, each product with an open
    round, this week's show-and-tell, open items needing estimates and done items waiting
    for every signature: everything the home reads grows with it."""
    now = timezone.now()
    products = Product.objects.bulk_create(
        Product(organisation=organisation, name=f"Service {n:04}", weekly_capacity=10)
        for n in range(size)
    )
    ProductRole.objects.bulk_create(
        ProductRole(product=product, user=person, role=role)
        for product in products
        for role in ProductRoleKind.values
    )
    keys = iter(ordering.spread_keys(size * 4))
    BacklogItem.objects.bulk_create(
        BacklogItem(
            product=product,
            title=f"Item {n} of {product.name}",
            status=status,
            effort=None,
            rank_key=next(keys),
        )
        for product in products
        for n, status in enumerate([ItemStatus.READY, ItemStatus.IDEA, ItemStatus.DONE] * 1)
    )
    VotingRound.objects.bulk_create(
        VotingRound(
            product=product,
            title=f"Round on {product.name}",
            opens_at=now - timedelta(hours=1),
            closes_at=now + timedelta(days=n % 5 + 1),
        )
        for n, product in enumerate(products)
    )
    week = sessions.week_start_of(sessions.local_today(products[0]))
    ShowAndTell.objects.bulk_create(
        ShowAndTell(product=product, week_start=week, date=week) for product in products
    )
    # One capability per product, each built by its product and reused by the next.
    capabilities = Capability.objects.bulk_create(
        Capability(organisation=organisation, name=f"Capability {n}", owner_product=product)
        for n, product in enumerate(products)
    )
    first_items = {
        item.product_id: item.pk
        for item in BacklogItem.objects.filter(product__in=products, status=ItemStatus.READY)
    }
    ItemCapability.objects.bulk_create(
        ItemCapability(item_id=first_items[product.pk], capability=capability, use=use)
        for n, product in enumerate(products)
        for capability, use in (
            (capabilities[n], CapabilityUse.BUILDS),
            (capabilities[(n + 1) % size], CapabilityUse.REUSES),
        )
    )


def _count(person) -> tuple[int, str]:
    client = client_for(person)
    client.get(reverse(HOME))  # warm the session
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse(HOME))
    assert response.status_code == 200
    return len(ctx.captured_queries), response.content.decode()


def test_the_home_page_costs_the_same_queries_for_3_products_as_for_350(
    organisation, other_organisation, make_member, cohorts
):
    """Guards the N+1s of the home page: rounds, signatures, estimates and sessions per
    product, the roles of each product card, the counts per product row."""
    small = make_member(admin=True, cohort=cohorts["Leaders"])
    _organisation_of(3, organisation, small)
    few, html = _count(small)
    assert html.count('class="waiting waiting--ballot"') == 3
    assert html.count('class="waiting waiting--signature"') == 3 * 4
    assert html.count('class="waiting waiting--estimates"') == 3
    assert html.count('class="waiting waiting--session"') == 3

    big = make_member(
        org=other_organisation,
        admin=True,
        cohort=other_organisation.cohorts.get(name="Leaders"),
    )
    _organisation_of(350, other_organisation, big)
    many, html = _count(big)
    assert html.count('class="waiting waiting--ballot"') == 350
    assert html.count('class="waiting waiting--session"') == 350
    assert many == few
