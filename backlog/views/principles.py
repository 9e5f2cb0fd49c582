"""Technology principles: the organisation's list (every member reads it; organisation
admins add, edit, reorder, archive and restore), and an item's checks against them (its
editors answer, in one form)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backlog import selectors_principles as selectors
from backlog import services
from backlog.forms_capabilities import PrincipleChecksForm, PrincipleForm
from backlog.models import Principle
from backlog.permissions import can_edit_items, item_for_user
from backlog.services.principles import DOWN, UP
from customers.models import Membership
from customers.permissions import membership_or_404, require_admin

ADMINS_ONLY = "Only organisation admins can change the technology principles."


def _principle_for_admin(request: HttpRequest, pk: int) -> tuple[Membership, Principle]:
    membership = membership_or_404(request.user)
    principle = selectors.principle_get(organisation=membership.organisation, pk=pk)
    if principle is None:
        raise Http404("No such principle.")
    require_admin(membership, ADMINS_ONLY)
    return membership, principle


def _list_response(request: HttpRequest, membership: Membership, **extra) -> HttpResponse:
    principles = list(selectors.principle_list(organisation=membership.organisation))
    active = [p for p in principles if p.archived_at is None]
    for index, principle in enumerate(active):
        principle.can_move_up = index > 0
        principle.can_move_down = index < len(active) - 1
    context = {
        "principles": principles,
        "can_manage": membership.is_admin,
        **extra,
    }
    template = "backlog/principle_list.html"
    return render(request, f"{template}#principle-list" if request.htmx else template, context)


@login_required
@require_GET
def principle_list(request: HttpRequest) -> HttpResponse:
    return _list_response(request, membership_or_404(request.user))


@login_required
@require_http_methods(["GET", "POST"])
def principle_create(request: HttpRequest) -> HttpResponse:
    membership = membership_or_404(request.user)
    require_admin(membership, ADMINS_ONLY)
    form = PrincipleForm(request.POST or None, organisation=membership.organisation)
    if request.method == "POST" and form.is_valid():
        try:
            principle = services.principle_create(
                organisation=membership.organisation, **form.cleaned_data
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Added principle “{principle.name}”.")
            return redirect("backlog:principle_list")
    status = 422 if request.method == "POST" else 200
    return render(request, "backlog/principle_form.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def principle_edit(request: HttpRequest, pk: int) -> HttpResponse:
    membership, principle = _principle_for_admin(request, pk)
    form = PrincipleForm(
        request.POST or None, organisation=membership.organisation, instance=principle
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.principle_update(principle=principle, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
            principle.refresh_from_db()
        else:
            messages.success(request, f"Saved principle “{principle.name}”.")
            return redirect("backlog:principle_list")
    status = 422 if request.method == "POST" else 200
    return render(
        request,
        "backlog/principle_form.html",
        {"form": form, "principle": principle},
        status=status,
    )


@login_required
@require_POST
def principle_move(request: HttpRequest, pk: int) -> HttpResponse:
    """One place up or down (``direction``); htmx swaps the list, focus stays with it."""
    membership, principle = _principle_for_admin(request, pk)
    direction = request.POST.get("direction", "")
    if direction not in (UP, DOWN):
        message, error = "Move a principle up or down.", True
    else:
        try:
            services.principle_move(principle=principle, direction=direction)
        except ValidationError as refusal:
            message, error = " ".join(refusal.messages), True
        else:
            message, error = f"Moved “{principle.name}” {direction}.", False
    if not request.htmx:
        (messages.error if error else messages.success)(request, message)
        return redirect("backlog:principle_list")
    return _list_response(request, membership, list_message=message, list_error=error)


def _set_archived(request: HttpRequest, pk: int, *, archived: bool) -> HttpResponse:
    membership, principle = _principle_for_admin(request, pk)
    if archived:
        services.principle_archive(principle=principle)
        message = f"Archived “{principle.name}”: items are no longer asked about it."
    else:
        services.principle_restore(principle=principle)
        message = f"Restored “{principle.name}”."
    if not request.htmx:
        messages.success(request, message)
        return redirect("backlog:principle_list")
    return _list_response(request, membership, list_message=message)


@login_required
@require_POST
def principle_archive(request: HttpRequest, pk: int) -> HttpResponse:
    return _set_archived(request, pk, archived=True)


@login_required
@require_POST
def principle_restore(request: HttpRequest, pk: int) -> HttpResponse:
    return _set_archived(request, pk, archived=False)


def principles_context(item, *, can_edit: bool, form: PrincipleChecksForm | None = None) -> dict:
    """What the item page's "Technology principles" section shows (two queries)."""
    rows = selectors.item_principles(item=item)
    if can_edit and form is None:
        form = PrincipleChecksForm(rows=rows)
    return {"principle_rows": rows, "principles_form": form if can_edit else None}


@login_required
@require_POST
def item_principles(request: HttpRequest, pk: int) -> HttpResponse:
    """Save an item's answers to the principles, all or none; htmx swaps the section."""
    item = item_for_user(request.user, pk, write=True)
    rows = selectors.item_principles(item=item)
    form = PrincipleChecksForm(request.POST, rows=rows)
    saved = None
    if form.is_valid():
        try:
            saved = services.principle_check_set(item=item, answers=form.answers(), by=request.user)
        except ValidationError as error:
            form.add_error(None, error)
    if not request.htmx:
        if saved is None:
            context = {"item": item, "product": item.product, "principles_form": form}
            return render(request, "backlog/principle_checks.html", context, status=422)
        messages.success(request, "Saved the technology principles.")
        return redirect("backlog:item_detail", pk=item.pk)
    if saved is None:
        context = {"item": item, "principle_rows": rows, "principles_form": form}
    else:
        context = principles_context(item, can_edit=can_edit_items(request.user, item.product))
    context.update(item=item, principles_saved=saved)
    return render(request, "backlog/_item_principles.html", context)
