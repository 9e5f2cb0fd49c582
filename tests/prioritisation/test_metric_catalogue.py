"""The metric catalogue: admins add benefit metrics, archive and restore them, delete one no
estimate refers to; an archived metric takes no new estimates (page, service, API) and the
estimates made against it still count; a weight change rescores every product."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from backlog.models import ProductRoleKind
from prioritisation import services
from prioritisation.models import BenefitMetric, ItemScore
from prioritisation.services import EstimateCell
from tests.conftest import client_for
from tests.factories import BacklogItemFactory, ProductFactory

pytestmark = pytest.mark.django_db

NEW = {
    "name": "Complaints avoided",
    "unit": "complaints per month",
    "description": "Formal complaints nobody needs to make.",
    "weight": "1.5",
    "higher_is_better": "on",
}
FIELDS = {
    "unit": "visits per month",
    "description": "",
    "weight": Decimal(1),
    "higher_is_better": True,
}


@pytest.fixture
def admin_client(make_member):
    return client_for(make_member(admin=True))


@pytest.fixture
def owner(make_member, product):
    return make_member(product=product, roles=[ProductRoleKind.PRODUCT_OWNER])


def _estimate(item, cohort, metric, value="10", actor=None):
    services.estimates_save(
        item=item,
        actor=actor,
        cells=[EstimateCell(cohort=cohort, metric=metric, value=Decimal(value))],
    )


def _scores(product) -> dict[int, float]:
    return dict(ItemScore.objects.filter(product=product).values_list("item_id", "score"))


# ---------------------------------------------------------------- create


def test_admin_adds_a_metric_and_every_product_is_rescored_with_its_column(
    admin_client, organisation, product, cohorts, metrics
):
    item = BacklogItemFactory(product=product, effort=2)
    _estimate(item, cohorts["Citizens"], metrics["Staff hours saved"])
    response = admin_client.post(reverse("prioritisation:metric_create"), NEW)
    assert response.status_code == 302
    made = organisation.metrics.get(name="Complaints avoided")
    assert (made.unit, made.weight, made.higher_is_better) == (
        "complaints per month",
        Decimal("1.5"),
        True,
    )
    assert str(made.pk) in ItemScore.objects.get(item=item).by_metric
    page = admin_client.get(reverse("prioritisation:metric_list"))
    assert made in page.context["metrics"]
    assert "Added metric “Complaints avoided”." in page.content.decode()


def test_the_new_metric_page_has_a_labelled_form(admin_client):
    response = admin_client.get(reverse("prioritisation:metric_create"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "<h1>Add a metric</h1>" in body
    assert 'for="id_name"' in body and 'for="id_weight"' in body


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"unit": ""}, "unit", "This field is required."),
        ({"weight": "-0.5"}, "weight", "Weight cannot be negative."),
        ({"weight": "lots"}, "weight", "Enter a number."),
        ({"weight": "123456"}, "weight", None),
        ({"name": "staff HOURS saved"}, "name", "Another metric already has this name."),
        ({"name": "x" * 121}, "name", None),
    ],
)
def test_adding_a_metric_with_bad_input_says_why_and_saves_nothing(
    admin_client, organisation, data, field, message
):
    before = BenefitMetric.objects.count()
    response = admin_client.post(reverse("prioritisation:metric_create"), {**NEW, **data})
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert field in errors
    if message:
        assert message in errors[field]
    assert "Nothing was saved." in response.content.decode()
    assert BenefitMetric.objects.count() == before


def test_a_name_an_archived_metric_has_says_to_restore_it(admin_client, metrics):
    services.metric_archive(metric=metrics["Satisfaction"])
    response = admin_client.post(
        reverse("prioritisation:metric_create"), {**NEW, "name": "satisfaction"}
    )
    assert response.status_code == 422
    assert response.context["form"].errors["name"] == [
        "An archived metric already has this name: restore it, or choose another name."
    ]


def test_the_service_refuses_a_taken_name_but_another_organisation_may_use_it(
    organisation, other_organisation
):
    with pytest.raises(ValidationError) as refused:
        services.metric_create(organisation=organisation, name=" Cash saved", **FIELDS)
    assert refused.value.message_dict == {"name": ["Another metric already has this name."]}
    made = services.metric_create(organisation=other_organisation, name="Visits", **FIELDS)
    assert made.organisation == other_organisation
    with pytest.raises(ValidationError):
        services.metric_create(
            organisation=organisation, name="Bad", **{**FIELDS, "weight": Decimal(-1)}
        )
    assert not BenefitMetric.objects.filter(organisation=organisation, name="Bad").exists()


# ---------------------------------------------------------------- archive and restore


def test_admin_archives_and_restores_a_metric(admin_client, metrics):
    cash = metrics["Cash saved"]
    response = admin_client.post(reverse("prioritisation:metric_archive", args=[cash.pk]))
    assert response.status_code == 302
    cash.refresh_from_db()
    assert cash.archived_at is not None
    page = admin_client.get(reverse("prioritisation:metric_list"))
    assert cash in page.context["archived"] and cash not in page.context["metrics"]
    body = page.content.decode()
    assert "still count in scores, so archiving changes no score" in body
    first = cash.archived_at
    admin_client.post(reverse("prioritisation:metric_archive", args=[cash.pk]))
    cash.refresh_from_db()
    assert cash.archived_at == first
    admin_client.post(reverse("prioritisation:metric_restore", args=[cash.pk]))
    cash.refresh_from_db()
    assert cash.archived_at is None


def test_archiving_changes_no_score_and_its_estimates_still_count(
    admin_client, product, cohorts, metrics
):
    citizens, cash, hours = cohorts["Citizens"], metrics["Cash saved"], metrics["Staff hours saved"]
    a = BacklogItemFactory(product=product, effort=1)
    b = BacklogItemFactory(product=product, effort=1)
    _estimate(a, citizens, cash, "1000")
    _estimate(b, citizens, hours, "10")
    before = _scores(product)
    admin_client.post(reverse("prioritisation:metric_archive", args=[cash.pk]))
    services.scores_recompute(product_id=product.pk)
    assert _scores(product) == before
    # Its weight still matters: a change rescores, and its estimates count at the new weight.
    response = admin_client.post(
        reverse("prioritisation:metric_edit", args=[cash.pk]),
        {"name": "Cash saved", "unit": "£ per year", "weight": "4", "higher_is_better": "on"},
    )
    assert response.status_code == 302
    after = _scores(product)
    assert after[a.pk] == pytest.approx(4 * before[a.pk])
    assert after[b.pk] == pytest.approx(before[b.pk])


def test_changing_a_metric_weight_rescores_every_product(
    admin_client, organisation, cohorts, metrics
):
    hours = metrics["Staff hours saved"]
    items = []
    for product in [ProductFactory(organisation=organisation) for _ in range(2)]:
        item = BacklogItemFactory(product=product, effort=1)
        _estimate(item, cohorts["Colleagues"], hours, "10")
        items.append(item)
    before = {item.pk: ItemScore.objects.get(item=item).score for item in items}
    admin_client.post(
        reverse("prioritisation:metric_edit", args=[hours.pk]),
        {"name": hours.name, "unit": hours.unit, "weight": "0.5", "higher_is_better": "on"},
    )
    for item in items:
        assert ItemScore.objects.get(item=item).score == pytest.approx(0.5 * before[item.pk])


def test_an_invalid_edit_keeps_the_page_heading_and_saves_nothing(admin_client, metrics):
    hours = metrics["Staff hours saved"]
    response = admin_client.post(
        reverse("prioritisation:metric_edit", args=[hours.pk]),
        {"name": "Cash saved", "unit": hours.unit, "weight": "1", "higher_is_better": "on"},
    )
    assert response.status_code == 422
    assert "Edit metric “Staff hours saved”" in response.content.decode()
    hours.refresh_from_db()
    assert hours.name == "Staff hours saved"


# ---------------------------------------------------------------- delete


def test_admin_deletes_a_metric_no_estimate_refers_to(admin_client, organisation):
    visits = services.metric_create(organisation=organisation, name="Visits", **FIELDS)
    url = reverse("prioritisation:metric_delete", args=[visits.pk])
    page = admin_client.get(url)
    assert "No estimate refers to this metric" in page.content.decode()
    response = admin_client.post(url)
    assert response.status_code == 302
    assert response.url == reverse("prioritisation:metric_list")
    assert not BenefitMetric.objects.filter(pk=visits.pk).exists()


def test_deleting_a_metric_estimates_refer_to_is_refused_and_offers_archive(
    admin_client, product, cohorts, metrics
):
    cash = metrics["Cash saved"]
    for _ in range(2):
        _estimate(BacklogItemFactory(product=product, effort=1), cohorts["Leaders"], cash, "5")
    url = reverse("prioritisation:metric_delete", args=[cash.pk])
    body = admin_client.get(url).content.decode()
    assert "This metric cannot be deleted" in body
    assert "2 benefit estimates refer to it" in body
    assert reverse("prioritisation:metric_archive", args=[cash.pk]) in body
    response = admin_client.post(url, follow=True)
    assert response.redirect_chain[-1][0] == url
    assert "Not deleted: 2 benefit estimates refer to the metric “Cash saved”" in (
        response.content.decode()
    )
    assert cash.estimates.count() == 2
    with pytest.raises(services.StillReferenced):
        services.metric_delete(metric=cash)


def test_an_archived_metric_estimates_refer_to_says_it_is_already_archived(
    admin_client, product, cohorts, metrics
):
    cash = metrics["Cash saved"]
    _estimate(BacklogItemFactory(product=product, effort=1), cohorts["Leaders"], cash, "5")
    services.metric_archive(metric=cash)
    body = admin_client.get(reverse("prioritisation:metric_delete", args=[cash.pk])).content
    assert "It is already archived" in body.decode()
    assert "1 benefit estimate refers to it" in body.decode()


# ---------------------------------------------------------------- no new estimates


def test_the_grid_hides_an_archived_metric_unless_the_item_has_an_estimate_for_it(
    owner, product, cohorts, metrics
):
    cash = metrics["Cash saved"]
    with_estimate = BacklogItemFactory(product=product, effort=1)
    without = BacklogItemFactory(product=product, effort=1)
    _estimate(with_estimate, cohorts["Leaders"], cash, "9", actor=owner)
    services.metric_archive(metric=cash)
    client = client_for(owner)
    grid = client.get(reverse("backlog:item_detail", args=[without.pk])).context["grid_form"]
    assert cash not in grid.metrics
    page = client.get(reverse("backlog:item_detail", args=[with_estimate.pk]))
    grid = page.context["grid_form"]
    assert cash in grid.metrics
    closed = {
        row["cohort"].name: next(c["closed"] for c in row["cells"] if c["metric"] == cash)
        for row in grid.rows()
    }
    assert closed == {"Citizens": True, "Colleagues": True, "Leaders": False}
    assert "Archived</span>" in page.content.decode()


def test_the_service_refuses_a_new_estimate_on_an_archived_metric_but_keeps_the_old_ones(
    product, cohorts, metrics
):
    cash = metrics["Cash saved"]
    item = BacklogItemFactory(product=product, effort=1)
    _estimate(item, cohorts["Leaders"], cash, "9")
    services.metric_archive(metric=cash)
    with pytest.raises(ValidationError, match="the metric “Cash saved” is archived"):
        _estimate(item, cohorts["Citizens"], cash, "3")
    _estimate(item, cohorts["Leaders"], cash, "11")
    services.estimates_save(
        item=item,
        actor=None,
        cells=[EstimateCell(cohort=cohorts["Leaders"], metric=cash, value=None)],
    )
    assert not item.estimates.exists()  # and clearing it is allowed


def test_the_api_marks_archived_metrics_and_refuses_new_estimates_on_them(
    owner, product, cohorts, metrics
):
    cash, hours = metrics["Cash saved"], metrics["Staff hours saved"]
    item = BacklogItemFactory(product=product, effort=1)
    services.metric_archive(metric=cash)
    client = client_for(owner)
    listed = {m["name"]: m for m in client.get(reverse("api:metric_list")).json()["results"]}
    assert listed["Cash saved"]["archived_at"] is not None
    assert listed["Staff hours saved"]["archived_at"] is None
    url = reverse("api:item_estimates", args=[item.pk])
    response = client.put(
        url,
        [
            {"cohort": cohorts["Leaders"].pk, "metric": hours.pk, "value": "2"},
            {"cohort": cohorts["Leaders"].pk, "metric": cash.pk, "value": "3"},
        ],
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "the metric “Cash saved” is archived and takes no new estimates" in (
        response.content.decode()
    )
    assert not item.estimates.exists()  # all or nothing


# ---------------------------------------------------------------- permissions


def _urls(metric) -> list[tuple[str, str]]:
    return [
        ("get", reverse("prioritisation:metric_create")),
        ("post", reverse("prioritisation:metric_create")),
        ("post", reverse("prioritisation:metric_archive", args=[metric.pk])),
        ("post", reverse("prioritisation:metric_restore", args=[metric.pk])),
        ("get", reverse("prioritisation:metric_delete", args=[metric.pk])),
        ("post", reverse("prioritisation:metric_delete", args=[metric.pk])),
    ]


def test_anonymous_people_are_sent_to_sign_in(client, metrics):
    for method, url in _urls(metrics["Cash saved"]):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login")), url


def test_a_product_owner_who_is_not_an_admin_gets_403_and_changes_nothing(owner, organisation):
    visits = services.metric_create(organisation=organisation, name="Visits", **FIELDS)
    client = client_for(owner)
    for method, url in _urls(visits):
        assert getattr(client, method)(url, NEW if "new" in url else {}).status_code == 403, url
    visits.refresh_from_db()
    assert visits.archived_at is None
    assert not organisation.metrics.filter(name=NEW["name"]).exists()


def test_another_organisations_admin_gets_404_and_adds_only_to_their_own(
    make_member, organisation, other_organisation
):
    visits = services.metric_create(organisation=organisation, name="Visits", **FIELDS)
    client = client_for(make_member(org=other_organisation, admin=True))
    for method, url in _urls(visits)[2:]:
        assert getattr(client, method)(url).status_code == 404, url
    assert BenefitMetric.objects.filter(pk=visits.pk, archived_at__isnull=True).exists()
    assert client.post(reverse("prioritisation:metric_create"), NEW).status_code == 302
    assert other_organisation.metrics.filter(name=NEW["name"]).exists()
    assert not organisation.metrics.filter(name=NEW["name"]).exists()


def test_renaming_a_metric_to_a_name_taken_in_another_case_is_refused_by_the_service(
    metrics,
):
    hours = metrics["Staff hours saved"]
    with pytest.raises(ValidationError) as refused:
        services.metric_update(metric=hours, name="cash SAVED", **FIELDS)
    assert refused.value.message_dict == {"name": ["Another metric already has this name."]}
    hours.refresh_from_db()
    assert hours.name == "Staff hours saved"
