"""Shared capabilities: the catalogue, who builds and reuses what, waiting dependencies
between products, what is built twice, and the backlog filtered by capability."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from backlog import services
from backlog.models import Capability, CapabilityUse, ItemCapability, ItemStatus
from backlog.selectors_capabilities import (
    capabilities_built_twice,
    capabilities_most_reused,
    capability_list,
    item_waits,
)
from tests.conftest import HTMX, client_for, count_get_queries
from tests.factories import BacklogItemFactory, CapabilityFactory, ProductFactory

pytestmark = pytest.mark.django_db

LIST = reverse("backlog:capability_list")
CREATE = reverse("backlog:capability_create")


def link(item, capability, use) -> None:
    ItemCapability.objects.create(item=item, capability=capability, use=use)


@pytest.fixture
def payments_platform(organisation):
    return ProductFactory(organisation=organisation, name="Payments platform")


@pytest.fixture
def housing(organisation):
    return ProductFactory(organisation=organisation, name="Housing")


@pytest.fixture
def payments(organisation, payments_platform):
    return CapabilityFactory(
        organisation=organisation,
        name="Payments",
        description="Take card payments.",
        owner_product=payments_platform,
    )


@pytest.fixture
def card_api(payments_platform, payments):
    item = BacklogItemFactory(
        product=payments_platform, title="Card payments API", status=ItemStatus.IN_PROGRESS
    )
    link(item, payments, CapabilityUse.BUILDS)
    return item


@pytest.fixture
def rent_payments(housing, payments):
    item = BacklogItemFactory(product=housing, title="Pay rent online", status=ItemStatus.READY)
    link(item, payments, CapabilityUse.REUSES)
    return item


@pytest.fixture
def admin(make_member):
    return make_member(admin=True)


@pytest.fixture
def admin_client(admin):
    return client_for(admin)


@pytest.fixture
def member_client(make_member):
    return client_for(make_member())


# ---------------------------------------------------------------- the catalogue


def test_the_catalogue_counts_items_building_and_reusing_across_products(
    organisation, payments, card_api, rent_payments, housing, payments_platform
):
    council_tax = ProductFactory(organisation=organisation, name="Council tax")
    link(BacklogItemFactory(product=council_tax), payments, CapabilityUse.REUSES)
    # Neither counts: a rejected item, and an item of an archived product.
    link(BacklogItemFactory(product=housing, status=ItemStatus.REJECTED), payments, "reuses")
    archived = ProductFactory(organisation=organisation, archived_at=timezone.now())
    link(BacklogItemFactory(product=archived), payments, CapabilityUse.BUILDS)
    CapabilityFactory(organisation=organisation, name="Booking")

    rows = {c.name: c for c in capability_list(organisation=organisation)}

    assert (rows["Payments"].build_count, rows["Payments"].reuse_count) == (1, 2)
    assert (rows["Booking"].build_count, rows["Booking"].reuse_count) == (0, 0)
    assert rows["Payments"].owner_product == payments_platform


def test_every_member_reads_the_catalogue_and_only_admins_see_how_to_change_it(
    member_client, admin_client, payments, card_api, rent_payments
):
    page = member_client.get(LIST)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Payments" in html and "Payments platform" in html and "Take card payments." in html
    assert reverse("backlog:capability_detail", args=[payments.pk]) in html
    assert CREATE not in html and reverse("backlog:capability_edit", args=[payments.pk]) not in html
    admin_html = admin_client.get(LIST).content.decode()
    assert CREATE in admin_html
    assert reverse("backlog:capability_edit", args=[payments.pk]) in admin_html


def test_the_catalogue_shows_only_the_users_own_organisation(
    outsider_client, payments, other_organisation
):
    CapabilityFactory(organisation=other_organisation, name="Elsewhere booking")
    html = outsider_client.get(LIST).content.decode()
    assert "Elsewhere booking" in html and "Payments" not in html


def test_the_catalogue_query_count_does_not_grow_with_capabilities_and_items(
    member_client, organisation, housing, payments_platform
):
    """Guards the N+1 of counts and owner products per capability row."""

    def add(n: int) -> None:
        for _ in range(n):
            capability = CapabilityFactory(organisation=organisation, owner_product=housing)
            link(BacklogItemFactory(product=payments_platform), capability, "builds")
            link(BacklogItemFactory(product=housing), capability, "reuses")

    add(2)
    few = count_get_queries(member_client, LIST)
    add(20)
    assert count_get_queries(member_client, LIST) == few


def test_the_capability_page_lists_its_items_with_product_status_and_links(
    member_client, payments, card_api, rent_payments, housing
):
    response = member_client.get(reverse("backlog:capability_detail", args=[payments.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    for item in (card_api, rent_payments):
        assert reverse("backlog:item_detail", args=[item.pk]) in html
        assert item.title in html
    assert "In progress" in html and "Ready" in html and "Builds" in html and "Reuses" in html
    # Builders come first.
    assert html.index("Card payments API") < html.index("Pay rent online")
    assert f"{reverse('backlog:product_backlog', args=[housing.pk])}?capability={payments.pk}" in (
        html
    )


def test_the_capability_page_query_count_does_not_grow_with_its_items(
    member_client, payments, housing, organisation
):
    """Guards the N+1 of each listed item's product."""
    url = reverse("backlog:capability_detail", args=[payments.pk])
    link(BacklogItemFactory(product=housing), payments, "reuses")
    few = count_get_queries(member_client, url)
    for _ in range(15):
        product = ProductFactory(organisation=organisation)
        link(BacklogItemFactory(product=product), payments, "reuses")
    assert count_get_queries(member_client, url) == few


