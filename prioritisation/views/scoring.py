"""Pages for benefit estimates, scores and their explanation, and scoring settings."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from backlog.models import BacklogItem, ScoringMethod
from backlog.permissions import can_edit_items, can_reorder, item_for_user, product_for_user
from customers.selectors import cohorts_offered
from prioritisation import selectors, services
from prioritisation.forms import (
    EstimateGridForm,
    ScoringInputsForm,
    ScoringSettingsForm,
)
from prioritisation.models import ItemScoringInputs
from prioritisation.words import is_nothing


def _grid_form(item: BacklogItem, data=None) -> EstimateGridForm:
    """The grid of the active cohorts and metrics, and of the archived ones the item has
    estimates for (shown, and still editable, where they have one)."""
    organisation = item.product.organisation
    current = selectors.estimate_grid(item=item)
    return EstimateGridForm(
        data,
        cohorts=list(cohorts_offered(organisation=organisation, keep={c for c, _m in current})),
        metrics=list(
            selectors.metrics_offered(organisation=organisation, keep={m for _c, m in current})
        ),
        current=current,
    )


def _inputs_form(item: BacklogItem, data=None) -> ScoringInputsForm:
    instance = ItemScoringInputs.objects.filter(item=item).first() or ItemScoringInputs(item=item)
    return ScoringInputsForm(data, instance=instance, method=item.product.scoring_method)


ALL_PARTS = frozenset({"score", "estimates", "inputs"})
# The methods whose score is split by cohort and metric (the others score their own inputs).
BREAKDOWN_METHODS = frozenset({ScoringMethod.BENEFIT_PER_EFFORT, ScoringMethod.MOSCOW})


def _untargeted_cohorts(item: BacklogItem, explanation) -> tuple[list[str], bool]:
    """The cohorts the item's estimates score it for that it does not name as the people it
    is for, and whether it names any: the page says so, since the score then counts benefit
    to people the item does not claim to serve (or its targets are out of date)."""
    if explanation is None or item.product.scoring_method not in BREAKDOWN_METHODS:
        return [], True
    targets = {cohort.name for cohort in item.cohorts.all()}
    scored = [s.name for s in explanation.cohorts if not is_nothing(s.mine)]
    return [name for name in scored if name not in targets], bool(targets)


def scoring_context(
    item: BacklogItem,
    *,
    can_edit: bool,
    grid_form: EstimateGridForm | None = None,
    inputs_form: ScoringInputsForm | None = None,
    parts: frozenset[str] = ALL_PARTS,
) -> dict:
    """What the item page's scoring sections need (score panel, estimates grid, method
    inputs), built only for the ``parts`` a response shows: a fragment after a save renders
    one of them, and the score panel refreshes itself."""
    product = item.product
    context = {"item": item, "product": product, "can_edit": can_edit}
    if "score" in parts:
        score = selectors.item_score(item=item)
        explanation = selectors.score_explanation(item=item, score=score) if score else None
        context["explanation"] = explanation
        context["breakdown"] = product.scoring_method in BREAKDOWN_METHODS
        context["untargeted"], context["targets_named"] = _untargeted_cohorts(item, explanation)
        context["scores_pending"] = services.scores_pending(product=product)
    if "estimates" in parts:
        context["grid_form"] = grid_form or _grid_form(item)
    if "inputs" in parts and product.scoring_method != ScoringMethod.BENEFIT_PER_EFFORT:
        context["inputs_form"] = inputs_form or _inputs_form(item)
    return context


@login_required
@require_GET
def item_score(request: HttpRequest, pk: int) -> HttpResponse:
    """The score panel alone, refreshed by htmx after estimates change."""
    item = item_for_user(request.user, pk)
    context = scoring_context(
        item, can_edit=can_edit_items(request.user, item.product), parts=frozenset({"score"})
    )
    return render(request, "prioritisation/item_scoring.html#score-panel", context)


@login_required
@require_POST
def estimates_edit(request: HttpRequest, pk: int) -> HttpResponse:
    item = item_for_user(request.user, pk, write=True)
    form = _grid_form(item, request.POST)
    saved = None
    if form.is_valid():
        try:
            saved = services.estimates_save(item=item, actor=request.user, cells=form.cells())
        except ValidationError as error:
            form.add_error(None, error)
    if not request.htmx:
        if saved is None:
            messages.error(request, "The estimates were not saved: check the highlighted cells.")
            context = scoring_context(item, can_edit=True, grid_form=form)
            return render(request, "prioritisation/item_scoring.html", context, status=422)
        messages.success(request, f"Saved estimates ({saved} changed).")
        return redirect("backlog:item_detail", pk=item.pk)
    context = scoring_context(
        item,
        can_edit=True,
        grid_form=form if saved is None else None,
        parts=frozenset({"estimates"}),
    )
    context["estimates_saved"] = saved
    response = render(request, "prioritisation/item_scoring.html#estimates", context)
    return trigger_client_event(response, "scoresChanged") if saved else response


@login_required
@require_POST
def scoring_inputs_edit(request: HttpRequest, pk: int) -> HttpResponse:
    item = item_for_user(request.user, pk, write=True)
    form = _inputs_form(item, request.POST)
    if form.is_valid():
        services.scoring_inputs_update(item=item, actor=request.user, **form.cleaned_data)
        if not request.htmx:
            messages.success(request, "Saved scoring inputs.")
            return redirect("backlog:item_detail", pk=item.pk)
        context = scoring_context(item, can_edit=True, parts=frozenset({"inputs"}))
        context["inputs_saved"] = True
        response = render(request, "prioritisation/item_scoring.html#inputs", context)
        return trigger_client_event(response, "scoresChanged")
    if request.htmx:
        context = scoring_context(
            item, can_edit=True, inputs_form=form, parts=frozenset({"inputs"})
        )
        return render(request, "prioritisation/item_scoring.html#inputs", context)
    context = scoring_context(item, can_edit=True, inputs_form=form)
    return render(request, "prioritisation/item_scoring.html", context, status=422)


@login_required
@require_http_methods(["GET", "POST"])
def scoring_settings(request: HttpRequest, pk: int) -> HttpResponse:
    """Anyone in the organisation may read how a product is scored (transparency); only its
    product owner or an organisation admin may change it."""
    product = product_for_user(request.user, pk)
    can_change = can_reorder(request.user, product)
    if request.method == "POST" and not can_change:
        raise PermissionDenied("Only the product owner can change how the product is scored.")
    form = ScoringSettingsForm(request.POST or None, instance=product)
    if request.method == "POST" and form.is_valid():
        services.scoring_settings_update(product=product, actor=request.user, **form.cleaned_data)
        messages.success(request, "Saved scoring settings; scores are being updated.")
        return redirect("backlog:product_backlog", pk=product.pk)
    if request.method == "POST":
        product.refresh_from_db()  # the invalid form changed the instance in memory
    status = 422 if request.method == "POST" else 200
    return render(
        request,
        "prioritisation/scoring_settings.html",
        {"form": form, "product": product, "can_change": can_change},
        status=status,
    )
