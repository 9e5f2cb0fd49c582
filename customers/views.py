from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from customers import selectors, services
from customers.forms import ApiTokenForm, CohortForm
from customers.models import Cohort
from customers.permissions import membership_or_404, require_admin


def _get_cohort_for_admin(request: HttpRequest, pk: int) -> Cohort:
    membership = membership_or_404(request.user)
    cohort = selectors.cohort_list(organisation=membership.organisation).filter(pk=pk).first()
    if cohort is None:
        raise Http404("No such cohort.")
    require_admin(membership, "Only organisation admins can change cohorts.")
    return cohort


@login_required
@require_GET
def cohort_list(request: HttpRequest) -> HttpResponse:
    membership = membership_or_404(request.user)
    require_admin(membership, "Only organisation admins can manage cohorts.")
    cohorts = selectors.cohort_list(organisation=membership.organisation)
    return render(request, "customers/cohort_list.html", {"cohorts": cohorts})


@login_required
@require_http_methods(["GET", "POST"])
def cohort_edit(request: HttpRequest, pk: int) -> HttpResponse:
    cohort = _get_cohort_for_admin(request, pk)
    form = CohortForm(request.POST or None, instance=cohort)
    if request.method == "POST" and form.is_valid():
        services.cohort_update(cohort=cohort, **form.cleaned_data)
        messages.success(request, f"Saved cohort “{cohort.name}”.")
        return redirect("customers:cohort_list")
    status = 422 if request.method == "POST" else 200
    return render(
        request, "customers/cohort_form.html", {"form": form, "cohort": cohort}, status=status
    )


# ---------------------------------------------------------------- profile and API tokens


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
