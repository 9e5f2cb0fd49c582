"""How an organisation's members sign in: an admin switches password sign-in off (single
sign-on only) or on again, from the members page."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from customers.permissions import membership_or_404, require_admin
from customers.sso import organisation_set_password_sign_in, provider_name

SSO_BACKEND = "customers.sso.SingleSignOnBackend"


class PasswordSignInForm(forms.Form):
    password_sign_in = forms.ChoiceField(choices=[("on", "On"), ("off", "Off")])


@login_required
@require_POST
def password_sign_in_set(request: HttpRequest) -> HttpResponse:
    membership = membership_or_404(request.user)
    require_admin(membership, "Only organisation admins can change how members sign in.")
    form = PasswordSignInForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose whether members may sign in with a password.")
        return redirect("customers:member_list")
    enabled = form.cleaned_data["password_sign_in"] == "on"
    if not enabled and request.session.get(BACKEND_SESSION_KEY) != SSO_BACKEND:
        # Whoever switches passwords off must have just shown that single sign-on lets them
        # in: an admin whose provider account does not match would lock themselves out.
        messages.error(
            request,
            f"Sign in through {provider_name()} first, so you know it works for you, then "
            "switch password sign-in off.",
        )
        return redirect("customers:member_list")
    try:
        organisation_set_password_sign_in(organisation=membership.organisation, enabled=enabled)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            "Members may sign in with a password again."
            if enabled
            else f"Password sign-in is off: members sign in through {provider_name()}.",
        )
    return redirect("customers:member_list")
