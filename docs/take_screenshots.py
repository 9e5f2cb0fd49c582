"""Take the README's screenshots from a running Benefit Backlog with the demo data loaded.

    .venv/bin/python docs/take_screenshots.py [URL]

URL defaults to http://127.0.0.1:8000. Signs in as the demo product owner (``owner`` /
``benefit-demo``; ``voter`` for the ballot), drives Debian's Chromium at /usr/bin/chromium
with Playwright, and writes PNGs to docs/screenshots/: the home page, the first product's
backlog, an item page with its score explanation, the compare view, the demo voting
round's results, a voter's ballot, this week's show-and-tell, the product's people and (as the
organisation admin ``admin``) the capabilities catalogue at 1280 px wide; and the backlog, an
item's benefit estimates, the ballot and the product's people at 375 px. Each is the viewport only,
not the full page, to keep the files small.

Pages are reached by following links, as a person would, so the script needs no ids.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
USERNAME, PASSWORD = "owner", "benefit-demo"
VOTER = "voter"  # a business voter, for the ballot
ADMIN = "admin"  # the organisation admin, for the capabilities catalogue
WIDE = {"width": 1280, "height": 1100}
PHONE = {"width": 375, "height": 900}
OUT = Path(__file__).resolve().parent / "screenshots"


def sign_in(page: Page, base: str, username: str = USERNAME) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def shoot(page: Page, name: str) -> Path:
    path = OUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    print(f"{path.relative_to(OUT.parent.parent)}  {page.url}")
    return path


def first_product_url(page: Page, base: str) -> str:
    page.goto(f"{base}/")
    link = page.locator(".card__title a").first
    return link.evaluate("a => a.href")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", default="http://127.0.0.1:8000")
    base = parser.parse_args(argv).url.rstrip("/")
    OUT.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            context = browser.new_context(viewport=WIDE, locale="en-GB", device_scale_factor=1)
            page = context.new_page()
            page.set_default_timeout(15_000)
            sign_in(page, base)
            page.get_by_role("heading", level=1).wait_for()
            shoot(page, "home")

            backlog = first_product_url(page, base)
            page.goto(backlog)
            page.locator("#backlog-rows tr[data-item-id]").first.wait_for()
            shoot(page, "backlog")

            # An item a few places down the score order, so the page can say why it is not
            # higher: the backlog in score order, then the third item's own page.
            page.goto(f"{backlog}?order=score")
            page.locator("#backlog-rows tr[data-item-id]").nth(2).locator("a").first.click()
            page.locator("#score-panel").wait_for()
            shoot(page, "item-score")

            page.goto(backlog)
            page.get_by_role("link", name="Compare manual order with score order").click()
            page.get_by_role("heading", level=1, name="Manual order").wait_for()
            shoot(page, "compare")

            # The demo's open voting round, as the product owner sees its live results.
            page.goto(backlog)
            page.get_by_role("link", name="Voting rounds").click()
            page.locator("td[data-label=Round] a").first.click()
            page.locator("#round-live").wait_for()
            shoot(page, "voting-round")

            # This week's show-and-tell.
            page.goto(backlog)
            page.get_by_role("link", name="Show-and-tell").click()
            page.locator("td[data-label=Date] a").first.click()
            page.locator("#section-done").wait_for()
            shoot(page, "show-and-tell")

            # Who holds which role on the product, changed a box at a time.
            page.goto(backlog)
            page.get_by_role("link", name="People", exact=True).first.click()
            page.get_by_role("heading", level=1).wait_for()
            shoot(page, "product-people")
            context.close()

            # The organisation's shared capabilities, as its admin sees them.
            context = browser.new_context(viewport=WIDE, locale="en-GB", device_scale_factor=1)
            page = context.new_page()
            page.set_default_timeout(15_000)
            sign_in(page, base, ADMIN)
            page.get_by_role("link", name="Capabilities", exact=True).first.click()
            page.get_by_role("heading", level=1).wait_for()
            shoot(page, "capabilities")
            context.close()

            # A business voter's ballot in the same round.
            context = browser.new_context(viewport=WIDE, locale="en-GB", device_scale_factor=1)
            page = context.new_page()
            page.set_default_timeout(15_000)
            sign_in(page, base, VOTER)
            page.goto(backlog)
            page.get_by_role("link", name="Voting rounds").click()
            page.locator("td[data-label=Actions] a").first.click()
            page.get_by_role("heading", level=1).wait_for()
            shoot(page, "ballot")
            context.close()

            # On a phone: the backlog as the first screen shows it (the filters and tools
            # folded away), an item's benefit estimates one cohort at a time, and the ballot.
            context = browser.new_context(viewport=PHONE, locale="en-GB", device_scale_factor=1)
            page = context.new_page()
            page.set_default_timeout(15_000)
            sign_in(page, base)
            page.goto(backlog)
            page.locator("#backlog-rows tr[data-item-id]").first.wait_for()
            shoot(page, "backlog-375px")
            page.locator("#backlog-rows tr[data-item-id]").first.locator("a").first.click()
            estimates = page.get_by_role("heading", name="Benefit estimates")
            estimates.evaluate("h => scrollTo(0, h.getBoundingClientRect().top + scrollY - 8)")
            shoot(page, "estimates-375px")
            page.goto(backlog)
            page.get_by_role("link", name="People", exact=True).first.click()
            page.get_by_role("heading", level=1).wait_for()
            shoot(page, "product-people-375px")
            context.close()

            context = browser.new_context(viewport=PHONE, locale="en-GB", device_scale_factor=1)
            page = context.new_page()
            page.set_default_timeout(15_000)
            sign_in(page, base, VOTER)
            page.goto(backlog)
            page.get_by_role("link", name="Voting rounds").click()
            page.locator("td[data-label=Actions] a").first.click()
            page.get_by_role("heading", name="Your ranking").wait_for()
            shoot(page, "ballot-375px")
            context.close()
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
