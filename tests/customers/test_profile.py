"""The profile page: who you are, and your personal API tokens (create, shown once, revoke)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from customers.models import ApiToken, Membership
from customers.services import api_token_create
from tests.conftest import HTMX, client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PROFILE = "accounts:profile"
DETAILS = "accounts:profile_details"
NOTIFICATIONS = "accounts:profile_notifications"
PASSWORD = "accounts:password_change"


def new_token_secret(html: str) -> str:
    match = re.search(r'id="new-token"[^>]*value="([^"]+)"', html)
    assert match, "the new token is not on the page"
    return match.group(1)


def test_anonymous_visitors_are_sent_to_sign_in(client):
    for url, method in [
        (reverse(PROFILE), client.get),
        (reverse("accounts:api_token_create"), client.post),
        (reverse("accounts:api_token_revoke", args=[1]), client.post),
        (reverse(DETAILS), client.post),
        (reverse(NOTIFICATIONS), client.post),
        (reverse(PASSWORD), client.post),
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


# ---------------------------------------------------------------- name and e-mail address


def details(**overrides) -> dict:
    return {
        "first_name": "Sam",
        "last_name": "Owens",
        "email": "sam@riverside.example",
        **overrides,
    }


def test_the_profile_shows_each_form_and_the_cohort_read_only(owner, cohorts):
    Membership.objects.filter(user=owner).update(cohort=cohorts["Citizens"])
    html = client_for(owner).get(reverse(PROFILE)).content.decode()
    for url in (DETAILS, NOTIFICATIONS, PASSWORD):
        assert f'action="{reverse(url)}"' in html
    assert "You speak for" in html and "Citizens" in html
    assert "An organisation admin changes it on the members page." in html
    assert 'name="cohort"' not in html
    assert "autofocus" not in html  # several forms: the cursor stays where the person puts it


def test_saving_name_and_e_mail(owner):
    client = client_for(owner)
    response = client.post(reverse(DETAILS), details(email="Sam@Riverside.EXAMPLE"))
    assert response.status_code == 302 and response.url == reverse(PROFILE)
    owner.refresh_from_db()
    assert (owner.first_name, owner.last_name) == ("Sam", "Owens")
    assert owner.email == "Sam@riverside.example"  # the domain is not case-sensitive
    assert "Saved your name and e-mail address." in client.get(reverse(PROFILE)).content.decode()


def test_the_cohort_cannot_be_changed_from_the_profile(owner, cohorts):
    client_for(owner).post(reverse(DETAILS), {**details(), "cohort": cohorts["Leaders"].pk})
    assert Membership.objects.get(user=owner).cohort is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (details(email=""), "Enter your e-mail address."),
        (details(email="not an address"), "Enter an e-mail address like"),
        (details(email="a@" + "b" * 260 + ".example"), "E-mail address"),
        (details(first_name="", last_name=" "), "Enter your first name or your last name"),
        (details(first_name="x" * 151), "First name"),
    ],
)
def test_bad_details_are_refused_with_a_message_and_nothing_saved(owner, data, message):
    before = (owner.first_name, owner.last_name, owner.email)
    response = client_for(owner).post(reverse(DETAILS), data)
    assert response.status_code == 422
    html = response.content.decode()
    assert "There is a problem" in html and message in html
    owner.refresh_from_db()
    assert (owner.first_name, owner.last_name, owner.email) == before


def test_an_e_mail_address_another_account_uses_is_refused_whatever_its_case(owner, outsider):
    outsider.email = "taken@elsewhere.example"
    outsider.save()
    response = client_for(owner).post(reverse(DETAILS), details(email="TAKEN@elsewhere.example"))
    assert response.status_code == 422
    assert "Another account already uses this e-mail address." in response.content.decode()
    owner.refresh_from_db()
    assert owner.email == "" and owner.first_name != "Sam"


def test_keeping_ones_own_address_is_fine(owner):
    owner.email = "me@riverside.example"
    owner.save()
    response = client_for(owner).post(reverse(DETAILS), details(email="me@riverside.example"))
    assert response.status_code == 302


def test_the_service_refuses_a_taken_address_too(owner, viewer):
    from django.core.exceptions import ValidationError

    from customers.profile import profile_update

    viewer.email = "v@riverside.example"
    viewer.save()
    with pytest.raises(ValidationError):
        profile_update(user=owner, first_name="A", last_name="B", email="V@riverside.example")


# ---------------------------------------------------------------- notification choices

ALL_CHOICES = ["notify_round_opened", "notify_round_closing", "notify_go_live", "notify_digest"]


def test_unticked_notifications_are_switched_off_and_shown_so(owner):
    client = client_for(owner)
    response = client.post(
        reverse(NOTIFICATIONS), {"notify_round_opened": "on", "notify_digest": "on"}
    )
    assert response.status_code == 302
    membership = Membership.objects.get(user=owner)
    assert membership.notify_round_opened and membership.notify_digest
    assert not membership.notify_round_closing and not membership.notify_go_live
    html = client.get(reverse(PROFILE)).content.decode()
    assert "you get 2 of the 4 kinds of e-mail" in html
    assert re.search(r'name="notify_round_opened"[^>]*checked', html)
    assert not re.search(r'name="notify_go_live"[^>]*checked', html)


def test_switching_every_notification_off_and_on_again(owner):
    client = client_for(owner)
    client.post(reverse(NOTIFICATIONS), {})
    membership = Membership.objects.get(user=owner)
    assert not any(getattr(membership, name) for name in ALL_CHOICES)
    client.post(reverse(NOTIFICATIONS), dict.fromkeys(ALL_CHOICES, "on"))
    assert "you get every kind of e-mail" in client.get(reverse(PROFILE)).content.decode()


def test_notification_choices_change_only_ones_own_membership(owner, viewer):
    client_for(owner).post(reverse(NOTIFICATIONS), {})
    assert Membership.objects.get(user=viewer).notify_digest is True


def test_someone_in_no_organisation_has_no_notification_choices(db):
    operator = UserFactory(is_staff=True, is_superuser=True)
    client = client_for(operator)
    html = client.get(reverse(PROFILE)).content.decode()
    assert f'action="{reverse(NOTIFICATIONS)}"' not in html
    assert client.post(reverse(NOTIFICATIONS), {}).status_code == 404


# ---------------------------------------------------------------- password


def passwords(old="pw", new="a-Longer-passphrase-42", again=None) -> dict:
    return {"old_password": old, "new_password1": new, "new_password2": again or new}


def test_changing_the_password_keeps_one_signed_in(owner):
    client = client_for(owner)
    response = client.post(reverse(PASSWORD), passwords())
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password("a-Longer-passphrase-42")
    page = client.get(reverse(PROFILE))
    assert page.status_code == 200  # still signed in
    assert "Changed your password." in page.content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (passwords(old="wrong"), "Your old password was entered incorrectly."),
        (passwords(again="something-else-42"), "The two password fields didn"),
        (passwords(new="short"), "This password is too short."),
        (passwords(new=""), "This field is required."),
    ],
)
def test_a_bad_password_change_is_refused_with_a_message(owner, data, message):
    response = client_for(owner).post(reverse(PASSWORD), data)
    assert response.status_code == 422
    assert message in response.content.decode()
    owner.refresh_from_db()
    assert owner.check_password("pw")


def test_someone_who_signs_in_through_single_sign_on_has_no_password_form(owner):
    owner.set_unusable_password()
    owner.save()
    client = client_for(owner)
    html = client.get(reverse(PROFILE)).content.decode()
    assert "no password here to change" in html
    assert f'action="{reverse(PASSWORD)}"' not in html
    response = client.post(reverse(PASSWORD), passwords())
    assert response.status_code == 302
    owner.refresh_from_db()
    assert not owner.has_usable_password()
