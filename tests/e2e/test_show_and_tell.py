"""The weekly show-and-tell: the delivery lead presents all five sections with the keyboard,
confirms next up and records a decision; the four go-live roles sign an item live, one of
them withdrawing and signing again on the way."""

from __future__ import annotations

import re
from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from backlog.models import (
    GO_LIVE_ROLES,
    Decision,
    GoLiveSignature,
    ItemEvent,
    ItemEventKind,
    ItemStatus,
    ProductRoleKind,
)
from backlog.services.sessions import local_today, session_for_week
from prioritisation.models import BenefitEstimate
from tests.factories import BacklogItemFactory

pytestmark = pytest.mark.django_db(transaction=True)

NAMES = {
    ProductRoleKind.SPONSOR: ("Sam", "Sponsor"),
    ProductRoleKind.BUSINESS_ANALYST: ("Bea", "Analyst"),
    ProductRoleKind.LEAD_ENGINEER: ("Lee", "Engineer"),
    ProductRoleKind.DELIVERY_LEAD: ("Dee", "Lead"),
}
DONE = ["Book repairs online", "Text alerts before visits", "Photo upload for faults"]
OPEN = [("Damp and mould triage", 5), ("Tenant satisfaction survey", 8), ("Rent statements", 13)]
SECTIONS = [
    ("done", "1. Done this week"),
    ("benefit", "2. Benefit landed"),
    ("next", "3. Next up"),
    ("golive", "4. Go-live"),
    ("decisions", "5. Decisions and actions"),
]


@pytest.fixture
def session(transactional_db, make_member, product, organisation):
    """This week's session of a product with one holder of each go-live role, three items
    done just now (with benefit estimates and who finished them) and three open ones."""
    # The session is held today, whatever the weekday the tests run on, so the window
    # ("Covers …") and "Live this week" do not depend on the calendar.
    product.show_and_tell_weekday = local_today(product).weekday()
    product.save(update_fields=["show_and_tell_weekday"])
    people = {}
    for role, (first, last) in NAMES.items():
        user = make_member(product=product, roles=[role])
        user.first_name, user.last_name = first, last
        user.save(update_fields=["first_name", "last_name"])
        people[role] = user
    cohorts = list(organisation.cohorts.order_by("name"))
    metrics = list(organisation.metrics.order_by("name"))[:2]
    now = timezone.now()
    done = []
    for n, title in enumerate(DONE, 1):
        item = BacklogItemFactory(
            product=product, title=title, status="done", done_at=now, effort=n
        )
        ItemEvent.objects.create(
            item=item,
            actor=people[ProductRoleKind.LEAD_ENGINEER],
            kind=ItemEventKind.STATUS,
            data={"from": "in_progress", "to": "done"},
        )
        BenefitEstimate.objects.bulk_create(
            BenefitEstimate(item=item, cohort=cohort, metric=metric, value=Decimal(10 * n + i))
            for i, (cohort, metric) in enumerate((c, m) for c in cohorts for m in metrics)
        )
        done.append(item)
    for title, effort in OPEN:
        BacklogItemFactory(product=product, title=title, effort=effort)
    session, created = session_for_week(product=product, day=local_today(product))
    assert created
    assert set(session.attendees.all()) == set(people.values())
    return session, people, done


@contextmanager
def signed_in_as(browser, sign_in, user, width: int = 1280):
    """A fresh browser context (its own cookies) with ``user`` signed in."""
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        sign_in(page, user.username)
        yield page
    finally:
        context.close()


def font_px(locator) -> float:
    return float(locator.evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))


