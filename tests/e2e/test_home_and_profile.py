"""A voter sees "ballot waiting" on their home and votes from there; the home and the profile
read well and pass axe at 1280 and 375 px."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from backlog.models import ItemStatus, ProductRoleKind
from backlog.services import sessions
from customers.models import Membership
from prioritisation.models import Ballot
from tests.factories import BacklogItemFactory, give_score_ranks, open_round

pytestmark = pytest.mark.django_db(transaction=True)

TITLES = ["Book repairs online", "Text alerts before visits", "Photo upload for faults"]


@pytest.fixture
def voting_round(transactional_db, make_member, product):
    owner = make_member(product=product, roles=[ProductRoleKind.PRODUCT_OWNER])
    items = [BacklogItemFactory(product=product, title=title, effort=2) for title in TITLES]
    give_score_ranks(items)
    return open_round(product, owner, title="Spring priorities", shortlist_size=3)


def test_a_voter_sees_the_ballot_waiting_on_their_home_and_votes_from_there(
    voting_round, make_member, product, page, live_server, sign_in, check_a11y, screenshot
):
    voter = make_member(product=product, roles=[ProductRoleKind.BUSINESS_VOTER])
    sign_in(page, voter.username)
    waiting = page.locator("section", has=page.get_by_role("heading", name="Waiting for you"))
    expect(waiting.locator("li")).to_have_count(1)
    expect(waiting).to_contain_text("Closes")
    check_a11y(page)
    screenshot(page, "home-ballot-waiting")

    waiting.get_by_role("link", name="Vote in “Spring priorities”").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your ballot: Spring priorities")
    page.get_by_label("Position of Photo upload for faults", exact=True).fill("1")
    page.get_by_role("button", name="Cast my ballot").click()
    expect(page.locator(".messages")).to_contain_text("Your ballot is saved.")
    assert Ballot.objects.filter(round=voting_round, voter=voter).exists()

    page.get_by_role("link", name="Benefit Backlog").first.click()
    expect(waiting).to_contain_text("Nothing is waiting for you.")
    expect(page.get_by_role("heading", name="Your products")).to_be_visible()
    expect(page.get_by_role("link", name=product.name)).to_be_visible()


def test_the_home_of_someone_with_much_to_do_at_1280_and_375_px(
    voting_round, make_member, product, cohorts, page, live_server, sign_in, check_a11y, screenshot
):
    """A leader who is also an admin, sponsor, delivery lead, owner and voter: every kind of
    waiting thing, their products, and the organisation's."""
    person = make_member(
        product=product,
        admin=True,
        cohort=cohorts["Leaders"],
        roles=[
            ProductRoleKind.PRODUCT_OWNER,
            ProductRoleKind.SPONSOR,
            ProductRoleKind.DELIVERY_LEAD,
            ProductRoleKind.BUSINESS_VOTER,
        ],
    )
    BacklogItemFactory(product=product, title="Online rent statements", status=ItemStatus.DONE)
    BacklogItemFactory(product=product, title="Estimate me", effort=None)
    sessions.session_for_week(product=product, day=sessions.local_today(product))
    sign_in(page, person.username)
    waiting = page.locator("section", has=page.get_by_role("heading", name="Waiting for you"))
    expect(waiting.locator("li")).to_have_count(5)  # ballot, two signatures, estimates, session
    expect(
        page.get_by_role("heading", name="The organisation: Riverside Test Council")
    ).to_be_visible()
    check_a11y(page)
    screenshot(page, "home-1280")
    page.set_viewport_size({"width": 375, "height": 812})
    page.reload()
    check_a11y(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "home-375")


def test_the_profile_saves_notification_choices_and_reads_well_at_375_px(
    make_member, product, page, live_server, sign_in, check_a11y, screenshot
):
    person = make_member(product=product, roles=[ProductRoleKind.SPONSOR])
    sign_in(page, person.username)
    page.goto(f"{live_server.url}/accounts/profile/")
    check_a11y(page)
    page.get_by_label("The show-and-tell digest of my products").uncheck()
    page.get_by_role("button", name="Save notification choices").click()
    expect(page.locator(".messages")).to_contain_text("you get 3 of the 4 kinds of e-mail")
    assert Membership.objects.get(user=person).notify_digest is False
    page.get_by_role("textbox", name="E-mail address").fill("not an address")
    page.get_by_role("button", name="Save name and e-mail").click()
    expect(page.locator(".error-summary")).to_contain_text("Enter an e-mail address like")
    check_a11y(page)
    screenshot(page, "profile-1280")
    page.set_viewport_size({"width": 375, "height": 812})
    page.reload()
    check_a11y(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "profile-375")
