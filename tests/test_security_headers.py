"""Headers every answer carries: a Content-Security-Policy that refuses inline and eval'd
script, and no caching of what a signed-in person sees."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from customers.services import api_token_create

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.BASE_DIR) / "templates"
STATIC_JS = Path(settings.BASE_DIR) / "static" / "js"


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    parsed = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def test_pages_refuse_inline_and_evaluated_script(client, owner_client, product):
    for response in (
        client.get(reverse("login")),
        owner_client.get(reverse("backlog:product_backlog", args=[product.pk])),
    ):
        policy = directives(response)
        script = policy["script-src"]
        assert "'self'" in script
        assert "'unsafe-inline'" not in script
        assert "'unsafe-eval'" not in script
        assert "'unsafe-inline'" not in policy["style-src"]
        assert policy["object-src"] == ["'none'"]
        assert policy["frame-ancestors"] == ["'none'"]
        assert policy["base-uri"] == ["'self'"]


def test_no_template_has_inline_script_event_handlers_or_evaluated_htmx():
    """The policy would block them: a script must be a file, or carry the nonce."""
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        html = path.read_text()
        for tag in re.findall(r"<script\b[^>]*>", html):
            if "src=" not in tag and "nonce=" not in tag and "application/json" not in tag:
                offenders.append(f"{path.name}: inline {tag}")
        for attribute in re.findall(r"\s(on[a-z]+|hx-on[:\w-]*|hx-vars)\s*=", html):
            offenders.append(f"{path.name}: {attribute}=")
        if re.search(r"hx-vals\s*=\s*['\"]\s*(js|javascript):", html):
            offenders.append(f"{path.name}: hx-vals js:")
    assert not offenders, "\n".join(offenders)


def test_htmx_is_told_not_to_inject_styles_or_evaluate_code(client):
    html = client.get(reverse("login")).content.decode()
    config = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'', html)
    assert config
    assert '"includeIndicatorStyles": false' in config.group(1)
    assert '"allowEval": false' in config.group(1)
    css = (Path(settings.BASE_DIR) / "static" / "css" / "app.css").read_text()
    assert ".htmx-indicator" in css


def test_our_scripts_do_not_evaluate_strings():
    for path in STATIC_JS.glob("*.js"):
        source = path.read_text()
        assert not re.search(r"\beval\(|new Function\(|setTimeout\(\s*['\"]", source), path.name


def test_signed_in_pages_are_not_stored_by_any_cache(owner_client, product):
    for url in (
        reverse("backlog:home"),
        reverse("backlog:product_backlog", args=[product.pk]),
        reverse("accounts:profile"),
        reverse("api:product_list"),
    ):
        response = owner_client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url


def test_a_token_authenticated_api_answer_is_not_stored(owner, product, client):
    _, secret = api_token_create(user=owner, name="Script")
    response = client.get(reverse("api:product_list"), HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_a_view_that_sets_its_own_cache_rules_keeps_them(client):
    # The sign-in page sets its own (never_cache); the no-store rule leaves them alone.
    response = client.get(reverse("login"))
    assert response["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"
