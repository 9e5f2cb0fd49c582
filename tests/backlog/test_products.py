"""Creating, editing, archiving and restoring products: the services, the pages, and an
archived product refusing every write (pages and API) until it is restored."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from backlog import selectors, services
from backlog.models import BacklogItem, Product, ProductRole, ProductRoleKind, ShowAndTell
from backlog.services import sessions as session_services
from backlog.services.products import ARCHIVED_MESSAGE
from customers.services import api_token_create
from tests.conftest import HTMX, client_for
from tests.factories import BacklogItemFactory, give_score_ranks, open_round

pytestmark = pytest.mark.django_db


def settings_form(**overrides) -> dict:
    return {
        "name": "Council tax",
        "description": "Bills, discounts and arrears.",
        "kind": "platform",
        "weekly_capacity": "30",
        "show_and_tell_weekday": "2",
        "new_items_position": "top",
        **overrides,
    }


@pytest.fixture
def admin(make_member):
    return make_member(admin=True)


@pytest.fixture
def admin_client(admin):
    return client_for(admin)


# ---------------------------------------------------------------- services


def test_the_creator_named_as_owner_becomes_its_product_owner_in_the_same_transaction(
    organisation, admin
):
    product = services.product_create(
        organisation=organisation,
        name="  Council tax ",
        kind="platform",
        weekly_capacity=30,
        show_and_tell_weekday=2,
        new_items_position="top",
        owner=admin,
    )
    assert product.name == "Council tax"
    assert (product.kind, product.weekly_capacity, product.show_and_tell_weekday) == (
        "platform",
        30,
        2,
    )
    assert list(product.roles.values_list("user", "role")) == [
        (admin.pk, ProductRoleKind.PRODUCT_OWNER)
    ]


def test_a_duplicate_name_in_any_case_is_refused_with_a_message_and_nothing_saved(
    organisation, product, admin
):
    before = Product.objects.count()
    with pytest.raises(ValidationError) as refused:
        services.product_create(organisation=organisation, name="REPAIRS", owner=admin)
    assert refused.value.message_dict["name"] == [
        "Your organisation already has a product called “REPAIRS”."
    ]
    assert Product.objects.count() == before
    assert not ProductRole.objects.filter(user=admin).exists()


def test_the_same_name_in_another_organisation_is_fine(other_organisation, product):
    services.product_create(organisation=other_organisation, name="Repairs")


def test_an_owner_from_another_organisation_is_refused_and_no_product_is_made(
    organisation, outsider
):
    with pytest.raises(ValidationError):
        services.product_create(organisation=organisation, name="Parking", owner=outsider)
    assert not Product.objects.filter(name="Parking").exists()


def test_bad_settings_are_refused_and_leave_the_product_as_it_was(product, other_product):
    Product.objects.filter(pk=product.pk).update(description="As it was")
    product.refresh_from_db()
    services.product_create(organisation=product.organisation, name="Parking")
    with pytest.raises(ValidationError) as refused:
        services.product_update(
            product=product,
            name="Parking",
            description="Changed",
            kind="product",
            weekly_capacity=10,
            show_and_tell_weekday=1,
            new_items_position="bottom",
        )
    assert "name" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        services.product_update(
            product=product,
            name="Repairs",
            description="Changed",
            kind="no-such-kind",
            weekly_capacity=10,
            show_and_tell_weekday=9,
            new_items_position="bottom",
        )
    assert {"kind", "show_and_tell_weekday"} <= refused.value.message_dict.keys()
    assert (product.name, product.description) == ("Repairs", "As it was")
    product.refresh_from_db()
    assert (product.name, product.description, product.weekly_capacity) == (
        "Repairs",
        "As it was",
        20,
    )


def test_archive_and_restore_are_for_admins_and_an_archived_product_refuses_edits(
    product, admin, owner
):
    with pytest.raises(ValidationError):
        services.product_archive(product=product, by=owner)
    services.product_archive(product=product, by=admin)
    product.refresh_from_db()
    assert product.archived_at is not None
    with pytest.raises(ValidationError, match="archived"):
        services.product_update(product=product, **_settings(name="Renamed"))
    services.product_restore(product=product, by=admin)
    product.refresh_from_db()
    assert product.archived_at is None
    services.product_update(product=product, **_settings(name="Renamed"))
    product.refresh_from_db()
    assert product.name == "Renamed"


def _settings(**overrides) -> dict:
    data = settings_form(**overrides)
    data["weekly_capacity"] = int(data["weekly_capacity"])
    data["show_and_tell_weekday"] = int(data["show_and_tell_weekday"])
    return data


# ---------------------------------------------------------------- create page


def test_an_admin_creates_a_product_and_becomes_its_owner(admin_client, admin, organisation):
    page = admin_client.get(reverse("backlog:product_create"))
    assert page.status_code == 200
    assert "Product owner" in page.content.decode()
    response = admin_client.post(reverse("backlog:product_create"), settings_form(owner=admin.pk))
    product = Product.objects.get(organisation=organisation, name="Council tax")
    assert response.status_code == 302
    assert response["Location"] == reverse("backlog:product_backlog", args=[product.pk])
    assert product.roles.get().user == admin
    assert (product.weekly_capacity, product.new_items_position) == (30, "top")


def test_an_admin_can_name_someone_else_as_the_owner(admin_client, make_member, organisation):
    colleague = make_member()
    admin_client.post(reverse("backlog:product_create"), settings_form(owner=colleague.pk))
    product = Product.objects.get(organisation=organisation, name="Council tax")
    assert list(product.roles.values_list("user", flat=True)) == [colleague.pk]


@pytest.mark.parametrize(
    "bad",
    [
        {"name": ""},
        {"weekly_capacity": "-1"},
        {"weekly_capacity": "lots"},
        {"weekly_capacity": "99999999999"},
        {"kind": "spaceship"},
        {"show_and_tell_weekday": "8"},
        {"new_items_position": "middle"},
        {"name": "x" * 201},
    ],
)
def test_bad_input_on_the_create_page_says_so_and_saves_nothing(admin_client, admin, bad):
    before = Product.objects.count()
    response = admin_client.post(
        reverse("backlog:product_create"), settings_form(owner=admin.pk, **bad)
    )
    assert response.status_code == 422
    assert "There is a problem" in response.content.decode()
    assert Product.objects.count() == before
    assert not ProductRole.objects.filter(user=admin).exists()


def test_an_owner_from_another_organisation_is_not_a_choice(admin_client, outsider):
    response = admin_client.post(
        reverse("backlog:product_create"), settings_form(owner=outsider.pk)
    )
    assert response.status_code == 422
    assert not Product.objects.filter(name="Council tax").exists()


def test_a_duplicate_name_on_the_create_page_is_a_clear_message(admin_client, admin, product):
    response = admin_client.post(
        reverse("backlog:product_create"), settings_form(owner=admin.pk, name="repairs")
    )
    assert response.status_code == 422
    assert "already has a product called “repairs”" in response.content.decode()
    assert Product.objects.filter(organisation=product.organisation).count() == 1


def test_a_member_who_is_not_an_admin_cannot_create_a_product(owner_client):
    assert owner_client.get(reverse("backlog:product_create")).status_code == 403
    response = owner_client.post(reverse("backlog:product_create"), settings_form())
    assert response.status_code == 403
    assert not Product.objects.filter(name="Council tax").exists()


def test_the_navigation_offers_new_product_to_admins_only(admin_client, owner_client, product):
    url = reverse("backlog:product_create")
    assert (
        url
        in admin_client.get(reverse("backlog:product_backlog", args=[product.pk])).content.decode()
    )
    assert (
        url
        not in owner_client.get(
            reverse("backlog:product_backlog", args=[product.pk])
        ).content.decode()
    )


# ---------------------------------------------------------------- settings page


def test_the_product_owner_edits_the_settings(owner_client, product):
    url = reverse("backlog:product_edit", args=[product.pk])
    assert owner_client.get(url).status_code == 200
    response = owner_client.post(url, settings_form(name="Housing repairs"))
    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.name, product.kind, product.weekly_capacity) == (
        "Housing repairs",
        "platform",
        30,
    )


def test_a_refused_edit_keeps_the_saved_settings_and_says_why(owner_client, product, organisation):
    services.product_create(organisation=organisation, name="Parking")
    url = reverse("backlog:product_edit", args=[product.pk])
    response = owner_client.post(url, settings_form(name="Parking", weekly_capacity="50"))
    assert response.status_code == 422
    body = response.content.decode()
    assert "already has a product called “Parking”" in body
    assert "<h1>Settings of Repairs</h1>" in body
    product.refresh_from_db()
    assert (product.name, product.weekly_capacity) == ("Repairs", 20)


def test_an_admin_edits_any_product_and_a_viewer_or_other_organisation_cannot(
    admin_client, viewer_client, outsider_client, product
):
    url = reverse("backlog:product_edit", args=[product.pk])
    assert admin_client.get(url).status_code == 200
    assert viewer_client.get(url).status_code == 403
    assert viewer_client.post(url, settings_form()).status_code == 403
    assert outsider_client.get(url).status_code == 404
    product.refresh_from_db()
    assert product.name == "Repairs"


def test_the_settings_page_offers_archive_to_admins_only(admin_client, owner_client, product):
    url = reverse("backlog:product_edit", args=[product.pk])
    archive = reverse("backlog:product_archive", args=[product.pk])
    assert archive in admin_client.get(url).content.decode()
    assert archive not in owner_client.get(url).content.decode()


# ---------------------------------------------------------------- archive and restore


def test_archiving_asks_first_and_says_what_it_means(admin_client, product):
    url = reverse("backlog:product_archive", args=[product.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    assert "read-only" in page.content.decode()
    assert admin_client.post(url, {}).status_code == 200  # not confirmed: the step again
    product.refresh_from_db()
    assert product.archived_at is None
    response = admin_client.post(url, {"confirmed": "yes"})
    assert response.status_code == 302
    product.refresh_from_db()
    assert product.archived_at is not None


def test_only_admins_archive_or_restore(owner_client, outsider_client, product):
    for name in ("backlog:product_archive", "backlog:product_restore"):
        url = reverse(name, args=[product.pk])
        assert owner_client.post(url, {"confirmed": "yes"}).status_code == 403
        assert outsider_client.post(url, {"confirmed": "yes"}).status_code == 404
    product.refresh_from_db()
    assert product.archived_at is None


@pytest.fixture
def archived(product, admin):
    services.product_archive(product=product, by=admin)
    product.refresh_from_db()
    return product


def test_an_archived_product_leaves_the_home_page_and_lists_but_stays_reachable(
    archived, owner_client, owner, organisation
):
    assert archived not in selectors.product_list(organisation=organisation)
    assert "Repairs" not in owner_client.get(reverse("backlog:home")).content.decode()
    _, secret = api_token_create(user=owner, name="Script")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    listed = api.get(reverse("api:product_list")).json()
    assert archived.pk not in [p["id"] for p in listed["results"]]
    page = owner_client.get(reverse("backlog:product_backlog", args=[archived.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert "This product is archived" in body
    assert reverse("backlog:item_create", args=[archived.pk]) not in body  # no "New item"
    assert reverse("backlog:product_restore", args=[archived.pk]) not in body  # not an admin


def test_an_archived_products_page_offers_restore_to_admins(archived, admin_client):
    body = admin_client.get(reverse("backlog:product_backlog", args=[archived.pk])).content.decode()
    assert reverse("backlog:product_restore", args=[archived.pk]) in body


def _refused(response) -> None:
    assert response.status_code == 403
    assert "This product is archived" in response.content.decode()


def test_every_page_write_to_an_archived_product_is_refused_with_the_reason(
    product, owner, owner_client, make_member
):
    item = BacklogItemFactory(product=product, title="Fix the boiler", effort=3)
    voter = make_member(product=product, roles=[ProductRoleKind.BUSINESS_VOTER])
    lead = make_member(product=product, roles=[ProductRoleKind.DELIVERY_LEAD])
    give_score_ranks(
        [BacklogItemFactory(product=product, title=f"Item {n}", effort=2) for n in range(4)]
    )
    round = open_round(product, owner, shortlist_size=2)
    admin = make_member(admin=True)
    services.product_archive(product=product, by=admin)
    before = BacklogItem.objects.filter(product=product).count()
    pk = product.pk
    _refused(owner_client.post(reverse("backlog:item_create", args=[pk]), {"title": "New"}))
    _refused(owner_client.post(reverse("backlog:item_quick_add", args=[pk]), {"title": "New"}))
    _refused(
        owner_client.post(reverse("backlog:item_quick_add", args=[pk]), {"title": "N"}, **HTMX)
    )
    _refused(owner_client.post(reverse("backlog:item_edit", args=[item.pk]), {"title": "X"}))
    _refused(owner_client.post(reverse("backlog:item_move", args=[item.pk]), {"to": "down"}))
    _refused(owner_client.post(reverse("backlog:item_pin", args=[item.pk]), {"pinned": "true"}))
    _refused(owner_client.post(reverse("backlog:order_apply_scores", args=[pk])))
    _refused(owner_client.post(reverse("prioritisation:estimates_edit", args=[item.pk]), {}))
    _refused(
        owner_client.post(
            reverse("prioritisation:scoring_settings", args=[pk]),
            {"scoring_method": "rice", "effort_uplift": "1", "benefit_haircut": "0"},
        )
    )
    _refused(owner_client.post(reverse("prioritisation:round_create", args=[pk]), {}))
    _refused(owner_client.post(reverse("prioritisation:round_close", args=[round.pk])))
    _refused(client_for(voter).post(reverse("prioritisation:ballot", args=[round.pk]), {}))
    _refused(client_for(lead).post(reverse("backlog:session_start", args=[pk])))
    _refused(owner_client.post(reverse("backlog:product_edit", args=[pk]), settings_form()))
    _refused(owner_client.post(reverse("backlog:product_people", args=[pk]), {}))
    assert BacklogItem.objects.filter(product=product).count() == before
    item.refresh_from_db()
    assert (item.title, item.pinned) == ("Fix the boiler", False)
    # Reading stays open.
    assert owner_client.get(reverse("backlog:item_detail", args=[item.pk])).status_code == 200
    assert owner_client.get(reverse("prioritisation:round_list", args=[pk])).status_code == 200


def test_api_writes_to_an_archived_product_are_refused_with_the_reason(archived, owner):
    item = BacklogItemFactory(product=archived, title="Fix the boiler", effort=3)
    _, secret = api_token_create(user=owner, name="Script")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    created = api.post(
        reverse("api:product_items", args=[archived.pk]),
        json.dumps({"title": "Over the API"}),
        content_type="application/json",
    )
    assert created.status_code == 403
    assert ARCHIVED_MESSAGE in created.json()["detail"]
    patched = api.patch(
        reverse("api:item_detail", args=[item.pk]),
        json.dumps({"title": "Renamed"}),
        content_type="application/json",
    )
    assert patched.status_code == 403
    estimates = api.put(
        reverse("api:item_estimates", args=[item.pk]), "[]", content_type="application/json"
    )
    assert estimates.status_code == 403
    assert api.get(reverse("api:product_items", args=[archived.pk])).status_code == 200
    item.refresh_from_db()
    assert item.title == "Fix the boiler"
    assert not BacklogItem.objects.filter(title="Over the API").exists()


def test_restoring_lets_writes_in_again(archived, admin_client, owner_client):
    response = admin_client.post(reverse("backlog:product_restore", args=[archived.pk]))
    assert response.status_code == 302
    archived.refresh_from_db()
    assert archived.archived_at is None
    added = owner_client.post(
        reverse("backlog:item_quick_add", args=[archived.pk]), {"title": "Back in business"}
    )
    assert added.status_code == 302
    assert BacklogItem.objects.filter(product=archived, title="Back in business").exists()
    assert archived in selectors.product_list(organisation=archived.organisation)


def test_archiving_an_archived_product_keeps_its_first_date(archived, admin_client):
    first = archived.archived_at
    admin_client.post(reverse("backlog:product_archive", args=[archived.pk]), {"confirmed": "yes"})
    archived.refresh_from_db()
    assert archived.archived_at == first <= timezone.now()


def test_an_archived_products_settings_page_is_read_only(archived, admin_client):
    body = admin_client.get(reverse("backlog:product_edit", args=[archived.pk])).content.decode()
    assert "This product is archived" in body
    assert "Save settings" not in body


def test_an_archived_product_gets_no_new_show_and_tell_until_restored(archived, admin):
    friday = datetime(2026, 11, 20, 10, tzinfo=UTC)  # the products' default day, Friday
    assert session_services.sessions_create_due(now=friday) == []
    services.product_restore(product=archived, by=admin)
    assert len(session_services.sessions_create_due(now=friday)) == 1
    assert ShowAndTell.objects.filter(product=archived).count() == 1
