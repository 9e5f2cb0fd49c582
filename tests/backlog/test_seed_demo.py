import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from backlog.models import BacklogItem, Product, ProductRole
from customers.models import Membership
from customers.services import organisation_create
from prioritisation.models import BenefitEstimate, ItemScore
from tests.factories import BacklogItemFactory, ProductFactory

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, ...]:
    models = (BacklogItem, Product, ProductRole, BenefitEstimate, ItemScore)
    return tuple(model.objects.count() for model in models)


def test_seed_demo_builds_a_council_and_running_it_twice_duplicates_nothing():
    call_command("seed_demo", stdout=io.StringIO())
    counts = _counts()
    call_command("seed_demo", stdout=io.StringIO())
    assert _counts() == counts
    assert counts[0] == 150 and counts[1] == 3
    statuses = set(BacklogItem.objects.values_list("status", flat=True))
    assert statuses == {"idea", "ready", "in_progress", "done", "live", "rejected"}
    assert Membership.objects.filter(user__username="owner").exists()
    assert BacklogItem.objects.filter(cohorts__isnull=True).count() == 0
    assert counts[3] > 150 and counts[4] == 150  # estimates for most items, a score for each


# ------------------------------------------------------------ the Django admin is the operator's


def _elsewhere():
    """Another organisation with one item and its cohorts, beside the demo council."""
    other = organisation_create(name="Elsewhere Borough", slug="elsewhere")
    item = BacklogItemFactory(
        product=ProductFactory(organisation=other), title="Elsewhere's private item"
    )
    return other, item


def _demo_admin_client():
    client = Client()
    client.force_login(get_user_model().objects.get(username="admin"))
    return client


def _refused_by_the_admin(response) -> bool:
    """The Django admin's answer to someone who is not staff: its sign-in page, or 403."""
    if response.status_code == 403:
        return True
    return response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_seed_demo_organisation_admin_is_not_django_staff():
    call_command("seed_demo", stdout=io.StringIO())
    admin = get_user_model().objects.get(username="admin")
    assert Membership.objects.get(user=admin).is_admin
    assert not admin.is_staff
    assert not admin.is_superuser


def test_seeded_organisation_admin_cannot_open_another_organisations_item_in_the_django_admin():
    call_command("seed_demo", stdout=io.StringIO())
    _other, item = _elsewhere()
    response = _demo_admin_client().get(f"/admin/backlog/backlogitem/{item.pk}/change/")
    assert _refused_by_the_admin(response), response.status_code
    assert "Elsewhere's private item" not in response.content.decode()


def test_seeded_organisation_admin_cannot_change_another_organisations_cohort_in_the_admin():
    call_command("seed_demo", stdout=io.StringIO())
    other, _item = _elsewhere()
    cohort = other.cohorts.order_by("pk").first()
    before = (cohort.name, cohort.size, cohort.voice_weight)
    response = _demo_admin_client().post(
        f"/admin/customers/cohort/{cohort.pk}/change/",
        {
            "organisation": other.pk,
            "name": "Taken over",
            "kind": cohort.kind,
            "size": 1,
            "voice_weight": 9,
            "description": "",
        },
    )
    assert _refused_by_the_admin(response), response.status_code
    cohort.refresh_from_db()
    assert (cohort.name, cohort.size, cohort.voice_weight) == before


def test_running_seed_demo_again_demotes_a_demo_admin_who_was_django_staff():
    call_command("seed_demo", stdout=io.StringIO())
    get_user_model().objects.filter(username="admin").update(is_staff=True, is_superuser=True)
    call_command("seed_demo", stdout=io.StringIO())
    admin = get_user_model().objects.get(username="admin")
    assert (admin.is_staff, admin.is_superuser) == (False, False)
    assert Membership.objects.get(user=admin).is_admin


def test_seed_demo_refuses_to_take_over_an_operator_account_with_a_demo_name():
    operator = get_user_model().objects.create_superuser(username="admin", password="op-secret")
    with pytest.raises(CommandError, match="Rename it"):
        call_command("seed_demo", stdout=io.StringIO())
    operator.refresh_from_db()
    assert operator.is_superuser and operator.is_staff
    assert not Membership.objects.filter(user=operator).exists()


# ------------------------------------------------------------ the demo's past, as a team made it


def _section(page: str, key: str, following: str) -> str:
    return page[page.index(f'id="section-{key}"') : page.index(f'id="section-{following}"')]


def test_after_seed_demo_the_show_and_tell_names_who_finished_every_item():
    """Before: the demo wrote statuses straight into the rows with no history, so "Done this
    week" said "By —" for every item. Now each status change is made through the item
    service by a person, at a plausible moment in the past."""
    import re

    from backlog.models import ShowAndTell
    from tests.conftest import client_for

    call_command("seed_demo", stdout=io.StringIO())
    client = client_for(get_user_model().objects.get(username="delivery"))
    statuses, live_this_week = set(), 0
    for session in ShowAndTell.objects.select_related("product"):
        page = client.get(f"/show-and-tell/{session.pk}/").content.decode()
        done = _section(page, "done", "benefit")
        by = re.findall(r'data-label="By">([^<]*)</td>', done)
        assert by, f"{session.product}: nothing done this week"
        assert all(name.strip() and name.strip() != "—" for name in by), by
        statuses |= set(re.findall(r'data-label="Status"><span class="tag tag--(\w+)"', done))
        golive = _section(page, "golive", "decisions")
        live_this_week += "Live this week:" in golive
        assert "Signed by" in golive  # some items already carry signatures, with names
    assert statuses == {"done", "live"}
    assert live_this_week == 3


def test_the_demos_history_agrees_with_its_items_and_names_people():
    """Every status an item holds was reached by a recorded change: the event's time is the
    item's timestamp for that status, in the past, after the item was created; the
    trigger-kept history (append-only, so dated when the demo was loaded) says which person
    made each change, not just the command."""
    from django.utils import timezone

    from backlog.models import STATUS_TIMESTAMP_FIELD, ItemEvent, ItemStatus

    call_command("seed_demo", stdout=io.StringIO())
    now = timezone.now()
    names = {u.pk: u.username for u in get_user_model().objects.all()}
    history = BacklogItem.pgh_event_model.objects.select_related("pgh_context")
    for item in BacklogItem.objects.exclude(status=ItemStatus.IDEA):
        moves = ItemEvent.objects.filter(item=item, kind="status").order_by("created_at")
        reached = {e.data["to"]: e for e in moves}
        if item.ready_at is not None:  # written up ready by the owner
            created = ItemEvent.objects.get(item=item, kind="created")
            assert created.actor.username == "owner"
            assert created.created_at == item.created_at == item.ready_at < now
        for status in (ItemStatus.IN_PROGRESS, ItemStatus.DONE, ItemStatus.REJECTED):
            stamp = getattr(item, STATUS_TIMESTAMP_FIELD[status])
            if stamp is None:
                continue
            event = reached[status.value]
            assert event.actor is not None
            assert event.created_at == stamp
            assert item.created_at < stamp < now
        if item.status == ItemStatus.LIVE:
            went = ItemEvent.objects.get(item=item, kind="went_live")
            assert went.created_at == item.live_at > item.done_at
        changes = history.filter(pgh_obj=item, pgh_label="update")
        assert changes.exists() or item.status == ItemStatus.READY
        for change in changes:
            assert names.get(change.pgh_context.metadata.get("user")), change.pgh_context.metadata
