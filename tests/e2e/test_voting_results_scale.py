"""A long shortlist's results in Chromium: the first places and a window of the head-to-head
table, more on request (by htmx, the address kept for a reload), and the whole table as a
CSV download; at 1280 px and 375 px, checked with axe."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from backlog.models import BacklogItem, ProductRoleKind
from prioritisation import services
from tests.factories import give_score_ranks, open_round

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = Path("/tmp/shots/voting-results")


@pytest.fixture
def long_round(product, owner, make_member, cohorts):
    made = BacklogItem.objects.bulk_create(
        BacklogItem(product=product, title=f"Shortlisted change {n:03d}", rank_key=f"k{n:04d}")
        for n in range(200)
    )
    give_score_ranks(made)
    round = open_round(product, owner, shortlist_size=200, ballots_visible=True)
    rng = random.Random(5)
    for n in range(12):
        voter = make_member(
            product=product,
            roles=[ProductRoleKind.BUSINESS_VOTER],
            cohort=list(cohorts.values())[n % 3],
        )
        chosen = made[:10] + rng.sample(made[10:], 10)
        rng.shuffle(chosen)
        services.ballot_submit(round=round, voter=voter, ranking=[[i.pk] for i in chosen])
    return round


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} is {overflow} px too wide at {width} px"
    page.set_viewport_size({"width": 1280, "height": 900})


def test_the_owner_reads_a_long_shortlists_results_a_part_at_a_time(
    long_round, owner, page, live_server, sign_in, check_a11y
):
    sign_in(page, owner.username)
    page.goto(f"{live_server.url}/rounds/{long_round.pk}/")
    expect(page.locator(".heatmap tbody tr")).to_have_count(20)
    expect(page.get_by_text("The first 20 of 200 items.")).to_be_visible()
    check_a11y(page)
    shoot(page, "results-long-shortlist")

    page.get_by_role("link", name="Places after these").click()
    expect(page.locator(".heatmap tbody tr").first).to_contain_text("21.")
    expect(page).to_have_url(re.compile(r"from=21"))  # a reload shows the same part
    page.get_by_role("link", name="Show the next 100").first.click()
    expect(page.locator("ol.consensus a")).to_have_count(120)
    expect(page.locator(".heatmap tbody tr").first).to_contain_text("21.")
    check_a11y(page)

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the whole table").click()
    lines = Path(download.value.path()).read_text().splitlines()
    assert len(lines) == 201
