"""Scoring pages: permissions, the estimates grid, settings, metrics, and the scored backlog."""

from __future__ import annotations

from datetime import UTC

import pytest
from django.urls import reverse

from backlog.models import ProductRoleKind
from prioritisation import services
from prioritisation.models import BenefitEstimate, BenefitMetric, ItemScore
from tests.conftest import HTMX, client_for, count_get_queries
from tests.factories import BacklogItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def item(product):
    return BacklogItemFactory(product=product, title="Book a repair slot", effort=3)


@pytest.fixture
def grid(organisation):
    cohorts = list(organisation.cohorts.order_by("name"))
    metrics = list(organisation.metrics.order_by("name"))
    return cohorts, metrics


def grid_data(grid, **cells) -> dict:
    """Form data for the whole grid: every cell empty unless given as name=(value, conf)."""
    cohorts, metrics = grid
    data = {}
    for cohort in cohorts:
        for metric in metrics:
            suffix = f"{cohort.pk}-{metric.pk}"
            value, confidence = cells.get(f"{cohort.name}_{metric.pk}", ("", "medium"))
            data[f"value-{suffix}"] = value
            data[f"confidence-{suffix}"] = confidence
            data[f"evidence-{suffix}"] = ""
    return data


def test_estimates_grid_is_saved_and_the_score_appears(owner_client, item, grid):
    cohorts, metrics = grid
    key = f"Citizens_{metrics[0].pk}"
    response = owner_client.post(
        reverse("prioritisation:estimates_edit", args=[item.pk]),
        grid_data(grid, **{key: ("120", "high")}),
    )
    assert response.status_code == 302
    saved = BenefitEstimate.objects.get(item=item)
    assert (saved.value, saved.confidence, saved.cohort.name) == (120, "high", "Citizens")
    page = owner_client.get(reverse("backlog:item_detail", args=[item.pk]))
    assert b"of 1 open items" in page.content
    assert page.context["explanation"].score.rank == 1


@pytest.mark.parametrize(
    ("value", "confidence", "message"),
    [
        ("lots", "high", "Enter a number, like 12 or 3.5."),
        ("12", "certain", "Select a valid choice."),
        ("1e999", "high", "That number is too large"),
        ("0.001", "high", "At most 2 decimal places"),
    ],
)
def test_invalid_estimates_show_errors_and_save_nothing(
    owner_client, item, grid, value, confidence, message
):
    cohorts, metrics = grid
    good = f"Leaders_{metrics[1].pk}"
    bad = f"Citizens_{metrics[0].pk}"
    response = owner_client.post(
        reverse("prioritisation:estimates_edit", args=[item.pk]),
        grid_data(grid, **{good: ("5", "low"), bad: (value, confidence)}),
        **HTMX,
    )
    assert response.status_code == 200
    assert message.encode() in response.content
    assert b"Nothing was saved." in response.content
    assert "HX-Trigger" not in response
    assert not BenefitEstimate.objects.exists()


def test_htmx_estimates_return_the_grid_fragment_and_ask_for_a_score_refresh(
    owner_client, item, grid
):
    _cohorts, metrics = grid
    response = owner_client.post(
        reverse("prioritisation:estimates_edit", args=[item.pk]),
        grid_data(grid, **{f"Colleagues_{metrics[2].pk}": ("7.5", "medium")}),
        **HTMX,
    )
    assert b'id="estimates"' in response.content
    assert b"<html" not in response.content
    assert "scoresChanged" in response["HX-Trigger"]
    panel = owner_client.get(reverse("prioritisation:item_score", args=[item.pk]), **HTMX)
    assert b'id="score-panel"' in panel.content and b"#1" in panel.content


def test_estimates_permission_matrix(client, viewer_client, outsider_client, item, grid):
    url = reverse("prioritisation:estimates_edit", args=[item.pk])
    data = grid_data(grid)
    assert client.post(url, data).url.startswith(reverse("login"))
    assert outsider_client.post(url, data).status_code == 404
    assert viewer_client.post(url, data).status_code == 403
    score_url = reverse("prioritisation:item_score", args=[item.pk])
    assert outsider_client.get(score_url).status_code == 404
    assert viewer_client.get(score_url).status_code == 200