def test_delivery_lead_presents_every_section_with_the_keyboard(
    session, page, live_server, sign_in, check_a11y, screenshot
):
    session, people, _done = session
    lead = people[ProductRoleKind.DELIVERY_LEAD]
    sponsor = people[ProductRoleKind.SPONSOR]
    sign_in(page, lead.username)
    present = f"{live_server.url}/show-and-tell/{session.pk}/present/"
    page.goto(present)
    heading = page.locator("main h2").first
    for step, (key, title) in enumerate(SECTIONS, 1):
        expect(heading).to_have_text(title)
        expect(page.locator(".presenter__meta")).to_contain_text(f"{step} of 5")
        section = page.locator(f"#section-{key}")
        if key == "done":
            expect(section).to_contain_text("3 items reached done or live, 6 points")
            for item_title in DONE:
                expect(section.get_by_role("link", name=item_title)).to_be_visible()
            expect(section.locator("tbody tr").first).to_contain_text("Lee Engineer")
        elif key == "benefit":
            expect(section.locator("table.benefit-table")).to_have_count(2)
            week = section.get_by_role("region", name="Estimated benefit of the items finished")
            # Cash saved, Citizens: 10 + 20 + 30 (item n's first cell is 10n).
            expect(week.locator("tbody tr").first).to_contain_text("60")
            # Focused, a table that fits leaves → to the presenter (on a phone it scrolls).
            week.focus()
        elif key == "next":
            # Capacity 20: 5 + 8 fit, 13 more would not.
            items = section.locator("ol.next-up > li")
            expect(items).to_have_count(2)
            expect(items.nth(0)).to_contain_text("Damp and mould triage")
            expect(section).to_contain_text("fits 20 points (13 used)")
            section.get_by_role("button", name="Confirm next up").click()
            swapped = page.locator("#section-next")
            expect(swapped).to_contain_text("Confirmed")
            expect(swapped).to_contain_text("frozen with this session")
            expect(swapped.locator(".messages")).to_contain_text("Next up is confirmed")
            expect(page.get_by_role("button", name="Confirm next up")).to_have_count(0)
            session.refresh_from_db()
            assert session.next_up_confirmed_by == lead
            assert [row["title"] for row in session.next_up] == [OPEN[0][0], OPEN[1][0]]
        elif key == "golive":
            # The confirmation was shown where it happened, not again on the next screen.
            expect(page.locator(".messages")).to_have_count(0)
            expect(section.locator(".golive-item")).to_have_count(len(DONE))
            first = section.locator(".golive-item").first
            # The delivery lead may sign only for their own role.
            expect(first.get_by_role("button", name=re.compile("^Sign as"))).to_have_count(1)
            expect(
                first.get_by_role("button", name=re.compile("^Sign as Delivery lead"))
            ).to_be_visible()
            # Each item's title reads at least as large as the text under it.
            assert font_px(first.locator("h3")) >= font_px(first.locator(".sig-role").first)
        elif key == "decisions":
            expect(section).to_contain_text("None recorded yet.")
            text = section.get_by_label("What was decided, or what will be done")
            text.fill("Move text alerts to the council's SMS gateway")
            # Arrow keys inside the text box edit the text; they do not change the section.
            text.press("ArrowRight")
            text.press("ArrowLeft")
            assert page.url == f"{present}?step=5"
            section.get_by_role("checkbox", name="Sam Sponsor").check()
            section.get_by_role("button", name="Record").click()
            decisions = page.locator("#section-decisions .decisions")
            expect(decisions).to_contain_text(
                "Decision: Move text alerts to the council's SMS gateway"
            )
            expect(decisions).to_contain_text("Agreed by Sam Sponsor.")
            expect(page.locator("#section-decisions .messages")).to_contain_text("Recorded.")
            decision = Decision.objects.get(session=session)
            assert decision.created_by == lead
            assert list(decision.agreed_by.all()) == [sponsor]
        screenshot(page, f"show-and-tell-{step}-{key}")
        check_a11y(page)
        if step < len(SECTIONS):
            page.keyboard.press("ArrowRight")
            page.wait_for_url(f"{present}?step={step + 1}")
    # → on the last section goes nowhere; ← goes back.
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(300)
    assert page.url == f"{present}?step=5"
    page.keyboard.press("ArrowLeft")
    page.wait_for_url(f"{present}?step=4")
    expect(heading).to_have_text("4. Go-live")


