"""Organisation admins' pages for the organisation's cohorts: list, create, edit, archive,
restore, and delete one that nothing refers to."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from customers import selectors, services
from customers.forms import CohortForm
from customers.models import Cohort
from customers.permissions import membership_or_404, require_admin

ADMINS_ONLY = "Only organisation admins can manage cohorts."


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
    require_admin(membership, ADMINS_ONLY)
    cohorts = list(selectors.cohort_list(organisation=membership.organisation))
    return render(
        request,
        "customers/cohort_list.html",
        {
            "cohorts": [c for c in cohorts if c.archived_at is None],
            "archived": [c for c in cohorts if c.archived_at is not None],
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def cohort_create(request: HttpRequest) -> HttpResponse:
    membership = membership_or_404(request.user)
    require_admin(membership, ADMINS_ONLY)
    form = CohortForm(request.POST or None, instance=Cohort(organisation=membership.organisation))
    if request.method == "POST" and form.is_valid():
        try:
            cohort = services.cohort_create(
                organisation=membership.organisation, **form.cleaned_data
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Added cohort “{cohort.name}”.")
            return redirect("customers:cohort_list")
    status = 422 if request.method == "POST" else 200
    return render(request, "customers/cohort_form.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def cohort_edit(request: HttpRequest, pk: int) -> HttpResponse:
    cohort = _get_cohort_for_admin(request, pk)
    form = CohortForm(request.POST or None, instance=cohort)
    if request.method == "POST" and form.is_valid():
        try:
            services.cohort_update(cohort=cohort, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Saved cohort “{cohort.name}”.")
            return redirect("customers:cohort_list")
    if request.method == "POST":
        cohort.refresh_from_db()  # the invalid form changed the instance in memory
    status = 422 if request.method == "POST" else 200
    return render(
        request, "customers/cohort_form.html", {"form": form, "cohort": cohort}, status=status
    )


@login_required
@require_POST
def cohort_archive(request: HttpRequest, pk: int) -> HttpResponse:
    cohort = _get_cohort_for_admin(request, pk)
    services.cohort_archive(cohort=cohort)
    messages.success(
        request,
        f"Archived cohort “{cohort.name}”. It takes no new estimates, ballots, members or "
        "item targets; what refers to it stays, and its estimates still count in scores.",
    )
    return redirect("customers:cohort_list")


@login_required
@require_POST
def cohort_restore(request: HttpRequest, pk: int) -> HttpResponse:
    cohort = _get_cohort_for_admin(request, pk)
    services.cohort_restore(cohort=cohort)
    messages.success(request, f"Restored cohort “{cohort.name}”.")
    return redirect("customers:cohort_list")


@login_required
@require_http_methods(["GET", "POST"])
def cohort_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks to confirm, or says what refers to the cohort and offers to archive it; POST
    deletes it if nothing refers to it (counted again, under the cohort’s lock), or comes back
    here saying why not."""
    cohort = _get_cohort_for_admin(request, pk)
    if request.method == "POST":
        try:
            services.cohort_delete(cohort=cohort)
        except services.StillReferenced as refused:
            messages.error(request, str(refused))
            return redirect("customers:cohort_delete", pk=cohort.pk)
        messages.success(request, f"Deleted cohort “{cohort.name}”.")
        return redirect("customers:cohort_list")
    return render(
        request,
        "customers/cohort_delete.html",
        {"cohort": cohort, "references": selectors.references_to(cohort)},
    )
