"""History (django-pghistory triggers): every tracked change is one event with who acted and
the values before and after; bulk paths are one event or none; history cannot be changed.

PostgreSQL only: the triggers are PostgreSQL's (SQLite, the embedded demo, records none).
"""

from __future__ import annotations

from decimal import Decimal

import pgtrigger
import pytest
from celery import shared_task
from django.apps import apps
from django.contrib import admin
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse

from backlog import audit, ordering, services
from backlog.models import (
    BacklogItem,
    GoLiveSignature,
    ItemStatus,
    OrderSnapshot,
    Product,
    ProductRole,
    ProductRoleKind,
)
from backlog.services import sessions
from customers.history import baseline, history_context
from customers.models import Cohort, Membership
from customers.services import api_token_create, cohort_update
from prioritisation import services as scoring
from prioritisation.models import (
    Ballot,
    BenefitEstimate,
    BenefitMetric,
    Confidence,
    ItemScoringInputs,
)
from tests.conftest import client_for, require_postgresql
from tests.factories import BacklogItemFactory, give_score_ranks, open_round

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _postgresql(db):
    require_postgresql()


def events(model) -> list:
    return list(model.pgh_event_model.objects.order_by("pgh_id").select_related("pgh_context"))


def only_change(item: BacklogItem) -> audit.Entry:
    page = audit.item_changes(item=item)
    return page.entries[0]


@pytest.fixture
def item(product, owner):
    return services.item_create(product=product, actor=owner, title="Online repairs", effort=3)


def test_an_item_edit_through_the_page_is_one_event_with_the_editor_and_before_and_after(
    owner, owner_client, item
):
    before = len(events(BacklogItem))
    response = owner_client.post(
        reverse("backlog:item_edit", args=[item.pk]),
        {
            "title": "Online repairs booking",
            "description": "",
            "digitisation_level": "access",
            "status": ItemStatus.READY,
            "effort": "5",
        },
    )
    assert response.status_code == 302
    recorded = events(BacklogItem)[before:]
    assert [e.pgh_label for e in recorded] == ["update"]
    assert recorded[0].pgh_context.metadata["user"] == owner.pk
    assert recorded[0].pgh_context.metadata["url"] == reverse("backlog:item_edit", args=[item.pk])
    entry = only_change(item)
    assert entry.who == (owner.get_full_name() or owner.username)
    changes = {c.field: (c.before, c.after) for c in entry.changes}
    assert changes == {
        "Title": ("Online repairs", "Online repairs booking"),
        "Status": ("Idea", "Ready"),
        "Effort": ("3", "5"),
    }


def test_a_queryset_update_of_an_item_status_is_recorded(owner, item):
    with history_context(user=owner.pk):
        BacklogItem.objects.filter(pk=item.pk).update(status=ItemStatus.DONE)
    event = events(BacklogItem)[-1]
    assert (event.pgh_label, event.status, event.pgh_context.metadata["user"]) == (
        "update",
        ItemStatus.DONE,
        owner.pk,
    )
    assert {c.field: (c.before, c.after) for c in only_change(item).changes} == {
        "Status": ("Idea", "Done")
    }


def test_saving_untracked_columns_only_records_nothing(item):
    before = len(events(BacklogItem))
    BacklogItem.objects.filter(pk=item.pk).update(updated_at=item.updated_at)
    assert len(events(BacklogItem)) == before


def test_an_item_edit_through_the_api_with_a_token_names_the_token_user(owner, item):
    _token, secret = api_token_create(user=owner, name="Sync")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = api.patch(
        reverse("api:item_detail", args=[item.pk]),
        {"title": "Renamed by the API"},
        content_type="application/json",
    )
    assert response.status_code == 200
    event = events(BacklogItem)[-1]
    assert event.title == "Renamed by the API"
    assert event.pgh_context.metadata["user"] == owner.pk


