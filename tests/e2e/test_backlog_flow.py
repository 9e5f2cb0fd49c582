"""A product owner signs in, adds an item in place with htmx, and finds it in the backlog."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo(transactional_db):
    call_command("seed_demo", stdout=io.StringIO())


def test_demo_product_owner_creates_an_item_and_sees_it_in_the_backlog(
    demo, page, live_server, sign_in, check_a11y, screenshot
):
    page.goto(f"{live_server.url}/accounts/login/")
    check_a11y(page)
    sign_in(page, "owner", "benefit-demo")
    page.get_by_role("heading", name="Your work").wait_for()
    check_a11y(page)
    screenshot(page, "home")

    page.get_by_role("link", name="Repairs reporting").click()
    page.get_by_role("heading", name="Repairs reporting").wait_for()
    check_a11y(page)

    page.get_by_label("New item title").fill("Let tenants upload a video of the fault")
    page.get_by_label("Effort (points)").fill("5")
    page.get_by_role("button", name="Add to backlog").click()
    status = page.locator(".quick-add__status")
    status.get_by_role("link", name="Let tenants upload a video of the fault").wait_for()
    # htmx refreshed the list in place; the search then finds the new item.
    page.get_by_label("Search").fill("video of the fault")
    row = page.locator("#backlog-rows tr", has_text="Let tenants upload a video of the fault")
    expect(page.locator("#backlog-rows tr")).to_have_count(1)
    expect(row).to_be_visible()
    assert "q=video" in page.url  # the filtered view is linkable
    check_a11y(page)
    screenshot(page, "backlog")

    row.get_by_role("link").click()
    page.get_by_role("heading", name="Let tenants upload a video of the fault").wait_for()
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Title").fill("Let tenants upload a video or photo of the fault")
    page.get_by_label("Status").select_option("ready")
    page.get_by_role("button", name="Save changes").click()
    page.get_by_role("heading", name="Let tenants upload a video or photo of the fault").wait_for()
    expect(page.get_by_text("Saved.", exact=True)).to_be_visible()
    expect(page.locator(".tag--ready").first).to_have_text("Ready")
    check_a11y(page)
    screenshot(page, "item")


def test_backlog_reads_well_at_phone_width(
    demo, browser, live_server, sign_in, check_a11y, screenshot
):
    context = browser.new_context(viewport={"width": 320, "height": 800}, locale="en-GB")
    page = context.new_page()
    sign_in(page, "owner", "benefit-demo")
    page.get_by_role("link", name="Waste and recycling").click()
    page.get_by_role("heading", name="Waste and recycling").wait_for()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 320, f"the page scrolls sideways at 320 px ({width} px wide)"
    check_a11y(page)
    screenshot(page, "backlog-320px")
    context.close()
