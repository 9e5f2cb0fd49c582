"""In Chromium: single sign-on through the OpenID Connect provider run on 127.0.0.1 by the
test (tests/customers/oidc_provider.py), under the Content-Security-Policy, with axe at 1280
and 375 px."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from customers.invitations import invitation_create
from customers.models import Membership
from customers.sso import discovery_cache_key
from tests.customers.oidc_provider import CLIENT_ID, CLIENT_SECRET, start_provider, stop_provider

pytestmark = pytest.mark.django_db(transaction=True)

PROVIDER = "Test Entra ID"


@pytest.fixture
def provider(settings):
    running = start_provider()
    settings.OIDC_ISSUER = running.issuer
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_PROVIDER_NAME = PROVIDER
    cache.delete(discovery_cache_key(running.issuer))
    yield running
    stop_provider(running)


def test_an_invited_colleague_joins_through_single_sign_on(
    page, live_server, provider, organisation, check_a11y, screenshot
):
    invitation, raw = invitation_create(organisation=organisation, email="nia@riverside.example")
    provider.identity = {
        "sub": "nia",
        "email": "nia@riverside.example",
        "email_verified": True,
        "given_name": "Nia",
        "family_name": "Cole",
    }
    page.goto(f"{live_server.url}/organisation/join/{raw}/")
    check_a11y(page)
    page.get_by_role("link", name=f"Sign in with {PROVIDER}").click()
    page.wait_for_url(f"{live_server.url}/")
    membership = Membership.objects.select_related("user").get(organisation=organisation)
    assert membership.user.email == "nia@riverside.example"
    invitation.refresh_from_db()
    assert invitation.accepted_by == membership.user


@pytest.mark.parametrize("width", [1280, 375])
def test_the_sign_in_page_offers_the_provider_and_says_why_a_stranger_is_refused(
    page, live_server, provider, organisation, check_a11y, screenshot, width
):
    page.set_viewport_size({"width": width, "height": 900})
    provider.identity = {"sub": "x", "email": "stranger@example.com", "email_verified": True}
    page.goto(f"{live_server.url}/accounts/login/")
    check_a11y(page)
    screenshot(page, f"sign-in-sso-{width}px")
    page.get_by_role("link", name=f"Sign in with {PROVIDER}").click()
    page.wait_for_url(f"{live_server.url}/accounts/login/")
    expect(page.get_by_text("No invitation for this e-mail address")).to_be_visible()
    check_a11y(page)
    screenshot(page, f"sign-in-sso-refused-{width}px")


def test_an_admin_switches_password_sign_in_off_and_a_password_is_refused(
    page, live_server, provider, organisation, make_member, check_a11y, screenshot
):
    admin = make_member(admin=True)
    admin.email = "admin@riverside.example"
    admin.save(update_fields=["email"])
    provider.identity = {"sub": "admin", "email": admin.email, "email_verified": True}
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("link", name=f"Sign in with {PROVIDER}").click()
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/organisation/members/")
    page.get_by_role("button", name="Switch password sign-in off").click()
    expect(page.get_by_text(f"members sign in through {PROVIDER}.").first).to_be_visible()
    page.set_viewport_size({"width": 375, "height": 900})
    check_a11y(page)
    screenshot(page, "members-sign-in-375px")

    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Username").fill(admin.username)
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_text(f"Your organisation signs in through {PROVIDER}.")).to_be_visible()
    check_a11y(page)
