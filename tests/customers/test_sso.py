"""Single sign-on, end to end: the app talks over HTTP to an OpenID Connect provider run on
127.0.0.1 in a thread (tests/customers/oidc_provider.py), which signs real RS256 ID tokens.
The browser's part is played by the test client (our pages) and requests (the provider's
authorization endpoint, which signs the identity in at once and redirects back)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from customers.invitations import invitation_create
from customers.models import Invitation, Membership, OrganisationRole
from customers.services import organisation_create
from customers.sso import (
    SESSION_INVITATION,
    discovery_cache_key,
    organisation_set_password_sign_in,
)
from tests.customers.oidc_provider import CLIENT_ID, CLIENT_SECRET, start_provider, stop_provider

pytestmark = pytest.mark.django_db

User = get_user_model()
PROVIDER = "Test Entra ID"


@pytest.fixture
def provider():
    running = start_provider()
    yield running
    stop_provider(running)


@pytest.fixture
def sso(settings, provider):
    """Single sign-on configured against the provider, its endpoints found by discovery."""
    settings.OIDC_ISSUER = provider.issuer
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_PROVIDER_NAME = PROVIDER
    # A port used again by a later test must not find an earlier provider's document.
    cache.delete(discovery_cache_key(provider.issuer))
    return provider


def identity(email: str, *, verified=True, sub: str = "subject-1", **claims) -> dict:
    claims = {"sub": sub, "email": email, **claims}
    if verified is not None:
        claims["email_verified"] = verified
    return claims


def sso_sign_in(client: Client, provider, claims: dict, *, start_query: str = ""):
    """Press "Sign in with…", let the provider sign ``claims`` in, follow it back: the
    callback's response."""
    provider.identity = claims
    start = client.get(reverse("oidc_authentication_init") + start_query)
    assert start.status_code == 302, start
    assert start.url.startswith(provider.issuer + "/authorize?")
    asked = parse_qs(urlsplit(start.url).query)
    assert asked["client_id"] == [CLIENT_ID]
    assert asked["code_challenge_method"] == ["S256"]
    assert "nonce" in asked
    answer = requests.get(start.url, allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    back = urlsplit(answer.headers["Location"])
    assert back.path == reverse("oidc_authentication_callback")
    return client.get(f"{back.path}?{back.query}")


def signed_in_as(client: Client):
    return User.objects.filter(pk=client.session.get("_auth_user_id")).first()


def refusal(client: Client, response) -> str:
    """The sign-in page the refused person lands on, as text."""
    assert response.status_code == 302
    assert response.url == reverse("login")
    page = client.get(response.url)
    assert page.status_code == 200
    assert signed_in_as(client) is None
    return page.content.decode()


@pytest.fixture
def member(make_member, organisation):
    user = make_member()
    user.email = "Alex.Member@Riverside.example"
    user.save(update_fields=["email"])
    return user


# ---------------------------------------------------------------- configuration


def test_without_configuration_there_is_no_button_and_the_urls_are_not_found(client, provider):
    assert not django_settings.OIDC_ISSUER
    assert "Sign in with" not in client.get(reverse("login")).content.decode()
    assert client.get(reverse("oidc_authentication_init")).status_code == 404
    callback = client.get(reverse("oidc_authentication_callback") + "?code=x&state=y")
    assert callback.status_code == 404
    assert provider.calls == []


def test_when_configured_the_sign_in_page_offers_the_provider(client, sso):
    page = client.get(reverse("login") + "?next=/products/").content.decode()
    assert f"Sign in with {PROVIDER}" in page
    assert reverse("oidc_authentication_init") + "?next=/products/" in page
    # The button is a link, not a form posting off-site: CSP's form-action stays 'self'.
    response = client.get(reverse("login"))
    assert "form-action 'self'" in response["Content-Security-Policy"]


def test_the_backend_comes_after_django_axes_and_the_password_backend():
    backends = django_settings.AUTHENTICATION_BACKENDS
    assert backends[0] == "axes.backends.AxesStandaloneBackend"
    assert backends.index("customers.sso.SingleSignOnBackend") > backends.index(
        "django.contrib.auth.backends.ModelBackend"
    )


# ---------------------------------------------------------------- who comes in


def test_an_invited_address_signs_in_becomes_a_member_and_uses_the_invitation(
    client, sso, organisation, cohorts
):
    invitation, _ = invitation_create(
        organisation=organisation,
        email="new.colleague@riverside.example",
        role=OrganisationRole.ADMIN,
        cohort=cohorts["Colleagues"],
    )
    response = sso_sign_in(
        client,
        sso,
        identity("New.Colleague@riverside.example", given_name="Nia", family_name="Cole"),
    )
    assert response.status_code == 302
    assert response.url == reverse("backlog:home")
    user = signed_in_as(client)
    assert user.email == "New.Colleague@riverside.example"
    assert (user.first_name, user.last_name) == ("Nia", "Cole")
    assert not user.has_usable_password()
    membership = Membership.objects.get(user=user)
    assert membership.organisation == organisation
    assert membership.role == OrganisationRole.ADMIN
    assert membership.cohort == cohorts["Colleagues"]
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None
    assert invitation.accepted_by == user
    assert client.get(reverse("backlog:home")).status_code == 200
    # The token, userinfo and JWKS were all fetched from the provider.
    assert ("POST", "/token") in sso.calls
    assert ("GET", "/userinfo") in sso.calls
    assert ("GET", "/jwks") in sso.calls


def test_an_existing_member_signs_in_by_e_mail_whatever_its_case(client, sso, member):
    users_before = User.objects.count()
    response = sso_sign_in(client, sso, identity("alex.member@riverside.example"))
    assert response.url == reverse("backlog:home")
    assert signed_in_as(client) == member
    assert User.objects.count() == users_before


def test_the_next_page_is_kept_through_the_provider(client, sso, member):
    response = sso_sign_in(client, sso, identity(member.email), start_query="?next=/organisation/")
    assert response.url == "/organisation/"


def test_claims_come_from_the_id_token_when_the_provider_has_no_userinfo(client, sso, member):
    sso.with_userinfo = False
    response = sso_sign_in(client, sso, identity(member.email))
    assert response.url == reverse("backlog:home")
    assert signed_in_as(client) == member
    assert ("GET", "/userinfo") not in sso.calls


def test_several_invitations_to_one_address_use_the_one_chosen_on_its_page(
    client, sso, organisation, other_organisation
):
    invitation_create(organisation=organisation, email="both@example.gov.uk")
    chosen, _ = invitation_create(organisation=other_organisation, email="both@example.gov.uk")
    page = refusal(client, sso_sign_in(client, sso, identity("both@example.gov.uk")))
    assert "invitations from more than one organisation" in page
    assert not User.objects.filter(email__iexact="both@example.gov.uk").exists()

    session = client.session
    session[SESSION_INVITATION] = chosen.pk
    session.save()
    sso_sign_in(client, sso, identity("both@example.gov.uk"))
    assert signed_in_as(client).membership.organisation == other_organisation
    assert SESSION_INVITATION not in client.session


# ---------------------------------------------------------------- who does not


def assert_nothing_created(users_before: int, invitation: Invitation | None = None) -> None:
    assert User.objects.count() == users_before
    if invitation is not None:
        invitation.refresh_from_db()
        assert invitation.accepted_at is None


@pytest.fixture
def invitation(organisation):
    invitation, _ = invitation_create(organisation=organisation, email="invited@riverside.example")
    return invitation


def test_a_token_for_another_audience_is_refused(client, sso, invitation):
    users_before = User.objects.count()
    sso.audience = "some-other-app"
    page = refusal(client, sso_sign_in(client, sso, identity(invitation.email)))
    assert "Single sign-on did not complete" in page
    assert_nothing_created(users_before, invitation)


def test_an_expired_token_is_refused(client, sso, invitation):
    users_before = User.objects.count()
    sso.expires_in = -300  # expired five minutes ago: beyond the minute of clock skew
    page = refusal(client, sso_sign_in(client, sso, identity(invitation.email)))
    assert "Single sign-on did not complete" in page
    assert_nothing_created(users_before, invitation)


def test_a_token_from_another_issuer_is_refused(client, sso, invitation):
    users_before = User.objects.count()
    sso.issuer_in_token = "https://login.example.net/someone-else/v2.0"
    refusal(client, sso_sign_in(client, sso, identity(invitation.email)))
    assert_nothing_created(users_before, invitation)


def test_a_token_signed_with_another_key_is_refused(client, sso, member):
    sso.sign_with_other_key = True
    page = refusal(client, sso_sign_in(client, sso, identity(member.email)))
    assert "Single sign-on did not complete" in page


def test_an_unknown_address_is_refused_and_nothing_is_created(client, sso, organisation):
    users_before = User.objects.count()
    page = refusal(client, sso_sign_in(client, sso, identity("stranger@example.com")))
    assert "No invitation for this e-mail address (stranger@example.com)" in page
    assert_nothing_created(users_before)
    assert not Membership.objects.filter(user__email="stranger@example.com").exists()


@pytest.mark.parametrize("verified", [False, "false", None])
def test_an_unverified_address_is_refused_even_with_an_invitation(
    client, sso, invitation, verified
):
    users_before = User.objects.count()
    page = refusal(client, sso_sign_in(client, sso, identity(invitation.email, verified=verified)))
    assert f"{PROVIDER} did not confirm your e-mail address" in page
    assert_nothing_created(users_before, invitation)


def test_an_expired_or_revoked_invitation_admits_nobody(client, sso, organisation):
    expired, _ = invitation_create(organisation=organisation, email="late@riverside.example")
    Invitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    revoked, _ = invitation_create(organisation=organisation, email="gone@riverside.example")
    Invitation.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
    users_before = User.objects.count()
    for email in ("late@riverside.example", "gone@riverside.example"):
        page = refusal(client, sso_sign_in(client, sso, identity(email)))
        assert "No invitation for this e-mail address" in page
    assert_nothing_created(users_before)


def test_a_deactivated_member_is_refused(client, sso, member, organisation):
    Membership.objects.filter(user=member).update(deactivated_at=timezone.now())
    User.objects.filter(pk=member.pk).update(is_active=False)
    page = refusal(client, sso_sign_in(client, sso, identity(member.email)))
    assert f"Your membership of {organisation.name} has been deactivated" in page


def test_a_deactivated_members_open_session_ends(client, sso, member):
    sso_sign_in(client, sso, identity(member.email))
    assert client.get(reverse("backlog:home")).status_code == 200
    Membership.objects.filter(user=member).update(deactivated_at=timezone.now())
    User.objects.filter(pk=member.pk).update(is_active=False)
    response = client.get(reverse("backlog:home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_callback_this_browser_did_not_start_goes_back_to_sign_in(client, sso, member):
    client.get(reverse("oidc_authentication_init"))  # a state of its own in the session
    response = client.get(reverse("oidc_authentication_callback") + "?code=forged&state=forged")
    assert "Single sign-on did not complete" in refusal(client, response)
    response = Client().get(reverse("oidc_authentication_callback") + "?code=x&state=y")
    assert response.status_code == 302
    assert ("POST", "/token") not in sso.calls


def test_the_provider_saying_no_goes_back_to_sign_in(client, sso):
    response = client.get(reverse("oidc_authentication_callback") + "?error=access_denied")
    assert "Single sign-on did not complete" in refusal(client, response)


def test_an_unreachable_provider_is_a_message_not_an_error(client, settings, sso):
    settings.OIDC_ISSUER = "http://127.0.0.1:9/nobody-here"
    response = client.get(reverse("oidc_authentication_init"))
    assert response.status_code == 302
    assert "we could not reach" in client.get(response.url).content.decode()


def test_a_password_sign_in_never_exchanges_a_code_from_its_query_string(client, sso, member):
    response = client.post(
        reverse("login") + "?code=abc&state=def", {"username": member.username, "password": "pw"}
    )
    assert response.status_code == 302
    assert ("POST", "/token") not in sso.calls


def test_django_axes_locks_single_sign_on_out_from_a_locked_address(client, sso, member):
    for attempt in range(django_settings.AXES_FAILURE_LIMIT):
        Client().post(reverse("login"), {"username": f"guess{attempt}", "password": "wrong"})
    response = sso_sign_in(client, sso, identity(member.email))
    assert response.status_code == 429
    assert signed_in_as(client) is None


# ---------------------------------------------------------------- password sign-in off


def password_sign_in(username: str, password: str):
    return Client().post(reverse("login"), {"username": username, "password": password})


def test_password_sign_in_off_refuses_the_right_password_and_points_to_the_provider(
    sso, member, organisation
):
    organisation_set_password_sign_in(organisation=organisation, enabled=False)
    response = password_sign_in(member.username, "pw")
    assert response.status_code == 200
    page = response.content.decode()
    assert f"Your organisation signs in through {PROVIDER}." in page
    assert f"Sign in with {PROVIDER}" in page
    assert "_auth_user_id" not in response.wsgi_request.session


def test_password_sign_in_off_tells_a_wrong_password_nothing_more(sso, member, organisation):
    organisation_set_password_sign_in(organisation=organisation, enabled=False)
    for username in (member.username, "nobody-at-all"):
        page = password_sign_in(username, "wrong").content.decode()
        assert "did not match" in page
        assert "signs in through" not in page


def test_password_sign_in_off_leaves_single_sign_on_and_other_organisations_alone(
    client, sso, member, organisation, outsider
):
    organisation_set_password_sign_in(organisation=organisation, enabled=False)
    assert password_sign_in(outsider.username, "pw").status_code == 302
    sso_sign_in(client, sso, identity(member.email))
    assert signed_in_as(client) == member


def test_password_sign_in_cannot_be_switched_off_without_single_sign_on(organisation):
    with pytest.raises(ValidationError):
        organisation_set_password_sign_in(organisation=organisation, enabled=False)
    organisation.refresh_from_db()
    assert organisation.password_sign_in


def test_when_single_sign_on_is_gone_the_refusal_says_to_ask_an_administrator(member):
    organisation = organisation_create(name="Off Council", slug="off")
    Membership.objects.filter(user=member).update(organisation=organisation)
    type(organisation).objects.filter(pk=organisation.pk).update(password_sign_in=False)
    page = password_sign_in(member.username, "pw").content.decode()
    assert "single sign-on is not set up here" in page


# ---------------------------------------------------------------- the invitation page


def test_the_invitation_page_offers_single_sign_on_and_it_accepts_that_invitation(
    client, sso, organisation, other_organisation
):
    invitation_create(organisation=organisation, email="both@example.gov.uk")
    chosen, raw = invitation_create(organisation=other_organisation, email="both@example.gov.uk")
    page = client.get(reverse("customers:invitation_accept", kwargs={"key": raw}))
    assert f"Sign in with {PROVIDER}" in page.content.decode()
    response = sso_sign_in(client, sso, identity("both@example.gov.uk"))
    assert response.url == reverse("backlog:home")
    assert signed_in_as(client).membership.organisation == other_organisation
    chosen.refresh_from_db()
    assert chosen.accepted_at is not None


def test_single_sign_on_from_an_invitation_page_for_another_address_admits_nobody(
    client, sso, invitation
):
    _, raw = invitation_create(organisation=invitation.organisation, email="a@riverside.example")
    client.get(reverse("customers:invitation_accept", kwargs={"key": raw}))
    users_before = User.objects.count()
    page = refusal(client, sso_sign_in(client, sso, identity("b@riverside.example")))
    assert "No invitation for this e-mail address (b@riverside.example)" in page
    assert_nothing_created(users_before)


# ---------------------------------------------------------------- the members page's switch


@pytest.fixture
def admin(make_member):
    user = make_member(admin=True)
    user.email = "admin@riverside.example"
    user.save(update_fields=["email"])
    return user


def switch(client: Client, value: str):
    return client.post(reverse("customers:password_sign_in"), {"password_sign_in": value})


def test_an_admin_signed_in_through_the_provider_switches_password_sign_in_off_and_on(
    client, sso, admin, organisation
):
    sso_sign_in(client, sso, identity(admin.email))
    page = client.get(reverse("customers:member_list")).content.decode()
    assert "Switch password sign-in off" in page
    response = switch(client, "off")
    assert response.status_code == 302
    assert response.url == reverse("customers:member_list")
    organisation.refresh_from_db()
    assert not organisation.password_sign_in
    page = client.get(response.url).content.decode()
    assert f"Password sign-in is off: members sign in through {PROVIDER}." in page
    switch(client, "on")
    organisation.refresh_from_db()
    assert organisation.password_sign_in


def test_an_admin_signed_in_with_a_password_cannot_switch_it_off(sso, admin, organisation):
    client = Client()
    client.post(reverse("login"), {"username": admin.username, "password": "pw"})
    page = client.get(switch(client, "off").url).content.decode()
    assert f"Sign in through {PROVIDER} first" in page
    organisation.refresh_from_db()
    assert organisation.password_sign_in


def test_without_single_sign_on_the_switch_is_not_offered_and_refuses(admin, organisation):
    client = Client()
    client.force_login(admin)
    assert (
        "Switch password sign-in off"
        not in client.get(reverse("customers:member_list")).content.decode()
    )
    switch(client, "off")
    organisation.refresh_from_db()
    assert organisation.password_sign_in


def test_only_admins_switch_password_sign_in(client, sso, member, organisation):
    assert switch(Client(), "on").url.startswith(reverse("login"))
    sso_sign_in(client, sso, identity(member.email))
    assert switch(client, "off").status_code == 403
    organisation.refresh_from_db()
    assert organisation.password_sign_in


def test_a_bad_switch_value_is_a_message_and_changes_nothing(client, sso, admin, organisation):
    sso_sign_in(client, sso, identity(admin.email))
    for value in ("", "maybe", "\x00"):
        response = switch(client, value)
        assert response.status_code in {302, 400}
    organisation.refresh_from_db()
    assert organisation.password_sign_in


def test_the_verified_claim_can_be_entra_ids_xms_edov(client, settings, sso, member):
    settings.OIDC_EMAIL_VERIFIED_CLAIM = "xms_edov"
    page = refusal(client, sso_sign_in(client, sso, identity(member.email)))
    assert "did not confirm your e-mail address" in page
    sso_sign_in(client, sso, identity(member.email, verified=None, xms_edov=True))
    assert signed_in_as(client) == member


def test_refused_single_sign_ons_count_towards_the_address_lockout(client, sso, organisation):
    for _ in range(django_settings.AXES_FAILURE_LIMIT - 1):
        refusal(client, sso_sign_in(client, sso, identity("stranger@example.com")))
    # The last failure allowed locks the address, as for passwords.
    assert sso_sign_in(client, sso, identity("stranger@example.com")).status_code == 429
    response = Client().post(reverse("login"), {"username": "anyone", "password": "pw"})
    assert response.status_code == 429


def test_a_userinfo_answer_about_another_subject_is_refused(client, sso, member):
    sso.userinfo_sub = "someone-else"
    page = refusal(client, sso_sign_in(client, sso, identity(member.email)))
    assert "Single sign-on did not complete" in page


def test_explicit_endpoints_need_no_discovery_document(client, settings, sso, member):
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{sso.issuer}/authorize"
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{sso.issuer}/token"
    settings.OIDC_OP_USER_ENDPOINT = f"{sso.issuer}/userinfo"
    settings.OIDC_OP_JWKS_ENDPOINT = f"{sso.issuer}/jwks"
    sso_sign_in(client, sso, identity(member.email))
    assert signed_in_as(client) == member
    assert ("GET", "/.well-known/openid-configuration") not in sso.calls


def test_the_discovery_document_is_fetched_once_and_cached(client, sso, member):
    sso_sign_in(client, sso, identity(member.email))
    sso_sign_in(Client(), sso, identity(member.email))
    assert sso.calls.count(("GET", "/.well-known/openid-configuration")) == 1


def test_an_invitation_to_the_operators_address_never_hands_out_the_operators_account(
    client, sso, organisation
):
    operator = User.objects.create_superuser("operator", "ops@riverside.example", "pw")
    invitation, _ = invitation_create(organisation=organisation, email="ops@riverside.example")
    sso_sign_in(client, sso, identity("ops@riverside.example"))
    joined = signed_in_as(client)
    assert joined != operator
    assert not joined.is_staff and not joined.is_superuser
    assert joined.membership.organisation == organisation


def test_the_session_cookie_comes_back_with_the_providers_cross_site_redirect():
    # Strict would keep the session (and the sign-in's state) from the callback.
    assert django_settings.SESSION_COOKIE_SAMESITE == "Lax"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "javascript:x"])
def test_the_next_page_is_never_another_site(client, sso, member, target):
    response = sso_sign_in(client, sso, identity(member.email), start_query=f"?next={target}")
    assert response.url == reverse("backlog:home")
