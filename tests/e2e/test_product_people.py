"""In Chromium: an admin creates a product, changes its people a box at a time (htmx, the
refusal of the last product owner beside its box), archives and restores it; axe-checked at
1280 and 375 px."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from backlog.models import Product, ProductRole, ProductRoleKind

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_admin_sets_up_a_product_and_its_people(
    page, live_server, make_member, sign_in, check_a11y, screenshot
):
    admin = make_member(admin=True)
    admin.first_name, admin.last_name = "Ada", "Admin"
    admin.save()
    colleague = make_member()
    colleague.first_name, colleague.last_name = "Priya", "Shah"
    colleague.save()
    sign_in(page, admin.username)

    page.get_by_role("link", name="New product").click()
    page.get_by_role("button", name="Create product").click()
    expect(page.get_by_text("Give the product a name.").first).to_be_visible()
    check_a11y(page)
    page.get_by_label("Name").fill("Council tax")
    page.get_by_label("Weekly capacity (points)").fill("30")
    page.get_by_role("button", name="Create product").click()
    expect(page.get_by_role("heading", name="Council tax")).to_be_visible()
    product = Product.objects.get(name="Council tax")

    page.get_by_role("link", name="People").last.click()
    expect(page.get_by_role("heading", name="People of Council tax")).to_be_visible()
    # Untick the only product owner: refused, beside the box, and the box stays ticked.
    own = page.get_by_label("Ada Admin: Product owner")
    own.uncheck()
    expect(page.get_by_text("A product always keeps at least one product owner")).to_be_visible()
    expect(page.get_by_label("Ada Admin: Product owner")).to_be_checked()
    check_a11y(page)
    screenshot(page, "product-people-refused")
    # Hand the product over: tick Priya, then untick Ada; each box saved in place.
    page.get_by_label("Priya Shah: Product owner").check()
    expect(page.locator(f"#person-{colleague.pk}").get_by_text("Saved")).to_be_visible()
    page.get_by_label("Priya Shah: Sponsor").check()
    expect(page.get_by_label("Priya Shah: Sponsor")).to_be_checked()
    page.get_by_label("Ada Admin: Product owner").uncheck()
    expect(page.locator(f"#person-{admin.pk}").get_by_text("Saved")).to_be_visible()
    assert set(ProductRole.objects.filter(product=product).values_list("user_id", "role")) == {
        (colleague.pk, ProductRoleKind.PRODUCT_OWNER),
        (colleague.pk, ProductRoleKind.SPONSOR),
    }
    page.set_viewport_size({"width": 375, "height": 800})
    page.reload()
    check_a11y(page)
    screenshot(page, "product-people-phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("link", name="Products", exact=True).first.click()
    expect(page.get_by_role("link", name="Council tax").first).to_be_visible()
    page.goto(f"{live_server.url}/products/{product.pk}/settings/")
    page.get_by_role("link", name="Archive this product").click()
    check_a11y(page)
    page.get_by_role("button", name="Archive Council tax").click()
    expect(page.get_by_text("This product is archived")).to_be_visible()
    check_a11y(page)
    page.get_by_role("link", name="Products", exact=True).first.click()
    expect(page.get_by_role("link", name="Council tax")).to_have_count(0)
    page.goto(f"{live_server.url}/products/{product.pk}/")
    page.get_by_role("button", name="Restore this product").click()
    expect(page.get_by_text("Restored “Council tax”")).to_be_visible()
    product.refresh_from_db()
    assert product.archived_at is None