def test_another_organisations_capability_is_not_found(outsider_client, payments):
    for name in ("backlog:capability_detail", "backlog:capability_edit"):
        assert outsider_client.get(reverse(name, args=[payments.pk])).status_code == 404


def test_anonymous_is_sent_to_sign_in(client, payments):
    for url in (LIST, CREATE, reverse("backlog:capability_detail", args=[payments.pk])):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login"))


# ---------------------------------------------------------------- create and edit


def test_an_admin_adds_a_capability_with_its_owner_product(
    admin_client, organisation, payments_platform
):
    response = admin_client.post(
        CREATE,
        {"name": " Booking ", "description": "Book a slot.", "owner_product": payments_platform.pk},
    )
    capability = Capability.objects.get(organisation=organisation, name="Booking")
    assert response.status_code == 302
    assert response.url == reverse("backlog:capability_detail", args=[capability.pk])
    assert capability.owner_product == payments_platform
    assert capability.description == "Book a slot."


def test_a_member_may_not_add_or_edit_a_capability(owner_client, payments, organisation):
    assert owner_client.get(CREATE).status_code == 403
    assert owner_client.post(CREATE, {"name": "Booking"}).status_code == 403
    edit = reverse("backlog:capability_edit", args=[payments.pk])
    assert owner_client.post(edit, {"name": "Renamed"}).status_code == 403
    assert not Capability.objects.filter(name__in=["Booking", "Renamed"]).exists()


def test_a_name_the_organisation_already_uses_is_refused_with_a_clear_message(
    admin_client, payments, organisation
):
    response = admin_client.post(CREATE, {"name": "PAYMENTS"})
    assert response.status_code == 422
    assert "already has a capability called “PAYMENTS”" in response.content.decode()
    assert Capability.objects.filter(organisation=organisation).count() == 1


def test_the_same_name_is_fine_in_another_organisation(admin_client, other_organisation):
    CapabilityFactory(organisation=other_organisation, name="Payments")
    assert admin_client.post(CREATE, {"name": "Payments"}).status_code == 302


def test_an_owner_product_of_another_organisation_is_refused(admin_client, other_product):
    response = admin_client.post(CREATE, {"name": "Booking", "owner_product": other_product.pk})
    assert response.status_code == 422
    assert not Capability.objects.filter(name="Booking").exists()


@pytest.mark.parametrize("name", ["", "   ", "x" * 121])
def test_a_missing_or_overlong_name_is_refused(admin_client, name):
    assert admin_client.post(CREATE, {"name": name}).status_code == 422
    assert not Capability.objects.exists()


def test_an_admin_edits_a_capability_and_marks_it_the_same_as_another(
    admin_client, payments, organisation, housing
):
    card = CapabilityFactory(organisation=organisation, name="Card payments")
    response = admin_client.post(
        reverse("backlog:capability_edit", args=[card.pk]),
        {"name": "Card payments", "owner_product": housing.pk, "same_as": payments.pk},
    )
    assert response.status_code == 302
    card.refresh_from_db()
    assert (card.same_as, card.owner_product) == (payments, housing)
    page = admin_client.get(reverse("backlog:capability_detail", args=[payments.pk]))
    assert "Card payments" in page.content.decode()  # named as marked the same


