"""Personal API tokens: the only way into the API besides the browser's session."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from backlog.models import ProductRoleKind
from customers.models import ApiToken
from customers.services import api_token_create, api_token_revoke
from tests.factories import BacklogItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def item(product):
    return BacklogItemFactory(product=product, title="Report a repair online")


def items_url(product) -> str:
    return reverse("api:product_items", args=[product.pk])


def bearer(secret: str, **extra) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}", **extra)


def assert_bearer_challenge(response) -> None:
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_token_acts_as_its_user(owner, product, item):
    _, secret = api_token_create(user=owner, name="Report script")
    response = bearer(secret).get(items_url(product))
    assert response.status_code == 200
    assert [row["title"] for row in response.json()["results"]] == ["Report a repair online"]


def test_a_token_is_stored_only_as_a_sha256_hash_with_a_short_public_prefix(owner):
    token, secret = api_token_create(user=owner, name="Report script")
    stored = ApiToken.objects.get(pk=token.pk)
    assert secret.startswith(f"bb_{stored.prefix}_")
    assert len(secret) > 40
    assert stored.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in {getattr(stored, f.attname) for f in ApiToken._meta.fields}


def test_http_basic_authentication_is_refused_with_a_bearer_challenge(owner, product, item):
    credentials = base64.b64encode(f"{owner.username}:pw".encode()).decode()
    response = Client(HTTP_AUTHORIZATION=f"Basic {credentials}").get(items_url(product))
    assert_bearer_challenge(response)


def test_a_request_without_credentials_gets_401_with_a_bearer_challenge(client, product):
    assert_bearer_challenge(client.get(items_url(product)))


@pytest.mark.parametrize(
    "header",
    [
        "Bearer bb_000000000000_not-a-real-secret",
        "Bearer not-even-our-format",
        "Bearer",
        "Bearer two parts",
        "Bearer bb_" + "9" * 500,
    ],
)
def test_an_unknown_or_malformed_token_gets_401_with_a_message(client, product, header):
    response = client.get(items_url(product), HTTP_AUTHORIZATION=header)
    assert_bearer_challenge(response)
    assert response.json()["detail"]


def test_a_right_prefix_with_a_wrong_secret_is_refused(owner, product):
    token, secret = api_token_create(user=owner, name="Script")
    forged = f"bb_{token.prefix}_{'A' * 43}"
    assert forged != secret
    assert_bearer_challenge(bearer(forged).get(items_url(product)))


def test_an_expired_token_is_refused(owner, product):
    _, secret = api_token_create(
        user=owner, name="Old", expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = bearer(secret).get(items_url(product))
    assert_bearer_challenge(response)
    assert "expired" in response.json()["detail"]


def test_a_token_works_until_its_expiry(owner, product):
    _, secret = api_token_create(
        user=owner, name="Soon", expires_at=timezone.now() + timedelta(minutes=5)
    )
    assert bearer(secret).get(items_url(product)).status_code == 200


def test_a_revoked_token_is_refused_from_the_next_request(owner, product):
    token, secret = api_token_create(user=owner, name="Script")
    client = bearer(secret)
    assert client.get(items_url(product)).status_code == 200
    api_token_revoke(user=owner, token_id=token.pk)
    response = client.get(items_url(product))
    assert_bearer_challenge(response)
    assert "revoked" in response.json()["detail"]


def test_a_deactivated_users_token_is_refused(owner, product):
    _, secret = api_token_create(user=owner, name="Script")
    owner.is_active = False
    owner.save()
    assert_bearer_challenge(bearer(secret).get(items_url(product)))


def test_a_token_carries_its_users_role_and_no_more(viewer, product, item):
    _, secret = api_token_create(user=viewer, name="Read only")
    client = bearer(secret)
    assert client.get(items_url(product)).status_code == 200
    response = client.post(
        items_url(product), {"title": "Sneaked in", "effort": "3"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert not product.items.filter(title="Sneaked in").exists()


def test_a_token_can_write_as_a_product_owner_without_csrf(owner, product):
    _, secret = api_token_create(user=owner, name="Importer")
    client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = client.post(
        items_url(product),
        {"title": "From a script", "effort": "3", "status": "idea"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert product.items.filter(title="From a script").exists()


def test_a_token_never_reaches_another_organisations_data(owner, other_product):
    BacklogItemFactory(product=other_product, title="Secret elsewhere item")
    _, secret = api_token_create(user=owner, name="Script")
    client = bearer(secret)
    assert client.get(items_url(other_product)).status_code == 404
    products = client.get(reverse("api:product_list")).json()["results"]
    assert other_product.pk not in [p["id"] for p in products]


def test_an_unknown_token_costs_one_indexed_lookup_and_no_user_or_password_check(client):
    """Basic auth hashed a password (PBKDF2, ~300 ms) for every request, even for unknown
    usernames; an unknown token is one lookup by its prefix."""
    url = reverse("api:product_list")
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, HTTP_AUTHORIZATION="Bearer bb_0123456789ab_" + "x" * 43)
    assert response.status_code == 401
    token_lookups = [q["sql"] for q in ctx.captured_queries if "customers_apitoken" in q["sql"]]
    assert len(token_lookups) == 1
    assert '"prefix" = ' in token_lookups[0]
    assert not [q for q in ctx.captured_queries if 'FROM "auth_user"' in q["sql"]]


def test_use_is_recorded_at_most_once_a_minute(owner, product):
    token, secret = api_token_create(user=owner, name="Script")
    client = bearer(secret)
    client.get(items_url(product))
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    with CaptureQueriesContext(connection) as ctx:
        client.get(items_url(product))
    assert not [q for q in ctx.captured_queries if q["sql"].startswith("UPDATE")]
    token.refresh_from_db()
    assert token.last_used_at == first


def test_revoking_needs_the_tokens_owner(owner, make_member, product):
    token, _ = api_token_create(user=owner, name="Script")
    stranger = make_member(product=product, roles=[ProductRoleKind.PRODUCT_OWNER])
    assert api_token_revoke(user=stranger, token_id=token.pk) is None
    token.refresh_from_db()
    assert token.revoked_at is None


def test_api_responses_to_a_token_are_not_stored_by_caches(owner, product):
    _, secret = api_token_create(user=owner, name="Script")
    response = bearer(secret).get(items_url(product))
    assert "no-store" in response["Cache-Control"]


# ---------------------------------------------------------------- the schema and the docs


def test_the_schema_describes_bearer_tokens_and_no_basic_auth(owner_client):
    schema = owner_client.get(reverse("api_schema"), {"format": "json"}).json()
    schemes = schema["components"]["securitySchemes"]
    token_schemes = [s for s in schemes.values() if s.get("scheme") == "bearer"]
    assert token_schemes and token_schemes[0]["type"] == "http"
    assert not [s for s in schemes.values() if s.get("scheme") == "basic"]
    operation = schema["paths"]["/api/v1/products/"]["get"]
    assert {"personalToken": []} in operation["security"]


def test_the_interactive_docs_are_served_from_our_own_static_files(owner_client):
    page = owner_client.get(reverse("api_docs"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    script = owner_client.get(reverse("api_docs"), {"script": ""})
    assert script.status_code == 200
    assert reverse("api_schema") in script.content.decode()
