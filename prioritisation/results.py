"""Reads for voting rounds: the live or frozen result, turnout and agreement.

The aggregation itself is ``prioritisation.voting`` (pure); this module loads the ballots
of one round in two queries, weights them by cohort and turns the outcome into plain data
that is stored as the frozen result when the round closes.

What the ballots decide (the consensus, each cohort's, agreement between voters and the
head-to-head matrix) is counted once per set of ballots and kept in a ``RoundTally``: the
ballot service bumps the round's ``ballots_version`` in its transaction, and a look at an
open round counts again only when that (or a voice weight) changed. Turnout and the score
order are read per look: they are two small queries, and they change without a ballot.
"""

from __future__ import annotations

import math
import zlib
from collections import Counter
from dataclasses import dataclass

import numpy as np
from django.db import transaction

from backlog.models import ProductRoleKind
from customers.models import Cohort, Membership
from prioritisation import voting
from prioritisation.agreement import (
    PairAgreement,
    mean_tau_b_between_voters,
    order_agreement,
    untied_pairs,
    voters_agreement,
)
from prioritisation.models import (
    Ballot,
    ItemScore,
    RoundCandidate,
    RoundTally,
    VotingMethod,
    VotingRound,
)

NO_COHORT = "none"


@dataclass(frozen=True)
class Outcome:
    """A round's result: ``data`` as JSON-ready data without the head-to-head matrix, and
    ``pairwise`` (float64, rows and columns in ``data["candidates"]`` order) beside it."""

    data: dict
    pairwise: np.ndarray


def candidate_ids(round: VotingRound) -> list[int]:
    return list(
        RoundCandidate.objects.filter(round=round)
        .order_by("position")
        .values_list("item_id", flat=True)
    )


def _ballot_of(ballot: dict, method: str):
    if method == VotingMethod.DOTS:
        return {int(k): v for k, v in (ballot["points"] or {}).items()}
    return [tier if len(tier) > 1 else tier[0] for tier in ballot["ranking"]]


def _tier_sizes(ballot: dict, method: str) -> list[int]:
    """The sizes of a ballot's tied groups, best first; candidates it leaves out (given no
    dots, or not ranked) are one more group below."""
    if method == VotingMethod.DOTS:
        by_points = Counter(v for v in (ballot["points"] or {}).values() if v)
        return list(by_points.values())
    return [len(tier) for tier in ballot["ranking"]]


def _pairs(found: PairAgreement) -> dict | None:
    return {"agree": found.agree, "disagree": found.disagree} if found.compared else None


def _cohorts(round: VotingRound) -> dict[int, Cohort]:
    return {c.pk: c for c in Cohort.objects.filter(organisation_id=round.product.organisation_id)}


def _tally_key(round: VotingRound, cohorts: dict[int, Cohort]) -> str:
    weights = (
        ",".join(f"{pk}={cohorts[pk].voice_weight}" for pk in sorted(cohorts))
        if round.cohort_weighting
        else "equal"
    )
    return f"v{round.ballots_version}:{round.method}:{weights}"


def _count(round: VotingRound, cohorts: dict[int, Cohort]) -> tuple[dict, np.ndarray]:
    """What the ballots decide: JSON-ready data, and the weighted head-to-head matrix."""
    candidates = candidate_ids(round)
    ballots = list(
        Ballot.objects.filter(round=round)
        .order_by("pk")
        .values("voter_id", "cohort_id", "ranking", "points")
    )
    voter_cohort = {
        b["voter_id"]: (b["cohort_id"] if b["cohort_id"] in cohorts else NO_COHORT) for b in ballots
    }
    if round.cohort_weighting:
        voice = {pk: float(c.voice_weight) for pk, c in cohorts.items()}
        voice[NO_COHORT] = 1.0
        weights = voting.cohort_weights(voter_cohort, voice)
    else:
        weights = dict.fromkeys(voter_cohort, 1.0)
    budget = round.dot_budget if round.method == VotingMethod.DOTS else None
    read = [_ballot_of(b, round.method) for b in ballots]
    profile = [(ballot, weights[b["voter_id"]]) for ballot, b in zip(read, ballots, strict=True)]
    outcome = voting.aggregate(profile, method=round.method, candidates=candidates, budget=budget)

    by_cohort = {}
    for cohort_key in sorted({*voter_cohort.values()}, key=str):
        mine = [
            (ballot, 1.0)
            for ballot, b in zip(read, ballots, strict=True)
            if voter_cohort[b["voter_id"]] == cohort_key
        ]
        sub = voting.aggregate(mine, method=round.method, candidates=candidates, budget=budget)
        by_cohort[str(cohort_key)] = [list(tier) for tier in sub.ranking]

    # Agreement between voters, exactly, over every two of them (see prioritisation.agreement):
    # from how many voters put each item above each other, and the same with each voter
    # weighted by 1 / √(the pairs they put apart) for the mean tau-b.
    m = len(candidates)
    above = voting.pairwise(
        [(ballot, 1.0) for ballot in read], method=round.method, candidates=candidates
    )
    untied = [untied_pairs(_tier_sizes(b, round.method), m) for b in ballots]
    apart = [(ballot, 1 / math.sqrt(u)) for ballot, u in zip(read, untied, strict=True) if u]
    scaled = voting.pairwise(apart, method=round.method, candidates=candidates)
    between_voters = voters_agreement(above, len(ballots))
    return (
        {
            "method": round.method,
            "candidates": candidates,
            "ranking": [list(tier) for tier in outcome.ranking] if ballots else [candidates],
            "scores": {str(k): v for k, v in (outcome.scores or {}).items()},
            "by_cohort": by_cohort,
            "voted_by_cohort": dict(Counter(str(c) for c in voter_cohort.values())),
            "ballots": len(ballots),
            "voter_agreement": mean_tau_b_between_voters(scaled, len(apart)),
            # The same in plain words: of the pairs of items two voters both put apart, how
            # many the same way round (over every two voters), and how many not.
            "voter_pairs": _pairs(between_voters),
        },
        np.round(outcome.pairwise, 6),
    )


