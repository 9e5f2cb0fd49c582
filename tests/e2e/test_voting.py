"""A business voter ranks a shortlist by drag and by keyboard; the results page updates live."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from backlog.models import ProductRoleKind
from customers.models import Cohort
from prioritisation import services
from prioritisation.models import Ballot
from tests.factories import BacklogItemFactory, give_score_ranks, open_round

pytestmark = pytest.mark.django_db(transaction=True)

TITLES = [
    "Book repairs online",
    "Text alerts before visits",
    "Photo upload for faults",
    "Damp and mould triage",
    "Tenant satisfaction survey",
]


@pytest.fixture
def voting_round(transactional_db, make_member, product):
    """An open Schulze round on a five-item shortlist (score ranks 1..5, in TITLES order)."""
    owner = make_member(product=product, roles=[ProductRoleKind.PRODUCT_OWNER])
    items = [BacklogItemFactory(product=product, title=title, effort=2) for title in TITLES]
    give_score_ranks(items)
    round = open_round(product, owner, title="Spring priorities", shortlist_size=5)
    assert [c.item_id for c in round.candidates.order_by("position")] == [i.pk for i in items]
    return round, owner, {item.title: item for item in items}


@pytest.fixture
def make_voter(make_member, product, organisation):
    def make(cohort_name: str = "Citizens"):
        cohort = Cohort.objects.get(organisation=organisation, name=cohort_name)
        return make_member(product=product, roles=[ProductRoleKind.BUSINESS_VOTER], cohort=cohort)

    return make


def centre(box) -> tuple[float, float]:
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def drag_to(page, handle, x: float, y: float) -> None:
    """Drag a handle to (x, y) with real mouse moves: SortableJS runs with forceFallback, so
    it follows the pointer rather than HTML5 drag events."""
    start_x, start_y = centre(handle.bounding_box())
    page.mouse.move(start_x, start_y)
    page.mouse.down()
    steps = 15
    for i in range(1, steps + 1):
        page.mouse.move(start_x + (x - start_x) * i / steps, start_y + (y - start_y) * i / steps)
        page.wait_for_timeout(20)
    page.wait_for_timeout(150)  # let Sortable's animation settle before the drop
    page.mouse.up()


def ranked_titles(page) -> list[str]:
    return page.locator("#ranked-list .ballot-title").all_inner_texts()


def unranked_titles(page) -> list[str]:
    return page.locator("#unranked-list .ballot-title").all_inner_texts()


def position(page, title: str):
    return page.get_by_label(f"Position of {title}", exact=True)


def _luminance(rgb) -> float:
    def channel(value: float) -> float:
        value /= 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def assert_heatmap_text_contrast(page) -> None:
    """Every number in the heat map meets 4.5:1 against its cell. axe files one-character
    cells under "incomplete" (too short to judge), so check_a11y does not cover them."""
    cells = page.locator(".heatmap tbody td").evaluate_all(
        "cells => cells.map(td => [td.textContent.trim(),"
        " getComputedStyle(td).color, getComputedStyle(td).backgroundColor])"
    )
    assert cells
    for text, color, background in cells:
        fg = [float(v) for v in re.findall(r"[\d.]+", color)[:3]]
        *bg, alpha = ([float(v) for v in re.findall(r"[\d.]+", background)] + [1.0])[:4]
        if background == "rgba(0, 0, 0, 0)":
            bg, alpha = [255.0, 255.0, 255.0], 1.0
        seen = [255 * (1 - alpha) + c * alpha for c in bg]  # the cell over the white page
        light, dark = sorted((_luminance(fg), _luminance(seen)), reverse=True)
        ratio = (light + 0.05) / (dark + 0.05)
        assert ratio >= 4.5, f"heat-map cell {text!r}: {color} on {background} is {ratio:.2f}:1"


def test_voter_ranks_by_drag_then_changes_the_ballot_by_keyboard(
    voting_round, make_voter, page, live_server, sign_in, check_a11y, screenshot
):
    round, _owner, items = voting_round
    voter = make_voter()
    sign_in(page, voter.username)
    page.goto(f"{live_server.url}/rounds/{round.pk}/ballot/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your ballot: Spring priorities")
    assert ranked_titles(page) == []
    assert unranked_titles(page) == TITLES
    check_a11y(page)

    ranked = page.locator("#ranked-list")
    handle = {t: page.get_by_role("button", name=f"Move {t}", exact=True) for t in TITLES}

    # Drag "Photo upload" into the empty ranking, then "Tenant survey" below it.
    drag_to(page, handle["Photo upload for faults"], *centre(ranked.bounding_box()))
    expect(ranked.locator(".ballot-title")).to_have_text(["Photo upload for faults"])
    expect(page.locator("#ballot-status")).to_have_text("Photo upload for faults is number 1 of 1.")
    box = ranked.bounding_box()
    drag_to(page, handle["Tenant satisfaction survey"], box["x"] + 40, box["y"] + box["height"] - 4)
    expect(ranked.locator(".ballot-title")).to_have_text(
        ["Photo upload for faults", "Tenant satisfaction survey"]
    )
    # Reorder within the ranking: the survey goes above the photo upload.
    first = ranked.locator(".ballot-item").first.bounding_box()
    drag_to(page, handle["Tenant satisfaction survey"], first["x"] + 40, first["y"] + 2)
    expect(ranked.locator(".ballot-title")).to_have_text(
        ["Tenant satisfaction survey", "Photo upload for faults"]
    )
    expect(page.locator("#ballot-status")).to_have_text(
        "Tenant satisfaction survey is number 1 of 2."
    )
    # The position inputs (the ballot itself) were renumbered; unranked ones are blank.
    expect(position(page, "Tenant satisfaction survey")).to_have_value("1")
    expect(position(page, "Photo upload for faults")).to_have_value("2")
    for title in ("Book repairs online", "Text alerts before visits", "Damp and mould triage"):
        expect(position(page, title)).to_have_value("")

    page.get_by_role("button", name="Cast my ballot").click()
    expect(page.locator(".messages")).to_contain_text("Your ballot is saved.")
    ballot = Ballot.objects.get(round=round, voter=voter)
    survey, photo = items["Tenant satisfaction survey"].pk, items["Photo upload for faults"].pk
    assert ballot.ranking == [[survey], [photo]]
    assert ballot.revisions == 1
    # The saved ballot comes back in the same order.
    assert ranked_titles(page) == ["Tenant satisfaction survey", "Photo upload for faults"]

    # Now by keyboard only: → puts "Book repairs online" at the end of the ranking, ↑ lifts it.
    status = page.locator("#ballot-status")
    book = page.get_by_role("button", name="Move Book repairs online", exact=True)
    book.focus()
    page.keyboard.press("ArrowRight")
    expect(status).to_have_text("Book repairs online is number 3 of 3.")
    expect(book).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(status).to_have_text("Book repairs online is number 2 of 3.")
    expect(book).to_be_focused()
    expect(ranked.locator(".ballot-title")).to_have_text(
        ["Tenant satisfaction survey", "Book repairs online", "Photo upload for faults"]
    )
    expect(position(page, "Book repairs online")).to_have_value("2")
    expect(position(page, "Photo upload for faults")).to_have_value("3")
    check_a11y(page)

    page.get_by_role("button", name="Change my ballot").click()
    expect(page.locator(".messages")).to_contain_text("Your ballot is saved.")
    expect(page.locator(".lead")).to_contain_text("2 versions so far")
    ballot.refresh_from_db()
    assert ballot.ranking == [[survey], [items["Book repairs online"].pk], [photo]]
    assert ballot.revisions == 2
    check_a11y(page)
    screenshot(page, "ballot")


def test_results_update_live_without_a_reload(
    voting_round, make_voter, page, live_server, sign_in, check_a11y, screenshot
):
    round, owner, items = voting_round
    ids = [items[t].pk for t in TITLES]
    services.ballot_submit(round=round, voter=make_voter("Citizens"), ranking=[[i] for i in ids])
    # The Leaders speak with 1.5 times the voice, so their ballot decides every contest (and
    # the heat map gets mid-tone cells, 1 of 1.5, where text contrast is easiest to get wrong).
    Cohort.objects.filter(organisation=round.product.organisation, name="Leaders").update(
        voice_weight=Decimal("1.5")
    )
    leader = make_voter("Leaders")

    sign_in(page, owner.username)
    documents = []
    page.on("request", lambda r: documents.append(r.url) if r.resource_type == "document" else None)
    page.goto(f"{live_server.url}/rounds/{round.pk}/")
    live = page.locator("#round-live")
    consensus = live.locator("ol.consensus > li")
    expect(page.locator("#round-status")).to_contain_text("1 ballot so far")
    expect(consensus).to_have_text(TITLES)
    check_a11y(page)

    page.evaluate("window.__marker = 1")
    loads = len(documents)
    services.ballot_submit(round=round, voter=leader, ranking=[[i] for i in reversed(ids)])

    expect(page.locator("#round-status")).to_contain_text("2 ballots so far", timeout=12_000)
    expect(consensus).to_have_text(list(reversed(TITLES)))
    expect(live.get_by_role("heading", name="Head to head")).to_be_visible()
    # htmx swapped the fragment in place: same document, no navigation, no reload.
    assert page.evaluate("window.__marker") == 1
    assert len(documents) == loads
    assert re.fullmatch(rf"{re.escape(live_server.url)}/rounds/{round.pk}/", page.url)
    check_a11y(page)
    assert_heatmap_text_contrast(page)
    screenshot(page, "round-results")
