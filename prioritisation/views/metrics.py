"""Organisation admins' pages for the organisation's benefit metrics: list, create, edit,
archive, restore, and delete one that no estimate refers to."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from customers.permissions import membership_or_404, require_admin
from customers.selectors import references_to
from prioritisation import selectors, services
from prioritisation.forms import MetricForm
from prioritisation.models import BenefitMetric

METRICS_ADMIN_ONLY = "Only organisation admins can manage benefit metrics."


def _get_metric_for_admin(request: HttpRequest, pk: int) -> BenefitMetric:
    membership = membership_or_404(request.user)
    metric = selectors.metric_list(organisation=membership.organisation).filter(pk=pk).first()
    if metric is None:
        raise Http404("No such metric.")
    require_admin(membership, METRICS_ADMIN_ONLY)
    return metric


@login_required
@require_GET
def metric_list(request: HttpRequest) -> HttpResponse:
    membership = membership_or_404(request.user)
    require_admin(membership, METRICS_ADMIN_ONLY)
    metrics = list(selectors.metric_list(organisation=membership.organisation))
    return render(
        request,
        "prioritisation/metric_list.html",
        {
            "metrics": [m for m in metrics if m.archived_at is None],
            "archived": [m for m in metrics if m.archived_at is not None],
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def metric_create(request: HttpRequest) -> HttpResponse:
    membership = membership_or_404(request.user)
    require_admin(membership, METRICS_ADMIN_ONLY)
    organisation = membership.organisation
    form = MetricForm(request.POST or None, instance=BenefitMetric(organisation=organisation))
    if request.method == "POST" and form.is_valid():
        try:
            metric = services.metric_create(organisation=organisation, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Added metric “{metric.name}”.")
            return redirect("prioritisation:metric_list")
    status = 422 if request.method == "POST" else 200
    return render(request, "prioritisation/metric_form.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def metric_edit(request: HttpRequest, pk: int) -> HttpResponse:
    metric = _get_metric_for_admin(request, pk)
    form = MetricForm(request.POST or None, instance=metric)
    if request.method == "POST" and form.is_valid():
        try:
            services.metric_update(metric=metric, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Saved metric “{metric.name}”.")
            return redirect("prioritisation:metric_list")
    if request.method == "POST":
        metric.refresh_from_db()  # the invalid form changed the instance in memory
    status = 422 if request.method == "POST" else 200
    return render(
        request, "prioritisation/metric_form.html", {"form": form, "metric": metric}, status=status
    )


@login_required
@require_POST
def metric_archive(request: HttpRequest, pk: int) -> HttpResponse:
    metric = _get_metric_for_admin(request, pk)
    services.metric_archive(metric=metric)
    messages.success(
        request,
        f"Archived metric “{metric.name}”. It takes no new estimates; the estimates made "
        "against it stay and still count in scores.",
    )
    return redirect("prioritisation:metric_list")


@login_required
@require_POST
def metric_restore(request: HttpRequest, pk: int) -> HttpResponse:
    metric = _get_metric_for_admin(request, pk)
    services.metric_restore(metric=metric)
    messages.success(request, f"Restored metric “{metric.name}”.")
    return redirect("prioritisation:metric_list")


@login_required
@require_http_methods(["GET", "POST"])
def metric_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks to confirm, or says which estimates refer to the metric and offers to
    archive it; POST deletes it if none do (checked again, under the metric's lock)."""
    metric = _get_metric_for_admin(request, pk)
    if request.method == "POST":
        try:
            services.metric_delete(metric=metric)
        except services.StillReferenced as refused:
            messages.error(request, str(refused))
            return redirect("prioritisation:metric_delete", pk=metric.pk)
        messages.success(request, f"Deleted metric “{metric.name}”.")
        return redirect("prioritisation:metric_list")
    return render(
        request,
        "prioritisation/metric_delete.html",
        {"metric": metric, "references": references_to(metric)},
    )
