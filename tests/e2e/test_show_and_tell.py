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
    # The session's day is today, so work finished "now" falls in its window on any weekday
    # (with the default Friday, a Saturday run would put it in next week's session).
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
            for i, (cohort, metric) in enumerate((c, m) for c in cohorts[:2] for m in metrics)
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


def no_sideways_scroll(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


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
            for title_ in DONE:
                expect(section.get_by_role("link", name=title_)).to_be_visible()
            expect(section.locator("tbody tr").first).to_contain_text("Lee Engineer")
        elif key == "benefit":
            expect(section.locator("table.benefit-table")).to_have_count(2)
            expect(section).to_contain_text("Estimated benefit of the items finished this week")
        elif key == "next":
            # Capacity 20: 5 + 8 fit, 13 more would not.
            items = section.locator("ol.next-up > li")
            expect(items).to_have_count(2)
            expect(items.nth(0)).to_contain_text("Damp and mould triage")
            expect(section).to_contain_text("fits 20 points (13 used)")
            section.get_by_role("button", name="Confirm next up").click()
            expect(page.locator("#section-next")).to_contain_text("Confirmed")
            expect(page.locator("#section-next")).to_contain_text("frozen with this session")
            expect(page.get_by_role("button", name="Confirm next up")).to_have_count(0)
            session.refresh_from_db()
            assert session.next_up_confirmed_by == lead
            assert [row["title"] for row in session.next_up] == [OPEN[0][0], OPEN[1][0]]
        elif key == "golive":
            expect(section.locator(".golive-item")).to_have_count(len(DONE))
            # The delivery lead may sign only for their own role.
            first = section.locator(".golive-item").first
            expect(first.get_by_role("button", name=re.compile("^Sign as"))).to_have_count(1)
            expect(
                first.get_by_role("button", name=re.compile("^Sign as Delivery lead"))
            ).to_be_visible()
        elif key == "decisions":
            expect(section).to_contain_text("None recorded yet.")
            text = section.get_by_label("What was decided, or what will be done")
            text.fill("Move text alerts to the council's SMS gateway")
            # Arrow keys inside the text box edit the text; they do not change the section.
            text.press("ArrowRight")
            text.press("ArrowLeft")
            assert page.url.endswith("?step=5")
            section.get_by_role("checkbox", name="Sam Sponsor").check()
            section.get_by_role("button", name="Record").click()
            expect(page.locator("#section-decisions .decisions")).to_contain_text(
                "Decision: Move text alerts to the council's SMS gateway"
            )
            expect(page.locator("#section-decisions .decisions")).to_contain_text(
                "Agreed by Sam Sponsor."
            )
            decision = Decision.objects.get(session=session)
            assert decision.created_by == lead
            assert list(decision.agreed_by.all()) == [sponsor]
        screenshot(page, f"show-and-tell-{step}-{key}")
        check_a11y(page)
        if step < len(SECTIONS):
            page.keyboard.press("ArrowRight")
            page.wait_for_url(f"{present}?step={step + 1}")
    # On the last section → has nowhere to go; ← goes back.
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(200)
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
            width = no_sideways_scroll(page)
            screenshot(page, f"show-and-tell-375px-{step}-{key}")
            assert width <= 375, f"presenter step {step} scrolls sideways on a phone ({width} px)"


def test_four_roles_sign_an_item_live_after_a_withdrawal(
    session, browser, live_server, sign_in, check_a11y, screenshot
):
    session, people, done = session
    item = done[0]
    url = f"{live_server.url}/show-and-tell/{session.pk}/"

    def golive(page):
        return page.locator("#section-golive .golive-item", has_text=item.title)

    def sign(role, *, also=None):
        user = people[role]
        with signed_in_as(browser, sign_in, user) as page:
            page.goto(url)
            block = golive(page)
            # Only one's own role can be signed for.
            expect(block.get_by_role("button", name=re.compile("^Sign as"))).to_have_count(1)
            block.get_by_role("button", name=f"Sign as {role.label} for {item.title}").click()
            if also:
                return also(page)
            return None

    def signed(page, role) -> None:
        name = " ".join(NAMES[role])
        entry = golive(page).locator("li", has_text=role.label)
        expect(entry).to_contain_text(f"Signed by {name}")
        expect(entry).to_have_class(re.compile(r"\bsigned\b"))

    sign(ProductRoleKind.SPONSOR, also=lambda p: signed(p, ProductRoleKind.SPONSOR))
    sign(
        ProductRoleKind.BUSINESS_ANALYST, also=lambda p: signed(p, ProductRoleKind.BUSINESS_ANALYST)
    )

    def withdraw_and_sign_again(page):
        role = ProductRoleKind.LEAD_ENGINEER
        signed(page, role)
        block = golive(page)
        # Nobody else's signature can be withdrawn from this page.
        expect(block.get_by_role("button", name=re.compile("^Withdraw"))).to_have_count(1)
        block.get_by_role(
            "button", name=f"Withdraw {role.label} signature for {item.title}"
        ).click()
        expect(golive(page).locator("li", has_text=role.label)).to_contain_text("Not signed")
        assert set(GoLiveSignature.objects.filter(item=item).values_list("role", flat=True)) == {
            ProductRoleKind.SPONSOR,
            ProductRoleKind.BUSINESS_ANALYST,
        }
        golive(page).get_by_role("button", name=f"Sign as {role.label} for {item.title}").click()
        signed(page, role)
        check_a11y(page)
        screenshot(page, "show-and-tell-golive-three-signed")

    sign(ProductRoleKind.LEAD_ENGINEER, also=withdraw_and_sign_again)
    item.refresh_from_db()
    assert item.status == "done"

    def live(page):
        section = page.locator("#section-golive")
        expect(section).to_contain_text("Live this week:")
        expect(section.locator("p", has_text="Live this week:")).to_contain_text(item.title)
        # It has left the queue; the other done items are still waiting.
        expect(golive(page)).to_have_count(0)
        expect(section.locator(".golive-item")).to_have_count(len(DONE) - 1)
        page.reload()
        expect(page.locator("#section-golive")).to_contain_text(f"Live this week: {item.title}")
        expect(page.locator("#section-done tbody tr", has_text=item.title)).to_contain_text("Live")
        check_a11y(page)
        screenshot(page, "show-and-tell-golive-live")

    sign(ProductRoleKind.DELIVERY_LEAD, also=live)
    item.refresh_from_db()
    assert item.status == ItemStatus.LIVE
    assert item.live_at is not None
    assert GoLiveSignature.objects.filter(item=item).count() == len(GO_LIVE_ROLES)
    kinds = ItemEvent.objects.filter(item=item).exclude(kind=ItemEventKind.STATUS)
    assert list(kinds.order_by("pk").values_list("kind", flat=True)) == [
        "signed",
        "signed",
        "signed",
        "withdrawn",
        "signed",
        "signed",
        "went_live",
    ]
