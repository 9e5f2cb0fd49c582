"""A fresh organisation, from `create_organisation` to a colleague's first item, with no
Django admin: its first admin accepts the printed link, invites a colleague from People, the
colleague accepts the e-mailed link, is made product owner of a new product, adds an item
and sees it on their home. axe at 1280 and 375 px on every page of People."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from playwright.sync_api import expect

from customers import invitations
from customers.models import Invitation, Membership
from customers.tasks import send_invitation
from outbox.models import OutboxMessage

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-Unusual-passphrase-42"
COUNCIL = "Mid Sussex District Council"


def _link_in(text: str) -> str:
    return re.search(r"https?://\S+/organisation/join/[0-9a-f]+/", text).group(0)


def _accept(page, link: str, first: str, last: str) -> None:
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Join {COUNCIL}")
    page.get_by_label("First name").fill(first)
    page.get_by_label("Last name").fill(last)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name=f"Join {COUNCIL}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your work")


def _send_invitation_email(email: str) -> str:
    """Run the outbox's e-mail task as a worker would; the link in the e-mail it sent."""
    invitation = Invitation.objects.get(email=email)
    for message in OutboxMessage.objects.filter(task=invitations.SEND_TASK):
        if message.kwargs["invitation_id"] == invitation.pk:
            send_invitation(**message.kwargs)
    sent = [m for m in mail.outbox if m.to == [email]]
    assert len(sent) == 1
    return _link_in(sent[0].body)


def test_a_fresh_organisation_invites_a_colleague_who_adds_their_first_item(
    browser, page, live_server, check_a11y, screenshot
):
    out = StringIO()
    call_command(
        "create_organisation",
        COUNCIL,
        time_zone="Europe/London",
        admin_email="sam.admin@midsussex.example",
        base_url=live_server.url,
        stdout=out,
    )

    # The first admin opens the printed link and sets a password.
    page.goto(_link_in(out.getvalue()))
    check_a11y(page)
    screenshot(page, "invitation-accept-1280")
    _accept(page, _link_in(out.getvalue()), "Sam", "Admin")

    # People: invite a colleague, who speaks for citizens.
    page.get_by_role("link", name="People").click()
    page.get_by_label("E-mail address").fill("nia.okafor@midsussex.example")
    page.get_by_label("Speaks for (cohort)").select_option(label="Citizens")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator("#invitations")).to_contain_text("Invited nia.okafor@midsussex.example")
    expect(page.locator("#invitations tbody tr")).to_have_count(1)
    check_a11y(page)

    # The colleague accepts the e-mailed link in a browser of their own.
    colleague = browser.new_context(viewport={"width": 375, "height": 812}, locale="en-GB")
    their_page = colleague.new_page()
    their_link = _send_invitation_email("nia.okafor@midsussex.example")
    their_page.goto(their_link)
    check_a11y(their_page)
    screenshot(their_page, "invitation-accept-375")
    _accept(their_page, their_link, "Nia", "Okafor")
    their_page.set_viewport_size({"width": 1280, "height": 900})
    nia = Membership.objects.select_related("cohort").get(user__first_name="Nia")
    assert nia.cohort.name == "Citizens"

    # The admin sees them, gives them a job title in place, and makes them a product owner.
    page.reload()
    row = page.locator(f"#member-{nia.pk}")
    expect(row).to_contain_text("Active")
    row.get_by_role("link", name="Change Nia Okafor").click()
    page.get_by_label("Job title of Nia Okafor").fill("Repairs lead")
    page.get_by_role("button", name="Save Nia Okafor").click()
    expect(page.locator(f"#member-{nia.pk}")).to_contain_text("Repairs lead")
    check_a11y(page)
    screenshot(page, "members-1280")
    page.set_viewport_size({"width": 375, "height": 812})
    page.reload()
    check_a11y(page)
    screenshot(page, "members-375")

    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("link", name="New product").click()
    page.get_by_label("Name").fill("Housing repairs")
    page.get_by_label("Product owner").select_option(label="Nia Okafor")
    page.get_by_role("button", name=re.compile("Create")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Housing repairs")

    # The colleague's home lists the product; they add an item and see it waiting there.
    their_page.reload()
    expect(their_page.get_by_role("link", name="Housing repairs")).to_be_visible()
    their_page.get_by_role("link", name="Housing repairs").click()
    their_page.get_by_label("New item title").fill("Book a repair online")
    their_page.get_by_role("button", name="Add to backlog").click()
    expect(their_page.get_by_text("Book a repair online")).to_be_visible()
    their_page.get_by_role("link", name="Benefit Backlog").first.click()
    waiting = their_page.locator(
        "section", has=their_page.get_by_role("heading", name="Waiting for you")
    )
    expect(waiting).to_contain_text("1 open item needs estimates on Housing repairs")
    check_a11y(their_page)

    # The spent link: one neutral page, for anyone.
    their_page.goto(_link_in(out.getvalue()))
    expect(their_page.get_by_role("heading", level=1)).to_have_text("You are already signed in")
    check_a11y(their_page)
    colleague.close()
    stranger = browser.new_context(viewport={"width": 375, "height": 812}, locale="en-GB")
    stranger_page = stranger.new_page()
    stranger_page.goto(_link_in(out.getvalue()))
    expect(stranger_page.get_by_role("heading", level=1)).to_have_text(
        "This invitation link does not work"
    )
    check_a11y(stranger_page)
    stranger.close()
