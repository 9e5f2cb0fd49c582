"""Invitation links: single use, expire, revocable, a resend replaces the old link, a wrong
key reveals nothing, and nobody signed in can use one; the e-mail goes out once."""

from __future__ import annotations

import hashlib
import re
import threading
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from customers import invitations, members
from customers.models import (
    Invitation,
    Membership,
    NotificationKind,
    NotificationSent,
    OrganisationRole,
)
from customers.tasks import send_invitation
from outbox.models import OutboxMessage
from tests.conftest import client_for, require_postgresql

pytestmark = pytest.mark.django_db

BASE = "https://backlog.example.gov.uk"
PASSWORD = "a-long-Unusual-passphrase-42"


@pytest.fixture
def admin(make_member):
    return make_member(admin=True)


@pytest.fixture
def invite(organisation, admin, cohorts):
    def make(email="new.person@example.gov.uk", **kwargs):
        kwargs.setdefault("role", OrganisationRole.MEMBER)
        kwargs.setdefault("cohort", cohorts["Citizens"])
        return invitations.invitation_create(
            organisation=organisation, email=email, invited_by=admin, **kwargs
        )

    return make


def _url(raw: str) -> str:
    return reverse("customers:invitation_accept", kwargs={"key": raw})


def _accept_form(**overrides) -> dict:
    return {
        "first_name": "Nia",
        "last_name": "Okafor",
        "username": "nia",
        "password1": PASSWORD,
        "password2": PASSWORD,
        **overrides,
    }


def _neutral(body: str) -> str:
    """A page without what differs per response anyway (CSRF token, script nonce)."""
    return re.sub(r'(X-CSRFToken": "|nonce=")[^"]+', r"\1", body)


# ---------------------------------------------------------------- services


def test_only_the_hash_of_the_links_secret_is_stored(invite):
    invitation, raw = invite()
    invitation.refresh_from_db()
    assert invitation.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in str(Invitation.objects.filter(pk=invitation.pk).values().get())
    assert invitation.expires_at - invitation.sent_at == timedelta(days=7)


def test_the_secret_is_in_no_outbox_row(invite):
    invitation, raw = invite(base_url=BASE)
    message = OutboxMessage.objects.get(task=invitations.SEND_TASK)
    assert message.kwargs["invitation_id"] == invitation.pk
    assert raw not in str(message.kwargs)


def test_the_key_finds_the_invitation_and_a_wrong_key_finds_nothing(invite):
    invitation, raw = invite()
    assert invitations.invitation_for_key(raw=raw) == invitation
    for wrong in ["", "x", raw[:-1], raw + "0", raw.upper(), "a" * 5000]:
        assert invitations.invitation_for_key(raw=wrong) is None


def test_an_address_already_a_member_anywhere_is_refused(
    invite, make_member, other_organisation, organisation
):
    here = make_member()
    here.email = "here@example.gov.uk"
    here.save()
    there = make_member(org=other_organisation)
    there.email = "there@example.gov.uk"
    there.save()
    with pytest.raises(ValidationError, match="already a member of Riverside"):
        invite(email="HERE@example.gov.uk")
    with pytest.raises(ValidationError, match="another organisation") as refused:
        invite(email="there@example.gov.uk")
    assert other_organisation.name not in str(refused.value)
    assert not Invitation.objects.exists()


def test_a_second_invitation_to_the_same_address_revokes_the_first(invite):
    first, first_raw = invite(email="twice@example.gov.uk")
    second, second_raw = invite(email="Twice@EXAMPLE.gov.uk")
    first.refresh_from_db()
    assert first.revoked_at is not None and second.revoked_at is None
    assert invitations.invitation_for_key(raw=first_raw) is None
    assert invitations.invitation_for_key(raw=second_raw) == second


def test_accepting_makes_exactly_one_membership_with_the_invited_role_and_cohort(invite, cohorts):
    invitation, _raw = invite(role=OrganisationRole.ADMIN)
    user = get_user_model().objects.create_user("nia", email=invitation.email)
    membership = invitations.invitation_accept(invitation=invitation, user=user)
    assert (membership.role, membership.cohort) == (OrganisationRole.ADMIN, cohorts["Citizens"])
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None and invitation.accepted_by == user
    assert Membership.objects.filter(user=user).count() == 1