def test_a_capability_cannot_be_marked_the_same_as_itself(admin_client, payments):
    url = reverse("backlog:capability_edit", args=[payments.pk])
    response = admin_client.post(url, {"name": "Payments", "same_as": payments.pk})
    assert response.status_code == 422
    payments.refresh_from_db()
    assert payments.same_as is None


def test_renaming_to_another_capabilitys_name_saves_nothing(admin_client, payments, organisation):
    booking = CapabilityFactory(organisation=organisation, name="Booking", description="Old")
    url = reverse("backlog:capability_edit", args=[booking.pk])
    response = admin_client.post(url, {"name": "payments", "description": "New"})
    assert response.status_code == 422
    assert "already has a capability called" in response.content.decode()
    booking.refresh_from_db()
    assert (booking.name, booking.description) == ("Booking", "Old")


def test_the_service_refuses_another_organisations_product_and_a_taken_name(
    organisation, other_product, payments
):
    with pytest.raises(ValidationError):
        services.capability_create(
            organisation=organisation, name="Booking", owner_product=other_product
        )
    with pytest.raises(ValidationError, match="already has a capability"):
        services.capability_create(organisation=organisation, name="payments")
    assert Capability.objects.filter(organisation=organisation).count() == 1


# ---------------------------------------------------------------- waiting on each other


def test_an_item_reusing_a_capability_being_built_waits_for_the_builder(
    viewer_client, card_api, rent_payments
):
    html = viewer_client.get(reverse("backlog:item_detail", args=[rent_payments.pk])).content
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html.decode()))
    assert "Waits for Payments platform: Card payments API, in progress" in text
    assert reverse("backlog:item_detail", args=[card_api.pk]) in html.decode()


def test_the_building_item_names_who_waits_for_it(viewer_client, card_api, rent_payments):
    html = viewer_client.get(reverse("backlog:item_detail", args=[card_api.pk])).content.decode()
    assert "1 item of another product waits for this" in html
    assert reverse("backlog:item_detail", args=[rent_payments.pk]) in html
    assert "Pay rent online" in html


def test_nobody_waits_on_a_done_item_or_within_the_same_product(
    card_api, rent_payments, payments, payments_platform
):
    same_product = BacklogItemFactory(product=payments_platform, title="Refunds")
    link(same_product, payments, CapabilityUse.REUSES)
    waits = item_waits(item=card_api)
    assert [w.item for w in waits.waited_on_by] == [rent_payments]
    assert item_waits(item=same_product).waits_for == []
    card_api.status = ItemStatus.DONE
    card_api.save()
    assert item_waits(item=rent_payments).waits_for == []


def test_waiting_items_are_counted_once_and_listed_up_to_the_limit(
    organisation, card_api, payments
):
    refunds = CapabilityFactory(organisation=organisation, name="Refunds")
    link(card_api, refunds, CapabilityUse.BUILDS)
    products = ProductFactory.create_batch(3, organisation=organisation)
    for product in products:
        item = BacklogItemFactory(product=product)
        link(item, payments, CapabilityUse.REUSES)
        link(item, refunds, CapabilityUse.REUSES)
    waits = item_waits(item=card_api, limit=2)
    assert len(waits.waited_on_by) == 2 and waits.waited_on_count == 3
    assert waits.waited_on_more == 1
    assert item_waits(item=card_api).waited_on_count == 3


def test_the_item_page_query_count_does_not_grow_with_the_items_waiting(
    owner_client, card_api, payments, organisation
):
    """Guards the N+1 of each waiting item's product and capability."""
    url = reverse("backlog:item_detail", args=[card_api.pk])
    link(BacklogItemFactory(product=ProductFactory(organisation=organisation)), payments, "reuses")
    few = count_get_queries(owner_client, url)
    for _ in range(25):
        product = ProductFactory(organisation=organisation)
        link(BacklogItemFactory(product=product), payments, CapabilityUse.REUSES)
    assert count_get_queries(owner_client, url) == few


# ---------------------------------------------------------------- for the organisation home