def test_scoring_settings_only_for_the_product_owner(
    make_member, product, owner_client, outsider_client, viewer_client
):
    url = reverse("prioritisation:scoring_settings", args=[product.pk])
    analyst = client_for(make_member(product=product, roles=[ProductRoleKind.BUSINESS_ANALYST]))
    data = {
        "scoring_method": "rice",
        "effort_uplift": "0.40",
        "benefit_haircut": "0.10",
        "optimism_reason": "Our last ten releases ran 40% over.",
    }
    assert outsider_client.get(url).status_code == 404
    assert viewer_client.post(url, data).status_code == 403
    assert analyst.post(url, data).status_code == 403
    assert owner_client.get(url).status_code == 200
    assert owner_client.post(url, data).status_code == 302
    product.refresh_from_db()
    assert (product.scoring_method, str(product.effort_uplift)) == ("rice", "0.40")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"effort_uplift": "-0.1"}, "effort_uplift"),
        ({"benefit_haircut": "1"}, "benefit_haircut"),
        ({"scoring_method": "vibes"}, "scoring_method"),
        ({"effort_uplift": "0.9", "optimism_reason": ""}, "optimism_reason"),
    ],
)
def test_invalid_scoring_settings_save_nothing(owner_client, product, change, field):
    data = {
        "scoring_method": "benefit_per_effort",
        "effort_uplift": "0.54",
        "benefit_haircut": "0.00",
        "optimism_reason": "Green Book",
        **change,
    }
    response = owner_client.post(
        reverse("prioritisation:scoring_settings", args=[product.pk]), data
    )
    assert response.status_code == 422
    assert field in response.context["form"].errors
    product.refresh_from_db()
    assert (product.scoring_method, str(product.effort_uplift)) == ("benefit_per_effort", "0.54")


def test_changing_the_method_rescores_the_product(owner_client, product, item):
    services.scores_recompute(product_id=product.pk)
    owner_client.post(
        reverse("prioritisation:scoring_settings", args=[product.pk]),
        {
            "scoring_method": "ice",
            "effort_uplift": "0.54",
            "benefit_haircut": "0",
            "optimism_reason": "Green Book",
        },
    )
    assert ItemScore.objects.get(item=item).method == "ice"


def test_metric_pages_are_for_admins_of_the_organisation(
    make_member, organisation, other_organisation, owner_client
):
    metric = organisation.metrics.first()
    url = reverse("prioritisation:metric_edit", args=[metric.pk])
    assert owner_client.get(reverse("prioritisation:metric_list")).status_code == 403
    assert owner_client.post(url, {"name": "X"}).status_code == 403
    foreign_admin = client_for(make_member(org=other_organisation, admin=True))
    assert foreign_admin.get(url).status_code == 404
    admin = client_for(make_member(admin=True))
    response = admin.post(
        url,
        {
            "name": metric.name,
            "unit": metric.unit,
            "description": "",
            "weight": "2.5",
            "higher_is_better": "on",
        },
    )
    assert response.status_code == 302
    metric.refresh_from_db()
    assert str(metric.weight) == "2.50"
    bad = admin.post(url, {"name": metric.name, "unit": "x", "weight": "-1"})
    assert bad.status_code == 422
    assert BenefitMetric.objects.get(pk=metric.pk).weight == metric.weight


def test_the_metric_list_gives_units_in_words_and_weights_without_trailing_zeros(make_member):
    admin = client_for(make_member(admin=True))
    html = admin.get(reverse("prioritisation:metric_list")).content.decode()
    cash = html[html.index("<strong>Cash saved</strong>") :]
    cash = cash[: cash.index("</tr>")]
    assert '<td data-label="Unit">£ a year</td>' in cash
    assert '<td class="num" data-label="Weight">1</td>' in cash


def test_the_metric_form_says_how_a_unit_will_read(make_member, organisation):
    admin = client_for(make_member(admin=True))
    metric = organisation.metrics.get(name="Cash saved")
    html = admin.get(reverse("prioritisation:metric_edit", args=[metric.pk])).content.decode()
    assert "“£14,960 a year”" in html and "“12 hours a month”" in html