def test_presenter_mode_fits_a_phone(session, browser, live_server, sign_in, screenshot):
    session, people, _done = session
    with signed_in_as(browser, sign_in, people[ProductRoleKind.DELIVERY_LEAD], 375) as page:
        present = f"{live_server.url}/show-and-tell/{session.pk}/present/"
        for step, (key, title) in enumerate(SECTIONS, 1):
            page.goto(f"{present}?step={step}")
            expect(page.locator("main h2").first).to_have_text(title)
            width = page.evaluate("document.documentElement.scrollWidth")
            screenshot(page, f"show-and-tell-375px-{step}-{key}")
            assert width <= 375, f"presenter step {step} scrolls sideways on a phone ({width} px)"
            if key == "benefit":
                # The cohort columns keep their headings (the grid scrolls in its own region).
                header = page.locator("table.benefit-table thead").first
                assert header.bounding_box()["height"] > 10
                expect(header).to_contain_text("Citizens")
                # Arrow keys scroll the focused, overflowing table; they do not change section.
                region = page.get_by_role("region", name="Estimated benefit of the items finished")
                region.focus()
                assert region.evaluate("e => e.scrollWidth > e.clientWidth")
                page.keyboard.press("ArrowRight")
                page.wait_for_timeout(300)
                assert page.url == f"{present}?step=2"
                assert region.evaluate("e => e.scrollLeft") > 0


def test_four_roles_sign_an_item_live_after_a_withdrawal(
    session, browser, live_server, sign_in, check_a11y, screenshot
):
    session, people, done = session
    item = done[0]
    url = f"{live_server.url}/show-and-tell/{session.pk}/"

    def block(page):
        return page.locator("#section-golive .golive-item", has_text=item.title)

    def entry(page, role):
        return block(page).locator("li", has_text=role.label)

    def sign(page, role) -> None:
        block(page).get_by_role("button", name=f"Sign as {role.label} for {item.title}").click()

    def signatures() -> set[str]:
        return set(GoLiveSignature.objects.filter(item=item).values_list("role", flat=True))

    sponsor, analyst, engineer, lead = (
        ProductRoleKind.SPONSOR,
        ProductRoleKind.BUSINESS_ANALYST,
        ProductRoleKind.LEAD_ENGINEER,
        ProductRoleKind.DELIVERY_LEAD,
    )
    for role in (sponsor, analyst, engineer):
        with signed_in_as(browser, sign_in, people[role]) as page:
            page.goto(url)
            # Each person sees a button for their own role only.
            buttons = block(page).get_by_role("button", name=re.compile("^Sign as"))
            expect(buttons).to_have_count(1)
            sign(page, role)
            expect(entry(page, role)).to_contain_text(f"Signed by {' '.join(NAMES[role])}")
            expect(entry(page, role)).to_have_class(re.compile(r"\bsigned\b"))
            # Said in the item's own block, where the person is looking.
            expect(block(page).get_by_role("status")).to_contain_text(f"Signed for “{item.title}”.")
            if role != engineer:
                continue
            # The lead engineer withdraws (only their own signature offers a withdraw) ...
            withdraw = block(page).get_by_role("button", name=re.compile("^Withdraw"))
            expect(withdraw).to_have_count(1)
            expect(withdraw).to_have_accessible_name(
                f"Withdraw {engineer.label} signature for {item.title}"
            )
            withdraw.click()
            expect(entry(page, engineer)).to_contain_text("Not signed")
            expect(block(page).get_by_role("status")).to_contain_text("Withdrew")
            assert signatures() == {sponsor, analyst}
            # ... and signs again.
            sign(page, engineer)
            expect(entry(page, engineer)).to_contain_text("Signed by Lee Engineer")
            check_a11y(page)
            screenshot(page, "show-and-tell-golive-three-signed")
    assert signatures() == {sponsor, analyst, engineer}
    item.refresh_from_db()
    assert item.status == ItemStatus.DONE

    with signed_in_as(browser, sign_in, people[lead]) as page:
        page.goto(url)
        sign(page, lead)
        section = page.locator("#section-golive")
        # The fourth signer sees it go live where they signed, with all four signatures.
        expect(block(page).get_by_role("status")).to_have_text(
            f"“{item.title}” is live — all four signed."
        )
        expect(block(page).locator("li.signed")).to_have_count(4)
        expect(block(page).get_by_role("button")).to_have_count(0)
        expect(section.locator("p", has_text="Live this week:")).to_contain_text(item.title)
        # The count of items still waiting for the delivery lead follows.
        expect(section.get_by_role("link", name=re.compile("^Sign all"))).to_have_text(
            f"Sign all {len(DONE) - 1} waiting for the delivery lead…"
        )
        check_a11y(page)
        screenshot(page, "show-and-tell-golive-fourth-signature")
        # After a reload it has left the queue; the other done items are still waiting.
        page.reload()
        expect(block(page)).to_have_count(0)
        expect(section.locator(".golive-item")).to_have_count(len(DONE) - 1)
        expect(page.locator(".messages")).to_have_count(0)
        expect(page.locator("#section-golive")).to_contain_text(f"Live this week: {item.title}")
        done_row = page.locator("#section-done tbody tr", has_text=item.title)
        expect(done_row).to_contain_text("Live")
        check_a11y(page)
        screenshot(page, "show-and-tell-golive-live")

    item.refresh_from_db()
    assert item.status == ItemStatus.LIVE
    assert item.live_at is not None
    assert signatures() == {r.value for r in GO_LIVE_ROLES}
    history = ItemEvent.objects.filter(item=item).exclude(kind=ItemEventKind.STATUS)
    assert list(history.order_by("pk").values_list("kind", flat=True)) == [
        "signed",
        "signed",
        "signed",
        "withdrawn",
        "signed",
        "signed",
        "went_live",
    ]