def test_a_link_is_single_use(invite):
    invitation, raw = invite()
    first = get_user_model().objects.create_user("first", email=invitation.email)
    second = get_user_model().objects.create_user("second", email=invitation.email)
    invitations.invitation_accept(invitation=invitation, user=first)
    with pytest.raises(ValidationError, match="no longer valid"):
        invitations.invitation_accept(invitation=invitation, user=second)
    assert invitations.invitation_for_key(raw=raw) is None
    assert not Membership.objects.filter(user=second).exists()


def test_an_expired_link_cannot_be_used(invite):
    invitation, raw = invite()
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    invitation.refresh_from_db()
    user = get_user_model().objects.create_user("late", email=invitation.email)
    assert invitations.invitation_for_key(raw=raw) is None
    with pytest.raises(ValidationError):
        invitations.invitation_accept(invitation=invitation, user=user)


def test_a_revoked_link_cannot_be_used(invite):
    invitation, raw = invite()
    invitations.invitation_revoke(invitation=invitation)
    user = get_user_model().objects.create_user("revoked", email=invitation.email)
    assert invitations.invitation_for_key(raw=raw) is None
    with pytest.raises(ValidationError):
        invitations.invitation_accept(invitation=invitation, user=user)


def test_a_resend_invalidates_the_old_link_and_gives_seven_more_days(invite):
    invitation, old_raw = invite()
    Invitation.objects.filter(pk=invitation.pk).update(
        sent_at=timezone.now() - timedelta(days=6), expires_at=timezone.now() + timedelta(days=1)
    )
    invitation.refresh_from_db()
    resent, new_raw = invitations.invitation_resend(invitation=invitation)
    assert new_raw != old_raw
    assert invitations.invitation_for_key(raw=old_raw) is None
    assert invitations.invitation_for_key(raw=new_raw) == invitation
    assert resent.expires_at > timezone.now() + timedelta(days=6, hours=23)


def test_an_accepted_invitation_can_be_neither_resent_nor_revoked(invite):
    invitation, _raw = invite()
    user = get_user_model().objects.create_user("done", email=invitation.email)
    invitations.invitation_accept(invitation=invitation, user=user)
    with pytest.raises(ValidationError, match="already been accepted"):
        invitations.invitation_resend(invitation=invitation)
    with pytest.raises(ValidationError, match="already been accepted"):
        invitations.invitation_revoke(invitation=invitation)


def test_a_member_of_another_organisation_cannot_accept(invite, make_member, other_organisation):
    invitation, _raw = invite()
    elsewhere = make_member(org=other_organisation)
    with pytest.raises(ValidationError, match="already a member"):
        invitations.invitation_accept(invitation=invitation, user=elsewhere)
    invitation.refresh_from_db()
    assert invitation.accepted_at is None
    assert elsewhere.membership.organisation == other_organisation


def test_someone_with_another_address_cannot_accept(invite):
    invitation, _raw = invite()
    user = get_user_model().objects.create_user("other", email="someone.else@example.gov.uk")
    with pytest.raises(ValidationError, match="another e-mail address"):
        invitations.invitation_accept(invitation=invitation, user=user)


# ---------------------------------------------------------------- the e-mail


def test_the_invitation_email_is_sent_once_after_commit_naming_organisation_and_inviter(
    invite, admin, django_capture_on_commit_callbacks
):
    admin.first_name, admin.last_name = "Ada", "Admin"
    admin.save()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        invitation, raw = invite(base_url=BASE)
    assert len(callbacks) == 1 and not mail.outbox
    message = OutboxMessage.objects.get(task=invitations.SEND_TASK)
    assert send_invitation(**message.kwargs) is True
    assert send_invitation(**message.kwargs) is False  # never twice
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == [invitation.email]
    assert "Riverside Test Council" in sent.subject
    link = BASE + _url(raw)
    assert link in sent.body and "Ada Admin" in sent.body and "expires on" in sent.body
    html = sent.alternatives[0][0]
    assert link in html and "Ada Admin" in html
    assert (
        NotificationSent.objects.filter(
            email=invitation.email, kind=NotificationKind.INVITED
        ).count()
        == 1
    )


