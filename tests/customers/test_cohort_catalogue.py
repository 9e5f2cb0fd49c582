"""The cohort catalogue: admins add cohorts, archive and restore them, delete one nothing
refers to; an archived cohort takes no new estimates, ballots, members or item targets, and
its estimates still count; a voice weight change rescores every product."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connections, transaction
from django.urls import reverse
from django.utils import timezone

from backlog import services as backlog_services
from backlog.forms import ItemForm
from backlog.models import ProductRoleKind
from customers import services
from customers.models import Cohort, Invitation
from customers.selectors import membership_for_user, references_to
from prioritisation import services as prioritisation_services
from prioritisation.models import Ballot, BenefitEstimate, ItemScore
from prioritisation.services import EstimateCell
from tests.conftest import client_for, require_postgresql
from tests.factories import BacklogItemFactory, ProductFactory, UserFactory, open_round

pytestmark = pytest.mark.django_db

NEW = {
    "name": "Carers",
    "kind": "receives",
    "description": "People who look after someone.",
    "size": "800",
    "voice_weight": "1.5",
}


@pytest.fixture
def admin_client(make_member):
    return client_for(make_member(admin=True))


def _estimate(item, cohort, metric, value="10", actor=None):
    prioritisation_services.estimates_save(
        item=item,
        actor=actor,
        cells=[EstimateCell(cohort=cohort, metric=metric, value=Decimal(value))],
    )


def _scores(product) -> dict[int, float]:
    return dict(ItemScore.objects.filter(product=product).values_list("item_id", "score"))


# ---------------------------------------------------------------- create


def test_admin_adds_a_cohort_and_every_product_is_rescored_with_its_column(
    admin_client, organisation, product, cohorts, metrics
):
    item = BacklogItemFactory(product=product, effort=2)
    _estimate(item, cohorts["Citizens"], metrics["Staff hours saved"])
    response = admin_client.post(reverse("customers:cohort_create"), NEW)
    assert response.status_code == 302
    carers = organisation.cohorts.get(name="Carers")
    assert (carers.size, carers.voice_weight, carers.kind) == (800, Decimal("1.5"), "receives")
    # The stored score has the new cohort's share and its "as if only Carers counted" rank.
    assert str(carers.pk) in ItemScore.objects.get(item=item).cohort_ranks
    page = admin_client.get(reverse("customers:cohort_list"))
    assert carers in page.context["cohorts"]
    assert "Added cohort “Carers”." in page.content.decode()


def test_the_new_cohort_page_has_a_labelled_form(admin_client):
    response = admin_client.get(reverse("customers:cohort_create"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "<h1>Add a cohort</h1>" in body
    assert 'for="id_name"' in body and 'for="id_voice_weight"' in body


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"name": "   "}, "name", "This field is required."),
        ({"voice_weight": "-1"}, "voice_weight", "Voice weight cannot be negative."),
        ({"voice_weight": "many"}, "voice_weight", "Enter a number."),
        ({"size": "-5"}, "size", None),
        ({"kind": "rulers"}, "kind", None),
        ({"name": "citizens"}, "name", "Another cohort already has this name."),
        ({"name": "x" * 81}, "name", None),
    ],
)
def test_adding_a_cohort_with_bad_input_says_why_and_saves_nothing(
    admin_client, organisation, data, field, message
):
    before = Cohort.objects.count()
    response = admin_client.post(reverse("customers:cohort_create"), {**NEW, **data})
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert field in errors
    if message:
        assert message in errors[field]
    assert "Nothing was saved." in response.content.decode()
    assert Cohort.objects.count() == before


def test_a_name_an_archived_cohort_has_says_to_restore_it(admin_client, organisation):
    leaders = organisation.cohorts.get(name="Leaders")
    services.cohort_archive(cohort=leaders)
    response = admin_client.post(reverse("customers:cohort_create"), {**NEW, "name": "LEADERS"})
    assert response.status_code == 422
    assert response.context["form"].errors["name"] == [
        "An archived cohort already has this name: restore it, or choose another name."
    ]


def test_the_service_refuses_a_name_taken_in_the_organisation_but_not_in_another(
    organisation, other_organisation
):
    fields = {"description": "", "kind": "uses", "size": 5, "voice_weight": Decimal(1)}
    with pytest.raises(ValidationError) as refused:
        services.cohort_create(organisation=organisation, name="Colleagues ", **fields)
    assert refused.value.message_dict == {"name": ["Another cohort already has this name."]}
    assert organisation.cohorts.count() == 3
    made = services.cohort_create(organisation=other_organisation, name="Volunteers", **fields)
    assert made.organisation == other_organisation
    with pytest.raises(ValidationError):
        services.cohort_create(organisation=organisation, name="Bad", **{**fields, "size": -1})
    assert not Cohort.objects.filter(name="Bad").exists()


# ---------------------------------------------------------------- archive and restore


def test_admin_archives_and_restores_a_cohort(admin_client, organisation):
    leaders = organisation.cohorts.get(name="Leaders")
    response = admin_client.post(reverse("customers:cohort_archive", args=[leaders.pk]))
    assert response.status_code == 302
    leaders.refresh_from_db()
    assert leaders.archived_at is not None
    page = admin_client.get(reverse("customers:cohort_list"))
    assert leaders in page.context["archived"] and leaders not in page.context["cohorts"]
    assert 'Restore<span class="visually-hidden"> Leaders' in page.content.decode()
    first = leaders.archived_at
    admin_client.post(reverse("customers:cohort_archive", args=[leaders.pk]))
    leaders.refresh_from_db()
    assert leaders.archived_at == first  # archiving twice keeps the first time
    response = admin_client.post(reverse("customers:cohort_restore", args=[leaders.pk]))
    assert response.status_code == 302
    leaders.refresh_from_db()
    assert leaders.archived_at is None


def test_archive_and_restore_refuse_a_get(admin_client, organisation):
    leaders = organisation.cohorts.get(name="Leaders")
    assert (
        admin_client.get(reverse("customers:cohort_archive", args=[leaders.pk])).status_code == 405
    )
    leaders.refresh_from_db()
    assert leaders.archived_at is None


def test_archiving_changes_no_score_and_its_estimates_still_count(
    admin_client, product, cohorts, metrics
):
    citizens, hours = cohorts["Citizens"], metrics["Staff hours saved"]
    a = BacklogItemFactory(product=product, effort=1)
    b = BacklogItemFactory(product=product, effort=1)
    _estimate(a, citizens, hours, "10")
    _estimate(b, cohorts["Colleagues"], hours, "8")
    before = _scores(product)
    admin_client.post(reverse("customers:cohort_archive", args=[citizens.pk]))
    prioritisation_services.scores_recompute(product_id=product.pk)
    assert _scores(product) == before
    # A weight change of the archived cohort still rescores: its estimates count.
    admin_client.post(
        reverse("customers:cohort_edit", args=[citizens.pk]),
        {**NEW, "name": "Citizens", "voice_weight": "3", "size": "100000"},
    )
    after = _scores(product)
    assert after[a.pk] == pytest.approx(3 * before[a.pk])
    assert after[b.pk] == pytest.approx(before[b.pk])


def test_changing_a_voice_weight_rescores_every_product(
    admin_client, organisation, cohorts, metrics
):
    citizens, hours = cohorts["Citizens"], metrics["Staff hours saved"]
    products = [ProductFactory(organisation=organisation) for _ in range(2)]
    items = []
    for product in products:
        item = BacklogItemFactory(product=product, effort=1)
        _estimate(item, citizens, hours, "10")
        items.append(item)
    before = {item.pk: ItemScore.objects.get(item=item).score for item in items}
    response = admin_client.post(
        reverse("customers:cohort_edit", args=[citizens.pk]),
        {"name": "Citizens", "kind": "receives", "size": "100000", "voice_weight": "2"},
    )
    assert response.status_code == 302
    for item in items:
        assert ItemScore.objects.get(item=item).score == pytest.approx(2 * before[item.pk])


# ---------------------------------------------------------------- delete


def test_admin_deletes_a_cohort_nothing_refers_to(admin_client, organisation):
    carers = services.cohort_create(
        organisation=organisation,
        name="Carers",
        description="",
        kind="receives",
        size=10,
        voice_weight=Decimal(1),
    )
    url = reverse("customers:cohort_delete", args=[carers.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    assert "Nothing refers to this cohort" in page.content.decode()
    response = admin_client.post(url)
    assert response.status_code == 302
    assert response.url == reverse("customers:cohort_list")
    assert not Cohort.objects.filter(pk=carers.pk).exists()


def test_deleting_a_cohort_that_estimates_and_ballots_refer_to_is_refused_with_the_reason(
    admin_client, make_member, organisation, product, cohorts, metrics
):
    citizens, hours = cohorts["Citizens"], metrics["Staff hours saved"]
    owner = make_member(product=product, roles=[ProductRoleKind.PRODUCT_OWNER])
    items = [BacklogItemFactory(product=product, effort=1) for _ in range(3)]
    for item in items:
        _estimate(item, citizens, hours, "5")
    voter = make_member(product=product, roles=[ProductRoleKind.BUSINESS_VOTER], cohort=citizens)
    round = open_round(product, owner, shortlist_size=2)
    prioritisation_services.ballot_submit(
        round=round, voter=voter, ranking=[[c.item_id] for c in round.candidates.all()]
    )
    url = reverse("customers:cohort_delete", args=[citizens.pk])
    response = admin_client.get(url)
    assert set(response.context["references"].counts) == {
        (3, "benefit estimates"),
        (1, "ballot"),
        (1, "membership"),
    }
    page = response.content.decode()
    assert "This cohort cannot be deleted" in page
    assert "3 benefit estimates" in page and "1 ballot" in page and "refer to it" in page
    assert reverse("customers:cohort_archive", args=[citizens.pk]) in page
    response = admin_client.post(url, follow=True)
    assert response.redirect_chain[-1][0] == url
    assert "Not deleted: " in response.content.decode()
    assert Cohort.objects.filter(pk=citizens.pk).exists()
    assert citizens.estimates.count() == 3


@pytest.mark.parametrize("kind", ["member", "invitation", "item target", "estimate", "ballot"])
def test_any_one_reference_keeps_a_cohort_from_being_deleted(
    kind, make_member, organisation, product, metrics
):
    carers = services.cohort_create(
        organisation=organisation,
        name="Carers",
        description="",
        kind="receives",
        size=10,
        voice_weight=Decimal(1),
    )
    item = BacklogItemFactory(product=product, effort=1)
    if kind == "member":
        make_member(cohort=carers)
    elif kind == "invitation":
        Invitation.objects.create(
            organisation=organisation,
            email="new@example.gov.uk",
            cohort=carers,
            key_hash="x" * 64,
            expires_at=timezone.now() + timedelta(days=7),
        )
    elif kind == "item target":
        item.cohorts.add(carers)
    elif kind == "estimate":
        _estimate(item, carers, metrics["Satisfaction"])
    else:
        owner = make_member(product=product, roles=[ProductRoleKind.PRODUCT_OWNER])
        voter = make_member(product=product, roles=[ProductRoleKind.BUSINESS_VOTER])
        BacklogItemFactory(product=product, effort=1)
        prioritisation_services.scores_recompute(product_id=product.pk)
        round = open_round(product, owner, shortlist_size=2)
        Ballot.objects.create(round=round, voter=voter, cohort=carers, ranking=[[item.pk]])
    assert references_to(carers).total == 1
    with pytest.raises(services.StillReferenced):
        services.cohort_delete(cohort=carers)
    assert Cohort.objects.filter(pk=carers.pk).exists()


def test_history_events_are_not_references(organisation):
    leaders = organisation.cohorts.get(name="Leaders")
    services.cohort_update(
        cohort=leaders,
        name="Leaders",
        description="",
        kind="steers",
        size=60,
        voice_weight=Decimal(2),
    )
    assert not references_to(leaders)
    services.cohort_delete(cohort=leaders)
    assert not Cohort.objects.filter(pk=leaders.pk).exists()


# ---------------------------------------------------------------- archived cohorts take nothing new


def test_the_item_form_offers_no_archived_cohort_but_keeps_one_already_chosen(
    organisation, product, cohorts
):
    services.cohort_archive(cohort=cohorts["Leaders"])
    new_form = ItemForm(organisation=organisation)
    assert set(new_form.fields["cohorts"].queryset) == {cohorts["Colleagues"], cohorts["Citizens"]}
    item = BacklogItemFactory(product=product)
    item.cohorts.add(cohorts["Leaders"])
    edit_form = ItemForm(instance=item, organisation=organisation)
    assert cohorts["Leaders"] in set(edit_form.fields["cohorts"].queryset)


def test_an_item_cannot_be_given_an_archived_cohort_but_keeps_one_it_had(
    make_member, product, cohorts
):
    owner = make_member(product=product, roles=[ProductRoleKind.PRODUCT_OWNER])
    leaders = cohorts["Leaders"]
    item = backlog_services.item_create(
        product=product, actor=owner, title="Online permits", cohorts=[leaders]
    )
    services.cohort_archive(cohort=leaders)
    leaders.refresh_from_db()
    with pytest.raises(ValidationError, match="Leaders: an archived cohort cannot be added"):
        backlog_services.item_create(
            product=product, actor=owner, title="Paper permits", cohorts=[leaders]
        )
    fields = {
        "title": "Online permits",
        "description": "",
        "digitisation_level": "access",
        "status": "idea",
        "effort": None,
    }
    backlog_services.item_update(item=item, actor=owner, cohorts=[leaders], **fields)
    other = backlog_services.item_create(product=product, actor=owner, title="Parking")
    with pytest.raises(ValidationError):
        backlog_services.item_update(item=other, actor=owner, cohorts=[leaders], **fields)
    assert not other.cohorts.exists()


def test_the_api_refuses_an_archived_cohort_for_an_item(make_member, product, cohorts):
    owner = make_member(product=product, roles=[ProductRoleKind.PRODUCT_OWNER])
    services.cohort_archive(cohort=cohorts["Leaders"])
    client = client_for(owner)
    response = client.post(
        reverse("api:product_items", args=[product.pk]),
        {"title": "Permits", "cohorts": [cohorts["Leaders"].pk]},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "archived" in response.content.decode()
    assert not product.items.exists()


def test_the_estimates_grid_hides_an_archived_cohort_unless_the_item_has_estimates_for_it(
    make_member, product, cohorts, metrics
):
    owner = make_member(product=product, roles=[ProductRoleKind.PRODUCT_OWNER])
    client = client_for(owner)
    leaders, hours = cohorts["Leaders"], metrics["Staff hours saved"]
    with_estimate = BacklogItemFactory(product=product, effort=1)
    without = BacklogItemFactory(product=product, effort=1)
    _estimate(with_estimate, leaders, hours, "4", actor=owner)
    services.cohort_archive(cohort=leaders)
    page = client.get(reverse("backlog:item_detail", args=[without.pk]))
    grid = page.context["grid_form"]
    assert leaders not in grid.cohorts
    page = client.get(reverse("backlog:item_detail", args=[with_estimate.pk]))
    grid = page.context["grid_form"]
    assert leaders in grid.cohorts
    row = next(r for r in grid.rows() if r["cohort"] == leaders)
    closed = {cell["metric"].name: cell["closed"] for cell in row["cells"]}
    assert closed["Staff hours saved"] is False  # its estimate can be changed or cleared
    assert closed["Satisfaction"] is True
    body = page.content.decode()
    assert "Archived: takes no new estimates" in body


def test_posting_a_value_into_a_closed_cell_of_the_grid_adds_no_estimate(
    make_member, product, cohorts, metrics
):
    owner = make_member(product=product, roles=[ProductRoleKind.PRODUCT_OWNER])
    leaders, hours, calls = (
        cohorts["Leaders"],
        metrics["Staff hours saved"],
        metrics["Phone calls avoided"],
    )
    item = BacklogItemFactory(product=product, effort=1)
    _estimate(item, leaders, hours, "4")
    services.cohort_archive(cohort=leaders)
    data = {
        f"confidence-{c.pk}-{m.pk}": "medium" for c in cohorts.values() for m in metrics.values()
    }
    data |= {
        f"value-{leaders.pk}-{hours.pk}": "6",
        f"confidence-{leaders.pk}-{hours.pk}": "high",
        f"value-{leaders.pk}-{calls.pk}": "99",
        f"confidence-{leaders.pk}-{calls.pk}": "high",
    }
    response = client_for(owner).post(
        reverse("prioritisation:estimates_edit", args=[item.pk]), data
    )
    assert response.status_code == 302
    values = {e.metric_id: e.value for e in item.estimates.filter(cohort=leaders)}
    assert values == {hours.pk: Decimal("6")}


def test_the_estimates_service_refuses_a_new_estimate_for_an_archived_cohort(
    product, cohorts, metrics
):
    leaders, hours = cohorts["Leaders"], metrics["Staff hours saved"]
    item = BacklogItemFactory(product=product, effort=1)
    _estimate(item, leaders, hours, "4")
    services.cohort_archive(cohort=leaders)
    with pytest.raises(ValidationError, match="the cohort “Leaders” is archived"):
        _estimate(item, leaders, metrics["Satisfaction"], "3")
    _estimate(item, leaders, hours, "7")  # changing an existing one is allowed
    assert item.estimates.get(cohort=leaders, metric=hours).value == 7
    assert item.estimates.filter(cohort=leaders).count() == 1


def test_the_api_refuses_a_new_estimate_for_an_archived_cohort(
    make_member, product, cohorts, metrics
):
    owner = make_member(product=product, roles=[ProductRoleKind.PRODUCT_OWNER])
    item = BacklogItemFactory(product=product, effort=1)
    services.cohort_archive(cohort=cohorts["Leaders"])
    response = client_for(owner).put(
        reverse("api:item_estimates", args=[item.pk]),
        [{"cohort": cohorts["Leaders"].pk, "metric": metrics["Satisfaction"].pk, "value": "3"}],
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "is archived and takes no new estimates" in response.content.decode()
    assert not item.estimates.exists()


def test_an_archived_cohort_takes_no_new_members(organisation, cohorts):
    services.cohort_archive(cohort=cohorts["Leaders"])
    with pytest.raises(ValidationError, match="archived"):
        services.membership_create(
            user=UserFactory(), organisation=organisation, cohort=cohorts["Leaders"]
        )


def test_a_new_ballot_from_a_voter_of_an_archived_cohort_counts_as_from_no_cohort(
    make_member, product, cohorts
):
    leaders = cohorts["Leaders"]
    owner = make_member(product=product, roles=[ProductRoleKind.PRODUCT_OWNER])
    BacklogItemFactory.create_batch(3, product=product, effort=1)
    prioritisation_services.scores_recompute(product_id=product.pk)
    voter = make_member(product=product, roles=[ProductRoleKind.BUSINESS_VOTER], cohort=leaders)
    still = make_member(product=product, roles=[ProductRoleKind.BUSINESS_VOTER], cohort=leaders)
    round = open_round(product, owner, shortlist_size=2)
    ranking = [[c.item_id] for c in round.candidates.all()]
    kept = prioritisation_services.ballot_submit(round=round, voter=still, ranking=ranking)
    services.cohort_archive(cohort=leaders)
    for user in (voter, still):
        user._membership_cache = False  # the archive happened since the cache was filled
        assert membership_for_user(user).cohort.archived_at is not None
    ballot = prioritisation_services.ballot_submit(round=round, voter=voter, ranking=ranking)
    assert ballot.cohort is None
    prioritisation_services.ballot_submit(round=round, voter=still, ranking=ranking[::-1])
    kept.refresh_from_db()
    assert kept.cohort == leaders  # a ballot cast before the archive keeps its cohort


# ---------------------------------------------------------------- permissions


def _urls(cohort) -> list[tuple[str, str]]:
    return [
        ("get", reverse("customers:cohort_create")),
        ("post", reverse("customers:cohort_create")),
        ("post", reverse("customers:cohort_archive", args=[cohort.pk])),
        ("post", reverse("customers:cohort_restore", args=[cohort.pk])),
        ("get", reverse("customers:cohort_delete", args=[cohort.pk])),
        ("post", reverse("customers:cohort_delete", args=[cohort.pk])),
    ]


def test_anonymous_people_are_sent_to_sign_in(client, organisation):
    for method, url in _urls(organisation.cohorts.first()):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login")), url


def test_a_member_who_is_not_an_admin_gets_403_and_changes_nothing(make_member, organisation):
    client = client_for(make_member())
    carers = services.cohort_create(
        organisation=organisation,
        name="Carers",
        description="",
        kind="receives",
        size=10,
        voice_weight=Decimal(1),
    )
    for method, url in _urls(carers):
        assert getattr(client, method)(url, NEW if "new" in url else {}).status_code == 403, url
    carers.refresh_from_db()
    assert carers.archived_at is None
    assert organisation.cohorts.count() == 4


def test_another_organisations_admin_gets_404_and_adds_only_to_their_own(
    make_member, organisation, other_organisation
):
    client = client_for(make_member(org=other_organisation, admin=True))
    carers = services.cohort_create(
        organisation=organisation,
        name="Carers",
        description="",
        kind="receives",
        size=10,
        voice_weight=Decimal(1),
    )
    for method, url in _urls(carers)[2:]:
        assert getattr(client, method)(url).status_code == 404, url
    assert Cohort.objects.filter(pk=carers.pk, archived_at__isnull=True).exists()
    response = client.post(reverse("customers:cohort_create"), {**NEW, "name": "Carers"})
    assert response.status_code == 302
    assert other_organisation.cohorts.filter(name="Carers").exists()


def test_renaming_a_cohort_to_a_name_taken_in_another_case_is_refused_by_the_service(
    organisation,
):
    leaders = organisation.cohorts.get(name="Leaders")
    with pytest.raises(ValidationError) as refused:
        services.cohort_update(
            cohort=leaders,
            name="CITIZENS",
            description="",
            kind="steers",
            size=50,
            voice_weight=Decimal(1),
        )
    assert refused.value.message_dict == {"name": ["Another cohort already has this name."]}
    leaders.refresh_from_db()
    assert leaders.name == "Leaders"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_estimate_written_while_its_cohort_is_deleted_fails_rather_than_dangles(
    organisation, product
):
    """The first estimate for a cohort is being written when an admin deletes the cohort
    (the delete cannot see it yet): the database checks the estimate's foreign key when it
    commits and refuses it, so no estimate is left for a cohort that is gone."""
    require_postgresql()
    carers = services.cohort_create(
        organisation=organisation,
        name="Carers",
        description="",
        kind="receives",
        size=10,
        voice_weight=Decimal(1),
    )
    metric = organisation.metrics.first()
    item = BacklogItemFactory(product=product, effort=1)
    written, deleted = threading.Event(), threading.Event()
    outcome: list[str] = []

    def write_estimate() -> None:
        try:
            with transaction.atomic():
                BenefitEstimate.objects.create(
                    item=item, cohort=carers, metric=metric, value=Decimal(5)
                )
                written.set()
                deleted.wait(timeout=10)
            outcome.append("saved")
        except IntegrityError:
            outcome.append("refused")
        finally:
            connections.close_all()

    writer = threading.Thread(target=write_estimate)
    writer.start()
    assert written.wait(timeout=10)
    services.cohort_delete(cohort=carers)
    deleted.set()
    writer.join()
    assert outcome == ["refused"]
    assert not Cohort.objects.filter(pk=carers.pk).exists()
    assert not BenefitEstimate.objects.filter(item=item).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_delete_counts_an_estimate_committed_a_moment_before(organisation, product):
    require_postgresql()
    carers = services.cohort_create(
        organisation=organisation,
        name="Carers",
        description="",
        kind="receives",
        size=10,
        voice_weight=Decimal(1),
    )
    metric = organisation.metrics.first()
    item = BacklogItemFactory(product=product, effort=1)
    stale = Cohort.objects.get(pk=carers.pk)  # the page loaded it before the estimate
    BenefitEstimate.objects.create(item=item, cohort=carers, metric=metric, value=Decimal(5))
    with pytest.raises(services.StillReferenced):
        services.cohort_delete(cohort=stale)
    assert BenefitEstimate.objects.filter(cohort=carers).count() == 1
