"""Backlog pages: the permission matrix, htmx fragments, validation and query counts."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from backlog.models import EFFORT_RULE, BacklogItem, ItemEvent, ItemStatus, ProductRoleKind
from tests.conftest import HTMX, client_for, count_get_queries
from tests.factories import BacklogItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def item(product):
    return BacklogItemFactory(product=product, title="Report a repair online")


@pytest.fixture
def other_item(other_product):
    return BacklogItemFactory(product=other_product, title="Secret elsewhere item")


def valid_item_data(**overrides) -> dict:
    data = {
        "title": "Book a repair slot",
        "description": "Tenants pick a slot.",
        "status": ItemStatus.READY,
        "digitisation_level": "efficiency",
        "effort": "5",
    }
    data.update(overrides)
    return data


def read_urls(product, item) -> list[str]:
    return [
        reverse("backlog:product_backlog", args=[product.pk]),
        reverse("backlog:item_detail", args=[item.pk]),
    ]


def write_urls(product, item) -> list[str]:
    return [
        reverse("backlog:item_create", args=[product.pk]),
        reverse("backlog:item_quick_add", args=[product.pk]),
        reverse("backlog:item_edit", args=[item.pk]),
    ]


def test_anonymous_user_is_sent_to_sign_in(client, product, item):
    for url in [reverse("backlog:home"), *read_urls(product, item), *write_urls(product, item)]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login")), url


def test_user_of_another_organisation_gets_404_for_every_page(outsider_client, product, item):
    for url in read_urls(product, item):
        assert outsider_client.get(url).status_code == 404, url
    for url in write_urls(product, item):
        assert outsider_client.post(url, valid_item_data()).status_code == 404, url
    assert not BacklogItem.objects.filter(title="Book a repair slot").exists()


def test_home_lists_only_own_organisations_products(owner_client, product, other_product):
    response = owner_client.get(reverse("backlog:home"))
    assert response.status_code == 200
    assert product.name.encode() in response.content
    assert other_product.name.encode() not in response.content


def test_viewer_gets_403_on_every_write(viewer_client, product, item):
    for url in write_urls(product, item):
        assert viewer_client.get(url).status_code in {403, 405}, url
        assert viewer_client.post(url, valid_item_data()).status_code == 403, url
    item.refresh_from_db()
    assert item.title == "Report a repair online"
    assert BacklogItem.objects.filter(product=product).count() == 1


@pytest.mark.parametrize("role", [ProductRoleKind.BUSINESS_VOTER, ProductRoleKind.KEY_USER])
def test_read_only_roles_cannot_create_items(make_member, product, role):
    client = client_for(make_member(product=product, roles=[role]))
    url = reverse("backlog:item_create", args=[product.pk])
    assert client.post(url, valid_item_data()).status_code == 403


def test_viewer_can_read_the_backlog_but_sees_no_edit_controls(viewer_client, product, item):
    response = viewer_client.get(reverse("backlog:product_backlog", args=[product.pk]))
    assert response.status_code == 200
    assert b"Report a repair online" in response.content
    assert b"Add to backlog" not in response.content


def test_organisation_admin_can_edit_without_a_product_role(make_member, product, item):
    client = client_for(make_member(admin=True))
    response = client.post(reverse("backlog:item_edit", args=[item.pk]), valid_item_data())
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.title == "Book a repair slot"


def test_owner_creates_an_item_at_the_bottom_with_history(owner_client, owner, product, item):
    cohort = product.organisation.cohorts.get(name="Citizens")
    response = owner_client.post(
        reverse("backlog:item_create", args=[product.pk]),
        valid_item_data(cohorts=[cohort.pk]),
    )
    created = BacklogItem.objects.get(title="Book a repair slot")
    assert response.status_code == 302
    assert response.url == reverse("backlog:item_detail", args=[created.pk])
    assert created.rank_key > item.rank_key
    assert list(created.cohorts.all()) == [cohort]
    assert created.ready_at is not None
    assert created.created_by == owner
    assert ItemEvent.objects.filter(item=created, kind="created").exists()


def test_new_items_land_at_the_top_when_the_product_says_so(owner_client, product, item):
    product.new_items_position = "top"
    product.save()
    owner_client.post(reverse("backlog:item_quick_add", args=[product.pk]), {"title": "First!"})
    keys = list(BacklogItem.objects.filter(product=product).values_list("title", flat=True))
    assert keys == ["First!", "Report a repair online"]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"title": ""}, "title", "This field is required."),
        ({"effort": "-3"}, "effort", EFFORT_RULE),
        ({"effort": "0"}, "effort", EFFORT_RULE),
        ({"effort": "lots"}, "effort", EFFORT_RULE),
        ({"status": "shipped"}, "status", "Select a valid choice."),
        ({"digitisation_level": "magic"}, "digitisation_level", "Select a valid choice."),
    ],
)
def test_invalid_item_form_rerenders_with_field_errors_and_saves_nothing(
    owner_client, product, overrides, field, message
):
    response = owner_client.post(
        reverse("backlog:item_create", args=[product.pk]), valid_item_data(**overrides)
    )
    assert response.status_code == 422
    assert message in response.context["form"].errors[field][0]
    assert b"There is a problem" in response.content
    assert not BacklogItem.objects.filter(product=product).exists()


def test_cohort_of_another_organisation_is_refused(owner_client, product, other_organisation):
    foreign = other_organisation.cohorts.first()
    response = owner_client.post(
        reverse("backlog:item_create", args=[product.pk]), valid_item_data(cohorts=[foreign.pk])
    )
    assert response.status_code == 422
    assert "cohorts" in response.context["form"].errors
    assert not BacklogItem.objects.exists()


def test_edit_records_what_changed(owner_client, item):
    owner_client.post(
        reverse("backlog:item_edit", args=[item.pk]),
        valid_item_data(title="Report a repair with photos", status=ItemStatus.IN_PROGRESS),
    )
    item.refresh_from_db()
    assert item.status == ItemStatus.IN_PROGRESS
    assert item.started_at is not None
    kinds = set(ItemEvent.objects.filter(item=item).values_list("kind", flat=True))
    assert kinds == {"status", "edited"}
    edited = ItemEvent.objects.get(item=item, kind="edited")
    assert edited.data["changes"]["title"] == [
        "Report a repair online",
        "Report a repair with photos",
    ]


def test_invalid_edit_leaves_the_item_unchanged(owner_client, item):
    response = owner_client.post(
        reverse("backlog:item_edit", args=[item.pk]), valid_item_data(title="", effort="-1")
    )
    assert response.status_code == 422
    item.refresh_from_db()
    assert item.title == "Report a repair online"
    assert not ItemEvent.objects.filter(item=item).exists()


def test_htmx_edit_returns_only_the_form_then_only_the_summary(owner_client, item):
    url = reverse("backlog:item_edit", args=[item.pk])
    form = owner_client.get(url, **HTMX)
    assert form.status_code == 200
    assert b'id="item-form"' in form.content
    assert b"<html" not in form.content
    saved = owner_client.post(url, valid_item_data(title="Renamed"), **HTMX)
    assert b'id="item-summary"' in saved.content
    assert b"Renamed" in saved.content
    assert b"<html" not in saved.content


def test_htmx_edit_with_errors_retargets_the_form(owner_client, item):
    response = owner_client.post(
        reverse("backlog:item_edit", args=[item.pk]), valid_item_data(title=""), **HTMX
    )
    assert response.status_code == 200  # htmx swaps only 2xx responses
    assert response["HX-Retarget"] == "#item-form"
    assert b"This field is required." in response.content


def test_htmx_quick_add_returns_a_fresh_form_and_refreshes_the_list(owner_client, product):
    response = owner_client.post(
        reverse("backlog:item_quick_add", args=[product.pk]),
        {"title": "Text reminders", "effort": "2"},
        **HTMX,
    )
    assert response.status_code == 200
    assert "itemsChanged" in json.loads(response["HX-Trigger"])
    assert b'id="quick-add"' in response.content
    assert b"<html" not in response.content
    assert BacklogItem.objects.get(product=product).title == "Text reminders"


def test_htmx_quick_add_with_negative_effort_shows_the_error(owner_client, product):
    response = owner_client.post(
        reverse("backlog:item_quick_add", args=[product.pk]),
        {"title": "Text reminders", "effort": "-2"},
        **HTMX,
    )
    assert EFFORT_RULE in response.content.decode()
    assert "HX-Trigger" not in response
    assert not BacklogItem.objects.exists()


def test_filters_and_search_keep_manual_order(owner_client, product, organisation):
    citizens = organisation.cohorts.get(name="Citizens")
    first = BacklogItemFactory(product=product, title="Alpha repair", status="ready")
    BacklogItemFactory(product=product, title="Beta repair", status="idea")
    third = BacklogItemFactory(product=product, title="Gamma repair", status="ready")
    third.cohorts.add(citizens)
    first.cohorts.add(citizens)
    url = reverse("backlog:product_backlog", args=[product.pk])
    response = owner_client.get(url, {"status": "ready", "cohort": citizens.pk, "q": "repair"})
    assert [i.title for i in response.context["items"]] == ["Alpha repair", "Gamma repair"]
    response = owner_client.get(url, {"q": "beta"})
    assert [i.title for i in response.context["items"]] == ["Beta repair"]
    response = owner_client.get(url, {"level": "transformation"})
    assert list(response.context["items"]) == []


def test_htmx_filter_returns_only_the_results_fragment(owner_client, product, item):
    response = owner_client.get(
        reverse("backlog:product_backlog", args=[product.pk]),
        {"q": "repair"},
        HTTP_HX_TARGET="backlog-results",
        **HTMX,
    )
    assert b'id="backlog-results"' in response.content
    assert b"Report a repair online" in response.content
    assert b"<html" not in response.content
    assert b'class="filters"' not in response.content


def test_backlog_pages_by_100_with_keyset_continuation(owner_client, product):
    BacklogItemFactory.create_batch(130, product=product)
    url = reverse("backlog:product_backlog", args=[product.pk])
    first = owner_client.get(url)
    assert len(first.context["items"]) == 100
    after = first.context["next_after"]
    rest = owner_client.get(url, {"after": after, "start": 100}, **HTMX)
    assert b"<html" not in rest.content
    assert rest.content.count(b'data-label="Title"') == 30
    assert b'id="load-more"' not in rest.content
    assert b'<td class="num" data-label="Manual rank">101</td>' in rest.content
    titles = [i.title for i in first.context["items"]]
    expected = list(
        BacklogItem.objects.filter(product=product)
        .order_by("rank_key")
        .values_list("title", flat=True)
    )
    assert titles == expected[:100]
    assert expected[100].encode() in rest.content
    assert expected[99].encode() not in rest.content


def test_backlog_list_query_count_is_constant_in_the_number_of_items(
    owner_client, product, organisation, django_assert_max_num_queries
):
    """Guards the N+1 of cohorts per row: 5 items and 500 items take the same queries."""
    cohorts = list(organisation.cohorts.all())
    url = reverse("backlog:product_backlog", args=[product.pk])
    for item in BacklogItemFactory.create_batch(5, product=product):
        item.cohorts.set(cohorts)
    few = count_get_queries(owner_client, url)
    for item in BacklogItemFactory.create_batch(495, product=product):
        item.cohorts.set(cohorts)
    many = count_get_queries(owner_client, url + "?start=0")
    assert many == few
    with django_assert_max_num_queries(12):
        owner_client.get(url)


def test_product_list_query_count_is_constant(
    owner_client, organisation, django_assert_max_num_queries
):
    """Guards the N+1 of item counts per product card on the home page."""
    from tests.factories import ProductFactory

    ProductFactory.create_batch(30, organisation=organisation)
    with django_assert_max_num_queries(8):
        assert owner_client.get(reverse("backlog:home")).status_code == 200


@pytest.mark.parametrize(("client_name", "columns"), [("viewer_client", 9), ("owner_client", 11)])
def test_the_capacity_line_spans_exactly_the_columns_shown(request, product, client_name, columns):
    product.weekly_capacity = 4
    product.save()
    BacklogItemFactory.create_batch(3, product=product, effort=3)
    response = request.getfixturevalue(client_name).get(
        reverse("backlog:product_backlog", args=[product.pk])
    )
    assert f'<tr class="capacity-line"><td colspan="{columns}">'.encode() in response.content


@pytest.mark.parametrize(
    ("score", "shown"),
    [(1.6666, "1.7"), (0.23456, "0.23"), (12.3456, "12"), (0.9996, "1.0"), (1234.5, "1,200")],
)
def test_scores_in_the_rows_show_two_significant_figures(owner_client, product, score, shown):
    from django.utils import timezone

    from prioritisation.models import ItemScore

    item = BacklogItemFactory(product=product, title="Scored")
    ItemScore.objects.create(
        item=item, product=product, method="benefit_per_effort", rank=1, score=score,
        computed_at=timezone.now(),
    )  # fmt: skip
    text = owner_client.get(reverse("backlog:product_backlog", args=[product.pk])).content
    cell = text.decode().split('data-label="Score">', 1)[1].split("</td>", 1)[0]
    assert cell == shown


@pytest.mark.parametrize(
    ("method", "meaning"),
    [
        ("benefit_per_effort", "benefit per point of effort"),
        ("moscow", "benefit per point of effort"),
        ("rice", "reach × impact × confidence ÷ effort"),
        ("wsjf", "cost of delay ÷ job size"),
        ("ice", "impact × confidence × ease"),
    ],
)
def test_the_score_heading_says_what_the_score_is_and_effort_says_points(
    owner_client, product, method, meaning
):
    product.scoring_method = method
    product.save()
    BacklogItemFactory(product=product)
    text = owner_client.get(reverse("backlog:product_backlog", args=[product.pk])).content.decode()
    headings = [
        " ".join(re.sub(r"<[^>]+>", "", h).split())
        for h in re.findall(r'<th scope="col"[^>]*>(.*?)</th>', text, re.S)
    ]
    assert any(
        meaning in h and h.startswith(("Score", product.get_scoring_method_display()))
        for h in headings
    ), headings
    assert "Effort (points)" in headings
