"""Voting rounds: list and open them, vote, watch the results live, adopt or keep."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.humanize.templatetags.humanize import intcomma, ordinal
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from backlog.models import BacklogItem, ProductRoleKind
from backlog.permissions import can_reorder, product_for_user
from backlog.selectors import product_roles_for_user
from config.http import parse_int
from prioritisation import results, selectors, services, words
from prioritisation.agreement import PairAgreement, agreement_words
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
    rounds = selectors.round_list(product=product)
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


def _ballot_entry(item: BacklogItem, open_items: int) -> dict:
    """What a voter reads beside a shortlisted item, in plain words: who it is for, where the
    score puts it, its effort (the summary line), and each benefit estimate (see
    ``selectors.round_shortlist`` for what is loaded with the item)."""
    cohorts = [cohort.name for cohort in item.cohorts.all()]
    summary = [f"For {words.and_list(cohorts)}" if cohorts else "No target cohort named yet"]
    score = getattr(item, "score", None)
    if score is not None and score.rank:
        summary.append(f"{ordinal(score.rank)} of {intcomma(open_items)} open items by score")
    else:
        summary.append("not scored yet")
    summary.append(f"effort {words.points(item.effort)}")
    benefits = [
        f"{words.quantity(e.value, e.metric.unit)} ({e.metric.name}"
        f"{'' if e.metric.higher_is_better else ', lower is better'}) for {e.cohort.name}"
        for e in item.estimates.all()
    ]
    return {"item": item, "summary": " · ".join(summary) + ".", "benefits": benefits}


def _tiers_shown(ballot: Ballot | None, method: str, items: dict[int, BacklogItem], candidates):
    """A saved ballot as the page lists it: titles in order, ties sharing a place."""
    if ballot is None:
        return None
    if method == VotingMethod.DOTS:
        given, none = results.dots_given(ballot.points, candidates)
        return {
            "kind": "dots",
            "dots": [{"item": items[pk], "dots": n} for pk, n in given],
            "left_out": [items[pk] for pk in none],
        }
    places, unranked = results.ballot_places(ballot.ranking, candidates)
    return {
        "kind": "ranking",
        "tiers": [{"place": place, "items": [items[pk] for pk in tier]} for place, tier in places],
        "left_out": [items[pk] for pk in unranked],
    }


def _when(moment) -> str:
    local = timezone.localtime(moment)
    return f"{local:%H:%M} on {local.day} {local:%b %Y}"


def _closed_note(round: VotingRound, now) -> str:
    """Why the ballot cannot be changed: when the round closed, or when it opens."""
    if round.closed_at is None and now < round.opens_at:
        return f"Voting opens at {_when(round.opens_at)}"
    return f"This round closed at {_when(round.closed_at or round.closes_at)}"


@login_required
@require_http_methods(["GET", "POST"])
def ballot(request: HttpRequest, pk: int) -> HttpResponse:
    """The voter's ballot: rank the shortlist (drag, keyboard or position numbers), or spend
    dots. Unranked items tie below every ranked one; equal positions tie. Once the round has
    closed (or before it opens) the page is a read-only list: the ballot as submitted."""
    round = round_for_user(request.user, pk)
    require_voter(request.user, round)
    shortlist = selectors.round_shortlist(round=round)
    titles = {item.pk: item.title for item in shortlist}
    current = Ballot.objects.filter(round=round, voter=request.user).first()
    now = timezone.now()
    is_open = round.is_open(now)
    field = "dots" if round.method == VotingMethod.DOTS else "rank"  # the inputs' names
    field_errors: dict[str, str] = {}
    refused = None
    if request.method == "POST" and not is_open:
        refused = f"{_closed_note(round, now)}; ballots can no longer be changed."
    elif request.method == "POST":
        try:
            if round.method == VotingMethod.DOTS:
                points = parse_points(request.POST, titles, most=round.dot_max_per_item)
                services.ballot_submit(round=round, voter=request.user, points=points)
            else:
                ranking = parse_ranking(request.POST, titles)
                services.ballot_submit(round=round, voter=request.user, ranking=ranking)
        except forms.ValidationError as error:
            field_errors = {
                field: " ".join(problems) for field, problems in error.message_dict.items()
            }
        except services.BallotRefused as error:
            refused = str(error)
        else:
            messages.success(
                request, "Your ballot is saved. You can change it until the round closes."
            )
            return redirect("prioritisation:ballot", pk=round.pk)
    context = {
        "round": round,
        "product": round.product,
        "ballot": current,
        "is_open": is_open,
        "refused": refused,
        "field_errors": [
            {"field": f"{field}-{pk}", "title": title}
            for pk, title in titles.items()
            if f"{field}-{pk}" in field_errors
        ],
    }
    if not is_open:
        items = {item.pk: item for item in shortlist}
        context["closed_note"] = _closed_note(round, now)
        context["mine"] = _tiers_shown(current, round.method, items, list(titles))
        context["shortlist"] = shortlist
        status = 422 if refused else 200
        return render(request, "prioritisation/ballot.html", context, status=status)

    open_items = selectors.open_item_count(product=round.product)
    position = {}
    if current and current.ranking:
        for number, tier in enumerate(current.ranking, start=1):
            for item_id in tier:
                position[item_id] = number
    dots = {int(k): v for k, v in (current.points if current else {}).items()}
    if request.method == "POST":  # show what the voter sent, next to its error
        position = {c: request.POST.get(f"rank-{c}", "") for c in titles}
        dots = {c: request.POST.get(f"dots-{c}", "") for c in titles}
    rows = [
        {
            **_ballot_entry(item, open_items),
            "position": position.get(item.pk, ""),
            "dots": dots.get(item.pk, ""),
            "error": field_errors.get(f"{field}-{item.pk}"),
        }
        for item in shortlist
    ]
    # Ranked rows in position order (a position that is not a number sorts last, where the
    # voter sees its message); the rest in shortlist order.
    ranked = sorted(
        (row for row in rows if row["position"]),
        key=lambda row: (parse_int(row["position"]) is None, parse_int(row["position"]) or 0),
    )
    context.update(
        rows=rows,
        ranked=ranked,
        unranked=[row for row in rows if not row["position"]],
    )
    status = 422 if field_errors or refused else 200
    return render(request, "prioritisation/ballot.html", context, status=status)


def _agreement(pairs: dict | None, tau: float | None) -> dict | None:
    """Agreement between two orders in plain words. Results frozen before pairs were counted
    have only Kendall's tau; for orders without ties the share is (1 + tau) / 2."""
    if pairs:
        found = PairAgreement(agree=pairs["agree"], disagree=pairs["disagree"])
        share, compared = found.share, found.compared
    elif tau is not None:
        share, compared = (1 + tau) / 2, None
    else:
        return None
    return {
        "percent": words.percent(share),
        "words": agreement_words(share),
        "agree": pairs["agree"] if pairs else None,
        "compared": compared,
        "tau": None if tau is None else words.significant(tau),
    }


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
    ballots = None
    if owner and round.ballots_visible:
        ballots = [
            {"ballot": b, "shown": _tiers_shown(b, round.method, items, candidates)}
            for b in Ballot.objects.filter(round=round)
            .select_related("voter", "cohort")
            .order_by("voter__last_name", "voter__first_name", "pk")
        ]
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
        "ballots": ballots,
        "between_voters": _agreement(outcome.get("voter_pairs"), outcome["voter_agreement"]),
        "vote_and_score": _agreement(outcome.get("vote_score_pairs"), outcome["vote_vs_score"]),
        "method_in_words": results.METHOD_IN_WORDS[round.method],
        "method_precisely": results.METHOD_PRECISELY[round.method],
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


def _back_to_results(request: HttpRequest, round: VotingRound) -> HttpResponse:
    url = reverse("prioritisation:round_results", args=[round.pk])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@login_required
@require_POST
def round_close(request: HttpRequest, pk: int) -> HttpResponse:
    """Close the voting now, before the planned closing time (the product owner only)."""
    round = round_for_user(request.user, pk)
    _require_owner(request, round)
    try:
        services.round_close_now(round=round, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            "Closed the voting: ballots can no longer be changed and this result is frozen. "
            "You can re-open the round until its planned closing time if this was a mistake.",
        )
    return _back_to_results(request, round)


@login_required
@require_POST
def round_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    """Re-open a round closed by mistake, until its planned closing time, if its result
    was not adopted (the product owner only)."""
    round = round_for_user(request.user, pk)
    _require_owner(request, round)
    try:
        services.round_reopen(round=round, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Re-opened the voting: voters can cast and change ballots again.")
    return _back_to_results(request, round)
