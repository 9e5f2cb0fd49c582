"""Pages for products and backlog items. Thin: load through permissions, call a service."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import (
    HttpResponseClientRedirect,
    reswap,
    retarget,
    trigger_client_event,
)

from backlog import audit, selectors, services
from backlog.forms import ItemFilterForm, ItemForm, QuickAddForm
from backlog.permissions import (
    can_edit_items,
    can_reorder,
    item_for_user,
    product_for_user,
)
from backlog.rows import RowOptions, render_rows
from backlog.selectors_capabilities import item_waits
from backlog.selectors_principles import principles_summary
from backlog.views.principles import principles_context
from config.http import INT_MAX, int_param
from prioritisation.services import scores_pending
from prioritisation.views import scoring_context


def _filters_from(form: ItemFilterForm) -> selectors.ItemFilters:
    if not form.is_valid():
        return selectors.ItemFilters()
    data = form.cleaned_data
    return selectors.ItemFilters(
        status=data["status"],
        cohort=data["cohort"],
        level=data["level"],
        q=data["q"],
        order=data["order"] or selectors.MANUAL_ORDER,
        capability=data["capability"],
        principles=data["principles"],
    )


def backlog_context(request: HttpRequest, product, params, *, size: int = 0) -> dict:
    """Everything the backlog list shows, for the listing described by ``params`` (the
    page's query string: filters, order, ``after``/``start`` for paging). ``size`` asks for
    more than one page from the top, to re-render what a person had scrolled through."""
    filter_form = ItemFilterForm(params or None, organisation=product.organisation)
    filters = _filters_from(filter_form)
    after = params.get("after", "")
    start = int_param(params.get("start"), default=0, minimum=0, maximum=INT_MAX)
    items, next_after = selectors.item_page(
        product=product,
        filters=filters,
        after=after,
        start=start,
        size=min(max(size, selectors.PAGE_SIZE), selectors.MAX_RERENDER),
    )
    query = params.copy()
    for name in ("after", "start", "shown", "to", "position", "before_id", "after_id"):
        query.pop(name, None)
    query.pop("csrfmiddlewaretoken", None)
    can_reorder_here = can_reorder(request.user, product)
    drag_enabled = can_reorder_here and filters.order == selectors.MANUAL_ORDER
    filter_query = query.urlencode()
    marks = selectors.page_marks(
        product=product, items=items, filters=filters, first_page=not (after or start), after=after
    )
    next_after = selectors.continue_after(next_after, marks, filters)
    rows = selectors.rows_for(items, marks)
    row_options = RowOptions(
        drag_enabled=drag_enabled,
        can_reorder=can_reorder_here,
        csrf_token=get_token(request),
        listing=filter_query,
        capacity=marks.capacity,
    )
    return {
        "product": product,
        "filter_form": filter_form,
        "filters": filters,
        "items": items,
        "rows": rows,
        "rendered_rows": render_rows(rows, row_options),
        "columns": row_options.columns,
        "capacity": marks.capacity,
        "start": start,
        "next_after": next_after,
        "next_start": start + len(items),
        "filter_query": filter_query,
        "can_edit": can_edit_items(request.user, product),
        "can_reorder": can_reorder_here,
        "drag_enabled": drag_enabled,
        "quick_add_form": QuickAddForm(),
        "scores_pending": scores_pending(product=product),
    }


@login_required
@require_GET
@vary_on_headers("HX-Request")
def product_backlog(request: HttpRequest, pk: int) -> HttpResponse:
    product = product_for_user(request.user, pk)
    if request.htmx and request.htmx.target == "principles-summary":
        # Counted apart from the page, which stays O(page): the count reads every open item.
        summary = principles_summary(product=product)
        context = {"product": product, "principles": summary}
        return render(request, "backlog/product_backlog.html#principles-summary", context)
    context = backlog_context(request, product, request.GET)
    if request.htmx and (context["start"] or request.GET.get("after")):
        return render(request, "backlog/product_backlog.html#rows", context)
    if request.htmx and request.htmx.target == "backlog-results":
        return render(request, "backlog/product_backlog.html#results", context)
    return render(request, "backlog/product_backlog.html", context)


@login_required
@require_POST
def item_quick_add(request: HttpRequest, pk: int) -> HttpResponse:
    """Add an item from the backlog page; htmx swaps the form and refreshes the list."""
    product = product_for_user(request.user, pk, write=True)
    form = QuickAddForm(request.POST)
    if form.is_valid():
        item = services.item_create(
            product=product,
            actor=request.user,
            title=form.cleaned_data["title"],
            effort=form.cleaned_data["effort"],
        )
        if not request.htmx:
            messages.success(request, f"Added “{item.title}”.")
            return redirect("backlog:product_backlog", pk=product.pk)
        response = render(
            request,
            "backlog/product_backlog.html#quick-add",
            {"product": product, "quick_add_form": QuickAddForm(), "added": item},
        )
        return trigger_client_event(response, "itemsChanged")
    if not request.htmx:
        messages.error(
            request,
            "The item was not added: "
            + " ".join(f"{field}: {' '.join(errs)}" for field, errs in form.errors.items()),
        )
        return redirect("backlog:product_backlog", pk=product.pk)
    return render(
        request,
        "backlog/product_backlog.html#quick-add",
        {"product": product, "quick_add_form": form},
    )


def _item_kwargs(form: ItemForm) -> dict:
    data = form.cleaned_data
    return {
        "title": data["title"],
        "description": data["description"],
        "status": data["status"],
        "digitisation_level": data["digitisation_level"],
        "effort": data["effort"],
        "cohorts": data["cohorts"],
        "builds": data["builds"],
        "reuses": data["reuses"],
    }


@login_required
@require_http_methods(["GET", "POST"])
def item_create(request: HttpRequest, pk: int) -> HttpResponse:
    product = product_for_user(request.user, pk, write=True)
    form = ItemForm(request.POST or None, organisation=product.organisation)
    if request.method == "POST" and form.is_valid():
        item = services.item_create(product=product, actor=request.user, **_item_kwargs(form))
        messages.success(request, f"Created “{item.title}”.")
        url = reverse("backlog:item_detail", args=[item.pk])
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    status = 422 if request.method == "POST" else 200
    return render(
        request, "backlog/item_form.html", {"form": form, "product": product}, status=status
    )


@login_required
@require_GET
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = item_for_user(request.user, pk)
    can_edit = can_edit_items(request.user, item.product)
    context = scoring_context(item, can_edit=can_edit)
    context["history"] = selectors.item_history(item=item)
    context["changes"] = audit.item_changes(item=item, size=audit.ITEM_PAGE_LIMIT)
    context["waits"] = item_waits(item=item)
    context.update(principles_context(item, can_edit=can_edit))
    return render(request, "backlog/item_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def item_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit in place: htmx swaps the item summary for this form and back."""
    item = item_for_user(request.user, pk, write=True)
    form = ItemForm(request.POST or None, instance=item, organisation=item.product.organisation)
    if request.method == "POST" and form.is_valid():
        services.item_update(item=item, actor=request.user, **_item_kwargs(form))
        if request.htmx:
            item = item_for_user(request.user, pk)
            context = scoring_context(item, can_edit=True, parts=frozenset({"score"}))
            context.update(
                history=selectors.item_history(item=item),
                changes=audit.item_changes(item=item, size=audit.ITEM_PAGE_LIMIT),
                waits=item_waits(item=item),
                saved=True,
                oob=True,
            )
            return render(request, "backlog/item_detail.html#saved", context)
        messages.success(request, "Saved.")
        return redirect("backlog:item_detail", pk=item.pk)
    context = {"form": form, "product": item.product, "item": item, "inline": bool(request.htmx)}
    status = 422 if request.method == "POST" else 200
    if request.htmx:
        response = render(request, "backlog/item_form.html#item-form", context)
        # Errors replace the form itself, not the summary it is meant to become.
        return reswap(retarget(response, "#item-form"), "outerHTML") if status == 422 else response
    return render(request, "backlog/item_form.html", context, status=status)
