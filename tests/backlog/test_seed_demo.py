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
