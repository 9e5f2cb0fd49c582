"""In Chromium: API tokens on the profile page, the sign-in lockout page, the API docs, and
the Content-Security-Policy as the browser enforces it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from customers.models import ApiToken

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_person_creates_copies_and_revokes_a_token(
    page, live_server, owner, sign_in, check_a11y, screenshot
):
    sign_in(page, owner.username)
    page.get_by_role("link", name="Your profile").click()
    expect(page.get_by_role("heading", name="Your profile")).to_be_visible()
    page.get_by_label("Token name").fill("Monthly report")
    page.get_by_label("Expires").select_option("30")
    page.get_by_role("button", name="Create token").click()

    secret = page.get_by_label("Token “Monthly report”")
    expect(secret).to_have_value(re.compile(r"^bb_[0-9a-f]{12}_\S{40,}$"))
    check_a11y(page)
    screenshot(page, "profile-new-token")

    page.get_by_role("button", name="Revoke token “Monthly report”").click()
    expect(page.get_by_text("Revoked the token “Monthly report”.")).to_be_visible()
    expect(page.get_by_label("Token “Monthly report”")).to_have_count(0)
    assert ApiToken.objects.get().revoked_at is not None
    check_a11y(page)


def test_the_lockout_page_says_why_and_for_how_long(page, live_server, owner, check_a11y):
    for _ in range(5):
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(owner.username)
        page.get_by_label("Password").fill("wrong")
        page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Sign-in is locked for now")).to_be_visible()
    expect(page.get_by_text("Wait 15 minutes, then try again.")).to_be_visible()
    check_a11y(page)


def test_the_api_docs_run_from_our_own_files_under_the_policy(page, live_server, owner, sign_in):
    sign_in(page, owner.username)
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{live_server.url}/api/v1/docs/")
    expect(page.get_by_text("Benefit Backlog API").first).to_be_visible()
    expect(
        page.locator(".opblock-summary-path", has_text="/api/v1/products/").first
    ).to_be_visible()
    assert all(url.startswith(live_server.url) for url in requested), requested


def test_the_browser_refuses_inline_script(browser, live_server):
    context = browser.new_context()
    page = context.new_page()
    refused = []
    page.on("console", lambda message: refused.append(message.text))
    page.goto(f"{live_server.url}/accounts/login/")
    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.inlineRan = true";
            document.body.appendChild(script);
        }"""
    )
    assert page.evaluate("() => window.inlineRan") is None
    assert any("Content Security Policy" in text for text in refused), refused
    context.close()
