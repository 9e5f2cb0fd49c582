"""The first hour with a voting round, in Chromium on the demo data: a voter reads what they
vote on and fixes a bad ballot at the item; the product owner closes the voting early (after
a confirmation), reads ballots and results in plain words, and re-opens it; the voter's
closed ballot is a read-only record. Each page at 1280 px and 375 px, checked with axe."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from backlog.models import Product
from prioritisation.models import Ballot, VotingRound

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = Path(
    os.environ.get(
        "VOTING_SHOTS", Path(__file__).resolve().parents[2] / "test-results" / "screenshots"
    )
)
PASSWORD = "benefit-demo"


@pytest.fixture
def demo_round(transactional_db):
    call_command("seed_demo", stdout=io.StringIO())
    product = Product.objects.order_by("pk").first()
    round = VotingRound.objects.filter(product=product).first()
    VotingRound.objects.filter(pk=round.pk).update(ballots_visible=True)
    return round


def shoot(page, name: str) -> None:
    """Full-page screenshots at 1280 px and 375 px; at 375 px nothing may scroll sideways."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} is {overflow} px too wide at {width} px"
    page.set_viewport_size({"width": 1280, "height": 900})


def test_a_voter_reads_what_they_vote_on_and_fixes_a_bad_ballot_at_the_item(
    demo_round, page, live_server, sign_in, check_a11y
):
    shortlist = [c.item for c in demo_round.candidates.select_related("item").order_by("position")]
    first, second = shortlist[0], shortlist[1]
    sign_in(page, "voter", PASSWORD)
    page.goto(f"{live_server.url}/rounds/{demo_round.pk}/ballot/")
    row = page.locator(f'.ballot-item[data-item-id="{first.pk}"]')
    expect(row.locator(".ballot-summary")).to_contain_text("open items by score")
    row.get_by_text("More about this item").click()
    expect(row.get_by_role("link", name=f"Open the item page of {first.title}")).to_be_visible()
    check_a11y(page)
    shoot(page, "ballot-open")

    page.get_by_label(f"Position of {first.title}", exact=True).fill("0")
    page.get_by_label(f"Position of {second.title}", exact=True).fill("first")
    page.get_by_role("button", name="Change my ballot").click()
    summary = page.locator("#error-summary")
    expect(summary).to_contain_text("2 items need correcting")
    message = page.locator(f"#rank-{first.pk}-error")
    expect(message).to_have_text(f"Error: Position for “{first.title}”: positions start at 1.")
    field = page.locator(f"#rank-{first.pk}")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(
        f"Error: Position for “{first.title}”: positions start at 1."
    )
    expect(page.locator(f"#rank-{second.pk}")).to_have_value("first")  # what they typed
    check_a11y(page)
    shoot(page, "ballot-errors")
    # The summary's link takes the voter to the input.
    summary.get_by_role("link", name=first.title).click()
    expect(field).to_be_focused()

    field.fill("1")
    page.locator(f"#rank-{second.pk}").fill("1")
    page.get_by_role("button", name="Change my ballot").click()
    expect(page.locator(".messages")).to_contain_text("Your ballot is saved.")
    ranking = Ballot.objects.get(round=demo_round, voter__username="voter").ranking
    assert {first.pk, second.pk} <= set(ranking[0])  # tied first, as typed


def test_the_owner_closes_early_reads_the_result_and_reopens(
    demo_round, page, live_server, sign_in, check_a11y
):
    sign_in(page, "owner", PASSWORD)
    page.goto(f"{live_server.url}/rounds/{demo_round.pk}/")
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Close the voting now").click()
    expect(page.locator(".messages")).to_contain_text("Closed the voting")
    assert asked and "Voters will no longer be able to change their ballots" in asked[0]
    assert VotingRound.objects.get(pk=demo_round.pk).closed_at is not None

    expect(page.locator("#round-live")).to_contain_text("agree with each other on")
    expect(page.locator("#round-live")).to_contain_text("head to head comes first")
    ballots = page.locator("#ballots")
    expect(ballots).not_to_contain_text("[[")
    expect(ballots.locator(".ballot-record").first).to_contain_text("1.")
    for summary in page.locator("details.precise summary").all():
        summary.click()
    expect(page.get_by_text("Schulze method", exact=False)).to_be_visible()
    check_a11y(page)
    shoot(page, "results-closed")

    page.get_by_role("button", name="Re-open the voting").click()
    expect(page.locator(".messages")).to_contain_text("Re-opened the voting")
    assert VotingRound.objects.get(pk=demo_round.pk).closed_at is None


def test_a_closed_ballot_is_a_read_only_record(demo_round, page, live_server, sign_in, check_a11y):
    from prioritisation import services

    services.round_close(round_id=demo_round.pk)
    sign_in(page, "voter", PASSWORD)
    page.goto(f"{live_server.url}/rounds/{demo_round.pk}/ballot/")
    expect(page.locator(".lead")).to_contain_text("This round closed at")
    expect(page.locator(".lead")).not_to_contain_text("until then")
    expect(page.locator(".drag-handle")).to_have_count(0)
    expect(page.locator("input[name^=rank-]")).to_have_count(0)
    expect(page.get_by_role("heading", name="Your ballot as submitted")).to_be_visible()
    expect(page.locator("#your-ballot .ballot-record li")).to_have_count(5)
    expect(page.get_by_role("link", name="See the result")).to_be_visible()
    check_a11y(page)
    shoot(page, "ballot-closed")
