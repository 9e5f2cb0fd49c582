"""API v1 for metrics, estimates and scores: the permission matrix, validation and content."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from backlog.models import ItemEvent, ProductRoleKind
from prioritisation import services
from prioritisation.models import BenefitEstimate, ItemScore
from tests.conftest import client_for
from tests.factories import BacklogItemFactory

pytestmark = pytest.mark.django_db

JSON = "application/json"


@pytest.fixture
def item(product):
    return BacklogItemFactory(product=product, title="Book a repair slot", effort=3)


@pytest.fixture
def hours(metrics):
    return metrics["Staff hours saved"]


@pytest.fixture
def calls(metrics):
    return metrics["Phone calls avoided"]


def estimates_url(item) -> str:
    return reverse("api:item_estimates", args=[item.pk])


def score_url(item) -> str:
    return reverse("api:item_score", args=[item.pk])


def put(client, url, data):
    return client.put(url, data, content_type=JSON)


def cell(cohort, metric, value="10", confidence="high", evidence="") -> dict:
    return {
        "cohort": cohort.pk,
        "metric": metric.pk,
        "value": value,
        "confidence": confidence,
        "evidence": evidence,
    }


def estimate(item, cohort, metric, value="4", confidence="low") -> BenefitEstimate:
    return BenefitEstimate.objects.create(
        item=item, cohort=cohort, metric=metric, value=Decimal(value), confidence=confidence
    )


def saved_cells(item) -> set[tuple]:
    return set(
        BenefitEstimate.objects.filter(item=item).values_list(
            "cohort__name", "metric__name", "value", "confidence"
        )
    )


# ---------------------------------------------------------------- the permission matrix


def test_anonymous_user_is_refused_on_every_endpoint(client, item, cohorts, hours):
    for url in [reverse("api:metric_list"), estimates_url(item), score_url(item)]:
        assert client.get(url).status_code in {401, 403}, url
    response = put(client, estimates_url(item), [cell(cohorts["Citizens"], hours)])
    assert response.status_code in {401, 403}
    assert not BenefitEstimate.objects.exists()


def test_user_of_another_organisation_gets_404_for_every_item_endpoint(
    outsider_client, item, cohorts, hours
):
    services.scores_recompute(product_id=item.product_id)
    assert outsider_client.get(estimates_url(item)).status_code == 404
    assert outsider_client.get(score_url(item)).status_code == 404
    response = put(outsider_client, estimates_url(item), [cell(cohorts["Citizens"], hours)])
    assert response.status_code == 404
    assert put(outsider_client, estimates_url(item), "garbage").status_code == 404
    assert not BenefitEstimate.objects.exists()


def test_viewer_can_read_estimates_and_score_but_gets_403_on_saving(
    viewer_client, item, cohorts, hours
):
    estimate(item, cohorts["Leaders"], hours)
    services.scores_recompute(product_id=item.product_id)
    assert viewer_client.get(estimates_url(item)).status_code == 200
    assert viewer_client.get(score_url(item)).status_code == 200
    response = put(viewer_client, estimates_url(item), [cell(cohorts["Citizens"], hours)])
    assert response.status_code == 403
    assert "does not allow changes" in response.json()["detail"]
    assert saved_cells(item) == {("Leaders", "Staff hours saved", 4, "low")}
    assert not ItemEvent.objects.filter(item=item).exists()


def test_viewer_gets_403_not_400_for_invalid_estimates(viewer_client, item):
    assert put(viewer_client, estimates_url(item), [{"value": "lots"}]).status_code == 403


@pytest.mark.parametrize("role", [ProductRoleKind.BUSINESS_VOTER, ProductRoleKind.KEY_USER])
def test_read_only_roles_cannot_save_estimates(make_member, product, item, cohorts, hours, role):
    client = client_for(make_member(product=product, roles=[role]))
    response = put(client, estimates_url(item), [cell(cohorts["Citizens"], hours)])
    assert response.status_code == 403
    assert not BenefitEstimate.objects.exists()


def test_organisation_admin_can_save_estimates_without_a_product_role(
    make_member, item, cohorts, hours
):
    admin = client_for(make_member(admin=True))
    response = put(admin, estimates_url(item), [cell(cohorts["Citizens"], hours)])
    assert response.status_code == 200
    assert saved_cells(item) == {("Citizens", "Staff hours saved", 10, "high")}


# ---------------------------------------------------------------- metrics


def test_metrics_lists_only_the_users_organisations_metrics(
    viewer_client, organisation, other_organisation
):
    response = viewer_client.get(reverse("api:metric_list"))
    assert response.status_code == 200
    body = response.json()
    own = set(organisation.metrics.values_list("pk", flat=True))
    assert sorted(m["id"] for m in body["results"]) == sorted(own)
    names = [m["name"] for m in body["results"]]
    assert names == sorted(names)
    hours = next(m for m in body["results"] if m["name"] == "Staff hours saved")
    assert hours["unit"] == "hours per month"
    assert Decimal(hours["weight"]) == 1
    assert hours["higher_is_better"] is True
    assert hours["archived_at"] is None
    assert set(hours) == {
        "id",
        "name",
        "unit",
        "description",
        "weight",
        "higher_is_better",
        "archived_at",
    }


# ---------------------------------------------------------------- estimates


def test_estimates_lists_the_items_grid(owner_client, item, cohorts, hours, calls):
    estimate(item, cohorts["Citizens"], calls, "120.5", "high")
    estimate(item, cohorts["Colleagues"], hours, "-3", "medium")
    BacklogItemFactory(product=item.product).estimates.create(
        cohort=cohorts["Leaders"], metric=hours, value=9
    )
    response = owner_client.get(estimates_url(item))
    assert response.status_code == 200
    rows = response.json()
    assert {(r["cohort"], r["metric"], Decimal(r["value"]), r["confidence"]) for r in rows} == {
        (cohorts["Citizens"].pk, calls.pk, Decimal("120.5"), "high"),
        (cohorts["Colleagues"].pk, hours.pk, Decimal("-3"), "medium"),
    }
    assert set(rows[0]) == {"cohort", "metric", "value", "confidence", "evidence", "updated_at"}


def test_owner_saves_estimates_with_history_and_the_score_follows(
    owner_client, owner, item, cohorts, hours, calls
):
    response = put(
        owner_client,
        estimates_url(item),
        [
            cell(cohorts["Citizens"], hours, 120, "high", "Contact centre logs, May."),
            cell(cohorts["Leaders"], calls, "7.5", "medium"),
        ],
    )
    assert response.status_code == 200
    rows = {(r["cohort"], r["metric"]): r for r in response.json()}
    assert Decimal(rows[(cohorts["Citizens"].pk, hours.pk)]["value"]) == 120
    assert rows[(cohorts["Citizens"].pk, hours.pk)]["evidence"] == "Contact centre logs, May."
    assert saved_cells(item) == {
        ("Citizens", "Staff hours saved", 120, "high"),
        ("Leaders", "Phone calls avoided", Decimal("7.5"), "medium"),
    }
    assert BenefitEstimate.objects.get(item=item, metric=hours).updated_by == owner
    event = ItemEvent.objects.get(item=item)
    assert event.kind == "estimated"
    assert len(event.data["changes"]) == 2
    score = owner_client.get(score_url(item)).json()
    assert score["rank"] == 1
    assert score["needs_estimates"] is False
    assert score["benefit"] > 0


def test_confidence_and_evidence_may_be_left_out(owner_client, item, cohorts, hours):
    body = [{"cohort": cohorts["Citizens"].pk, "metric": hours.pk, "value": 5}]
    assert put(owner_client, estimates_url(item), body).status_code == 200
    saved = BenefitEstimate.objects.get(item=item)
    assert (saved.confidence, saved.evidence) == ("medium", "")


def test_put_replaces_the_whole_grid(owner_client, item, cohorts, hours, calls):
    """A cell left out of the list is cleared, and one given null is cleared too."""
    estimate(item, cohorts["Citizens"], hours, "4")
    estimate(item, cohorts["Leaders"], calls, "6")
    estimate(item, cohorts["Colleagues"], calls, "8")
    response = put(
        owner_client,
        estimates_url(item),
        [
            cell(cohorts["Citizens"], hours, "5", "high"),
            cell(cohorts["Leaders"], calls, None),
        ],
    )
    assert response.status_code == 200
    assert saved_cells(item) == {("Citizens", "Staff hours saved", 5, "high")}
    assert [(r["cohort"], r["metric"]) for r in response.json()] == [
        (cohorts["Citizens"].pk, hours.pk)
    ]


def test_an_empty_list_clears_the_grid(owner_client, item, cohorts, hours):
    estimate(item, cohorts["Citizens"], hours)
    response = put(owner_client, estimates_url(item), [])
    assert response.status_code == 200
    assert response.json() == []
    assert not BenefitEstimate.objects.filter(item=item).exists()


def test_saving_the_same_grid_again_changes_nothing(owner_client, item, cohorts, hours):
    body = [cell(cohorts["Citizens"], hours, "5", "high")]
    put(owner_client, estimates_url(item), body)
    assert put(owner_client, estimates_url(item), body).status_code == 200
    assert ItemEvent.objects.filter(item=item).count() == 1


@pytest.mark.parametrize(
    ("bad", "field", "message"),
    [
        ({"value": "lots"}, "value", "Enter a number, like 12 or 3.5."),
        ({"value": True}, "value", "Enter a number, like 12 or 3.5."),
        ({"value": "1e999"}, "value", "That number is too large"),
        ({"value": 1e300}, "value", "That number is too large"),
        ({"value": "0.001"}, "value", "At most 2 decimal places."),
        (
            {"confidence": "certain"},
            "confidence",
            'Confidence must be high, medium or low, not "certain".',
        ),
        ({"cohort": 999_999}, "cohort", "Cohort 999999 is not one of your organisation's cohorts."),
        ({"metric": 999_999}, "metric", "Metric 999999 is not one of your organisation's benefit"),
        ({"cohort": "Citizens"}, "cohort", "A valid integer is required."),
        ({"metric": None}, "metric", "This field may not be null."),
    ],
)
def test_invalid_cell_is_refused_with_its_message_and_nothing_is_saved(
    owner_client, item, cohorts, hours, calls, bad, field, message
):
    existing = estimate(item, cohorts["Colleagues"], calls, "8", "low")
    good = cell(cohorts["Leaders"], hours, "5", "low")
    response = put(
        owner_client, estimates_url(item), [good, {**cell(cohorts["Citizens"], hours), **bad}]
    )
    assert response.status_code == 400
    errors = response.json()
    # Errors are keyed by the cell's position in the list; the good cell has none.
    assert list(errors) == ["1"]
    assert message in errors["1"][field][0]
    assert saved_cells(item) == {("Colleagues", "Phone calls avoided", 8, "low")}
    existing.refresh_from_db()
    assert existing.value == 8
    assert not ItemEvent.objects.filter(item=item).exists()


def test_cohort_and_metric_of_another_organisation_are_refused(
    owner_client, item, other_organisation, hours
):
    foreign_cohort = other_organisation.cohorts.first()
    foreign_metric = other_organisation.metrics.first()
    own_cohort = item.product.organisation.cohorts.first()
    response = put(
        owner_client,
        estimates_url(item),
        [cell(foreign_cohort, hours), cell(own_cohort, foreign_metric)],
    )
    assert response.status_code == 400
    errors = response.json()
    assert errors["0"]["cohort"] == [
        f"Cohort {foreign_cohort.pk} is not one of your organisation's cohorts."
    ]
    assert errors["1"]["metric"] == [
        f"Metric {foreign_metric.pk} is not one of your organisation's benefit metrics."
    ]
    assert not BenefitEstimate.objects.exists()


def test_a_cell_given_twice_is_refused(owner_client, item, cohorts, hours):
    response = put(
        owner_client,
        estimates_url(item),
        [cell(cohorts["Citizens"], hours, "5"), cell(cohorts["Citizens"], hours, "6")],
    )
    assert response.status_code == 400
    assert response.json()["non_field_errors"] == [
        "Staff hours saved for Citizens is given more than once."
    ]
    assert not BenefitEstimate.objects.exists()


@pytest.mark.parametrize(
    "body",
    [{"cohort": 1, "metric": 1, "value": 1}, "10", "true"],
)
def test_a_body_that_is_not_a_list_is_refused(owner_client, item, body):
    response = put(owner_client, estimates_url(item), body)
    assert response.status_code == 400
    assert "Expected a list of items" in response.json()["non_field_errors"][0]
    assert not BenefitEstimate.objects.exists()


def test_estimates_are_not_posted_or_deleted(owner_client, item):
    assert owner_client.post(estimates_url(item), [], content_type=JSON).status_code == 405
    assert owner_client.delete(estimates_url(item)).status_code == 405


def test_browsable_api_renders_the_metrics_and_estimates(owner_client, item, cohorts, hours):
    estimate(item, cohorts["Citizens"], hours)
    pages = {reverse("api:metric_list"): b"Staff hours saved", estimates_url(item): b"4.00"}
    for url, text in pages.items():
        response = owner_client.get(url, HTTP_ACCEPT="text/html")
        assert response.status_code == 200, url
        assert response["Content-Type"].startswith("text/html"), url
        assert text in response.content, url


# ---------------------------------------------------------------- score


def test_score_is_404_with_a_message_until_the_item_is_scored(owner_client, item):
    response = owner_client.get(score_url(item))
    assert response.status_code == 404
    assert "has not been scored yet" in response.json()["detail"]


def test_score_shows_the_stored_score_with_its_breakdown(owner_client, item, cohorts, hours):
    estimate(item, cohorts["Citizens"], hours, "10", "high")
    other = BacklogItemFactory(product=item.product, effort=5)
    estimate(other, cohorts["Citizens"], hours, "2", "low")
    services.scores_recompute(product_id=item.product_id)
    stored = ItemScore.objects.get(item=item)
    response = owner_client.get(score_url(item))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "score",
        "raw_score",
        "benefit",
        "raw_benefit",
        "rank",
        "needs_estimates",
        "method",
        "by_cohort",
        "by_metric",
        "cohort_ranks",
        "computed_at",
    }
    assert body["rank"] == 1
    assert body["method"] == "benefit_per_effort"
    assert body["score"] == pytest.approx(stored.score)
    assert body["raw_benefit"] == pytest.approx(stored.raw_benefit)
    assert body["by_cohort"][str(cohorts["Citizens"].pk)] == pytest.approx(stored.score)
    assert body["by_metric"][str(hours.pk)] == pytest.approx(stored.score)
    assert body["cohort_ranks"][str(cohorts["Citizens"].pk)] == 1
    assert body["computed_at"]
    assert owner_client.get(score_url(other)).json()["rank"] == 2
