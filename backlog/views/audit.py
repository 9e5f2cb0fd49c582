"""History pages: an item's full change history, and the organisation's audit log (admins).

Read only: history has no edit or delete view anywhere, and its tables refuse changes."""

from __future__ import annotations

import csv

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from backlog import audit
from backlog.forms_audit import AuditFilterForm
from backlog.permissions import item_for_user
from config.http import int_param
from customers.models import Membership
from customers.permissions import membership_or_404, require_admin

ADMINS_ONLY = "Only organisation admins can see the organisation's audit log."


def _admin_membership(request: HttpRequest) -> Membership:
    membership = membership_or_404(request.user)
    require_admin(membership, ADMINS_ONLY)
    return membership


@login_required
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    membership = _admin_membership(request)
    form = AuditFilterForm(request.GET or None, organisation=membership.organisation)
    valid = form.is_valid() if request.GET else True
    page = (
        audit.audit_page(
            organisation=membership.organisation,
            filters=form.filters(),
            number=form.page_number(),
        )
        if valid
        else None
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "backlog/audit_log.html",
        {"form": form, "page": page, "query": query.urlencode()},
        status=200 if valid else 400,
    )


class _Echo:
    """csv.writer writes into this and gets the line back, for streaming."""

    def write(self, value: str) -> str:
        return value


@login_required
@require_GET
def audit_log_csv(request: HttpRequest) -> HttpResponse:
    """The audit log as CSV, with the page's filters (not its paging), streamed."""
    membership = _admin_membership(request)
    form = AuditFilterForm(request.GET or None, organisation=membership.organisation)
    if request.GET and not form.is_valid():
        problems = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items())
        return HttpResponse(
            f"The export was not made: {problems}",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    writer = csv.writer(_Echo())
    rows = audit.audit_rows(organisation=membership.organisation, filters=form.filters())
    response = StreamingHttpResponse(
        (writer.writerow([audit.safe_cell(cell) for cell in row]) for row in rows),
        content_type="text/csv; charset=utf-8",
    )
    slug = membership.organisation.slug
    response["Content-Disposition"] = f'attachment; filename="{slug}-audit-log.csv"'
    return response


@login_required
@require_GET
def item_history(request: HttpRequest, pk: int) -> HttpResponse:
    """Every recorded change of one item (and its estimates, inputs and signatures)."""
    item = item_for_user(request.user, pk)
    number = int_param(request.GET.get("page"), default=1, minimum=1, maximum=audit.MAX_PAGE)
    page = audit.item_changes(item=item, number=number)
    return render(
        request,
        "backlog/item_history.html",
        {"item": item, "product": item.product, "page": page},
    )