def test_presenter_mode_fills_the_screen_and_pages_with_a_clicker(
    session, page, live_server, sign_in, check_a11y, screenshot
):
    """Before: the site's header, navigation and footer took a projector's top and bottom.
    A presentation clicker sends Page Down and Page Up."""
    session, people, _done = session
    sign_in(page, people[ProductRoleKind.SPONSOR].username)
    present = f"{live_server.url}/show-and-tell/{session.pk}/present/"
    page.goto(present)
    expect(page.locator(".site-header")).to_have_count(0)
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    expect(page.locator(".site-footer")).to_have_count(0)
    expect(page.get_by_role("heading", level=1)).to_contain_text(session.product.name)
    # The presenter's content fills the window's height.
    box = page.locator(".presenter").bounding_box()
    assert box["height"] >= page.viewport_size["height"] - 2
    for step, (key, title) in enumerate(SECTIONS, 1):
        expect(page.locator(f"#section-{key}").get_by_role("heading", level=2)).to_have_text(title)
        if step == 1:
            check_a11y(page)
        if step < len(SECTIONS):
            page.keyboard.press("PageDown")
            page.wait_for_url(f"{present}?step={step + 1}")
    page.keyboard.press("PageUp")
    page.wait_for_url(f"{present}?step=4")
    # Escape, the clicker's "stop" key, leaves presenter mode for the session page.
    page.keyboard.press("Escape")
    page.wait_for_url(f"{live_server.url}/show-and-tell/{session.pk}/")


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} scrolls sideways ({width} px)"


