"""Voting rounds: list and open them, vote, watch the results live, adopt or keep."""

from __future__ import annotations

import csv
from urllib.parse import urlencode

import numpy as np
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.humanize.templatetags.humanize import intcomma, ordinal
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from backlog.audit.log import safe_cell
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


def _tiers_shown(
    ballot: Ballot | None,
    method: str,
    items: dict[int, BacklogItem],
    candidates,
    *,
    left_out_shown: int | None = None,
):
    """A saved ballot as the page lists it: titles in order, ties sharing a place; with
    ``left_out_shown``, the first so many items it left out and how many more."""
    if ballot is None:
        return None
    if method == VotingMethod.DOTS:
        given, none = results.dots_given(ballot.points, candidates)
        shown = {"kind": "dots", "dots": [{"item": items[pk], "dots": n} for pk, n in given]}
    else:
        places, none = results.ballot_places(ballot.ranking, candidates)
        shown = {
            "kind": "ranking",
            "tiers": [
                {"place": place, "items": [items[pk] for pk in tier]} for place, tier in places
            ],
        }
    cut = len(none) if left_out_shown is None else left_out_shown
    shown["left_out"] = [items[pk] for pk in none[:cut]]
    shown["more_left_out"] = max(0, len(none) - cut)
    return shown


def _ballot_ids(ballot: Ballot, method: str) -> list[int]:
    if method == VotingMethod.DOTS:
        return [int(pk) for pk in (ballot.points or {})]
    return [pk for tier in ballot.ranking for pk in tier]


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


# The results page shows a readable part of a shortlist of up to 1,000 items, and the person
# asks for more: the first places of each order, a window of the head-to-head table, the
# first ballots. Each "more" adds a page's worth; the whole table is a CSV download. At the
# defaults the page stays well under 200 KB whatever the shortlist.
PLACES_SHOWN = 20
MORE_PLACES = 100
HEAD_TO_HEAD = 20
BALLOTS_SHOWN = 20
LEFT_OUT_SHOWN = 10


def _asked(request: HttpRequest, name: str, default: int, most: int) -> int:
    """A count or place from the query string, kept between 1 and ``most``."""
    value = parse_int(request.GET.get(name, ""))
    return min(max(value if value is not None else default, 1), max(most, 1))


def _first_places(tiers: list[list[int]], limit: int) -> list[list[int]]:
    """The tiers holding the first ``limit`` items, the last one cut short if need be."""
    shown, room = [], limit
    for tier in tiers:
        if room <= 0:
            break
        shown.append(tier[:room])
        room -= len(tier)
    return shown


def _results_url(round: VotingRound, asked: dict, **change) -> str:
    query = {**asked, **change}
    return f"{reverse('prioritisation:round_results', args=[round.pk])}?{urlencode(query)}"


