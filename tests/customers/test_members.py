"""The members page: only organisation admins manage people, only their own organisation's;
invite, resend, revoke, change a role and cohort in place, deactivate and reactivate."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from backlog.models import ProductRoleKind
from customers import invitations, members
from customers.models import Invitation, Membership, OrganisationRole
from customers.services import ApiTokenRefused, api_token_authenticate, api_token_create
from prioritisation.models import Ballot
from prioritisation.services import ballot_submit
from tests.conftest import HTMX, client_for
from tests.factories import BacklogItemFactory, open_round

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(make_member):
    user = make_member(admin=True)
    user.first_name, user.last_name = "Ada", "Admin"
    user.save()
    return user


@pytest.fixture
def admin_client(admin):
    return client_for(admin)


@pytest.fixture
def colleague(make_member):
    user = make_member()
    user.email = "colleague@example.gov.uk"
    user.save()
    return user


def _invitation(organisation, admin, email="invitee@example.gov.uk"):
    invitation, _raw = invitations.invitation_create(
        organisation=organisation, email=email, invited_by=admin
    )
    return invitation


def _member_urls(membership: Membership) -> list[tuple[str, str]]:
    return [
        ("get", reverse("customers:member_edit", args=[membership.pk])),
        ("post", reverse("customers:member_edit", args=[membership.pk])),
        ("post", reverse("customers:member_deactivate", args=[membership.pk])),
        ("post", reverse("customers:member_reactivate", args=[membership.pk])),
    ]


def _signs_in(user, password: str) -> bool:
    response = Client().post(reverse("login"), {"username": user.username, "password": password})
    return response.status_code == 302


# ---------------------------------------------------------------- who may


def test_anonymous_is_sent_to_sign_in(client, colleague, organisation, admin):
    invitation = _invitation(organisation, admin)
    urls = [
        ("get", reverse("customers:member_list")),
        ("post", reverse("customers:invitation_create")),
        ("post", reverse("customers:invitation_resend", args=[invitation.pk])),
        ("post", reverse("customers:invitation_revoke", args=[invitation.pk])),
        *_member_urls(colleague.membership),
    ]
    for method, url in urls:
        response = getattr(client, method)(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login")), url


def test_a_member_who_is_not_an_admin_gets_403_and_nothing_changes(
    colleague, make_member, organisation, admin
):
    invitation = _invitation(organisation, admin)
    client = client_for(make_member())
    assert client.get(reverse("customers:member_list")).status_code == 403
    assert (
        client.post(
            reverse("customers:invitation_create"), {"email": "x@example.gov.uk", "role": "admin"}
        ).status_code
        == 403
    )
    for name in ("invitation_resend", "invitation_revoke"):
        assert client.post(reverse(f"customers:{name}", args=[invitation.pk])).status_code == 403
    for method, url in _member_urls(colleague.membership):
        assert (
            getattr(client, method)(
                url, *([{"role": "admin"}] if method == "post" else [])
            ).status_code
            == 403
        )
    colleague.refresh_from_db()
    invitation.refresh_from_db()
    assert colleague.membership.role == OrganisationRole.MEMBER and colleague.is_active
    assert invitation.revoked_at is None
    assert not Invitation.objects.filter(email="x@example.gov.uk").exists()


def test_an_admin_of_another_organisation_gets_404_for_our_people(
    colleague, make_member, other_organisation, organisation, admin
):
    invitation = _invitation(organisation, admin)
    client = client_for(make_member(org=other_organisation, admin=True))
    for name in ("invitation_resend", "invitation_revoke"):
        assert client.post(reverse(f"customers:{name}", args=[invitation.pk])).status_code == 404
    for method, url in _member_urls(colleague.membership):
        assert getattr(client, method)(url).status_code == 404
    page = client.get(reverse("customers:member_list"))
    assert page.status_code == 200
    assert colleague.email not in page.content.decode()
    assert invitation.email not in page.content.decode()


# ---------------------------------------------------------------- the page


def test_the_page_lists_members_with_role_cohort_job_title_and_status(
    admin_client, colleague, cohorts, organisation, admin
):
    Membership.objects.filter(user=colleague).update(
        cohort=cohorts["Leaders"], job_title="Head of Revenues"
    )
    _invitation(organisation, admin)
    body = admin_client.get(reverse("customers:member_list")).content.decode()
    for text in ("colleague@example.gov.uk", "Leaders", "Head of Revenues", "Active"):
        assert text in body
    assert "invitee@example.gov.uk" in body and "Resend" in body and "Revoke" in body
    assert 'href="/organisation/members/"' in body  # the navigation links to it


def test_the_member_list_runs_a_constant_number_of_queries(
    admin_client, make_member, cohorts, django_assert_max_num_queries, organisation, admin
):
    """Guards against an N+1 over members' users and cohorts, and invitations' inviters."""
    for n in range(40):
        make_member(cohort=cohorts["Citizens"])
        _invitation(organisation, admin, email=f"person{n}@example.gov.uk")
    with django_assert_max_num_queries(14):
        response = admin_client.get(reverse("customers:member_list"))
    assert response.status_code == 200
    assert len(response.context["people"]) == 41  # and the admin


def test_search_finds_a_member(admin_client, colleague):
    response = admin_client.get(reverse("customers:member_list"), {"q": "colleague@"})
    assert [m.user for m in response.context["people"]] == [colleague]


# ---------------------------------------------------------------- invite, resend, revoke


def test_an_admin_invites_someone_and_the_page_shows_it(admin_client, cohorts):
    response = admin_client.post(
        reverse("customers:invitation_create"),
        {"email": "new@example.gov.uk", "role": "admin", "cohort": cohorts["Leaders"].pk},
        **HTMX,
    )
    assert response.status_code == 201
    assert "new@example.gov.uk" in response.content.decode()
    assert "<html" not in response.content.decode()  # only the fragment
    invitation = Invitation.objects.get(email="new@example.gov.uk")
    assert (invitation.role, invitation.cohort) == ("admin", cohorts["Leaders"])


def test_a_bad_invitation_says_why_and_creates_nothing(admin_client, colleague, other_organisation):
    other_cohort = other_organisation.cohorts.first()
    for data, message in [
        ({"email": "not-an-address", "role": "member"}, "Enter an e-mail address"),
        ({"email": "", "role": "member"}, "Enter the e-mail address"),
        ({"email": "a@example.gov.uk", "role": "owner"}, "Select a valid choice"),
        (
            {"email": "a@example.gov.uk", "role": "member", "cohort": other_cohort.pk},
            "Select a valid choice",
        ),
        ({"email": colleague.email, "role": "member"}, "already a member"),
    ]:
        response = admin_client.post(reverse("customers:invitation_create"), data)
        assert response.status_code == 422, data
        assert message in response.content.decode(), data
    assert not Invitation.objects.exists()


def test_resend_and_revoke_from_the_page(admin_client, organisation, admin):
    invitation = _invitation(organisation, admin)
    old_hash = invitation.key_hash
    response = admin_client.post(reverse("customers:invitation_resend", args=[invitation.pk]))
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.key_hash != old_hash
    response = admin_client.post(
        reverse("customers:invitation_revoke", args=[invitation.pk]), **HTMX
    )
    assert response.status_code == 200 and "Revoked the invitation" in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    # Resending a revoked invitation is refused with a message, not a 500.
    response = admin_client.post(
        reverse("customers:invitation_resend", args=[invitation.pk]), **HTMX
    )
    assert response.status_code == 200 and "was revoked" in response.content.decode()


# ---------------------------------------------------------------- change in place


def test_an_admin_changes_a_members_role_and_cohort_in_place(admin_client, colleague, cohorts):
    url = reverse("customers:member_edit", args=[colleague.membership.pk])
    form = admin_client.get(url, **HTMX)
    assert form.status_code == 200 and "<form" in form.content.decode()
    assert "<html" not in form.content.decode()
    response = admin_client.post(
        url,
        {"role": "admin", "cohort": cohorts["Leaders"].pk, "job_title": "Digital lead"},
        **HTMX,
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert f'id="member-{colleague.membership.pk}"' in body and "Digital lead" in body
    membership = Membership.objects.get(user=colleague)
    assert (membership.role, membership.cohort, membership.job_title) == (
        "admin",
        cohorts["Leaders"],
        "Digital lead",
    )


def test_the_change_form_works_without_javascript(admin_client, colleague):
    url = reverse("customers:member_edit", args=[colleague.membership.pk])
    page = admin_client.get(url)
    assert page.status_code == 200 and "<html" in page.content.decode()
    response = admin_client.post(url, {"role": "member", "cohort": "", "job_title": ""})
    assert response.status_code == 302 and response.url == reverse("customers:member_list")
    bad = admin_client.post(url, {"role": "owner", "cohort": "", "job_title": ""})
    assert bad.status_code == 422 and "Select a valid choice" in bad.content.decode()


def test_the_last_active_admin_cannot_be_made_a_member(admin_client, admin):
    url = reverse("customers:member_edit", args=[admin.membership.pk])
    response = admin_client.post(url, {"role": "member", "cohort": "", "job_title": ""}, **HTMX)
    assert "last active admin" in response.content.decode()
    assert Membership.objects.get(user=admin).role == OrganisationRole.ADMIN


def test_an_admin_may_step_down_when_another_admin_remains(admin, make_member):
    make_member(admin=True)
    members.membership_update(
        membership=admin.membership, role=OrganisationRole.MEMBER, cohort=None, job_title=""
    )
    assert Membership.objects.get(user=admin).role == OrganisationRole.MEMBER


# ---------------------------------------------------------------- deactivate, reactivate


def test_a_deactivated_member_cannot_sign_in_but_keeps_their_ballots(
    admin_client, make_member, product, owner, organisation
):
    voter = make_member(product=product, roles=[ProductRoleKind.BUSINESS_VOTER])
    voter.set_password("pw-for-the-voter")
    voter.save()
    items = [BacklogItemFactory(product=product) for _ in range(2)]
    voting_round = open_round(product, owner, item_ids=[i.pk for i in items])
    candidates = list(voting_round.candidates.values_list("item_id", flat=True))
    ballot_submit(round=voting_round, voter=voter, ranking=[candidates])
    _token, secret = api_token_create(user=voter, name="Script")
    session = client_for(voter)

    response = admin_client.post(
        reverse("customers:member_deactivate", args=[voter.membership.pk]), **HTMX
    )
    assert response.status_code == 200 and "Deactivated" in response.content.decode()
    voter.refresh_from_db()
    assert not voter.is_active and voter.membership.deactivated_at is not None
    # No sign-in, no session, no API token...
    assert not _signs_in(voter, "pw-for-the-voter")
    assert session.get(reverse("backlog:home")).status_code == 302
    with pytest.raises(ApiTokenRefused):
        api_token_authenticate(raw=secret)
    # ... and what they did stays theirs.
    assert Ballot.objects.filter(round=voting_round, voter=voter).exists()
    assert Membership.objects.filter(user=voter, organisation=organisation).exists()

    admin_client.post(reverse("customers:member_reactivate", args=[voter.membership.pk]))
    voter.refresh_from_db()
    assert voter.is_active and voter.membership.deactivated_at is None
    assert _signs_in(voter, "pw-for-the-voter")


def test_an_admin_cannot_deactivate_themselves(admin_client, admin, make_member):
    make_member(admin=True)
    response = admin_client.post(
        reverse("customers:member_deactivate", args=[admin.membership.pk]), follow=True
    )
    assert "cannot deactivate yourself" in response.content.decode()
    admin.refresh_from_db()
    assert admin.is_active and admin.membership.deactivated_at is None


def test_the_last_active_admin_cannot_be_deactivated(admin, make_member):
    other_admin = make_member(admin=True)
    members.membership_deactivate(membership=other_admin.membership, actor=admin)
    # The operator (or a stale page) acting for someone else: the service still refuses.
    with pytest.raises(ValidationError, match="last active admin"):
        members.membership_deactivate(membership=admin.membership, actor=other_admin)
    admin.refresh_from_db()
    assert admin.is_active


def test_a_deactivated_members_address_cannot_be_invited_again(admin, colleague, organisation):
    members.membership_deactivate(membership=colleague.membership, actor=admin)
    with pytest.raises(ValidationError, match="reactivate them"):
        invitations.invitation_create(organisation=organisation, email=colleague.email)
    assert get_user_model().objects.filter(email=colleague.email).count() == 1