def test_most_reused_ranks_by_products_then_items_and_leaves_out_the_unused(
    organisation, payments, housing, payments_platform, django_assert_num_queries
):
    booking = CapabilityFactory(organisation=organisation, name="Booking")
    CapabilityFactory(organisation=organisation, name="Unused")
    for _ in range(3):  # three items of one product
        link(BacklogItemFactory(product=housing), booking, CapabilityUse.REUSES)
    link(BacklogItemFactory(product=housing), payments, CapabilityUse.REUSES)
    link(BacklogItemFactory(product=payments_platform), payments, CapabilityUse.REUSES)
    with django_assert_num_queries(1):
        top = capabilities_most_reused(organisation=organisation)
        names = [(c.name, c.reuse_products, c.reuse_count) for c in top]
        owners = [c.owner_product for c in top]
    assert names == [("Payments", 2, 2), ("Booking", 1, 3)]
    assert owners == [payments_platform, None]
    assert len(capabilities_most_reused(organisation=organisation, limit=1)) == 1


def test_built_twice_finds_one_capability_built_by_two_products(
    organisation, payments, card_api, housing
):
    link(BacklogItemFactory(product=housing, title="Our own card form"), payments, "builds")
    link(BacklogItemFactory(product=housing, title="Another"), payments, "builds")
    [group] = capabilities_built_twice(organisation=organisation)
    assert group.capabilities == [payments]
    assert [p.name for p in group.products] == ["Housing", "Payments platform"]
    assert [c.name for c in group.products[0].builds] == ["Payments"]


def test_built_twice_finds_capabilities_marked_the_same_built_by_different_products(
    organisation, payments, card_api, housing, payments_platform
):
    card = CapabilityFactory(organisation=organisation, name="Card taking", same_as=payments)
    link(BacklogItemFactory(product=housing), card, CapabilityUse.BUILDS)
    # Marked the same but built by the same product only: not twice.
    notify = CapabilityFactory(organisation=organisation, name="Notify")
    texts = CapabilityFactory(organisation=organisation, name="Texts", same_as=notify)
    link(BacklogItemFactory(product=housing), notify, CapabilityUse.BUILDS)
    link(BacklogItemFactory(product=housing), texts, CapabilityUse.BUILDS)
    # Reused, not built, by a second product: not twice either.
    booking = CapabilityFactory(organisation=organisation, name="Booking")
    link(BacklogItemFactory(product=housing), booking, CapabilityUse.BUILDS)
    link(BacklogItemFactory(product=payments_platform), booking, CapabilityUse.REUSES)

    [group] = capabilities_built_twice(organisation=organisation)

    assert group.name == "Card taking / Payments"
    assert {p.name: [c.name for c in p.builds] for p in group.products} == {
        "Housing": ["Card taking"],
        "Payments platform": ["Payments"],
    }


def test_built_twice_ignores_rejected_items_archived_products_and_other_organisations(
    organisation, other_organisation, payments, card_api, housing
):
    link(BacklogItemFactory(product=housing, status=ItemStatus.REJECTED), payments, "builds")
    archived = ProductFactory(organisation=organisation, archived_at=timezone.now())
    link(BacklogItemFactory(product=archived), payments, CapabilityUse.BUILDS)
    theirs = CapabilityFactory(organisation=other_organisation, name="Payments")
    for _ in range(2):
        product = ProductFactory(organisation=other_organisation)
        link(BacklogItemFactory(product=product), theirs, CapabilityUse.BUILDS)
    assert capabilities_built_twice(organisation=organisation) == []
    assert len(capabilities_built_twice(organisation=other_organisation)) == 1


def test_built_twice_costs_two_queries_whatever_the_number_of_capabilities(
    organisation, django_assert_num_queries
):
    products = ProductFactory.create_batch(4, organisation=organisation)
    for n in range(30):
        capability = CapabilityFactory(organisation=organisation)
        for product in products[: 1 + n % 4]:
            link(BacklogItemFactory(product=product), capability, CapabilityUse.BUILDS)
    with django_assert_num_queries(2):
        found = capabilities_built_twice(organisation=organisation)
    assert len(found) == 22  # all but the 8 built by one product only


# ---------------------------------------------------------------- the backlog filter