def _results_context(request: HttpRequest, round: VotingRound) -> dict:
    outcome = results.round_outcome(round)
    data, matrix = outcome.data, outcome.pairwise
    candidates = data["candidates"]
    m = len(candidates)
    order = [pk for tier in data["ranking"] for pk in tier]  # consensus, ties in tier order
    places = _asked(request, "places", PLACES_SHOWN, m)
    start = _asked(request, "from", 1, max(1, m - HEAD_TO_HEAD + 1))
    owner = can_reorder(request.user, round.product)
    show_ballots = owner and round.ballots_visible
    ballots_shown = _asked(request, "ballots", BALLOTS_SHOWN, data["ballots"])
    asked = {
        name: value
        for name, value, default in (
            ("places", places, PLACES_SHOWN),
            ("from", start, 1),
            ("ballots", ballots_shown, BALLOTS_SHOWN),
        )
        if value != default
    }

    consensus = _first_places(data["ranking"], places)
    per_cohort_ids = {key: _first_places(tiers, places) for key, tiers in data["by_cohort"].items()}
    window = order[start - 1 : start - 1 + HEAD_TO_HEAD]
    ballots = []
    if show_ballots:
        ballots = list(
            Ballot.objects.filter(round=round)
            .select_related("voter", "cohort")
            .order_by("voter__last_name", "voter__first_name", "pk")[:ballots_shown]
        )
    needed = {pk for tier in consensus for pk in tier} | set(window)
    needed |= {pk for tiers in per_cohort_ids.values() for tier in tiers for pk in tier}
    left_out = {}
    for b in ballots:
        mine = set(_ballot_ids(b, round.method))
        needed |= mine
        left_out[b.pk] = [pk for pk in candidates if pk not in mine][:LEFT_OUT_SHOWN]
        needed |= set(left_out[b.pk])
    items = BacklogItem.objects.only("pk", "title").in_bulk(needed)

    index = {pk: i for i, pk in enumerate(candidates)}
    rows = [index[pk] for pk in window]
    block = matrix[np.ix_(rows, rows)] if rows else np.zeros((0, 0))
    peak = float(matrix.max()) if matrix.size else 0.0
    peak = peak or 1
    heat = [
        {
            "place": start + i,
            "item": items[window[i]],
            "cells": [
                {
                    "value": float(block[i, j]),
                    "against": items[window[j]],
                    "self": i == j,
                    **_heat(float(block[i, j]), peak),
                    "wins": block[i, j] > block[j, i],
                }
                for j in range(len(window))
            ],
        }
        for i in range(len(window))
    ]
    per_cohort = [
        {
            "name": data["turnout"][key]["name"],  # every cohort that voted is in turnout
            "tiers": [[items[pk] for pk in tier] for tier in tiers],
        }
        for key, tiers in per_cohort_ids.items()
    ]
    roles = product_roles_for_user(product=round.product, user=request.user)
    now = timezone.now()
    shown_count = min(places, m)
    window_end = start - 1 + len(window)
    return {
        "is_voter": ProductRoleKind.BUSINESS_VOTER in roles,
        "round": round,
        "product": round.product,
        "outcome": data,
        "consensus": [[items[pk] for pk in tier] for tier in consensus],
        "places_shown": shown_count,
        "places_hidden": m - shown_count,
        "more_places_url": _results_url(round, asked, places=min(m, places + MORE_PLACES))
        if shown_count < m
        else None,
        "more_places": min(MORE_PLACES, m - shown_count),
        "heat": heat,
        "head_to_head": {
            "first": start,
            "last": window_end,
            "of": m,
            "earlier_url": _results_url(round, asked, **{"from": max(1, start - HEAD_TO_HEAD)})
            if start > 1
            else None,
            "later_url": _results_url(round, asked, **{"from": window_end + 1})
            if window_end < m
            else None,
            "csv_url": reverse("prioritisation:round_pairwise_csv", args=[round.pk]),
        },
        "live_url": _results_url(round, asked),
        "per_cohort": per_cohort,
        "is_open": round.is_open(now),
        "is_owner": owner,
        "ballots": [
            {
                "ballot": b,
                "shown": _tiers_shown(
                    b, round.method, items, candidates, left_out_shown=LEFT_OUT_SHOWN
                ),
            }
            for b in ballots
        ]
        if show_ballots
        else None,
        "more_ballots_url": _results_url(round, asked, ballots=ballots_shown + MORE_PLACES)
        + "#ballots"
        if show_ballots and ballots_shown < data["ballots"]
        else None,
        "ballots_hidden": max(0, data["ballots"] - ballots_shown),
        "between_voters": _agreement(data.get("voter_pairs"), data["voter_agreement"]),
        "vote_and_score": _agreement(data.get("vote_score_pairs"), data["vote_vs_score"]),
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
@require_GET
def round_pairwise_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """The whole head-to-head table as CSV, in consensus order: each cell is the weighted
    number of voters who put the row's item above the column's. Streamed a row at a time:
    1,000 items are a million cells. Titles are neutralised against spreadsheet formulas."""
    round = round_for_user(request.user, pk)
    outcome = results.round_outcome(round)
    candidates = outcome.data["candidates"]
    order = [pk for tier in outcome.data["ranking"] for pk in tier]
    titles = dict(BacklogItem.objects.filter(pk__in=candidates).values_list("pk", "title"))
    index = {pk: i for i, pk in enumerate(candidates)}
    matrix = outcome.pairwise[np.ix_([index[pk] for pk in order], [index[pk] for pk in order])]
    writer = csv.writer(_Echo())
    header = ["Place", "Item id", "Preferred over →", *(safe_cell(titles[pk]) for pk in order)]

    def lines():
        yield writer.writerow(header)
        for place, (pk, row) in enumerate(zip(order, matrix, strict=True), start=1):
            cells = (f"{value:g}" for value in row.tolist())
            yield writer.writerow([place, pk, safe_cell(titles[pk]), *cells])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="round-{round.pk}-head-to-head.csv"'
    return response


class _Echo:
    """A file-like object whose write returns the line, for streaming csv.writer rows."""

    def write(self, value: str) -> str:
        return value


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
