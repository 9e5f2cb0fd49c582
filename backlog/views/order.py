"""The manual order: moves (drag, keyboard, buttons), pins, applying the score order and
undoing it, and the compare view of manual order against score order."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from backlog import compare as compare_selectors
from backlog import services
from backlog.permissions import item_for_user, product_for_user
from backlog.services.order import MoveResult
from backlog.views.items import backlog_context
from config.http import INT_MAX, int_param


def _listing_response(
    request: HttpRequest, product, *, message: str, error: bool = False, status: int = 200
):
    """After a change to the order: the refreshed list for htmx (with the message for the
    screen-reader live region), or a redirect back to the same listing without JavaScript.
    ``status`` 400 marks a refused request; app.js lets htmx swap that list in too."""
    listing = request.POST.get("listing", "")
    if not request.htmx:
        (messages.error if error else messages.success)(request, message)
        url = reverse("backlog:product_backlog", args=[product.pk])
        return redirect(f"{url}?{listing}" if listing else url)
    params = QueryDict(listing, mutable=True)
    shown = int_param(request.POST.get("shown"), default=0, minimum=0, maximum=INT_MAX)
    context = backlog_context(request, product, params, size=shown)
    context.update({"order_message": message, "order_error": error})
    return render(request, "backlog/product_backlog.html#results", context, status=status)


def _move_message(title: str, to: str, result: MoveResult) -> str:
    """What the move did, in words that match the manual rank the list shows."""
    if not result.moved:
        if result.at_end:
            return f"“{title}” is already at the {result.at_end}."
        if result.position:
            return f"“{title}” is already at position {result.position}."
        return f"“{title}” is already there."
    if result.at_end == "bottom":
        where = f", position {result.position}" if result.position else ""
        return f"Moved “{title}” to the bottom{where}."
    if result.position:
        return f"Moved “{title}” to position {result.position}."
    return {
        "up": f"Moved “{title}” up one place.",
        "down": f"Moved “{title}” down one place.",
    }.get(to, f"Moved “{title}”.")


@login_required
@require_POST
def item_move(request: HttpRequest, pk: int) -> HttpResponse:
    item = item_for_user(request.user, pk, reorder=True, related=False)
    to = request.POST.get("to", "")
    # A position past the end is the bottom; INT_MAX keeps the OFFSET within PostgreSQL's.
    position = int_param(request.POST.get("position"), minimum=-INT_MAX, maximum=INT_MAX)
    try:
        result = services.item_move(
            item=item,
            actor=request.user,
            to=to,
            position=position,
            before_id=int_param(request.POST.get("before_id")),
            after_id=int_param(request.POST.get("after_id")),
        )
    except services.MoveRefused as refused:
        # A stale view is not the person's mistake: the current list is the answer.
        return _listing_response(
            request,
            item.product,
            message=str(refused),
            error=True,
            status=200 if refused.stale else 400,
        )
    return _listing_response(request, item.product, message=_move_message(item.title, to, result))


@login_required
@require_POST
def item_pin(request: HttpRequest, pk: int) -> HttpResponse:
    item = item_for_user(request.user, pk, reorder=True, related=False)
    pinned = request.POST.get("pinned") == "true"
    services.item_pin(item=item, actor=request.user, pinned=pinned)
    verb = "Pinned" if pinned else "Unpinned"
    return _listing_response(request, item.product, message=f"{verb} “{item.title}”.")


@login_required
@require_POST
def order_apply_scores(request: HttpRequest, pk: int) -> HttpResponse:
    product = product_for_user(request.user, pk, reorder=True)
    services.order_apply_scores(product=product, actor=request.user)
    return _listing_response(
        request,
        product,
        message="Applied the score order to every unpinned item. You can undo this.",
    )


@login_required
@require_POST
def order_undo(request: HttpRequest, pk: int) -> HttpResponse:
    product = product_for_user(request.user, pk, reorder=True)
    undone = services.order_undo(product=product, actor=request.user)
    if undone is None:
        return _listing_response(request, product, message="There is nothing to undo.", error=True)
    return _listing_response(
        request, product, message=f"Undone: {undone.get_kind_display().lower()}."
    )


@login_required
@require_GET
def compare(request: HttpRequest, pk: int) -> HttpResponse:
    product = product_for_user(request.user, pk)
    top = int_param(request.GET.get("top"), default=25, minimum=5, maximum=200)
    context = {
        "product": product,
        "comparison": compare_selectors.order_comparison(product=product, top=top),
        "top": top,
    }
    return render(request, "backlog/compare.html", context)