def test_a_resend_sends_the_new_link_and_the_old_task_sends_nothing(invite):
    invitation, _old = invite(base_url=BASE)
    old_task = OutboxMessage.objects.get(task=invitations.SEND_TASK).kwargs
    _resent, new_raw = invitations.invitation_resend(invitation=invitation, base_url=BASE)
    new_task = OutboxMessage.objects.filter(task=invitations.SEND_TASK).latest("pk").kwargs
    assert send_invitation(**old_task) is False
    assert send_invitation(**new_task) is True
    assert len(mail.outbox) == 1 and BASE + _url(new_raw) in mail.outbox[0].body


def test_the_task_run_by_the_outbox_in_process_sends_it(
    invite, django_capture_on_commit_callbacks, settings
):
    from config.celery import app

    saved = app.conf.task_always_eager
    app.conf.task_always_eager = True  # no broker: the outbox runs the task after commit
    try:
        with django_capture_on_commit_callbacks(execute=True):
            invite(base_url=BASE)
    finally:
        app.conf.task_always_eager = saved
    assert len(mail.outbox) == 1
    assert OutboxMessage.objects.get(task=invitations.SEND_TASK).sent_at is not None


def test_without_a_request_the_site_url_setting_gives_the_links_address(invite, settings):
    invite()  # no address known: no e-mail can carry a working link
    assert not OutboxMessage.objects.filter(task=invitations.SEND_TASK).exists()
    settings.SITE_URL = BASE
    _invitation, raw = invite(email="other@example.gov.uk")
    task = OutboxMessage.objects.get(task=invitations.SEND_TASK).kwargs
    assert send_invitation(**task) is True
    assert BASE + _url(raw) in mail.outbox[0].body


def test_no_email_for_a_revoked_invitation(invite):
    invitation, _raw = invite(base_url=BASE)
    task = OutboxMessage.objects.get(task=invitations.SEND_TASK).kwargs
    invitations.invitation_revoke(invitation=invitation)
    assert send_invitation(**task) is False
    assert not mail.outbox


# ---------------------------------------------------------------- the accept page


def test_the_accept_page_names_the_organisation_and_suggests_a_username(client, invite):
    _invitation, raw = invite()
    response = client.get(_url(raw))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Join Riverside Test Council" in body
    assert response.context["form"]["username"].value() == "new.person"
    assert "no-store" in response["Cache-Control"]  # it names the organisation and address


def test_accepting_creates_one_user_and_membership_and_signs_in(client, invite, cohorts):
    invitation, raw = invite()
    users = get_user_model().objects.count()
    response = client.post(_url(raw), _accept_form())
    assert response.status_code == 302 and response.url == reverse("backlog:home")
    assert get_user_model().objects.count() == users + 1
    user = get_user_model().objects.get(username="nia")
    assert user.email == invitation.email and user.check_password(PASSWORD)
    membership = Membership.objects.get(user=user)
    assert (membership.organisation, membership.cohort) == (
        invitation.organisation,
        cohorts["Citizens"],
    )
    assert client.get(reverse("backlog:home")).status_code == 200  # signed in
    # The link is spent: the same neutral page as any wrong link, for everyone after.
    assert Client().get(_url(raw)).status_code == 404


def test_a_weak_or_mismatched_password_creates_nothing(client, invite):
    _invitation, raw = invite()
    users = get_user_model().objects.count()
    weak = client.post(_url(raw), _accept_form(password1="password", password2="password"))
    assert weak.status_code == 422 and "too common" in weak.content.decode()
    mismatch = client.post(_url(raw), _accept_form(password2=PASSWORD + "x"))
    assert mismatch.status_code == 422
    similar = client.post(
        _url(raw), _accept_form(password1="new.person.example", password2="new.person.example")
    )
    assert similar.status_code == 422 and "too similar" in similar.content.decode()
    assert get_user_model().objects.count() == users
    assert not Membership.objects.filter(user__username="nia").exists()