def _finish(round: VotingRound, counted: dict, cohorts: dict[int, Cohort]) -> dict:
    """The counted result with what is read per look: turnout and the score order."""
    data = dict(counted)
    voted_by_cohort = data.pop("voted_by_cohort")
    candidates = data["candidates"]
    # Turnout: who could vote (business voters of the product), by the cohort they speak for.
    eligible = Membership.objects.filter(
        user__product_roles__product=round.product,
        user__product_roles__role=ProductRoleKind.BUSINESS_VOTER,
    ).values_list("user_id", "cohort_id")
    eligible_by_cohort = Counter(
        str(cohort if cohort in cohorts else NO_COHORT) for _user, cohort in eligible
    )

    def cohort_info(key: str) -> dict:
        cohort = cohorts.get(int(key)) if key != NO_COHORT else None
        voice = float(cohort.voice_weight) if cohort else 1.0
        return {
            "name": cohort.name if cohort else "No cohort",
            "voted": voted_by_cohort.get(key, 0),
            "eligible": eligible_by_cohort.get(key, 0),
            "voice_weight": voice if round.cohort_weighting else None,
        }

    data["turnout"] = {
        key: cohort_info(key) for key in sorted({*eligible_by_cohort, *voted_by_cohort})
    }
    score_rank = dict(
        ItemScore.objects.filter(item_id__in=candidates).values_list("item_id", "rank")
    )
    score_order = sorted(
        candidates, key=lambda c: (score_rank.get(c) is None, score_rank.get(c) or 0)
    )
    consensus = data["ranking"]
    voted = len(candidates) > 1 and data["ballots"]
    vote_vs_score = voting.kendall_tau(consensus, score_order) if voted else math.nan
    vote_and_score = order_agreement(consensus, score_order) if voted else PairAgreement()
    data["vote_vs_score"] = None if math.isnan(vote_vs_score) else vote_vs_score
    data["vote_score_pairs"] = _pairs(vote_and_score)
    data["score_order"] = score_order
    return data


def _pack(matrix: np.ndarray) -> bytes:
    return zlib.compress(np.ascontiguousarray(matrix, dtype="<f8").tobytes(), 1)


def _unpack(blob: bytes | memoryview, m: int) -> np.ndarray:
    return np.frombuffer(zlib.decompress(blob), dtype="<f8").reshape(m, m)


def _counted(round: VotingRound, cohorts: dict[int, Cohort]) -> tuple[dict, np.ndarray]:
    """The round's tally: the kept one if it was counted from these ballots and weights,
    else counted now and kept, unless a ballot came in or the round closed meanwhile (then
    this look shows what it counted and the next counts again)."""
    key = _tally_key(round, cohorts)
    kept = RoundTally.objects.filter(round=round, key=key).first()
    if kept is not None:
        return kept.result, _unpack(kept.pairwise, len(kept.result["candidates"]))
    counted, matrix = _count(round, cohorts)
    # No savepoint: inside round_close's transaction a failure here fails the close.
    with transaction.atomic(savepoint=False):
        # The round's row lock orders this with ballots and closing (round_close holds it
        # already when it counts): a tally is kept only for the ballots it counted.
        now = VotingRound.objects.select_for_update(of=("self",)).filter(pk=round.pk)
        now = now.values("ballots_version", "closed_at").first()
        if (
            now
            and now["ballots_version"] == round.ballots_version
            and (now["closed_at"] is None or now["closed_at"] == round.closed_at)
        ):
            RoundTally.objects.bulk_create(
                [RoundTally(round=round, key=key, result=counted, pairwise=_pack(matrix))],
                update_conflicts=True,
                unique_fields=["round"],
                update_fields=["key", "result", "pairwise", "counted_at"],
            )
    return counted, matrix


def live_outcome(round: VotingRound) -> Outcome:
    """The round's result from its ballots now (counted again only if they changed)."""
    cohorts = _cohorts(round)
    counted, matrix = _counted(round, cohorts)
    return Outcome(data=_finish(round, counted, cohorts), pairwise=matrix)


