"""The signed-in person's own profile page and personal API tokens."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from customers import selectors, services
from customers.forms import ApiTokenForm


def _profile_context(request: HttpRequest, **extra) -> dict:
    return {
        "profile_membership": selectors.membership_for_user(request.user),
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