def test_estimates_record_an_event_per_cell_created_changed_and_cleared(
    owner, item, cohorts, metrics
):
    citizens, hours = cohorts["Citizens"], metrics["Staff hours saved"]

    def save(value):
        with history_context(user=owner.pk):
            scoring.estimates_save(
                item=item,
                actor=owner,
                cells=[scoring.EstimateCell(citizens, hours, value, Confidence.HIGH)],
            )

    save(Decimal("10"))
    save(Decimal("12.5"))
    save(None)
    recorded = events(BenefitEstimate)
    assert [e.pgh_label for e in recorded] == ["insert", "update", "delete"]
    assert all(e.pgh_context.metadata["user"] == owner.pk for e in recorded)
    newest = audit.item_changes(item=item).entries
    assert [(e.source.key, e.action) for e in newest] == [
        ("estimate", "Deleted"),
        ("estimate", "Changed"),
        ("estimate", "Created"),
        ("item", "Created"),
    ]
    assert {c.field: (c.before, c.after) for c in newest[1].changes} == {"Value": ("10", "12.5")}
    assert "Citizens · Staff hours saved" in newest[1].subject


def test_scoring_inputs_record_their_values_before_and_after(owner, item):
    with history_context(user=owner.pk):
        scoring.scoring_inputs_update(item=item, actor=owner, moscow="should")
        scoring.scoring_inputs_update(item=item, actor=owner, moscow="must")
    # The first save creates the row, then sets the inputs on it.
    assert [e.pgh_label for e in events(ItemScoringInputs)] == ["insert", "update", "update"]
    entry = only_change(item)
    assert {c.field: (c.before, c.after) for c in entry.changes} == {
        "Moscow": ("Should have", "Must have")
    }


def test_scoring_settings_are_recorded_and_the_rescore_that_follows_is_not(owner, product, item):
    before = len(events(Product))
    with history_context(user=owner.pk):
        scoring.scoring_settings_update(
            product=product,
            actor=owner,
            scoring_method="rice",
            effort_uplift=Decimal("0.20"),
            benefit_haircut=Decimal("0.10"),
            optimism_reason="Our own record",
        )
        scoring.scores_recompute(product_id=product.pk)
    recorded = events(Product)[before:]
    assert [e.scoring_method for e in recorded] == ["rice"]
    assert recorded[0].effort_uplift == Decimal("0.20")


def test_a_score_recompute_records_no_event_at_all(product, item):
    BacklogItemFactory.create_batch(20, product=product)
    counts = [len(events(m)) for m in (BacklogItem, Product, BenefitEstimate)]
    scoring.scores_recompute(product_id=product.pk)
    assert [len(events(m)) for m in (BacklogItem, Product, BenefitEstimate)] == counts


def test_applying_the_score_order_to_many_items_is_one_audit_entry_not_one_per_item(
    owner, owner_client, product, organisation
):
    items = BacklogItemFactory.create_batch(40, product=product)
    give_score_ranks(list(reversed(items)))
    item_events = len(events(BacklogItem))
    response = owner_client.post(reverse("backlog:order_apply_scores", args=[product.pk]))
    assert response.status_code in {200, 302}
    assert list(BacklogItem.objects.filter(product=product).in_manual_order())[0] == items[-1]
    assert len(events(BacklogItem)) == item_events
    snapshot_events = events(OrderSnapshot)
    assert len(snapshot_events) == 1
    assert snapshot_events[0].pgh_context.metadata["user"] == owner.pk
    page = audit.audit_page(organisation=organisation, filters=audit.AuditFilters(kind="order"))
    assert [(e.action, e.subject) for e in page.entries] == [
        ("Applied the score order", "Manual order of Repairs")
    ]
    # Undoing it is one entry more, again with no row per item.
    owner_client.post(reverse("backlog:order_undo", args=[product.pk]))
    assert len(events(BacklogItem)) == item_events
    assert [e.kind for e in events(OrderSnapshot)] == ["score_order", "undo"]


def test_one_move_is_one_event(owner, product):
    items = BacklogItemFactory.create_batch(5, product=product)
    before = len(events(BacklogItem))
    with history_context(user=owner.pk):
        services.item_move(item=items[4], actor=owner, to="top")
    recorded = events(BacklogItem)[before:]
    assert [(e.pgh_obj_id, e.pgh_label) for e in recorded] == [(items[4].pk, "update")]
    assert only_change(items[4]).changes == [
        audit.Change("Place in the manual order", None, "Moved")
    ]