def round_outcome(round: VotingRound) -> Outcome:
    """The frozen result of a closed round, or the live result of an open one. A frozen
    result is read as stored, never counted again; results frozen before the tally carry
    their matrix inside."""
    if round.closed_at is not None and round.result is not None:
        data = dict(round.result)
        inline = data.pop("pairwise", None)
        if inline is not None:
            return Outcome(data=data, pairwise=np.asarray(inline, dtype=np.float64))
        blob = RoundTally.objects.filter(round=round).values_list("pairwise", flat=True).first()
        m = len(data["candidates"])
        return Outcome(data=data, pairwise=_unpack(blob, m) if blob else np.zeros((m, m)))
    return live_outcome(round)


def compute(round: VotingRound) -> dict:
    """The round's result from its ballots now, as JSON-ready data with the matrix."""
    outcome = live_outcome(round)
    return {**outcome.data, "pairwise": outcome.pairwise.tolist()}


def round_result(round: VotingRound) -> dict:
    """The frozen result of a closed round, or the live result of an open one, with the
    head-to-head matrix as lists (the API's shape)."""
    outcome = round_outcome(round)
    return {**outcome.data, "pairwise": outcome.pairwise.tolist()}


def latest_result(product, *, closed_only: bool = False) -> tuple[VotingRound | None, dict | None]:
    """The product's latest voting round with ballots and its result (live while open), or
    with ``closed_only`` the latest closed round and its frozen result: (None, None) if none.
    The compare view shows the vote as it stands; the show-and-tell shows what was decided.
    The result comes without its head-to-head matrix (``round_outcome`` has it)."""
    rounds = VotingRound.objects.filter(product=product).select_related("product")
    if closed_only:
        round = rounds.filter(closed_at__isnull=False).order_by("-closed_at", "-pk").first()
    else:
        round = rounds.filter(ballots__isnull=False).order_by("-opens_at", "-pk").first()
    if round is None:
        return None, None
    # The order is what these pages read: not the matrix (a million floats at 1,000 items).
    return round, round_outcome(round).data


def places(outcome: dict) -> dict[int, int]:
    """Item id → place in the consensus (tied items share the place of their tier)."""
    found, place = {}, 1
    for tier in outcome["ranking"]:
        for pk in tier:
            found[pk] = place
        place += len(tier)
    return found


def ballot_places(ranking: list[list[int]], candidates: list[int]) -> tuple[list, list[int]]:
    """A ranked ballot as people read it: ``[(place, [item ids]), ...]`` best first, tied
    items sharing a place (1, 2, 2, 4: the place after a tie skips), and the candidates it
    left unranked, in shortlist order."""
    shown, place, ranked, known = [], 1, set(), set(candidates)
    for tier in ranking:
        tier = [pk for pk in tier if pk in known]
        if tier:
            shown.append((place, tier))
            place += len(tier)
            ranked.update(tier)
    return shown, [pk for pk in candidates if pk not in ranked]


def dots_given(points: dict, candidates: list[int]) -> tuple[list[tuple[int, int]], list[int]]:
    """A dots ballot as people read it: ``[(item id, dots), ...]`` most dots first (ties in
    shortlist order), and the candidates given none."""
    given = {int(k): v for k, v in (points or {}).items() if v}
    shown = sorted(((pk, given[pk]) for pk in candidates if pk in given), key=lambda row: -row[1])
    return shown, [pk for pk in candidates if pk not in given]


# How each method decides, for people who do not speak social choice; the method's name
# and its exact rule go in a "details" beside it.
METHOD_IN_WORDS = {
    VotingMethod.SCHULZE: "the item that beats each other item head to head comes first "
    "(directly, or through a chain of head-to-head wins)",
    VotingMethod.RANKED_PAIRS: "the clearest head-to-head wins are settled first, and a "
    "weaker win that would contradict them is set aside",
    VotingMethod.BORDA: "each place on a ballot earns points (the more items below it, the "
    "more points), and the item with the most points comes first",
    VotingMethod.COPELAND: "the item that wins the most head-to-head contests comes first",
    VotingMethod.DOTS: "the item given the most dots comes first",
}
METHOD_PRECISELY = {
    VotingMethod.SCHULZE: "Schulze method: item A is ahead of item B when the strongest "
    "chain of head-to-head wins from A to B is stronger than the strongest chain back; a "
    "chain is as strong as its weakest win.",
    VotingMethod.RANKED_PAIRS: "Ranked pairs (Tideman's method): head-to-head wins are locked "
    "in from the largest margin down, skipping any that would close a cycle.",
    VotingMethod.BORDA: "Borda count: with n items, first place earns n − 1 points and last "
    "place none; tied and unranked items share the average of their places' points.",
    VotingMethod.COPELAND: "Copeland method: head-to-head wins minus head-to-head losses.",
    VotingMethod.DOTS: "Dot voting: each voter spends a budget of dots; the dots are added "
    "up, weighted by cohort where the round says so.",
}
