"""The item page in a browser: an edit in place refreshes every part it touches, and the
estimates grid fits a phone."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from backlog.models import ProductRoleKind
from prioritisation import services
from prioritisation.services import EstimateCell
from tests.factories import BacklogItemFactory

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = Path("/tmp/shots/item")


@pytest.fixture
def scored(transactional_db, make_member, product, organisation):
    """Three open items ranked by their estimates; returns the owner and the #2 item."""
    owner = make_member(product=product, roles=[ProductRoleKind.PRODUCT_OWNER])
    cohorts = {c.name: c for c in organisation.cohorts.all()}
    metrics = {m.name: m for m in organisation.metrics.all()}
    items = []
    for title, hours in [("Text tenants", 300), ("Book a repair slot", 200), ("Old form", 100)]:
        item = BacklogItemFactory(product=product, title=title, effort=3)
        item.cohorts.add(cohorts["Citizens"])
        services.estimates_save(
            item=item,
            actor=owner,
            cells=[
                EstimateCell(
                    cohort=cohorts["Citizens"],
                    metric=metrics["Staff hours saved"],
                    value=Decimal(hours),
                    confidence="high",
                ),
                EstimateCell(
                    cohort=cohorts["Colleagues"],
                    metric=metrics["Cash saved"],
                    value=Decimal(hours * 50),
                    confidence="medium",
                    evidence="Postage and printing, last year's invoices.",
                ),
            ],
        )
        items.append(item)
    return owner, items[1]


def test_an_edit_in_place_refreshes_the_breadcrumb_the_tab_title_and_the_score(
    scored, page, live_server, sign_in, check_a11y
):
    owner, item = scored
    sign_in(page, owner.username)
    page.goto(f"{live_server.url}/items/{item.pk}/")
    panel = page.locator("#score-panel")
    expect(panel).to_contain_text("#2 of 3 open items")

    page.locator("#item-summary").get_by_role("link", name="Edit").click()
    page.get_by_label("Title").fill("Book a repair slot by text")
    page.get_by_label("Status").select_option("done")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Saved.")).to_be_visible()

    expect(page.locator("#item-breadcrumb")).to_contain_text("Book a repair slot by text")
    expect(page).to_have_title("Book a repair slot by text · Benefit Backlog")
    expect(panel).to_contain_text("Not ranked")
    expect(panel).not_to_contain_text("open items by")
    expect(page.locator("#item-changes")).to_contain_text("Book a repair slot by text")
    # Still one of each: the out-of-band parts replaced the old ones, not added to them.
    for part in ("#score-panel", "#item-breadcrumb", "#item-changes"):
        expect(page.locator(part)).to_have_count(1)
    check_a11y(page)


def test_the_estimates_grid_fits_a_phone_one_cohort_at_a_time(
    scored, browser, live_server, sign_in, check_a11y
):
    owner, item = scored
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 375, "height": 812}, locale="en-GB")
    page = context.new_page()
    sign_in(page, owner.username)
    page.goto(f"{live_server.url}/items/{item.pk}/")
    grid = page.locator("#estimates")
    expect(grid.get_by_label("Cash saved for Colleagues (£ a year)")).to_have_value("10000")

    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= 375, f"the item page scrolls sideways at 375 px ({width} px wide)"
    controls = grid.locator("input:not([type=hidden]), select, button")
    assert controls.count() > 10
    for i in range(controls.count()):
        box = controls.nth(i).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375, (
            controls.nth(i).get_attribute("name"),
            box,
        )
    # One cohort at a time: Citizens' metrics all come before Colleagues' block.
    citizens = grid.get_by_role("rowheader", name="Citizens").bounding_box()
    colleagues = grid.get_by_role("rowheader", name="Colleagues").bounding_box()
    last_of_citizens = grid.get_by_label("Staff hours saved for Citizens (hours a month)")
    assert citizens["y"] < last_of_citizens.bounding_box()["y"] < colleagues["y"]
    # Evidence opens whole on screen too.
    grid.locator("details").first.locator("summary").click()
    box = grid.locator("textarea").first.bounding_box()
    assert box["x"] + box["width"] <= 375
    check_a11y(page)
    page.screenshot(path=str(SHOTS / "item-375.png"), full_page=True)
    grid.screenshot(path=str(SHOTS / "estimates-375.png"))
    context.close()


def test_the_item_page_at_desktop_width_keeps_the_grid(
    scored, page, live_server, sign_in, check_a11y
):
    owner, item = scored
    SHOTS.mkdir(parents=True, exist_ok=True)
    sign_in(page, owner.username)
    page.goto(f"{live_server.url}/items/{item.pk}/")
    expect(page.locator(".estimate-grid thead")).to_be_visible()
    check_a11y(page)
    page.screenshot(path=str(SHOTS / "item-1280.png"), full_page=True)


@pytest.mark.parametrize("width", [375, 1280])
def test_a_viewer_reads_the_estimates_as_a_table(
    scored, browser, live_server, sign_in, check_a11y, make_member, product, width
):
    _owner, item = scored
    viewer = make_member(product=product, roles=[ProductRoleKind.VIEWER])
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": 812}, locale="en-GB")
    page = context.new_page()
    sign_in(page, viewer.username)
    page.goto(f"{live_server.url}/items/{item.pk}/")
    estimates = page.locator("#estimates")
    expect(estimates).to_contain_text("£10,000 a year")
    expect(estimates.locator("input, select, textarea")).to_have_count(0)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width
    check_a11y(page)
    page.screenshot(path=str(SHOTS / f"item-viewer-{width}.png"), full_page=True)
    context.close()