def test_backlog_can_be_ordered_by_score_and_by_one_cohort(owner_client, product, organisation):
    citizens = organisation.cohorts.get(name="Citizens")
    leaders = organisation.cohorts.get(name="Leaders")
    hours = organisation.metrics.get(name="Staff hours saved")
    first, second = BacklogItemFactory(product=product), BacklogItemFactory(product=product)
    BenefitEstimate.objects.create(item=first, cohort=leaders, metric=hours, value=10)
    BenefitEstimate.objects.create(item=second, cohort=citizens, metric=hours, value=20)
    services.scores_recompute(product_id=product.pk)
    url = reverse("backlog:product_backlog", args=[product.pk])
    manual = owner_client.get(url)
    assert [i.pk for i in manual.context["items"]] == [first.pk, second.pk]
    by_score = owner_client.get(url, {"order": "score"})
    assert [i.pk for i in by_score.context["items"]] == [second.pk, first.pk]
    as_leaders = owner_client.get(url, {"order": f"cohort-{leaders.pk}"})
    assert [i.pk for i in as_leaders.context["items"]] == [first.pk, second.pk]
    assert b"#1" in by_score.content


@pytest.mark.parametrize("order", ["manual", "score", "cohort"])
def test_scored_backlog_query_count_is_constant_at_1000_items(
    owner_client, product, organisation, order
):
    """Guards the N+1 of a score row per item and cohorts per row, in every order."""
    cohort = organisation.cohorts.first()
    params = {"order": f"cohort-{cohort.pk}" if order == "cohort" else order}
    url = reverse("backlog:product_backlog", args=[product.pk])
    for item in BacklogItemFactory.create_batch(10, product=product):
        item.cohorts.add(cohort)
    services.scores_recompute(product_id=product.pk)
    few = count_get_queries(owner_client, url, params)
    for item in BacklogItemFactory.create_batch(990, product=product):
        item.cohorts.add(cohort)
    services.scores_recompute(product_id=product.pk)
    # In score order a page that the ranked items do not fill reads the unranked ones too
    # (one query more); a full page of ranked items does not.
    assert count_get_queries(owner_client, url, params) <= few
    # A deeper page adds at most the one aggregate of the open items above it.
    assert count_get_queries(owner_client, url, {**params, "start": 900}) <= few + 1


def test_item_page_query_count_does_not_grow_with_the_backlog(
    owner_client, product, item, django_assert_max_num_queries
):
    """Guards the explanation against walking the whole product to compare with #1."""
    BacklogItemFactory.create_batch(500, product=product)
    services.scores_recompute(product_id=product.pk)
    # 17, and 3 for the latest changes: the events of every kind in one query, those rows
    # with their predecessors, the people who made them (tests/backlog/test_audit_log.py).
    with django_assert_max_num_queries(20):
        response = owner_client.get(reverse("backlog:item_detail", args=[item.pk]))
    assert response.status_code == 200 and response.context["explanation"] is not None


def test_anyone_in_the_organisation_can_read_the_scoring_settings(viewer_client, product):
    response = viewer_client.get(reverse("prioritisation:scoring_settings", args=[product.pk]))
    assert response.status_code == 200
    assert b"Only the product owner can change these settings." in response.content
    assert b"Save and rescore" not in response.content


def test_the_score_panel_says_when_the_product_was_last_scored(owner_client, product, item):
    """A rescore writes only the rows that changed, so an item's own row can be older than
    the rescore that confirmed it: the panel gives the product's time, not the row's."""
    from datetime import datetime

    from backlog.models import Product

    services.scores_recompute(product_id=product.pk)
    ItemScore.objects.filter(item=item).update(computed_at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    Product.objects.filter(pk=product.pk).update(
        scores_computed_at=datetime(2026, 11, 20, 14, 30, tzinfo=UTC)
    )
    panel = owner_client.get(reverse("prioritisation:item_score", args=[item.pk]), **HTMX)
    assert b"Scores computed 20 Nov 2026 14:30" in panel.content
    assert b"5 Jan 2026" not in panel.content