def test_a_move_that_rebalances_the_whole_backlog_is_still_one_event(owner, product, monkeypatch):
    items = BacklogItemFactory.create_batch(30, product=product)
    monkeypatch.setattr(ordering, "needs_rebalance", lambda key: True)
    before = len(events(BacklogItem))
    with history_context(user=owner.pk):
        result = services.item_move(item=items[29], actor=owner, to="top")
    assert result.rebalanced
    recorded = events(BacklogItem)[before:]
    assert [e.pgh_obj_id for e in recorded] == [items[29].pk]
    assert recorded[0].rank_key == BacklogItem.objects.get(pk=items[29].pk).rank_key
    assert recorded[0].pgh_context.metadata["user"] == owner.pk


def test_pinning_is_recorded(owner, item):
    with history_context(user=owner.pk):
        services.item_pin(item=item, actor=owner, pinned=True)
    assert {c.field: (c.before, c.after) for c in only_change(item).changes} == {
        "Pinned": ("No", "Yes")
    }


def test_ballots_are_recorded_and_their_contents_shown_only_where_the_round_allows(
    owner, product, make_member, organisation
):
    items = BacklogItemFactory.create_batch(4, product=product)
    give_score_ranks(items)
    voter = make_member(product=product, roles=[ProductRoleKind.BUSINESS_VOTER])
    round_ = open_round(product, owner)
    with history_context(user=voter.pk):
        scoring.ballot_submit(round=round_, voter=voter, ranking=[[items[0].pk], [items[1].pk]])
        scoring.ballot_submit(round=round_, voter=voter, ranking=[[items[1].pk], [items[0].pk]])
    assert [e.pgh_label for e in events(Ballot)] == ["insert", "update"]
    entry = audit.audit_page(
        organisation=organisation, filters=audit.AuditFilters(kind="ballot")
    ).entries[0]
    changes = {c.field: (c.before, c.after) for c in entry.changes}
    assert changes["Revisions"] == ("1", "2")
    assert changes["Ranking"] == ("(secret)", "(secret)")
    round_.ballots_visible = True
    round_.save()
    entry = audit.audit_page(
        organisation=organisation, filters=audit.AuditFilters(kind="ballot")
    ).entries[0]
    assert {c.field: c.after for c in entry.changes}["Ranking"] == (
        f"[[{items[1].pk}],[{items[0].pk}]]"
    )


def test_go_live_signatures_are_recorded_when_given_and_withdrawn(product, make_member):
    item = BacklogItemFactory(product=product, status=ItemStatus.DONE)
    sponsor = make_member(product=product, roles=[ProductRoleKind.SPONSOR])
    with history_context(user=sponsor.pk):
        sessions.go_live_sign(item=item, signer=sponsor, role=ProductRoleKind.SPONSOR)
        sessions.go_live_withdraw(item=item, signer=sponsor, role=ProductRoleKind.SPONSOR)
    recorded = events(GoLiveSignature)
    assert [(e.pgh_label, e.role, e.signer_id) for e in recorded] == [
        ("insert", "sponsor", sponsor.pk),
        ("delete", "sponsor", sponsor.pk),
    ]
    newest = audit.item_changes(item=item).entries
    assert [e.action for e in newest[:2]] == ["Withdrew a go-live signature", "Signed for go-live"]


def test_memberships_roles_cohorts_and_metrics_are_recorded(
    organisation, product, make_member, cohorts, metrics
):
    person = make_member()
    membership = Membership.objects.get(user=person)
    with history_context(user=person.pk):
        membership.cohort = cohorts["Citizens"]
        membership.save()
        grant = services.product_role_grant(product=product, user=person, role="sponsor")
        grant.delete()
        citizens = cohorts["Citizens"]
        cohort_update(
            cohort=citizens,
            name=citizens.name,
            description=citizens.description,
            kind=citizens.kind,
            size=citizens.size,
            voice_weight=Decimal("2.5"),
        )
        metric = metrics["Cash saved"]
        metric.weight = Decimal("3")
        metric.save()
    assert [e.pgh_label for e in events(Membership)][-1] == "update"
    assert [e.pgh_label for e in events(ProductRole)][-2:] == ["insert", "delete"]
    page = audit.audit_page(organisation=organisation, filters=audit.AuditFilters(person=person.pk))
    found = {(e.source.key, e.action): e for e in page.entries}
    assert {c.field: (c.before, c.after) for c in found["membership", "Changed"].changes} == {
        "Cohort": (None, "Citizens")
    }
    assert {c.field: (c.before, c.after) for c in found["cohort", "Changed"].changes} == {
        "Voice weight": ("1", "2.5")
    }
    assert {c.field: (c.before, c.after) for c in found["metric", "Changed"].changes} == {
        "Weight": ("1", "3")
    }
    assert ("role", "Created") in found and ("role", "Deleted") in found
    assert Cohort.pgh_event_model.objects.filter(voice_weight=Decimal("2.5")).count() == 1
    assert BenefitMetric.pgh_event_model.objects.filter(weight=Decimal("3")).count() == 1


