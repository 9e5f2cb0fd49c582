"""The organisation's shared capabilities: every member reads the catalogue and who builds
and reuses what; organisation admins add and edit capabilities."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from backlog import selectors_capabilities as selectors
from backlog import services
from backlog.forms_capabilities import CapabilityForm
from backlog.models import Capability
from customers.models import Membership
from customers.permissions import membership_or_404, require_admin

ADMINS_ONLY = "Only organisation admins can add or change capabilities."


def _capability_or_404(membership: Membership, pk: int) -> Capability:
    capability = selectors.capability_get(organisation=membership.organisation, pk=pk)
    if capability is None:
        raise Http404("No such capability.")
    return capability


@login_required
@require_GET
def capability_list(request: HttpRequest) -> HttpResponse:
    membership = membership_or_404(request.user)
    capabilities = selectors.capability_list(organisation=membership.organisation)
    return render(
        request,
        "backlog/capability_list.html",
        {"capabilities": capabilities, "can_manage": membership.is_admin},
    )


@login_required
@require_GET
def capability_detail(request: HttpRequest, pk: int) -> HttpResponse:
    membership = membership_or_404(request.user)
    capability = _capability_or_404(membership, pk)
    return render(
        request,
        "backlog/capability_detail.html",
        {
            "capability": capability,
            "uses": selectors.capability_items(capability=capability),
            "duplicates": list(capability.duplicates.order_by("name")),
            "can_manage": membership.is_admin,
        },
    )


def _save(form: CapabilityForm, capability: Capability | None, membership: Membership):
    """The capability saved from a valid form, or None with the service's refusal on the
    form."""
    data = form.cleaned_data
    fields = {
        "name": data["name"],
        "description": data["description"],
        "owner_product": data["owner_product"],
        "same_as": data["same_as"],
    }
    try:
        if capability is None:
            return services.capability_create(organisation=membership.organisation, **fields)
        return services.capability_update(capability=capability, **fields)
    except ValidationError as error:
        form.add_error(None, error)
        return None


@login_required
@require_http_methods(["GET", "POST"])
def capability_create(request: HttpRequest) -> HttpResponse:
    membership = membership_or_404(request.user)
    require_admin(membership, ADMINS_ONLY)
    form = CapabilityForm(request.POST or None, organisation=membership.organisation)
    if request.method == "POST" and form.is_valid():
        capability = _save(form, None, membership)
        if capability is not None:
            messages.success(request, f"Added capability “{capability.name}”.")
            return redirect("backlog:capability_detail", pk=capability.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "backlog/capability_form.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def capability_edit(request: HttpRequest, pk: int) -> HttpResponse:
    membership = membership_or_404(request.user)
    capability = _capability_or_404(membership, pk)
    require_admin(membership, ADMINS_ONLY)
    form = CapabilityForm(
        request.POST or None, organisation=membership.organisation, instance=capability
    )
    if request.method == "POST" and form.is_valid():
        saved = _save(form, capability, membership)
        if saved is not None:
            messages.success(request, f"Saved capability “{saved.name}”.")
            return redirect("backlog:capability_detail", pk=saved.pk)
        # The refused values stay on the form; the heading keeps the stored name.
        capability.refresh_from_db()
    status = 422 if request.method == "POST" else 200
    return render(
        request,
        "backlog/capability_form.html",
        {"form": form, "capability": capability},
        status=status,
    )