def test_finishing_asks_first_naming_who_gets_the_digest(
    session, browser, live_server, sign_in, check_a11y, screenshot
):
    session, people, _done = session
    for user in people.values():
        user.email = f"{user.username}@example.org"
        user.save(update_fields=["email"])
    lead = people[ProductRoleKind.DELIVERY_LEAD]
    detail = f"{live_server.url}/show-and-tell/{session.pk}/"
    names = [" ".join(NAMES[role]) for role in NAMES]
    for width in (1280, 375):
        with signed_in_as(browser, sign_in, lead, width) as page:
            page.goto(detail)
            check_a11y(page)
            _no_sideways_scroll(page)
            screenshot(page, f"show-and-tell-session-{width}px")
            # Without JavaScript the button opens this confirm step.
            page.goto(f"{detail}finish/")
            expect(page.get_by_role("heading", level=1)).to_have_text(
                "Finish the session and send the digest?"
            )
            recipients = page.locator(".recipients li")
            expect(recipients).to_have_count(4)
            for user in people.values():
                expect(page.locator(".recipients")).to_contain_text(user.email)
            check_a11y(page)
            _no_sideways_scroll(page)
            screenshot(page, f"show-and-tell-finish-confirm-{width}px")

    with signed_in_as(browser, sign_in, lead) as page:
        page.goto(detail)
        asked = []
        page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
        page.get_by_role("button", name="Finish and send the digest…").click()
        page.wait_for_timeout(500)
        assert asked and "the 4 people on this product" in asked[0]
        assert all(name in asked[0] for name in names), asked[0]
        session.refresh_from_db()
        assert session.finished_at is None  # said no: nothing happened
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Finish and send the digest…").click()
        expect(page.locator(".messages")).to_contain_text("the 4 people on this product")
        expect(page.locator("main")).to_contain_text("this is a read-only record")
        assert page.url == detail
        session.refresh_from_db()
        assert session.finished_at is not None
        # The list says this week's is finished and offers next week's instead.
        page.goto(f"{live_server.url}/products/{session.product_id}/show-and-tell/")
        expect(page.locator("#this-week-finished")).to_contain_text("is finished")
        expect(
            page.get_by_role("button", name=re.compile("^Start next week's session"))
        ).to_be_visible()
        check_a11y(page)
        screenshot(page, "show-and-tell-list-finished-1280px")


def test_a_signer_signs_every_waiting_item_in_one_step(
    session, browser, live_server, sign_in, check_a11y, screenshot
):
    session, people, done = session
    sponsor = people[ProductRoleKind.SPONSOR]
    detail = f"{live_server.url}/show-and-tell/{session.pk}/"
    with signed_in_as(browser, sign_in, sponsor, 375) as page:
        page.goto(f"{detail}sign-all/")
        check_a11y(page)
        _no_sideways_scroll(page)
        screenshot(page, "show-and-tell-sign-all-375px")
    with signed_in_as(browser, sign_in, sponsor) as page:
        page.goto(detail)
        page.get_by_role("link", name="Sign all 3 waiting for the sponsor…").click()
        listed = page.locator(".sign-all-list li")
        expect(listed).to_have_count(len(done))
        for item in done:
            expect(page.locator(".sign-all-list")).to_contain_text(item.title)
        check_a11y(page)
        screenshot(page, "show-and-tell-sign-all-1280px")
        page.get_by_role("button", name="Sign all 3 as sponsor").click()
        page.wait_for_url(re.compile(rf"/show-and-tell/{session.pk}/#section-golive$"))
        expect(page.locator(".messages")).to_contain_text("Signed 3 items as the sponsor.")
        for item in done:
            block = page.locator(".golive-item", has_text=item.title)
            expect(block.locator("li", has_text="Sponsor")).to_contain_text("Signed by Sam Sponsor")
        expect(page.get_by_role("link", name=re.compile("^Sign all"))).to_have_count(0)
        check_a11y(page)
    assert GoLiveSignature.objects.filter(signer=sponsor, session=session).count() == len(done)
