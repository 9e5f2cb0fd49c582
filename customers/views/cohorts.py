"""Organisation admins' pages for the organisation's cohorts."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from customers import selectors, services
from customers.forms import CohortForm
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
