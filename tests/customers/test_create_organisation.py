"""create_organisation: the first run of a real installation."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client

from customers import invitations
from customers.models import Invitation, Organisation, OrganisationRole
from customers.tasks import send_invitation
from outbox.models import OutboxMessage

pytestmark = pytest.mark.django_db

NAME = "Mid Sussex District Council"
BASE = "https://backlog.midsussex.example"


def _run(*args, **options) -> str:
    out = StringIO()
    call_command("create_organisation", *args, stdout=out, **options)
    return out.getvalue()


def _create(**overrides) -> str:
    name = overrides.pop("name", NAME)
    options = {
        "time_zone": "Europe/London",
        "admin_email": "someone@example.gov.uk",
        "base_url": BASE,
        **overrides,
    }
    return _run(name, **options)


def test_it_creates_the_organisation_with_defaults_and_prints_a_working_admin_link():
    output = _create()
    organisation = Organisation.objects.get(name=NAME)
    assert (organisation.slug, organisation.time_zone) == (
        "mid-sussex-district-council",
        "Europe/London",
    )
    assert set(organisation.cohorts.values_list("name", flat=True)) == {
        "Colleagues",
        "Citizens",
        "Leaders",
    }
    assert organisation.metrics.exists()
    invitation = Invitation.objects.get(organisation=organisation)
    assert (invitation.email, invitation.role) == ("someone@example.gov.uk", OrganisationRole.ADMIN)
    link = re.search(rf"{re.escape(BASE)}/organisation/join/(\S+)/", output)
    assert link, output
    assert invitations.invitation_for_key(raw=link.group(1)) == invitation
    page = Client().get(link.group(0).removeprefix(BASE))
    assert page.status_code == 200 and NAME in page.content.decode()


def test_it_sends_the_link_by_email_once():
    output = _create()
    task = OutboxMessage.objects.get(task=invitations.SEND_TASK)
    assert send_invitation(**task.kwargs) and not send_invitation(**task.kwargs)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["someone@example.gov.uk"]
    link = re.search(r"https://\S+/join/\S+/", output).group(0)
    assert link in mail.outbox[0].body


def test_running_it_twice_says_so_and_changes_nothing():
    _create()
    counts = (
        Organisation.objects.count(),
        Invitation.objects.count(),
        OutboxMessage.objects.count(),
    )
    with pytest.raises(CommandError, match="already exists: nothing was changed") as refused:
        _create()
    assert refused.value.returncode == 1  # a non-zero exit status from the shell
    with pytest.raises(CommandError, match="already exists"):
        _create(name="mid sussex district council", admin_email="other@example.gov.uk")
    with pytest.raises(CommandError, match="already exists"):
        _create(name="Mid-Sussex District Council!")  # the same slug
    assert (
        Organisation.objects.count(),
        Invitation.objects.count(),
        OutboxMessage.objects.count(),
    ) == counts


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"time_zone": "Europe/Londres"}, "Unknown time zone"),
        ({"admin_email": "not an address"}, "not an e-mail address"),
        ({"base_url": ""}, "--base-url"),
        ({"base_url": "backlog.example.gov.uk"}, "--base-url"),
        ({"name": "  "}, "Give the organisation a name"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message_and_creates_nothing(overrides, message):
    with pytest.raises(CommandError, match=message):
        _create(**overrides)
    assert not Organisation.objects.filter(name__icontains="Sussex").exists()
    assert not Invitation.objects.exists()


def test_the_site_url_setting_gives_the_links_address(settings):
    settings.SITE_URL = "https://from-settings.example/"
    output = _create(base_url="")
    assert "https://from-settings.example/organisation/join/" in output


def test_an_admin_address_already_a_member_creates_nothing(make_member):
    user = make_member()
    user.email = "someone@example.gov.uk"
    user.save()
    with pytest.raises(CommandError, match="another organisation"):
        _create()
    assert not Organisation.objects.filter(name=NAME).exists()
