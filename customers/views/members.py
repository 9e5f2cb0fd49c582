"""People: the members page for organisation admins (invite, resend, revoke, change a
member's role and cohort, deactivate, reactivate) and the invitation link's accept page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from customers import invitations, members
from customers.forms import InvitationAcceptForm, InvitationForm, MemberForm
from customers.models import Invitation, Membership
from customers.permissions import membership_or_404, require_admin
from customers.selectors import membership_for_user

MEMBERS_PER_PAGE = 100
ADMINS_ONLY = "Only organisation admins can manage people."


def _admin_membership(request: HttpRequest) -> Membership:
    membership = membership_or_404(request.user)
    require_admin(membership, ADMINS_ONLY)
    return membership


def _get_member_for_admin(request: HttpRequest, pk: int) -> tuple[Membership, Membership]:
    """(the acting admin's membership, the member asked for): 404 for another organisation's
    member, 403 for a non-admin, before any work."""
    own = membership_or_404(request.user)
    member = members.membership_for_admin(organisation=own.organisation, pk=pk)
    if member is None:
        raise Http404("No such member.")
    require_admin(own, ADMINS_ONLY)
    return own, member


def _get_invitation_for_admin(request: HttpRequest, pk: int) -> Invitation:
    own = membership_or_404(request.user)
    invitation = members.invitation_for_admin(organisation=own.organisation, pk=pk)
    if invitation is None:
        raise Http404("No such invitation.")
    require_admin(own, ADMINS_ONLY)
    return invitation


def _errors(exc: ValidationError) -> str:
    return " ".join(exc.messages)


# ---------------------------------------------------------------- the members page


def _invitations_context(request: HttpRequest, membership: Membership, **extra) -> dict:
    return {
        "invitations": members.invitation_pending_list(organisation=membership.organisation),
        "invite_form": extra.pop("invite_form", None)
        or InvitationForm(organisation=membership.organisation),
        "now": timezone.now(),
        **extra,
    }


def _render_invitations(
    request: HttpRequest, membership: Membership, *, status: int = 200, **extra
) -> HttpResponse:
    """The invitations section alone for htmx (htmx swaps only 2xx answers, so a form with
    errors comes back to it as 200); without htmx, back to the members page."""
    context = _invitations_context(request, membership, **extra)
    if request.htmx:
        status = 200 if status >= 400 else status
        return render(request, "customers/member_list.html#invitations", context, status=status)
    if status >= 400:
        return render(
            request,
            "customers/member_list.html",
            {**_members_context(request, membership), **context},
            status=status,
        )
    return redirect("customers:member_list")


def _members_context(request: HttpRequest, membership: Membership) -> dict:
    query = request.GET.get("q", "")[:100]
    people = members.member_list(organisation=membership.organisation, query=query)
    page = Paginator(people, MEMBERS_PER_PAGE).get_page(request.GET.get("page"))
    return {"page": page, "people": page.object_list, "query": query}


@login_required
@require_GET
def member_list(request: HttpRequest) -> HttpResponse:
    membership = _admin_membership(request)
    context = {
        **_members_context(request, membership),
        **_invitations_context(request, membership),
    }
    return render(request, "customers/member_list.html", context)


@login_required
@require_POST
def invitation_create(request: HttpRequest) -> HttpResponse:
    membership = _admin_membership(request)
    form = InvitationForm(request.POST, organisation=membership.organisation)
    if form.is_valid():
        try:
            invitation, _raw = invitations.invitation_create(
                organisation=membership.organisation,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                cohort=form.cleaned_data["cohort"],
                invited_by=request.user,
                base_url=invitations.base_url_of(request),
            )
        except ValidationError as exc:
            form.add_error("email", _errors(exc))
        else:
            messages.success(
                request, f"Invited {invitation.email}: the link is on its way by e-mail."
            )
            return _render_invitations(request, membership, status=201)
    return _render_invitations(request, membership, invite_form=form, status=422)


@login_required
@require_POST
def invitation_resend(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = _get_invitation_for_admin(request, pk)
    membership = membership_for_user(request.user)
    try:
        invitations.invitation_resend(
            invitation=invitation, base_url=invitations.base_url_of(request)
        )
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(
            request,
            f"Sent {invitation.email} a new link; the one sent before no longer works.",
        )
    return _render_invitations(request, membership)


@login_required
@require_POST
def invitation_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = _get_invitation_for_admin(request, pk)
    membership = membership_for_user(request.user)
    try:
        invitations.invitation_revoke(invitation=invitation)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, f"Revoked the invitation to {invitation.email}.")
    return _render_invitations(request, membership)


def _render_member_row(request: HttpRequest, member: Membership, **extra) -> HttpResponse:
    """The member's row for htmx; without it, back to the members page."""
    if request.htmx:
        return render(request, "customers/member_list.html#member-row", {"member": member, **extra})
    return redirect("customers:member_list")


@login_required
@require_http_methods(["GET", "POST"])
def member_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the member's row as a form (htmx) or a page of its own; POST: save it."""
    _own, member = _get_member_for_admin(request, pk)
    form = MemberForm(request.POST or None, instance=member)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                member = members.membership_update(
                    membership=member,
                    role=form.cleaned_data["role"],
                    cohort=form.cleaned_data["cohort"],
                    job_title=form.cleaned_data["job_title"],
                )
            except ValidationError as exc:
                form.add_error(None, _errors(exc))
            else:
                messages.success(request, f"Saved {_name(member)}.")
                return _render_member_row(request, member)
        status = 200 if request.htmx else 422
    context = {"member": member, "form": form}
    if request.htmx:
        return render(request, "customers/member_form.html#member-edit-row", context)
    return render(request, "customers/member_form.html", context, status=status)


def _name(member: Membership) -> str:
    return member.user.get_full_name() or member.user.get_username()


@login_required
@require_POST
def member_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    _own, member = _get_member_for_admin(request, pk)
    try:
        member = members.membership_deactivate(membership=member, actor=request.user)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(
            request,
            f"Deactivated {_name(member)}: they can no longer sign in. Their ballots, "
            "signatures and history stay theirs.",
        )
    return _render_member_row(request, member)


@login_required
@require_POST
def member_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    _own, member = _get_member_for_admin(request, pk)
    member = members.membership_reactivate(membership=member)
    messages.success(request, f"Reactivated {_name(member)}: they can sign in again.")
    return _render_member_row(request, member)


# ---------------------------------------------------------------- the invitation link


def _invitation_not_found(request: HttpRequest) -> HttpResponse:
    """One page for a wrong, malformed, used, expired or revoked link: it says nothing about
    which, nor whether the link ever existed."""
    return render(request, "customers/invitation_invalid.html", status=404)


def _single_sign_on(request: HttpRequest, invitation: Invitation) -> None:
    """Remember which invitation a single sign-on started from this page should accept
    (customers/sso.py reads it after the provider sends the person back)."""
    from customers.sso import SESSION_INVITATION, sso_enabled

    if sso_enabled():
        request.session[SESSION_INVITATION] = invitation.pk


# Never stored by a browser or proxy: the page names the organisation and the invited address.
@never_cache
@sensitive_post_parameters("password1", "password2")
@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, key: str) -> HttpResponse:
    """The link in the invitation e-mail. No sign-in needed; a signed-in person is refused
    (whatever the link) and nothing changes: one person belongs to one organisation."""
    if request.user.is_authenticated:
        own = membership_for_user(request.user)
        return render(
            request, "customers/invitation_refused.html", {"own_membership": own}, status=403
        )
    invitation = invitations.invitation_for_key(raw=key)
    if invitation is None:
        return _invitation_not_found(request)
    password_allowed = invitation.organisation.password_sign_in
    form = InvitationAcceptForm(request.POST or None, invitation=invitation)
    status = 200
    if request.method == "POST":
        if not password_allowed:
            return _invitation_not_found(request)
        if form.is_valid():
            try:
                membership = invitations.invitation_accept_with_password(
                    invitation=invitation,
                    username=form.cleaned_data["username"],
                    first_name=form.cleaned_data["first_name"],
                    last_name=form.cleaned_data["last_name"],
                    password=form.cleaned_data["password1"],
                )
            except ValidationError as exc:
                form.add_error(None, _errors(exc))
            else:
                login(
                    request,
                    membership.user,
                    backend="django.contrib.auth.backends.ModelBackend",
                )
                messages.success(request, f"Welcome to {invitation.organisation.name}.")
                return redirect("backlog:home")
        status = 422
    else:
        _single_sign_on(request, invitation)
    context = {
        "invitation": invitation,
        "organisation": invitation.organisation,
        "form": form,
        "password_allowed": password_allowed,
    }
    return render(request, "customers/invitation_accept.html", context, status=status)
