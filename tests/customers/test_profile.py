"""The profile page: who you are, and your personal API tokens (create, shown once, revoke)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from customers.models import ApiToken
from customers.services import api_token_create
from tests.conftest import HTMX, client_for

pytestmark = pytest.mark.django_db

PROFILE = "accounts:profile"


def new_token_secret(html: str) -> str:
    match = re.search(r'id="new-token"[^>]*value="([^"]+)"', html)
    assert match, "the new token is not on the page"
    return match.group(1)


def test_anonymous_visitors_are_sent_to_sign_in(client):
    for url, method in [
        (reverse(PROFILE), client.get),
        (reverse("accounts:api_token_create"), client.post),
        (reverse("accounts:api_token_revoke", args=[1]), client.post),
    ]:
        response = method(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


def test_the_profile_shows_name_email_and_organisation(owner, organisation):
    owner.email = "sam@riverside.example"
    owner.save()
    page = client_for(owner).get(reverse(PROFILE))
    assert page.status_code == 200
    html = page.content.decode()
    assert owner.get_full_name() in html
    assert "sam@riverside.example" in html
    assert organisation.name in html


def test_every_page_links_to_the_profile_from_the_navigation(owner_client):
    home = owner_client.get(reverse("backlog:home")).content.decode()
    assert f'href="{reverse(PROFILE)}"' in home


def test_the_profile_lists_only_your_own_tokens(owner, viewer):
    api_token_create(user=owner, name="Owner's report script")
    api_token_create(user=viewer, name="Viewer's dashboard")
    html = client_for(owner).get(reverse(PROFILE)).content.decode()
    assert "Owner&#x27;s report script" in html
    assert "dashboard" not in html


def test_a_new_token_is_shown_once_and_works_on_the_api(owner, product):
    client = client_for(owner)
    response = client.post(
        reverse("accounts:api_token_create"), {"name": "Monthly report", "expires": "30"}
    )
    assert response.status_code == 201
    secret = new_token_secret(response.content.decode())
    token = ApiToken.objects.get(user=owner)
    assert token.name == "Monthly report"
    assert token.expires_at is not None
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get(reverse("api:product_items", args=[product.pk])).status_code == 200
    again = client.get(reverse(PROFILE)).content.decode()
    assert secret not in again
    assert "Monthly report" in again


def test_a_token_without_expiry_can_be_created(owner):
    client_for(owner).post(reverse("accounts:api_token_create"), {"name": "CI", "expires": "never"})
    assert ApiToken.objects.get(user=owner).expires_at is None


@pytest.mark.parametrize(
    "data",
    [
        {"name": "", "expires": "30"},
        {"name": "   ", "expires": "30"},
        {"name": "x" * 81, "expires": "30"},
        {"name": "Fine", "expires": "forever"},
        {"name": "Fine"},
    ],
)
def test_a_bad_token_form_is_refused_with_a_message_and_creates_nothing(owner, data):
    response = client_for(owner).post(reverse("accounts:api_token_create"), data)
    assert response.status_code == 422
    assert "There is a problem" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_a_bad_token_form_with_htmx_answers_the_section_with_the_message(owner):
    response = client_for(owner).post(
        reverse("accounts:api_token_create"), {"name": "", "expires": "30"}, **HTMX
    )
    assert response.status_code == 200
    assert "Enter a name for the token." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_creating_a_token_with_htmx_answers_the_tokens_section_only(owner):
    response = client_for(owner).post(
        reverse("accounts:api_token_create"), {"name": "Script", "expires": "90"}, **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 201
    assert html.lstrip().startswith('<section id="api-tokens"')
    assert "<html" not in html
    new_token_secret(html)


def test_revoking_a_token_stops_it_at_once(owner, product):
    token, secret = api_token_create(user=owner, name="Script")
    response = client_for(owner).post(reverse("accounts:api_token_revoke", args=[token.pk]))
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get(reverse("api:product_items", args=[product.pk])).status_code == 401


def test_revoking_with_htmx_answers_the_tokens_section_showing_it_revoked(owner):
    token, _ = api_token_create(user=owner, name="Script")
    response = client_for(owner).post(reverse("accounts:api_token_revoke", args=[token.pk]), **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert "Revoked" in html


def test_nobody_can_revoke_someone_elses_token(owner, viewer, outsider):
    token, _ = api_token_create(user=owner, name="Script")
    for other in (viewer, outsider):
        response = client_for(other).post(reverse("accounts:api_token_revoke", args=[token.pk]))
        assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_token_pages_refuse_the_wrong_method(owner_client):
    assert owner_client.get(reverse("accounts:api_token_create")).status_code == 405
    assert owner_client.post(reverse(PROFILE)).status_code == 405
