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
