"""Organisations get default cohorts; only admins manage them, only their own."""

from __future__ import annotations

import pytest
from django.urls import reverse

from customers.models import Cohort
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_new_organisation_gets_colleagues_citizens_and_leaders(organisation):
    cohorts = {c.name: c.kind for c in organisation.cohorts.all()}
    assert cohorts == {"Colleagues": "uses", "Citizens": "receives", "Leaders": "steers"}


def test_anonymous_user_is_sent_to_sign_in(client, organisation):
    cohort = organisation.cohorts.first()
    for url in [
        reverse("customers:cohort_list"),
        reverse("customers:cohort_edit", args=[cohort.pk]),
    ]:
        assert client.get(url).url.startswith(reverse("login"))


def test_member_who_is_not_admin_gets_403(make_member, organisation):
    client = client_for(make_member())
    cohort = organisation.cohorts.first()
    assert client.get(reverse("customers:cohort_list")).status_code == 403
    url = reverse("customers:cohort_edit", args=[cohort.pk])
    assert (
        client.post(
            url, {"name": "Hacked", "kind": "uses", "size": 1, "voice_weight": 9}
        ).status_code
        == 403
    )
    cohort.refresh_from_db()
    assert cohort.name != "Hacked"


def test_admin_of_another_organisation_gets_404(make_member, organisation, other_organisation):
    client = client_for(make_member(org=other_organisation, admin=True))
    cohort = organisation.cohorts.first()
    assert client.get(reverse("customers:cohort_edit", args=[cohort.pk])).status_code == 404
    response = client.get(reverse("customers:cohort_list"))
    assert set(response.context["cohorts"]) == set(other_organisation.cohorts.all())


def test_admin_edits_a_cohort(make_member, organisation):
    client = client_for(make_member(admin=True))
    cohort = organisation.cohorts.get(name="Leaders")
    response = client.post(
        reverse("customers:cohort_edit", args=[cohort.pk]),
        {"name": "Leaders", "kind": "steers", "size": 40, "voice_weight": "2.5", "description": ""},
    )
    assert response.status_code == 302
    cohort.refresh_from_db()
    assert (cohort.size, str(cohort.voice_weight)) == (40, "2.50")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"voice_weight": "-1"}, "voice_weight"),
        ({"size": "-5"}, "size"),
        ({"name": "Citizens"}, "name"),
        ({"kind": "rulers"}, "kind"),
    ],
)
def test_invalid_cohort_edit_shows_errors_and_saves_nothing(make_member, organisation, data, field):
    client = client_for(make_member(admin=True))
    cohort = organisation.cohorts.get(name="Leaders")
    payload = {"name": "Leaders", "kind": "steers", "size": 50, "voice_weight": "1", **data}
    response = client.post(reverse("customers:cohort_edit", args=[cohort.pk]), payload)
    assert response.status_code == 422
    assert field in response.context["form"].errors
    cohort.refresh_from_db()
    assert (cohort.name, cohort.size) == ("Leaders", 50)
    assert Cohort.objects.filter(organisation=organisation).count() == 3