@shared_task(name="tests.set_item_status")
def set_item_status(*, item_id: int, status: str) -> None:
    BacklogItem.objects.filter(pk=item_id).update(status=status)


def test_a_celery_task_s_writes_are_recorded_with_the_task_name(item):
    set_item_status.apply(kwargs={"item_id": item.pk, "status": ItemStatus.READY})
    event = events(BacklogItem)[-1]
    assert event.status == ItemStatus.READY
    assert event.pgh_context.metadata == {"task": "tests.set_item_status"}


def test_a_management_command_s_writes_are_recorded_with_the_command_name():
    call_command("seed_demo", stdout=None)
    contexts = {e.pgh_context.metadata.get("command") for e in events(BacklogItem)}
    assert contexts == {"seed_demo"}


def test_the_history_tables_refuse_updates_and_deletes(owner, item):
    table = BacklogItem.pgh_event_model
    assert table.objects.exists()
    with pytest.raises(DatabaseError), transaction.atomic():
        table.objects.update(title="Rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        table.objects.all().delete()
    assert table.objects.filter(title="Online repairs").exists()


def test_the_django_admin_shows_history_read_only(item):
    superuser = type(item.created_by).objects.create_superuser("operator", "", "pw-operator-1")
    event_model = BacklogItem.pgh_event_model
    event = event_model.objects.first()
    model_admin = admin.site._registry[event_model]
    request = type("Request", (), {"user": superuser})()
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, event)
    assert not model_admin.has_delete_permission(request, event)
    client = client_for(superuser)
    opts = event_model._meta
    change_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[event.pk])
    assert client.get(change_url).status_code == 200
    assert client.post(change_url, {"title": "Rewritten"}).status_code == 403
    delete_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[event.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    assert event_model.objects.get(pk=event.pk).title == "Online repairs"


def test_rows_older_than_the_history_get_a_baseline_so_their_first_change_has_before_values(
    owner, product
):
    with pgtrigger.ignore("backlog.BacklogItem:insert_insert"):
        item = BacklogItemFactory(product=product, title="Older than history", status="ready")
    assert not BacklogItem.pgh_event_model.objects.filter(pgh_obj=item).exists()
    with connection.schema_editor() as editor:  # the migration step, as migrate runs it
        baseline("backlog", "BacklogItem").code(apps, editor)
    with history_context(user=owner.pk):
        BacklogItem.objects.filter(pk=item.pk).update(title="Renamed", status="in_progress")
    entries = audit.item_changes(item=item).entries
    assert [e.action for e in entries] == ["Changed"]  # the baseline is not a change
    assert {(c.field, c.before, c.after) for c in entries[0].changes} == {
        ("Title", "Older than history", "Renamed"),
        ("Status", "Ready", "In progress"),
    }
    assert not entries[0].before_unknown


def test_editing_an_item_s_target_cohorts_records_the_names_before_and_after(
    owner, owner_client, item, cohorts
):
    response = owner_client.post(
        reverse("backlog:item_edit", args=[item.pk]),
        {
            "title": item.title,
            "description": "",
            "digitisation_level": "access",
            "status": item.status,
            "effort": "3",
            "cohorts": [cohorts["Citizens"].pk, cohorts["Leaders"].pk],
        },
    )
    assert response.status_code == 302
    event = item.events.filter(kind="edited").get()
    assert event.actor == owner
    assert event.data["changes"] == {"cohorts": [[], ["Citizens", "Leaders"]]}
