"""The signed-in person's own profile page and personal API tokens."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from customers import profile as profile_services
from customers import selectors, services
from customers.forms import ApiTokenForm
from customers.forms_profile import NotificationChoicesForm, PasswordForm, ProfileDetailsForm
from customers.models import Membership


def _password_applies(request: HttpRequest, membership: Membership | None) -> bool:
    """Whether the person signs in with a password: not when they have none (single
    sign-on only) or their organisation switched password sign-in off."""
    if not request.user.has_usable_password():
        return False
    return membership is None or membership.organisation.password_sign_in


def _profile_context(request: HttpRequest, **extra) -> dict:
    membership = selectors.membership_for_user(request.user)
    details_form = extra.pop("details_form", None) or ProfileDetailsForm(user=request.user)
    notifications_form = extra.pop("notifications_form", None)
    if notifications_form is None and membership is not None:
        notifications_form = NotificationChoicesForm(instance=membership)
    password_form = extra.pop("password_form", None)
    if password_form is None and _password_applies(request, membership):
        password_form = PasswordForm(request.user)
    return {
        "profile_membership": membership,
        "details_form": details_form,
        "notifications_form": notifications_form,
        "password_form": password_form,
        "tokens": selectors.api_token_list(user=request.user),
        "token_form": extra.pop("token_form", None) or ApiTokenForm(),
        "now": timezone.now(),
        **extra,
    }


def _render_tokens(request: HttpRequest, context: dict, *, status: int = 200) -> HttpResponse:
    """The tokens section alone for htmx, else the whole profile page. htmx swaps only 2xx
    answers, so a form with errors comes back to it as 200."""
    if request.htmx:
        status = 200 if status >= 400 else status
        return render(request, "customers/profile.html#api-tokens", context, status=status)
    return render(request, "customers/profile.html", context, status=status)


@login_required
@require_GET
def profile(request: HttpRequest) -> HttpResponse:
    return render(request, "customers/profile.html", _profile_context(request))


@login_required
@require_POST
def api_token_create(request: HttpRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        return _render_tokens(request, _profile_context(request, token_form=form), status=422)
    token, secret = services.api_token_create(
        user=request.user,
        name=form.cleaned_data["name"],
        expires_at=form.expires_at(timezone.now()),
    )
    # Rendered, not redirected: the secret exists only in this response.
    context = _profile_context(request, new_token=token, new_secret=secret)
    return _render_tokens(request, context, status=201)


@login_required
@require_POST
def api_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = services.api_token_revoke(user=request.user, token_id=pk)
    if token is None:
        raise Http404("No such token.")
    if not request.htmx:
        messages.success(request, f"Revoked the token “{token.name}”.")
        return redirect("accounts:profile")
    context = _profile_context(request, revoked_token=token)
    return render(request, "customers/profile.html#api-tokens", context)


def _refused(request: HttpRequest, **forms) -> HttpResponse:
    """The whole page again with the form's messages; nothing was saved."""
    return render(request, "customers/profile.html", _profile_context(request, **forms), status=422)


@login_required
@require_POST
def profile_details(request: HttpRequest) -> HttpResponse:
    """Save the person's name and e-mail address."""
    form = ProfileDetailsForm(request.POST, user=request.user)
    if not form.is_valid():
        return _refused(request, details_form=form)
    try:
        profile_services.profile_update(user=request.user, **form.cleaned_data)
    except ValidationError as error:
        for field, messages_ in error.message_dict.items():
            for message in messages_:
                form.add_error(field, message)
        return _refused(request, details_form=form)
    messages.success(request, "Saved your name and e-mail address.")
    return redirect("accounts:profile")


@login_required
@require_POST
def profile_notifications(request: HttpRequest) -> HttpResponse:
    """Save which e-mails the person wants (only a member of an organisation gets any)."""
    membership = selectors.membership_for_user(request.user)
    if membership is None:
        raise Http404("You are not a member of any organisation.")
    form = NotificationChoicesForm(request.POST, instance=Membership(pk=membership.pk))
    if not form.is_valid():
        return _refused(request, notifications_form=form)
    profile_services.notification_choices_update(membership=membership, **form.cleaned_data)
    chosen, total = form.chosen, len(form.Meta.fields)
    if chosen == total:
        summary = "you get every kind of e-mail."
    elif chosen == 0:
        summary = "you get none of these e-mails."
    else:
        summary = f"you get {chosen} of the {total} kinds of e-mail."
    messages.success(request, f"Saved your notification choices: {summary}")
    return redirect("accounts:profile")


@login_required
@require_POST
def password_change(request: HttpRequest) -> HttpResponse:
    """Change one's password; the person stays signed in (other sessions end)."""
    if not _password_applies(request, selectors.membership_for_user(request.user)):
        messages.error(
            request, "You sign in through single sign-on, so there is no password to change."
        )
        return redirect("accounts:profile")
    form = PasswordForm(request.user, request.POST)
    if not form.is_valid():
        return _refused(request, password_form=form)
    user = profile_services.password_change(form=form)
    update_session_auth_hash(request, user)
    messages.success(request, "Changed your password. You are still signed in here.")
    return redirect("accounts:profile")