def test_the_backlog_filters_by_capability(
    viewer_client, housing, payments, rent_payments, organisation
):
    booking = CapabilityFactory(organisation=organisation, name="Booking")
    other = BacklogItemFactory(product=housing, title="Unrelated item")
    built = BacklogItemFactory(product=housing, title="Builds booking")
    link(built, booking, CapabilityUse.BUILDS)
    url = reverse("backlog:product_backlog", args=[housing.pk])

    page = viewer_client.get(url, {"capability": payments.pk}).content.decode()
    assert "Pay rent online" in page and other.title not in page and built.title not in page
    assert f'<option value="{payments.pk}" selected>Payments</option>' in page
    fragment = viewer_client.get(
        url, {"capability": booking.pk}, HTTP_HX_TARGET="backlog-results", **HTMX
    )
    assert built.title in fragment.content.decode()
    assert "Pay rent online" not in fragment.content.decode()


@pytest.mark.parametrize("value", ["nonsense", "999999", "-1"])
def test_a_bad_capability_filter_is_a_page_not_an_error(viewer_client, housing, value):
    url = reverse("backlog:product_backlog", args=[housing.pk])
    assert viewer_client.get(url, {"capability": value}).status_code == 200


def test_another_organisations_capability_filters_nothing_in(
    viewer_client, housing, rent_payments, other_organisation
):
    theirs = CapabilityFactory(organisation=other_organisation, name="Theirs")
    url = reverse("backlog:product_backlog", args=[housing.pk])
    page = viewer_client.get(url, {"capability": theirs.pk}).content.decode()
    assert "Theirs" not in page  # not offered, and the filter is dropped


def test_the_capability_filtered_backlog_costs_the_same_queries_as_it_grows(
    owner_client, product, payments, django_assert_max_num_queries
):
    """Guards against a query per row for the capability links: 10 and 600 items, half of
    them reusing the capability, take the same queries, and deeper pages by keyset."""
    url = reverse("backlog:product_backlog", args=[product.pk])

    def add(n: int) -> None:
        for item in BacklogItemFactory.create_batch(n, product=product):
            if item.pk % 2:
                link(item, payments, CapabilityUse.REUSES)

    add(10)
    few = count_get_queries(owner_client, url, {"capability": payments.pk})
    add(590)
    assert count_get_queries(owner_client, url, {"capability": payments.pk}) == few
    html = owner_client.get(url, {"capability": payments.pk}).content.decode()
    more = re.search(r'id="load-more">.*?href="([^"]+)"', html, re.S)
    assert more is not None and "after=" in more.group(1)


# ---------------------------------------------------------------- the API


def test_the_item_api_gives_its_capabilities_and_principle_checks(
    viewer_client, rent_payments, payments, organisation
):
    from backlog.services.principles import Answer

    cloud = organisation.principles.order_by("position").first()
    services.principle_check_set(
        item=rent_payments, answers={cloud.pk: Answer("does_not", "On premises")}, by=None
    )
    data = viewer_client.get(reverse("api:item_detail", args=[rent_payments.pk])).json()
    assert data["capabilities"] == [{"id": payments.pk, "name": "Payments", "use": "reuses"}]
    checks = data["principle_checks"]
    assert len(checks) == 6
    assert checks[0] == {
        "principle": cloud.pk,
        "name": "Cloud native",
        "answer": "does_not",
        "note": "On premises",
    }
    assert checks[1]["answer"] == ""


def test_the_item_list_api_filters_by_capability_and_refuses_anothers(
    viewer_client, housing, payments, rent_payments, other_organisation
):
    BacklogItemFactory(product=housing, title="Unrelated")
    url = reverse("api:product_items", args=[housing.pk])
    data = viewer_client.get(url, {"capability": payments.pk}).json()
    assert [row["title"] for row in data["results"]] == ["Pay rent online"]
    theirs = CapabilityFactory(organisation=other_organisation)
    assert viewer_client.get(url, {"capability": theirs.pk}).status_code == 400
    assert viewer_client.get(url, {"principles": "nonsense"}).status_code == 400
    unanswered = viewer_client.get(url, {"principles": "unanswered"}).json()
    assert len(unanswered["results"]) == 2


def test_an_edit_in_place_refreshes_what_the_item_waits_for(
    owner_client, product, payments, card_api, organisation
):
    item = BacklogItemFactory(product=product, title="Pay for a repair", status=ItemStatus.READY)
    response = owner_client.post(
        reverse("backlog:item_edit", args=[item.pk]),
        {
            "title": item.title,
            "status": ItemStatus.READY,
            "digitisation_level": "access",
            "effort": "3",
            "reuses": [payments.pk],
        },
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert '<div id="item-waits" hx-swap-oob="true">' in html
    assert "Card payments API" in html