def test_a_taken_username_is_a_clear_error_and_creates_nothing(client, invite, admin):
    _invitation, raw = invite()
    users = get_user_model().objects.count()
    response = client.post(_url(raw), _accept_form(username=admin.username.upper()))
    assert response.status_code == 422
    assert "already exists" in response.content.decode()
    assert get_user_model().objects.count() == users
    assert invitations.invitation_for_key(raw=raw) is not None


def test_wrong_expired_used_and_revoked_links_get_the_same_page(client, invite):
    expired, expired_raw = invite(email="expired@example.gov.uk")
    Invitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    revoked, revoked_raw = invite(email="revoked@example.gov.uk")
    invitations.invitation_revoke(invitation=revoked)
    used, used_raw = invite(email="used@example.gov.uk")
    invitations.invitation_accept(
        invitation=used, user=get_user_model().objects.create_user("u", email=used.email)
    )
    bodies = set()
    for raw in ["not-a-key", "0" * 64, expired_raw, revoked_raw, used_raw]:
        for response in (client.get(_url(raw)), client.post(_url(raw), _accept_form())):
            assert response.status_code == 404
            bodies.add(_neutral(response.content.decode()))
    assert len(bodies) == 1
    assert "Riverside" not in bodies.pop()
    assert get_user_model().objects.filter(username="nia").count() == 0


def test_a_signed_in_member_of_another_organisation_is_refused_and_nothing_changes(
    invite, make_member, other_organisation
):
    invitation, raw = invite()
    elsewhere = make_member(org=other_organisation)
    client = client_for(elsewhere)
    for response in (client.get(_url(raw)), client.post(_url(raw), _accept_form())):
        assert response.status_code == 403
        body = response.content.decode()
        assert "already signed in" in body and "Riverside" not in body
    invitation.refresh_from_db()
    assert invitation.accepted_at is None
    assert elsewhere.membership.organisation == other_organisation
    assert not get_user_model().objects.filter(username="nia").exists()


def test_a_signed_in_member_gets_the_same_refusal_for_a_wrong_link(make_member):
    response = client_for(make_member()).get(_url("not-a-key"))
    assert response.status_code == 403


def test_with_password_sign_in_off_no_password_account_can_be_made(client, invite, organisation):
    organisation.password_sign_in = False
    organisation.save()
    _invitation, raw = invite()
    page = client.get(_url(raw))
    assert page.status_code == 200 and 'name="password1"' not in page.content.decode()
    assert client.post(_url(raw), _accept_form()).status_code == 404
    assert not get_user_model().objects.filter(username="nia").exists()


# ---------------------------------------------------------------- at the same moment


def _at_once(*calls) -> list[str]:
    start = threading.Barrier(len(calls))
    results: list[str] = []

    def run(call) -> None:
        try:
            start.wait()
            call()
            results.append("done")
        except ValidationError:
            results.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(results)


def _accept(invitation, username: str):
    return lambda: invitations.invitation_accept_with_password(
        invitation=invitation,
        username=username,
        first_name="Race",
        last_name=username,
        password=PASSWORD,
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_link_accepted_twice_at_once_makes_one_member(organisation):
    """Without the lock on the invitation both acceptances would see it unused."""
    require_postgresql()
    for attempt in range(3):
        invitation, _raw = invitations.invitation_create(
            organisation=organisation, email=f"race{attempt}@example.gov.uk"
        )
        results = _at_once(*(_accept(invitation, f"race{attempt}-{n}") for n in range(2)))
        assert results == ["done", "refused"]
        assert Membership.objects.filter(user__email=invitation.email).count() == 1
        # The loser's account was rolled back with its acceptance.
        assert get_user_model().objects.filter(email=invitation.email).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_admins_deactivating_each_other_at_once_leave_one_admin(organisation, make_member):
    """Without the organisation lock each would count the other as remaining."""
    require_postgresql()
    first, second = make_member(admin=True), make_member(admin=True)
    results = _at_once(
        lambda: members.membership_deactivate(membership=second.membership, actor=first),
        lambda: members.membership_deactivate(membership=first.membership, actor=second),
    )
    assert results == ["done", "refused"]
    assert (
        Membership.objects.filter(
            organisation=organisation, role="admin", deactivated_at__isnull=True
        ).count()
        == 1
    )
