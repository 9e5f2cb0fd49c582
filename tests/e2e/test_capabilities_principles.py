"""In Chromium: an admin adds a capability and moves a technology principle (htmx); a
product owner answers the principles on an item page (htmx, errors and then a save), sees
what the item waits for, and filters the backlog to open items with unanswered principles.
axe clean, and no sideways scrolling, at 1280 and 375 px."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from backlog.models import CapabilityUse, ItemCapability, ItemStatus, ProductRoleKind
from tests.factories import BacklogItemFactory, CapabilityFactory, ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _fits(page, width: int) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth") - width
    assert overflow <= 0, f"{page.url} is {overflow} px too wide at {width} px"


@pytest.mark.parametrize("width", [1280, 375])
def test_an_admin_adds_a_capability_and_moves_a_principle(
    browser, live_server, make_member, organisation, product, sign_in, check_a11y, width
):
    admin = make_member(admin=True)
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-GB")
    page = context.new_page()
    sign_in(page, admin.username)
    page.goto(f"{live_server.url}/organisation/capabilities/")
    page.get_by_role("link", name="Add a capability").click()
    page.get_by_label("Name").fill("Payments")
    page.get_by_label("Owner product").select_option(label=product.name)
    page.get_by_role("button", name="Save capability").click()
    expect(page.get_by_text("Added capability “Payments”.")).to_be_visible()
    check_a11y(page)
    _fits(page, width)
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link").click()
    page.get_by_role("link", name="Add a capability").click()
    page.get_by_label("Name").fill("payments")
    page.get_by_role("button", name="Save capability").click()
    expect(page.get_by_text("already has a capability called “payments”").first).to_be_visible()
    check_a11y(page)

    page.goto(f"{live_server.url}/organisation/principles/")
    page.get_by_role("button", name="Move down Cloud native").click()
    expect(page.get_by_role("status")).to_contain_text("Moved “Cloud native” down.")
    first = page.locator("#principle-list tbody tr").first
    expect(first).to_contain_text("Mobile ready")
    check_a11y(page)
    _fits(page, width)
    context.close()


@pytest.mark.parametrize("width", [1280, 375])
def test_an_owner_answers_the_principles_and_sees_what_the_item_waits_for(
    browser,
    live_server,
    make_member,
    organisation,
    product,
    sign_in,
    check_a11y,
    screenshot,
    width,
):
    owner = make_member(product=product, roles=[ProductRoleKind.PRODUCT_OWNER])
    platform = ProductFactory(organisation=organisation, name="Payments platform")
    payments = CapabilityFactory(organisation=organisation, name="Payments")
    building = BacklogItemFactory(
        product=platform, title="Card payments API", status=ItemStatus.IN_PROGRESS
    )
    ItemCapability.objects.create(item=building, capability=payments, use=CapabilityUse.BUILDS)
    item = BacklogItemFactory(product=product, title="Pay for a repair", status=ItemStatus.READY)
    ItemCapability.objects.create(item=item, capability=payments, use=CapabilityUse.REUSES)

    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-GB")
    page = context.new_page()
    sign_in(page, owner.username)
    page.goto(f"{live_server.url}/items/{item.pk}/")
    expect(page.locator("#item-waits")).to_contain_text(
        "Waits for Payments platform: Card payments API, in progress"
    )
    section = page.locator("#item-principles")
    cloud = section.get_by_role("group", name="Cloud native")
    cloud.get_by_label("Note on Cloud native (optional)").fill("Hosted by a supplier")
    section.get_by_role("button", name="Save principles").click()
    expect(section.get_by_role("alert")).to_contain_text("There is a problem")
    check_a11y(page)
    section.get_by_role("group", name="Cloud native").get_by_label("Meets").check()
    section.get_by_role("group", name="Mobile ready").get_by_label("Does not meet").check()
    section.get_by_role("button", name="Save principles").click()
    expect(section.get_by_role("status")).to_contain_text("(2 changed)")
    check_a11y(page)
    _fits(page, width)
    screenshot(page, f"item-principles-{width}")

    page.goto(f"{live_server.url}/products/{product.pk}/")
    summary = page.locator("#principles-summary")
    expect(summary).to_contain_text("1 open item has unanswered principles")
    summary.get_by_role("link", name="1 open item").nth(1).click()
    expect(page.get_by_role("link", name="Pay for a repair")).to_be_visible()
    check_a11y(page)
    context.close()
