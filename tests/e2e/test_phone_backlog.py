"""The backlog on a phone (375 × 812): a compact list whose first item is on the first
screen, with the filters and tools folded behind a disclosure; and the same page at 1280 px.
For the product owner (handles and Move menus) and a read-only viewer."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from backlog.models import ProductRoleKind
from tests.factories import BacklogItemFactory, give_score_ranks

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = Path("/tmp/shots/backlog")
PHONE = {"width": 375, "height": 812}
WIDE = {"width": 1280, "height": 900}
ROW_MAX = 120  # px: an item in one or two lines


@pytest.fixture
def backlog(transactional_db, make_member, product):
    product.description = (
        "Tenants report repairs online, book a slot and follow the job to the end, "
        "without phoning the contact centre."
    )
    product.save()
    items = [
        BacklogItemFactory(
            product=product,
            title=f"Item {n}: let tenants see the repair's progress online"
            if n % 3
            else f"Item {n}",
            effort=n % 8 + 1,
            status="done" if n % 9 == 0 else "idea",
        )
        for n in range(1, 41)
    ]
    give_score_ranks(items)
    owner = make_member(product=product, roles=[ProductRoleKind.PRODUCT_OWNER])
    viewer = make_member(product=product, roles=[ProductRoleKind.VIEWER])
    return {"owner": owner, "viewer": viewer, "product": product}


def open_backlog(browser, live_server, sign_in, user, product, viewport):
    context = browser.new_context(viewport=viewport, locale="en-GB")
    page = context.new_page()
    sign_in(page, user.username)
    page.goto(f"{live_server.url}/products/{product.pk}/")
    page.locator("#backlog-rows tr[data-item-id]").first.wait_for()
    return context, page


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)
    page.screenshot(path=str(SHOTS / f"{name}-full.png"), full_page=True)


@pytest.mark.parametrize("who", ["owner", "viewer"])
def test_on_a_phone_the_first_item_is_on_the_first_screen_and_rows_are_compact(
    backlog, browser, live_server, sign_in, check_a11y, who
):
    context, page = open_backlog(
        browser, live_server, sign_in, backlog[who], backlog["product"], PHONE
    )
    rows = page.locator("#backlog-rows tr[data-item-id]")
    boxes = [rows.nth(i).bounding_box() for i in range(12)]
    assert boxes[0]["y"] + boxes[0]["height"] <= PHONE["height"], (
        f"the first item ends {boxes[0]['y'] + boxes[0]['height']:.0f} px down"
    )
    tall = [round(box["height"]) for box in boxes if box["height"] > ROW_MAX]
    assert not tall, f"rows taller than {ROW_MAX} px: {tall}"
    in_two_screens = sum(box["y"] + box["height"] <= 2 * PHONE["height"] for box in boxes)
    assert in_two_screens >= 5, f"only {in_two_screens} items in the first two screens"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways ({width} px)"
    # Details are a tap away: the title links to the item.
    expect(rows.first.get_by_role("link")).to_have_attribute("href", f"/items/{_first_id(page)}/")
    # The filters and tools are folded away, and a tap opens them.
    search = page.get_by_label("Search")
    expect(search).to_be_hidden()
    check_a11y(page)
    shoot(page, f"backlog-375px-{who}")
    page.locator(".backlog-tools > summary").click()
    expect(search).to_be_visible()
    if who == "owner":
        expect(page.get_by_role("button", name="Apply score order")).to_be_visible()
        expect(page.get_by_label("New item title")).to_be_visible()
    else:
        expect(page.get_by_role("button", name="Apply score order")).to_have_count(0)
    check_a11y(page)
    shoot(page, f"backlog-375px-{who}-tools-open")
    context.close()


def _first_id(page) -> str:
    return page.locator("#backlog-rows tr[data-item-id]").first.get_attribute("data-item-id")


def test_on_a_phone_the_owner_drags_and_uses_the_move_menu_only_on_open_items(
    backlog, browser, live_server, sign_in, check_a11y
):
    context, page = open_backlog(
        browser, live_server, sign_in, backlog["owner"], backlog["product"], PHONE
    )
    done = page.locator("#backlog-rows tr[data-item-id]", has_text="Item 9")
    expect(done.locator(".drag-handle")).to_have_count(0)
    expect(done.locator("summary")).to_have_count(0)
    row = page.locator("#backlog-rows tr[data-item-id]", has_text="Item 7:")
    row.locator("summary").click()
    row.get_by_label("Position").fill("999")
    row.get_by_role("button", name="Move", exact=True).click()
    expect(page.locator("#order-status")).to_contain_text("to the bottom, position 36")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways ({width} px)"
    check_a11y(page)
    context.close()


@pytest.mark.parametrize("who", ["owner", "viewer"])
def test_at_1280_px_the_tools_are_open_and_the_table_has_every_column(
    backlog, browser, live_server, sign_in, check_a11y, who
):
    context, page = open_backlog(
        browser, live_server, sign_in, backlog[who], backlog["product"], WIDE
    )
    expect(page.get_by_label("Search")).to_be_visible()
    headers = page.locator(".backlog-table thead th").all_inner_texts()
    flat = [" ".join(h.split()) for h in headers]
    assert "Effort (points)" in flat
    assert "Score (benefit per point of effort)" in flat
    first = page.locator("#backlog-rows tr[data-item-id]").first
    assert first.bounding_box()["height"] <= 80
    check_a11y(page)
    shoot(page, f"backlog-1280px-{who}")
    context.close()
