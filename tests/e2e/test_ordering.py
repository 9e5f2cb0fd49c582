"""The product owner reorders the backlog by drag-and-drop and by keyboard; it persists."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from backlog.models import ProductRoleKind
from tests.factories import BacklogItemFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def backlog(transactional_db, make_member, product):
    owner = make_member(product=product, roles=[ProductRoleKind.PRODUCT_OWNER])
    items = [BacklogItemFactory(product=product, title=f"Item {n}", effort=2) for n in range(1, 9)]
    return owner, product, items


def titles(page) -> list[str]:
    return page.locator("#backlog-rows tr[data-item-id] td[data-label='Title'] a").all_inner_texts()


def drag(page, source, target) -> None:
    """Drag with real mouse moves (SortableJS's fallback mode follows the pointer), with the
    target scrolled to the top of the window so that both rows are on the screen."""
    target.evaluate("row => row.scrollIntoView({block: 'start'})")
    box_from, box_to = source.bounding_box(), target.bounding_box()
    page.mouse.move(box_from["x"] + box_from["width"] / 2, box_from["y"] + box_from["height"] / 2)
    page.mouse.down()
    steps = 12
    for i in range(1, steps + 1):
        page.mouse.move(
            box_from["x"] + box_from["width"] / 2,
            box_from["y"] + (box_to["y"] + 4 - box_from["y"]) * i / steps,
        )
        page.wait_for_timeout(20)
    page.mouse.up()


def test_drag_item_5_to_position_1_persists_after_reload(
    backlog, page, live_server, sign_in, check_a11y, screenshot
):
    owner, product, _items = backlog
    sign_in(page, owner.username)
    page.goto(f"{live_server.url}/products/{product.pk}/")
    assert titles(page)[:5] == ["Item 1", "Item 2", "Item 3", "Item 4", "Item 5"]
    check_a11y(page)
    rows = page.locator("#backlog-rows tr[data-item-id]")
    drag(page, rows.nth(4).locator(".drag-handle"), rows.nth(0))
    expect(page.locator("#order-status")).to_contain_text("Moved “Item 5”")
    page.reload()
    assert titles(page)[:3] == ["Item 5", "Item 1", "Item 2"]
    screenshot(page, "backlog-ordering-1280px")


def test_keyboard_only_reordering_persists_and_is_announced(
    backlog, page, live_server, sign_in, check_a11y
):
    owner, product, _items = backlog
    sign_in(page, owner.username)
    page.goto(f"{live_server.url}/products/{product.pk}/")
    handle = page.get_by_role("button", name="Reorder Item 5")
    handle.focus()
    rows = page.locator("#backlog-rows tr[data-item-id]")
    for place in (3, 2):  # 0-based: from 5th to 4th to 3rd
        page.keyboard.press("ArrowUp")
        expect(rows.nth(place)).to_contain_text("Item 5")
        expect(page.locator("#order-status")).to_contain_text("Moved “Item 5” up one place")
    # Focus stays on the moved item's handle, so the next key press moves it again.
    page.keyboard.press("Home")
    expect(page.locator("#order-status")).to_contain_text("Moved “Item 5” to position 1")
    expect(page.get_by_role("button", name="Reorder Item 5")).to_be_focused()
    page.reload()
    assert titles(page)[:3] == ["Item 5", "Item 1", "Item 2"]
    check_a11y(page)


def test_move_menu_works_and_the_page_fits_a_phone(
    backlog, browser, live_server, sign_in, check_a11y, screenshot
):
    owner, product, _items = backlog
    context = browser.new_context(viewport={"width": 375, "height": 800}, locale="en-GB")
    page = context.new_page()
    sign_in(page, owner.username)
    page.goto(f"{live_server.url}/products/{product.pk}/")
    row = page.locator("#backlog-rows tr[data-item-id]", has_text="Item 7")
    row.locator("summary").click()
    row.get_by_label("Position").fill("2")
    row.get_by_role("button", name="Move", exact=True).click()
    expect(page.locator("#order-status")).to_contain_text("Moved “Item 7” to position 2")
    assert titles(page)[:3] == ["Item 1", "Item 7", "Item 2"]
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the backlog scrolls sideways on a phone ({width} px)"
    check_a11y(page)
    screenshot(page, "backlog-ordering-375px")
    context.close()
