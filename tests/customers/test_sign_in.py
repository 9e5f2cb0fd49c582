"""Sign-in: throttling of wrong passwords (django-axes), on the form and the API, and the
limits on a session (30 minutes idle, 12 hours in all, a new key at sign-in)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from customers.middleware import SIGNED_IN_AT
from customers.services import api_token_create

pytestmark = pytest.mark.django_db

LIMIT = settings.AXES_FAILURE_LIMIT
ATTACKER = "198.51.100.7"
COLLEAGUE = "203.0.113.20"


def sign_in(username: str, password: str, address: str = ATTACKER, **headers):
    client = Client(REMOTE_ADDR=address, **headers)
    response = client.post(reverse("login"), {"username": username, "password": password})
    return client, response


def signed_in(response) -> bool:
    return response.status_code == 302 and response.url == reverse("backlog:home")


def test_the_settings_lock_out_after_five_failures_for_fifteen_minutes():
    assert settings.AXES_ENABLED
    assert LIMIT == 5
    assert timedelta(minutes=15) == settings.AXES_COOLOFF_TIME
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"


def test_the_right_password_signs_in(owner):
    client, response = sign_in(owner.username, "pw")
    assert signed_in(response)
    assert client.get(reverse("backlog:home")).status_code == 200


def test_a_wrong_password_is_a_form_error_until_the_limit(owner):
    for _ in range(LIMIT - 1):
        _, response = sign_in(owner.username, "wrong")
        assert response.status_code == 200
        assert "did not match" in response.content.decode()
    _, response = sign_in(owner.username, "pw")
    assert signed_in(response)


def test_repeated_wrong_passwords_lock_the_account_even_against_the_right_one(owner):
    for _ in range(LIMIT):
        sign_in(owner.username, "wrong")
    _, response = sign_in(owner.username, "pw")
    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many failed sign-in attempts" in html
    assert "15 minutes" in html
    # Our own page, in the site's layout, not a bare text answer.
    assert "Skip to main content" in html
    assert "<h1>Sign in</h1>" in html


def test_a_locked_username_is_locked_from_any_address(owner):
    for attempt in range(LIMIT):
        sign_in(owner.username, "wrong", address=f"192.0.2.{attempt + 1}")
    _, response = sign_in(owner.username, "pw", address=COLLEAGUE)
    assert response.status_code == 429


def test_failures_from_one_address_lock_that_address_for_every_username(owner, viewer):
    for attempt in range(LIMIT):
        sign_in(f"guess{attempt}", "wrong")
    _, response = sign_in(viewer.username, "pw")
    assert response.status_code == 429
    _, response = sign_in(owner.username, "pw", address=COLLEAGUE)
    assert signed_in(response)


def test_the_lockout_ends_after_the_cool_off(owner):
    for _ in range(LIMIT):
        sign_in(owner.username, "wrong")
    assert sign_in(owner.username, "pw")[1].status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert signed_in(sign_in(owner.username, "pw")[1])


def test_attempts_during_a_lockout_do_not_prolong_it(owner):
    for _ in range(LIMIT):
        sign_in(owner.username, "wrong")
    locked_at = AccessAttempt.objects.get().attempt_time
    for _ in range(3):
        sign_in(owner.username, "wrong")
    assert AccessAttempt.objects.get().attempt_time == locked_at


def test_a_forged_forwarded_for_header_does_not_escape_the_address_lockout(owner):
    for attempt in range(LIMIT):
        sign_in(f"guess{attempt}", "wrong", HTTP_X_FORWARDED_FOR=f"10.9.9.{attempt}")
    _, response = sign_in(owner.username, "pw", HTTP_X_FORWARDED_FOR="10.9.9.99")
    assert response.status_code == 429


def test_behind_the_trusted_proxy_each_client_address_counts_on_its_own(owner):
    proxy = settings.FORWARDED_ALLOW_IPS[0]
    for attempt in range(LIMIT):
        sign_in(f"guess{attempt}", "wrong", address=proxy, HTTP_X_FORWARDED_FOR=ATTACKER)
    _, response = sign_in(owner.username, "pw", address=proxy, HTTP_X_FORWARDED_FOR=ATTACKER)
    assert response.status_code == 429
    _, response = sign_in(owner.username, "pw", address=proxy, HTTP_X_FORWARDED_FOR=COLLEAGUE)
    assert signed_in(response)


@pytest.mark.parametrize(
    "data",
    [
        {"username": "a\x00b", "password": "pw"},
        {"username": "owner", "password": "p\x00w"},
        {"username": "x" * 10_000, "password": "pw"},
        {"username": "", "password": ""},
        {},
    ],
)
def test_hostile_sign_in_input_is_a_form_error_not_a_500(data):
    response = Client(REMOTE_ADDR=ATTACKER).post(reverse("login"), data)
    assert response.status_code in {200, 400}


# ---------------------------------------------------------------- the API


def test_bad_tokens_from_one_address_lock_that_address_out_of_the_api(owner, product):
    _, secret = api_token_create(user=owner, name="Script")
    url = reverse("api:product_list")
    attacker = Client(REMOTE_ADDR=ATTACKER)
    for attempt in range(LIMIT - 1):
        bad = attacker.get(url, HTTP_AUTHORIZATION=f"Bearer bb_{attempt:012d}_guess")
        assert bad.status_code == 401
    last = attacker.get(url, HTTP_AUTHORIZATION="Bearer bb_999999999999_guess")
    assert last.status_code == 429
    assert "Too many failed sign-in attempts" in last.json()["detail"]
    locked = attacker.get(url, HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert locked.status_code == 429
    assert "Too many failed sign-in attempts" in locked.json()["detail"]
    elsewhere = Client(REMOTE_ADDR=COLLEAGUE, HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert elsewhere.get(url).status_code == 200


def test_an_address_locked_on_the_sign_in_form_is_locked_on_the_api(owner, product):
    _, secret = api_token_create(user=owner, name="Script")
    for attempt in range(LIMIT):
        sign_in(f"guess{attempt}", "wrong")
    response = Client(REMOTE_ADDR=ATTACKER).get(
        reverse("api:product_list"), HTTP_AUTHORIZATION=f"Bearer {secret}"
    )
    assert response.status_code == 429


# ---------------------------------------------------------------- sessions


def session_row(client) -> Session:
    return Session.objects.get(session_key=client.cookies[settings.SESSION_COOKIE_NAME].value)


def test_sign_in_starts_a_new_session_key(owner):
    client = Client()
    client.get(reverse("login"))
    client.session["before"] = True  # an anonymous session exists before signing in
    session = client.session
    session["visited"] = True
    session.save()
    before = session.session_key
    response = client.post(reverse("login"), {"username": owner.username, "password": "pw"})
    assert signed_in(response)
    assert client.cookies[settings.SESSION_COOKIE_NAME].value != before
    assert not Session.objects.filter(session_key=before).exists()


def test_a_session_lasts_thirty_minutes_from_the_last_activity(owner):
    client, response = sign_in(owner.username, "pw")
    assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 30 * 60
    expires = session_row(client).expire_date
    assert timedelta(minutes=29) < expires - timezone.now() <= timedelta(minutes=30)


def test_activity_renews_the_idle_limit(owner):
    client, _ = sign_in(owner.username, "pw")
    client.get(reverse("backlog:home"))
    # 29 minutes idle: one minute left; the next page view renews the full half hour.
    session = client.session
    session["renewed_at"] = int(time.time()) - 29 * 60
    session.save()
    Session.objects.filter(pk=session.session_key).update(
        expire_date=timezone.now() + timedelta(minutes=1)
    )
    assert client.get(reverse("backlog:home")).status_code == 200
    assert session_row(client).expire_date - timezone.now() > timedelta(minutes=29)


def test_an_idle_session_has_ended(owner):
    client, _ = sign_in(owner.username, "pw")
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get(reverse("backlog:home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_session_ends_twelve_hours_after_sign_in_however_active(owner, product):
    client, _ = sign_in(owner.username, "pw")
    assert client.get(reverse("backlog:home")).status_code == 200
    session = client.session
    assert abs(session[SIGNED_IN_AT] - time.time()) < 60
    session[SIGNED_IN_AT] = int(time.time()) - 12 * 3600 + 60  # a minute left
    session.save()
    assert client.get(reverse("backlog:home")).status_code == 200
    session = client.session
    session[SIGNED_IN_AT] = int(time.time()) - 12 * 3600 - 1
    session.save()
    response = client.get(reverse("backlog:home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    api = client.get(reverse("api:product_list"))
    assert api.status_code == 401
    page = client.get(response.url)
    assert "Your session has ended" in page.content.decode()
