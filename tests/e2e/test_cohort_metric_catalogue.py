"""In Chromium: an admin adds a cohort, archives it and restores it; a metric estimates
refer to cannot be deleted and is archived instead. axe clean, and no sideways scrolling, at
1280 and 375 px."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from prioritisation import services
from prioritisation.services import EstimateCell
from tests.factories import BacklogItemFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admin(transactional_db, make_member):
    return make_member(admin=True)


def _fits(page, width: int) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth") - width
    assert overflow <= 0, f"{page.url} is {overflow} px too wide at {width} px"


@pytest.mark.parametrize("width", [1280, 375])
def test_an_admin_adds_archives_and_restores_a_cohort(
    browser, live_server, admin, organisation, sign_in, check_a11y, screenshot, width
):
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-GB")
    page = context.new_page()
    sign_in(page, admin.username)
    page.goto(f"{live_server.url}/organisation/cohorts/")
    page.get_by_role("link", name="Add a cohort").click()
    check_a11y(page)
    _fits(page, width)
    page.get_by_label("Name").fill("Colleagues")
    page.get_by_label("Kind").select_option("receives")
    page.get_by_label("Size (number of people)").fill("800")
    page.get_by_label("Voice weight").fill("1.5")
    page.get_by_role("button", name="Add cohort").click()
    expect(page.get_by_text("Another cohort already has this name.").first).to_be_visible()
    check_a11y(page)
    page.get_by_label("Name").fill("Carers")
    page.get_by_role("button", name="Add cohort").click()
    expect(page.get_by_text("Added cohort “Carers”.")).to_be_visible()

    page.get_by_role("button", name="Archive Carers").click()
    expect(page.get_by_text("Archived cohort “Carers”.")).to_be_visible()
    archived = page.get_by_role("table", name="Archived cohorts")
    expect(archived.get_by_role("button", name="Restore Carers")).to_be_visible()
    check_a11y(page)
    _fits(page, width)
    screenshot(page, f"cohorts-{width}")
    page.get_by_role("button", name="Restore Carers").click()
    expect(page.get_by_text("Restored cohort “Carers”.")).to_be_visible()
    context.close()


@pytest.mark.parametrize("width", [1280, 375])
def test_a_metric_estimates_refer_to_is_archived_instead_of_deleted(
    browser,
    live_server,
    admin,
    organisation,
    product,
    cohorts,
    metrics,
    sign_in,
    check_a11y,
    screenshot,
    width,
):
    cash = metrics["Cash saved"]
    for _ in range(3):
        services.estimates_save(
            item=BacklogItemFactory(product=product, effort=1),
            actor=admin,
            cells=[EstimateCell(cohort=cohorts["Leaders"], metric=cash, value=Decimal(500))],
        )
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-GB")
    page = context.new_page()
    sign_in(page, admin.username)
    page.goto(f"{live_server.url}/organisation/metrics/")
    check_a11y(page)
    _fits(page, width)
    page.get_by_role("link", name="Delete Cash saved").click()
    expect(page.get_by_role("heading", name="This metric cannot be deleted")).to_be_visible()
    expect(page.get_by_text("3 benefit estimates refer to it")).to_be_visible()
    check_a11y(page)
    _fits(page, width)
    screenshot(page, f"metric-delete-refused-{width}")
    page.get_by_role("button", name="Archive “Cash saved”").click()
    expect(page.get_by_text("Archived metric “Cash saved”.")).to_be_visible()
    check_a11y(page)
    _fits(page, width)
    screenshot(page, f"metrics-{width}")
    context.close()
