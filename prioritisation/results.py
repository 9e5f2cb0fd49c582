"""Reads for voting rounds: the live or frozen result, turnout and agreement.

The aggregation itself is ``prioritisation.voting`` (pure); this module loads the ballots
of one round in two queries, weights them by cohort and turns the outcome into plain data
that is stored as the frozen result when the round closes.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter, defaultdict

from backlog.models import ProductRoleKind
from customers.models import Cohort, Membership
from prioritisation import voting
from prioritisation.agreement import PairAgreement, order_agreement
from prioritisation.models import Ballot, ItemScore, RoundCandidate, VotingMethod, VotingRound

NO_COHORT = "none"
# Agreement between voters (pairs agreeing, and mean Kendall's tau) is taken over at most
# this many voters (a random but fixed sample): 100 voters are 4,950 pairs, a few
# milliseconds for a 20-item shortlist.
AGREEMENT_SAMPLE = 100


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


def _full_order(ranking: list[list[int]], candidates: list[int]) -> list:
    """A ballot's ranking with its unranked candidates as one tied group at the end."""
    ranked = {c for tier in ranking for c in tier}
    rest = [c for c in candidates if c not in ranked]
    return [list(tier) for tier in ranking] + ([rest] if rest else [])


def _dots_order(points: dict, candidates: list[int]) -> list:
    by_points = defaultdict(list)
    for c in candidates:
        by_points[points.get(str(c), points.get(c, 0))].append(c)
    return [by_points[p] for p in sorted(by_points, reverse=True)]


def _pairs(found: PairAgreement) -> dict | None:
    return {"agree": found.agree, "disagree": found.disagree} if found.compared else None


def compute(round: VotingRound) -> dict:
    """The round's result from its ballots now, as JSON-ready data."""
    candidates = candidate_ids(round)
    ballots = list(
        Ballot.objects.filter(round=round)
        .order_by("pk")
        .values("voter_id", "cohort_id", "ranking", "points")
    )
    cohorts = {
        c.pk: c for c in Cohort.objects.filter(organisation_id=round.product.organisation_id)
    }
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
    profile = [(_ballot_of(b, round.method), weights[b["voter_id"]]) for b in ballots]
    outcome = voting.aggregate(profile, method=round.method, candidates=candidates, budget=budget)

    by_cohort = {}
    for cohort_key in sorted({*voter_cohort.values()}, key=str):
        mine = [
            (_ballot_of(b, round.method), 1.0)
            for b in ballots
            if voter_cohort[b["voter_id"]] == cohort_key
        ]
        sub = voting.aggregate(mine, method=round.method, candidates=candidates, budget=budget)
        by_cohort[str(cohort_key)] = [list(tier) for tier in sub.ranking]

    # Turnout: who could vote (business voters of the product), by the cohort they speak for.
    eligible = Membership.objects.filter(
        user__product_roles__product=round.product,
        user__product_roles__role=ProductRoleKind.BUSINESS_VOTER,
    ).values_list("user_id", "cohort_id")
    eligible_by_cohort = Counter(
        str(cohort if cohort in cohorts else NO_COHORT) for _user, cohort in eligible
    )
    voted_by_cohort = Counter(str(c) for c in voter_cohort.values())

    def cohort_info(key: str) -> dict:
        cohort = cohorts.get(int(key)) if key != NO_COHORT else None
        voice = float(cohort.voice_weight) if cohort else 1.0
        return {
            "name": cohort.name if cohort else "No cohort",
            "voted": voted_by_cohort.get(key, 0),
            "eligible": eligible_by_cohort.get(key, 0),
            "voice_weight": voice if round.cohort_weighting else None,
        }

    turnout = {key: cohort_info(key) for key in sorted({*eligible_by_cohort, *voted_by_cohort})}

    orders = [
        _dots_order(b["points"] or {}, candidates)
        if round.method == VotingMethod.DOTS
        else _full_order(b["ranking"], candidates)
        for b in ballots
    ]
    sample = (
        orders
        if len(orders) <= AGREEMENT_SAMPLE
        else random.Random(round.pk).sample(orders, AGREEMENT_SAMPLE)
    )
    voter_pairs = list(itertools.combinations(sample, 2))
    taus = [voting.kendall_tau(a, b) for a, b in voter_pairs]
    taus = [t for t in taus if not math.isnan(t)]
    between_voters = sum((order_agreement(a, b) for a, b in voter_pairs), PairAgreement())

    score_rank = dict(
        ItemScore.objects.filter(item_id__in=candidates).values_list("item_id", "rank")
    )
    score_order = sorted(
        candidates, key=lambda c: (score_rank.get(c) is None, score_rank.get(c) or 0)
    )
    consensus = [list(tier) for tier in outcome.ranking]
    voted = len(candidates) > 1 and ballots
    vote_vs_score = voting.kendall_tau(consensus, score_order) if voted else math.nan
    vote_and_score = order_agreement(consensus, score_order) if voted else PairAgreement()
    return {
        "method": round.method,
        "candidates": candidates,
        "ranking": [list(tier) for tier in outcome.ranking] if ballots else [candidates],
        "scores": {str(k): v for k, v in (outcome.scores or {}).items()},
        "pairwise": outcome.pairwise.round(6).tolist(),
        "by_cohort": by_cohort,
        "turnout": turnout,
        "ballots": len(ballots),
        "voter_agreement": sum(taus) / len(taus) if taus else None,
        "vote_vs_score": None if math.isnan(vote_vs_score) else vote_vs_score,
        # The same two in plain words: of the pairs of items both sides put apart, how many
        # the same way round (pooled over every pair of sampled voters), and how many not.
        "voter_pairs": _pairs(between_voters),
        "vote_score_pairs": _pairs(vote_and_score),
        "score_order": score_order,
    }


def round_result(round: VotingRound) -> dict:
    """The frozen result of a closed round, or the live result of an open one."""
    if round.closed_at is not None and round.result is not None:
        return round.result
    return compute(round)


def latest_result(product, *, closed_only: bool = False) -> tuple[VotingRound | None, dict | None]:
    """The product's latest voting round with ballots and its result (live while open), or
    with ``closed_only`` the latest closed round and its frozen result: (None, None) if none.
    The compare view shows the vote as it stands; the show-and-tell shows what was decided."""
    rounds = VotingRound.objects.filter(product=product).select_related("product")
    if closed_only:
        round = rounds.filter(closed_at__isnull=False).order_by("-closed_at", "-pk").first()
    else:
        round = rounds.filter(ballots__isnull=False).order_by("-opens_at", "-pk").first()
    if round is None:
        return None, None
    return round, round_result(round)


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
