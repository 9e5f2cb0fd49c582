"""API v1 for products and items: the permission matrix, validation, content and query counts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from backlog import ordering
from backlog.models import (
    EFFORT_RULE,
    BacklogItem,
    CapabilityUse,
    ItemCapability,
    ItemEvent,
    ItemStatus,
    ProductRoleKind,
)
from customers.services import api_token_create
from prioritisation import services as scoring_services
from prioritisation.models import BenefitEstimate
from tests.conftest import client_for, count_get_queries
from tests.factories import (
    BacklogItemFactory,
    CapabilityFactory,
    ProductFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

JSON = "application/json"


@pytest.fixture
def item(product):
    return BacklogItemFactory(product=product, title="Report a repair online", effort=3)


@pytest.fixture
def other_item(other_product):
    return BacklogItemFactory(product=other_product, title="Secret elsewhere item")


@pytest.fixture
def citizens(organisation):
    return organisation.cohorts.get(name="Citizens")


def new_item(**overrides) -> dict:
    data = {
        "title": "Book a repair slot",
        "description": "Tenants pick a slot.",
        "status": ItemStatus.READY,
        "digitisation_level": "efficiency",
        "effort": "5",
    }
    data.update(overrides)
    return data


def items_url(product) -> str:
    return reverse("api:product_items", args=[product.pk])


def item_url(item) -> str:
    return reverse("api:item_detail", args=[item.pk])


def post(client, url, data):
    return client.post(url, data, content_type=JSON)


def patch(client, url, data):
    return client.patch(url, data, content_type=JSON)


def unchanged(item) -> bool:
    """The item as the fixture made it, with no history written."""
    item.refresh_from_db()
    return (
        item.title == "Report a repair online"
        and item.effort == 3
        and item.status == ItemStatus.IDEA
        and not ItemEvent.objects.filter(item=item).exists()
    )


# ---------------------------------------------------------------- the permission matrix


def test_anonymous_user_is_refused_on_every_endpoint(client, product, item):
    for url in [reverse("api:product_list"), items_url(product), item_url(item)]:
        assert client.get(url).status_code in {401, 403}, url
    assert post(client, items_url(product), new_item()).status_code in {401, 403}
    assert patch(client, item_url(item), {"title": "Renamed"}).status_code in {401, 403}
    assert BacklogItem.objects.count() == 1
    assert unchanged(item)


def test_user_of_another_organisation_gets_404_for_every_product_and_item(
    outsider_client, product, item
):
    assert outsider_client.get(items_url(product)).status_code == 404
    assert outsider_client.get(item_url(item)).status_code == 404
    assert post(outsider_client, items_url(product), new_item()).status_code == 404
    assert patch(outsider_client, item_url(item), {"title": "Renamed"}).status_code == 404
    assert BacklogItem.objects.filter(product=product).count() == 1
    assert unchanged(item)


def test_user_of_another_organisation_gets_404_even_with_invalid_input(
    outsider_client, product, item
):
    """Validation never runs before the organisation check, so it cannot leak existence."""
    assert post(outsider_client, items_url(product), {"effort": "-1"}).status_code == 404
    assert patch(outsider_client, item_url(item), {"status": "live"}).status_code == 404


def test_user_in_no_organisation_gets_404(item):
    lonely = client_for(UserFactory())
    assert lonely.get(reverse("api:product_list")).status_code == 404
    assert lonely.get(item_url(item)).status_code == 404


def test_viewer_gets_403_on_every_write_and_nothing_is_saved(viewer_client, product, item):
    assert post(viewer_client, items_url(product), new_item()).status_code == 403
    response = patch(viewer_client, item_url(item), {"title": "Renamed"})
    assert response.status_code == 403
    assert "does not allow changes" in response.json()["detail"]
    assert BacklogItem.objects.filter(product=product).count() == 1
    assert unchanged(item)


def test_viewer_gets_403_not_400_for_invalid_input(viewer_client, product, item):
    """The role is checked before the input, as on the pages."""
    assert post(viewer_client, items_url(product), {"effort": "-1"}).status_code == 403
    assert patch(viewer_client, item_url(item), {"status": "live"}).status_code == 403


@pytest.mark.parametrize("role", [ProductRoleKind.BUSINESS_VOTER, ProductRoleKind.KEY_USER])
def test_read_only_roles_can_read_but_cannot_create_or_edit(make_member, product, item, role):
    client = client_for(make_member(product=product, roles=[role]))
    assert client.get(items_url(product)).status_code == 200
    assert client.get(item_url(item)).status_code == 200
    assert post(client, items_url(product), new_item()).status_code == 403
    assert patch(client, item_url(item), {"effort": "8"}).status_code == 403
    assert unchanged(item)


def test_viewer_can_read_the_backlog_and_an_item(viewer_client, product, item):
    listing = viewer_client.get(items_url(product))
    assert listing.status_code == 200
    assert [row["title"] for row in listing.json()["results"]] == ["Report a repair online"]
    detail = viewer_client.get(item_url(item))
    assert detail.status_code == 200
    assert detail.json()["title"] == "Report a repair online"


def test_organisation_admin_can_write_without_a_product_role(make_member, product, item):
    admin = client_for(make_member(admin=True))
    assert post(admin, items_url(product), new_item()).status_code == 201
    assert patch(admin, item_url(item), {"title": "Renamed"}).status_code == 200
    item.refresh_from_db()
    assert item.title == "Renamed"


def test_api_accepts_a_personal_token(owner, product, item):
    _, secret = api_token_create(user=owner, name="Script")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = client.get(items_url(product))
    assert response.status_code == 200
    assert [row["title"] for row in response.json()["results"]] == ["Report a repair online"]


# ---------------------------------------------------------------- products


def test_products_lists_only_the_users_organisations_products(
    owner_client, organisation, product, other_product
):
    ProductFactory(organisation=organisation, name="Apprenticeships")
    BacklogItemFactory(product=product, status=ItemStatus.IDEA)
    BacklogItemFactory(product=product, status=ItemStatus.LIVE)
    response = owner_client.get(reverse("api:product_list"))
    assert response.status_code == 200
    body = response.json()
    assert [p["name"] for p in body["results"]] == ["Apprenticeships", "Repairs"]
    repairs = body["results"][1]
    assert repairs["id"] == product.pk
    assert repairs["kind"] == "product"
    assert repairs["weekly_capacity"] == 20
    assert repairs["scoring_method"] == "benefit_per_effort"
    assert Decimal(repairs["effort_uplift"]) == Decimal("0.54")
    assert Decimal(repairs["benefit_haircut"]) == 0
    assert repairs["scores_computed_at"] is None
    assert (repairs["open_items"], repairs["live_items"]) == (1, 1)


def test_products_list_query_count_is_constant(
    owner_client, organisation, django_assert_max_num_queries
):
    """Guards the N+1 of item counts per product: 60 products in the same few queries."""
    for product in ProductFactory.create_batch(60, organisation=organisation):
        BacklogItemFactory(product=product)
    with django_assert_max_num_queries(6):
        response = owner_client.get(reverse("api:product_list"))
    assert len(response.json()["results"]) == 61


# ---------------------------------------------------------------- item list


def test_items_are_listed_in_manual_order_with_cohorts_and_score(
    owner_client, product, item, citizens
):
    second = BacklogItemFactory(product=product, title="Text reminders", effort=None)
    second.cohorts.add(citizens)
    # Move the second item to the top: the list follows the manual order, not creation.
    second.rank_key = ordering.key_between(None, item.rank_key)
    second.save()
    scoring_services.scores_recompute(product_id=product.pk)
    response = owner_client.get(items_url(product))
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["title"] for r in rows] == ["Text reminders", "Report a repair online"]
    top, bottom = rows
    assert top["cohorts"] == [citizens.pk]
    assert top["effort"] is None
    assert top["score"]["needs_estimates"] is True
    assert set(top) == {
        "id",
        "title",
        "description",
        "status",
        "digitisation_level",
        "effort",
        "cohorts",
        "rank_key",
        "created_at",
        "updated_at",
        "score",
    }
    assert set(bottom["score"]) == {
        "score",
        "raw_score",
        "benefit",
        "raw_benefit",
        "rank",
        "needs_estimates",
    }
    assert Decimal(bottom["effort"]) == 3


def test_an_item_not_yet_scored_has_a_null_score(owner_client, product, item):
    rows = owner_client.get(items_url(product)).json()["results"]
    assert rows[0]["score"] is None


def test_items_list_pages_by_cursor_and_limit(owner_client, product):
    """More in tests/test_api_paging.py."""
    BacklogItemFactory.create_batch(130, product=product)
    expected = list(
        BacklogItem.objects.filter(product=product)
        .order_by("rank_key")
        .values_list("pk", flat=True)
    )
    first = owner_client.get(items_url(product)).json()
    assert set(first) == {"next", "previous", "results"}
    assert [r["id"] for r in first["results"]] == expected[:100]
    assert "cursor=" in first["next"] and first["previous"] is None
    rest = owner_client.get(first["next"]).json()
    assert [r["id"] for r in rest["results"]] == expected[100:]
    assert rest["next"] is None
    window = owner_client.get(items_url(product), {"limit": 5}).json()
    window = owner_client.get(window["next"]).json()
    assert [r["id"] for r in window["results"]] == expected[5:10]


def test_items_list_filters_like_the_page(owner_client, product, citizens):
    first = BacklogItemFactory(product=product, title="Alpha repair", status="ready")
    BacklogItemFactory(product=product, title="Beta repair", status="idea")
    third = BacklogItemFactory(
        product=product, title="Gamma repair", status="ready", digitisation_level="transformation"
    )
    first.cohorts.add(citizens)
    third.cohorts.add(citizens)

    def titles(**query) -> list[str]:
        response = owner_client.get(items_url(product), query)
        assert response.status_code == 200
        return [r["title"] for r in response.json()["results"]]

    assert titles(status="ready", cohort=citizens.pk, q="repair") == [
        "Alpha repair",
        "Gamma repair",
    ]
    assert titles(q="beta") == ["Beta repair"]
    assert titles(level="transformation") == ["Gamma repair"]
    assert titles(level="efficiency") == []
    assert titles(status="", cohort="", level="", q="") == [
        "Alpha repair",
        "Beta repair",
        "Gamma repair",
    ]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"status": "shipped"}, "status", '"shipped" is not a valid choice.'),
        ({"level": "magic"}, "level", '"magic" is not a valid choice.'),
        ({"cohort": "many"}, "cohort", "A valid integer is required."),
    ],
)
def test_items_list_refuses_unknown_filters(owner_client, product, query, field, message):
    response = owner_client.get(items_url(product), query)
    assert response.status_code == 400
    assert response.json()[field] == [message]


def test_items_list_refuses_a_cohort_of_another_organisation(
    owner_client, product, other_organisation
):
    foreign = other_organisation.cohorts.first()
    response = owner_client.get(items_url(product), {"cohort": foreign.pk})
    assert response.status_code == 400
    assert response.json()["cohort"] == [
        f"Cohort {foreign.pk} is not one of your organisation's cohorts."
    ]


def _scored_items(product, cohorts, n: int) -> None:
    items = BacklogItemFactory.create_batch(n, product=product)
    through = BacklogItem.cohorts.through
    through.objects.bulk_create(
        through(backlogitem_id=item.pk, cohort_id=cohort.pk) for item in items for cohort in cohorts
    )
    metric = product.organisation.metrics.first()
    BenefitEstimate.objects.bulk_create(
        BenefitEstimate(item=item, cohort=cohorts[0], metric=metric, value=Decimal(i + 1))
        for i, item in enumerate(items)
    )
    scoring_services.scores_recompute(product_id=product.pk)


def test_items_list_query_count_is_constant_in_the_number_of_items(
    owner_client, product, organisation, django_assert_max_num_queries
):
    """Guards the N+1s of the list: the score per row (select_related) and the cohorts
    per row (prefetch). 5 items and 325 items, in one page or a page of 100, take the
    same queries."""
    cohorts = list(organisation.cohorts.all())
    _scored_items(product, cohorts, 5)
    url = items_url(product)
    few = count_get_queries(owner_client, url)
    _scored_items(product, cohorts, 320)
    assert count_get_queries(owner_client, url) == few
    assert count_get_queries(owner_client, url + "?limit=1000") == few
    with django_assert_max_num_queries(8):
        response = owner_client.get(url, {"limit": 1000})
    rows = response.json()["results"]
    assert len(rows) == 325
    assert all(len(r["cohorts"]) == len(cohorts) and r["score"] is not None for r in rows)


def test_items_list_query_count_with_filters_is_constant(
    owner_client, product, organisation, django_assert_max_num_queries
):
    """Guards the same N+1s when the cohort filter joins the cohorts table."""
    cohorts = list(organisation.cohorts.all())
    _scored_items(product, cohorts, 320)
    with django_assert_max_num_queries(9):
        response = owner_client.get(
            items_url(product), {"cohort": cohorts[0].pk, "status": "idea", "limit": 500}
        )
    assert len(response.json()["results"]) == 320


# ---------------------------------------------------------------- create


def test_owner_creates_an_item_at_the_bottom_with_history_and_a_score(
    owner_client, owner, product, item, citizens
):
    response = post(owner_client, items_url(product), new_item(cohorts=[citizens.pk]))
    assert response.status_code == 201
    created = BacklogItem.objects.get(title="Book a repair slot")
    body = response.json()
    assert response["Location"] == item_url(created)
    assert body["id"] == created.pk
    assert body["status"] == "ready"
    assert body["digitisation_level"] == "efficiency"
    assert Decimal(body["effort"]) == 5
    assert body["cohorts"] == [citizens.pk]
    assert body["score"] is not None  # the service rescored the product
    assert created.rank_key > item.rank_key
    assert created.created_by == owner
    assert created.ready_at is not None
    assert ItemEvent.objects.filter(item=created, kind="created").exists()


def test_only_a_title_is_needed_to_create_an_item(owner_client, product):
    response = post(owner_client, items_url(product), {"title": "Text reminders"})
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["digitisation_level"]) == ("idea", "access")
    assert (body["effort"], body["cohorts"], body["description"]) == (None, [], "")


def test_new_items_land_at_the_top_when_the_product_says_so(owner_client, product, item):
    product.new_items_position = "top"
    product.save()
    post(owner_client, items_url(product), {"title": "First!"})
    titles = owner_client.get(items_url(product)).json()["results"]
    assert [r["title"] for r in titles] == ["First!", "Report a repair online"]


EFFORT_MESSAGE = EFFORT_RULE


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"title": ""}, "title", "This field may not be blank."),
        ({"title": None}, "title", "This field may not be null."),
        ({"effort": "-3"}, "effort", EFFORT_MESSAGE),
        ({"effort": -3}, "effort", EFFORT_MESSAGE),
        ({"effort": "0"}, "effort", EFFORT_MESSAGE),
        ({"effort": 0}, "effort", EFFORT_MESSAGE),
        ({"effort": "lots"}, "effort", EFFORT_MESSAGE),
        ({"effort": "2.25"}, "effort", EFFORT_MESSAGE),
        ({"status": "shipped"}, "status", '"shipped" is not a valid choice.'),
        ({"status": "live"}, "status", "four go-live sign-offs"),
        ({"digitisation_level": "magic"}, "digitisation_level", '"magic" is not a valid choice.'),
        ({"cohorts": "Citizens"}, "cohorts", 'Expected a list of items but got type "str".'),
    ],
)
def test_invalid_item_is_refused_with_a_message_and_nothing_is_saved(
    owner_client, product, overrides, field, message
):
    response = post(owner_client, items_url(product), new_item(**overrides))
    assert response.status_code == 400
    assert message in response.json()[field][0]
    assert not BacklogItem.objects.filter(product=product).exists()
    assert not ItemEvent.objects.exists()


def test_item_without_a_title_is_refused(owner_client, product):
    data = new_item()
    del data["title"]
    response = post(owner_client, items_url(product), data)
    assert response.status_code == 400
    assert response.json() == {"title": ["This field is required."]}
    assert not BacklogItem.objects.exists()


def test_cohort_of_another_organisation_is_refused(owner_client, product, other_organisation):
    foreign = other_organisation.cohorts.first()
    response = post(owner_client, items_url(product), new_item(cohorts=[foreign.pk]))
    assert response.status_code == 400
    assert response.json()["cohorts"] == [f"Not one of your organisation's cohorts: {foreign.pk}."]
    assert not BacklogItem.objects.exists()


def test_body_that_is_not_json_is_refused(owner_client, product):
    response = owner_client.post(items_url(product), {"title": "Form post"})
    assert response.status_code == 415
    assert not BacklogItem.objects.exists()


# ---------------------------------------------------------------- detail and update


def test_item_detail_shows_the_item(owner_client, item, citizens):
    item.cohorts.add(citizens)
    response = owner_client.get(item_url(item))
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["title"], body["status"]) == (item.pk, item.title, "idea")
    assert body["cohorts"] == [citizens.pk]
    assert body["rank_key"] == item.rank_key
    assert body["score"] is None


def test_patch_changes_only_the_given_fields_and_records_history(owner_client, item, citizens):
    item.cohorts.add(citizens)
    item.description = "Photos too."
    item.save()
    response = patch(owner_client, item_url(item), {"title": "Report a repair with photos"})
    assert response.status_code == 200
    assert response.json()["title"] == "Report a repair with photos"
    item.refresh_from_db()
    assert item.title == "Report a repair with photos"
    assert (item.description, item.effort, item.status) == ("Photos too.", 3, "idea")
    assert list(item.cohorts.all()) == [citizens]
    edited = ItemEvent.objects.get(item=item)
    assert edited.kind == "edited"
    assert edited.data["changes"] == {
        "title": ["Report a repair online", "Report a repair with photos"]
    }


def test_patch_status_stamps_the_time_and_records_the_change(owner_client, item):
    response = patch(owner_client, item_url(item), {"status": "in_progress"})
    assert response.status_code == 200
    assert response.json()["status"] == "in_progress"
    item.refresh_from_db()
    assert item.started_at is not None
    event = ItemEvent.objects.get(item=item)
    assert (event.kind, event.data) == ("status", {"from": "idea", "to": "in_progress"})


def test_patch_replaces_cohorts_and_can_clear_effort(owner_client, organisation, item, citizens):
    leaders = organisation.cohorts.get(name="Leaders")
    item.cohorts.add(citizens)
    response = patch(owner_client, item_url(item), {"cohorts": [leaders.pk], "effort": None})
    assert response.status_code == 200
    assert response.json()["cohorts"] == [leaders.pk]
    assert response.json()["effort"] is None
    item.refresh_from_db()
    assert item.effort is None
    assert list(item.cohorts.all()) == [leaders]


def test_patch_keeps_the_items_capabilities(owner_client, organisation, item):
    """item_update replaces capability links with what it is given, and the API does not
    expose them: a PATCH must pass the current ones through, not wipe them."""
    booking = CapabilityFactory(organisation=organisation, name="Booking")
    payments = CapabilityFactory(organisation=organisation, name="Payments")
    ItemCapability.objects.create(item=item, capability=booking, use=CapabilityUse.BUILDS)
    ItemCapability.objects.create(item=item, capability=payments, use=CapabilityUse.REUSES)
    assert patch(owner_client, item_url(item), {"title": "Renamed"}).status_code == 200
    links = set(ItemCapability.objects.filter(item=item).values_list("capability__name", "use"))
    assert links == {("Booking", "builds"), ("Payments", "reuses")}


def test_a_live_item_may_be_edited_and_stay_live(owner_client, item):
    item.status = ItemStatus.LIVE
    item.save()
    assert patch(owner_client, item_url(item), {"title": "Renamed"}).status_code == 200
    response = patch(owner_client, item_url(item), {"status": "live", "effort": "8"})
    assert response.status_code == 200
    item.refresh_from_db()
    assert (item.title, item.status, item.effort) == ("Renamed", "live", 8)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"title": ""}, "title", "This field may not be blank."),
        ({"effort": "-1"}, "effort", EFFORT_MESSAGE),
        ({"effort": 0}, "effort", EFFORT_MESSAGE),
        ({"status": "shipped"}, "status", '"shipped" is not a valid choice.'),
        ({"status": "live"}, "status", "four go-live sign-offs"),
        ({"digitisation_level": "magic"}, "digitisation_level", '"magic" is not a valid choice.'),
    ],
)
def test_invalid_patch_is_refused_with_a_message_and_leaves_the_item_unchanged(
    owner_client, item, change, field, message
):
    response = patch(owner_client, item_url(item), {"description": "Changed", **change})
    assert response.status_code == 400
    assert message in response.json()[field][0]
    assert unchanged(item)
    assert item.description == ""


def test_patch_with_a_cohort_of_another_organisation_leaves_the_item_unchanged(
    owner_client, item, citizens, other_organisation
):
    item.cohorts.add(citizens)
    foreign = other_organisation.cohorts.first()
    response = patch(owner_client, item_url(item), {"cohorts": [citizens.pk, foreign.pk]})
    assert response.status_code == 400
    assert str(foreign.pk) in response.json()["cohorts"][0]
    assert list(item.cohorts.all()) == [citizens]
    assert unchanged(item)


def test_put_and_delete_are_not_offered_on_an_item(owner_client, item):
    assert owner_client.put(item_url(item), new_item(), content_type=JSON).status_code == 405
    assert owner_client.delete(item_url(item)).status_code == 405
    assert BacklogItem.objects.filter(pk=item.pk).exists()


def test_browsable_api_renders_the_product_and_item_endpoints(owner_client, product, item):
    """The HTML renderer asks the view for its queryset again: it must get the same
    permission-checked, filtered list, not crash."""
    pages = {
        reverse("api:product_list"): b"Repairs",
        items_url(product): b"Report a repair online",
        item_url(item): b"Report a repair online",
    }
    for url, text in pages.items():
        response = owner_client.get(url, HTTP_ACCEPT="text/html")
        assert response.status_code == 200, url
        assert response["Content-Type"].startswith("text/html"), url
        assert text in response.content, url


def test_browsable_api_keeps_the_permission_checks(outsider_client, product):
    response = outsider_client.get(items_url(product), HTTP_ACCEPT="text/html")
    assert response.status_code == 404


# ---------------------------------------------------------------- schema


def test_openapi_schema_renders(owner_client):
    response = owner_client.get(reverse("api_schema"))
    assert response.status_code == 200
    assert b"/api/v1/products/{id}/items/" in response.content
    assert b"/api/v1/items/{id}/estimates/" in response.content


def test_openapi_schema_is_valid_and_has_no_warnings(tmp_path):
    """What CI runs: an endpoint the generator cannot describe fails here, not in a client."""
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml")
    )
    assert "/api/v1/items/{id}/score/" in (tmp_path / "schema.yml").read_text()
