"""Voting rounds: list and open them, vote, watch the results live, adopt or keep."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from backlog.models import BacklogItem, ProductRoleKind
from backlog.permissions import can_reorder, product_for_user
from backlog.selectors import product_roles_for_user
from config.http import parse_int
from prioritisation import results, services
from prioritisation.forms_rounds import RoundForm, parse_points, parse_ranking
from prioritisation.models import Ballot, VotingMethod, VotingRound
from prioritisation.permissions import require_voter, round_for_user


def _require_owner(request: HttpRequest, round: VotingRound) -> None:
    if not can_reorder(request.user, round.product):
        raise PermissionDenied("Only the product owner can do this.")


@login_required
@require_GET
def round_list(request: HttpRequest, pk: int) -> HttpResponse:
    product = product_for_user(request.user, pk)
    rounds = VotingRound.objects.filter(product=product)
    roles = product_roles_for_user(product=product, user=request.user)
    return render(
        request,
        "prioritisation/round_list.html",
        {
            "product": product,
            "rounds": rounds,
            "now": timezone.now(),
            "can_open": can_reorder(request.user, product),
            "is_voter": ProductRoleKind.BUSINESS_VOTER in roles,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def round_create(request: HttpRequest, pk: int) -> HttpResponse:
    product = product_for_user(request.user, pk, reorder=True)
    form = RoundForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            round = services.round_create(product=product, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
        else:
            messages.success(request, f"Opened “{round.title}” for voting.")
            return redirect("prioritisation:round_results", pk=round.pk)
    status = 422 if request.method == "POST" else 200
    return render(
        request, "prioritisation/round_form.html", {"form": form, "product": product}, status=status
    )


def _shortlist(round: VotingRound) -> list[BacklogItem]:
    ids = results.candidate_ids(round)
    items = BacklogItem.objects.in_bulk(ids)
    return [items[pk] for pk in ids]


@login_required
@require_http_methods(["GET", "POST"])
def ballot(request: HttpRequest, pk: int) -> HttpResponse:
    """The voter's ballot: rank the shortlist (drag, keyboard or position numbers), or spend
    dots. Unranked items tie below every ranked one; equal positions tie."""
    round = round_for_user(request.user, pk)
    require_voter(request.user, round)
    shortlist = _shortlist(round)
    candidates = [item.pk for item in shortlist]
    current = Ballot.objects.filter(round=round, voter=request.user).first()
    error = None
    if request.method == "POST":
        try:
            if round.method == VotingMethod.DOTS:
                points = parse_points(request.POST, candidates)
                services.ballot_submit(round=round, voter=request.user, points=points)
            else:
                ranking = parse_ranking(request.POST, candidates)
                services.ballot_submit(round=round, voter=request.user, ranking=ranking)
        except (forms.ValidationError, services.BallotRefused) as refused:
            error = " ".join(refused.messages) if hasattr(refused, "messages") else str(refused)
        else:
            messages.success(
                request, "Your ballot is saved. You can change it until the round closes."
            )
            return redirect("prioritisation:ballot", pk=round.pk)
    position = {}
    if current and current.ranking:
        for number, tier in enumerate(current.ranking, start=1):
            for item_id in tier:
                position[item_id] = number
    if request.method == "POST":  # show what the voter sent, with the error
        position = {c: request.POST.get(f"rank-{c}", "") for c in candidates}
    ranked = sorted(
        (item for item in shortlist if position.get(item.pk)),
        key=lambda item: parse_int(position[item.pk]) or 0,
    )
    unranked = [item for item in shortlist if not position.get(item.pk)]
    dots = {int(k): v for k, v in (current.points if current else {}).items()}
    rows = [
        {"item": item, "position": position.get(item.pk, ""), "dots": dots.get(item.pk, "")}
        for item in shortlist
    ]
    return render(
        request,
        "prioritisation/ballot.html",
        {
            "round": round,
            "product": round.product,
            "ballot": current,
            "ranked": [{"item": i, "position": position[i.pk]} for i in ranked],
            "unranked": unranked,
            "rows": rows,
            "is_open": round.is_open(timezone.now()),
            "error": error,
        },
        status=422 if error else 200,
    )


def _results_context(request: HttpRequest, round: VotingRound) -> dict:
    outcome = results.round_result(round)
    items = BacklogItem.objects.in_bulk(outcome["candidates"])
    candidates = outcome["candidates"]
    matrix = outcome["pairwise"]
    peak = max((max(row) for row in matrix), default=0) or 1
    heat = [
        {
            "item": items[candidates[i]],
            "cells": [
                {
                    "value": value,
                    "against": items[candidates[j]],
                    "self": i == j,
                    **_heat(value, peak),
                    "wins": value > matrix[j][i],
                }
                for j, value in enumerate(row)
            ],
        }
        for i, row in enumerate(matrix)
    ]
    per_cohort = [
        {
            "name": outcome["turnout"][key]["name"],  # every cohort that voted is in turnout
            "tiers": [[items[pk] for pk in tier] for tier in tiers],
        }
        for key, tiers in outcome["by_cohort"].items()
    ]
    owner = can_reorder(request.user, round.product)
    roles = product_roles_for_user(product=round.product, user=request.user)
    now = timezone.now()
    return {
        "is_voter": ProductRoleKind.BUSINESS_VOTER in roles,
        "round": round,
        "product": round.product,
        "outcome": outcome,
        "consensus": [[items[pk] for pk in tier] for tier in outcome["ranking"]],
        "heat": heat,
        "per_cohort": per_cohort,
        "is_open": round.is_open(now),
        "is_owner": owner,
        "ballots": (
            Ballot.objects.filter(round=round).select_related("voter", "cohort")
            if owner and round.ballots_visible
            else None
        ),
        "now": now,
    }


def _heat(value: float, peak: float) -> dict:
    """A heat-map cell's background opacity (the number is always printed too), and whether
    it is dark enough for white text: black text keeps 4.5:1 contrast up to 76% opacity."""
    alpha = 0.08 + 0.72 * (value / peak) if peak else 0.0
    return {"alpha": f"{alpha:.2f}", "dark": alpha > 0.76}


@login_required
@require_GET
@vary_on_headers("HX-Request")
def round_results(request: HttpRequest, pk: int) -> HttpResponse:
    round = round_for_user(request.user, pk)
    context = _results_context(request, round)
    if request.htmx:
        return render(request, "prioritisation/round_results.html#live", context)
    return render(request, "prioritisation/round_results.html", context)


@login_required
@require_POST
def round_adopt(request: HttpRequest, pk: int) -> HttpResponse:
    round = round_for_user(request.user, pk)
    _require_owner(request, round)
    try:
        services.round_adopt(round=round, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            "Adopted the vote order into the manual order. You can undo this from the backlog.",
        )
    return redirect("prioritisation:round_results", pk=round.pk)


@login_required
@require_POST
def round_keep(request: HttpRequest, pk: int) -> HttpResponse:
    round = round_for_user(request.user, pk)
    _require_owner(request, round)
    try:
        services.round_keep(round=round, actor=request.user, reason=request.POST.get("reason", ""))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Recorded why the product owner's order stays.")
    return redirect("prioritisation:round_results", pk=round.pk)
