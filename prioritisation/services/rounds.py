"""Voting rounds: open one on a shortlist, take ballots until it closes, freeze the result,
and let the product owner adopt it (or keep their order and say why)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from backlog.models import OPEN_STATUSES, BacklogItem, Product, ProductRole, ProductRoleKind
from customers.models import Cohort, Membership
from customers.selectors import membership_for_user
from prioritisation import results, voting
from prioritisation.models import (
    Ballot,
    ItemScore,
    RoundCandidate,
    VotingMethod,
    VotingRound,
)

MAX_SHORTLIST = 1000
# Round times must show in every time zone and as an RFC 3339 time in the API: year 1 in
# London (LMT, -00:01:15) is not one, and 31 December 9999 in New York is year 10000 in
# UTC, which Python cannot read back from PostgreSQL.
EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(9999, 12, 30, tzinfo=UTC)


class BallotRefused(Exception):
    """A ballot that cannot be taken; the message is for the voter."""


def round_create(
    *,
    product: Product,
    actor: AbstractBaseUser | None,
    title: str,
    method: str,
    opens_at: datetime,
    closes_at: datetime,
    shortlist_size: int | None = None,
    item_ids: Sequence[int] | None = None,
    cohort_weighting: bool = True,
    ballots_visible: bool = False,
    dot_budget: int = 10,
    dot_max_per_item: int = 3,
) -> VotingRound:
    """Open a round on the top ``shortlist_size`` open items by score, or on ``item_ids``."""
    errors: dict[str, str] = {}
    if method not in VotingMethod.values:
        errors["method"] = "Choose a voting method from the list."
    for name, moment in (("opens_at", opens_at), ("closes_at", closes_at)):
        if not EARLIEST_TIME <= moment <= LATEST_TIME:
            errors[name] = "Choose a time between 2000 and 9999."
    if not {"opens_at", "closes_at"} & errors.keys() and closes_at <= opens_at:
        errors["closes_at"] = "The round must close after it opens."
    if method == VotingMethod.DOTS and not (1 <= dot_max_per_item <= dot_budget):
        errors["dot_max_per_item"] = "Dots per item must be at least 1 and at most the budget."
    open_items = BacklogItem.objects.filter(product=product, status__in=OPEN_STATUSES)
    if item_ids:
        chosen = list(dict.fromkeys(item_ids))
        found = set(open_items.filter(pk__in=chosen).values_list("pk", flat=True))
        if found != set(chosen):
            errors["item_ids"] = "Every shortlisted item must be an open item of this product."
        rank = dict(ItemScore.objects.filter(item_id__in=chosen).values_list("item_id", "rank"))
        chosen.sort(key=lambda pk: (rank.get(pk) is None, rank.get(pk) or 0, pk))
    else:
        size = shortlist_size or 0
        if not 2 <= size <= MAX_SHORTLIST:
            errors["shortlist_size"] = f"A shortlist has 2 to {MAX_SHORTLIST} items."
        chosen = list(
            ItemScore.objects.filter(product=product, rank__isnull=False)
            .order_by("rank")
            .values_list("item_id", flat=True)[:size]
        )
        if not errors and len(chosen) < 2:
            errors["shortlist_size"] = "This product has fewer than two scored open items."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        round = VotingRound(
            product=product,
            title=title,
            method=method,
            opens_at=opens_at,
            closes_at=closes_at,
            cohort_weighting=cohort_weighting,
            ballots_visible=ballots_visible,
            dot_budget=dot_budget,
            dot_max_per_item=dot_max_per_item,
            created_by=actor,
        )
        round.full_clean()
        round.save()
        RoundCandidate.objects.bulk_create(
            RoundCandidate(round=round, item_id=pk, position=i) for i, pk in enumerate(chosen, 1)
        )
        if opens_at <= timezone.now():
            # The voters hear of it after commit (prioritisation.notifications); a round
            # that opens later is announced by the beat sweep once its time comes.
            from outbox.services import outbox_enqueue
            from prioritisation.tasks import notify_round_opened

            outbox_enqueue(task=notify_round_opened, round_id=round.pk)
    return round


def _check_ballot(round: VotingRound, candidates: list[int], ranking, points) -> tuple[list, dict]:
    """Validate a ballot against the shortlist; returns it normalised (ids as ints)."""
    try:
        if round.method == VotingMethod.DOTS:
            clean = {int(k): v for k, v in (points or {}).items() if v}
            over = [k for k, v in clean.items() if v > round.dot_max_per_item]
            if over:
                raise BallotRefused(f"At most {round.dot_max_per_item} dots may go on one item.")
            voting.aggregate(
                [(clean, 1.0)], method="dots", candidates=candidates, budget=round.dot_budget
            )
            return [], {str(k): v for k, v in clean.items()}
        tiers = [[int(c) for c in tier] for tier in (ranking or []) if tier]
        voting.aggregate(
            [([t if len(t) > 1 else t[0] for t in tiers], 1.0)],
            method=round.method,
            candidates=candidates,
        )
        return tiers, {}
    except (TypeError, ValueError) as error:
        reason = str(error).removeprefix("ballot 0: ").rstrip(".")
        raise BallotRefused(f"This ballot cannot be counted: {reason}.") from None


def ballot_submit(
    *,
    round: VotingRound,
    voter: AbstractBaseUser,
    ranking: Sequence[Sequence[int]] | None = None,
    points: dict | None = None,
) -> Ballot:
    """Take or replace a voter's ballot while the round is open.

    ``ranking`` is tiers of item ids, best first (unranked items tie below); ``points`` maps
    item ids to dots. The round row is locked so a ballot and the closing of the round
    cannot interleave, and the same voter's parallel submissions end in one ballot.
    """
    is_voter = ProductRole.objects.filter(
        product_id=round.product_id, user=voter, role=ProductRoleKind.BUSINESS_VOTER
    ).exists()
    if not is_voter:
        raise BallotRefused("Only the product's business voters can vote in this round.")
    candidates = results.candidate_ids(round)
    tiers, dots = _check_ballot(round, candidates, ranking, points)
    membership = membership_for_user(voter)
    with transaction.atomic():
        locked = VotingRound.objects.select_for_update(of=("self",)).get(pk=round.pk)
        now = timezone.now()
        if locked.closed_at is not None or now >= locked.closes_at:
            raise BallotRefused(
                f"This round closed at {timezone.localtime(locked.closes_at):%H:%M on %d %b %Y}; "
                "ballots can no longer be changed."
            )
        if now < locked.opens_at:
            raise BallotRefused("This round has not opened yet.")
        # The counted result (results.RoundTally) is for the ballots of one version: this
        # ballot makes it stale, in the same transaction as the ballot itself.
        VotingRound.objects.filter(pk=round.pk).update(ballots_version=F("ballots_version") + 1)
        ballot = Ballot.objects.filter(round=round, voter=voter).first()
        if ballot is None:
            try:
                with transaction.atomic():
                    return Ballot.objects.create(
                        round=round,
                        voter=voter,
                        cohort=_ballot_cohort(membership),
                        ranking=tiers,
                        points=dots,
                    )
            except IntegrityError:  # the database's one-ballot rule: fall through to update
                ballot = Ballot.objects.get(round=round, voter=voter)
        ballot.ranking, ballot.points = tiers, dots
        ballot.revisions += 1
        ballot.save(update_fields=["ranking", "points", "revisions", "updated_at"])
        return ballot


def _ballot_cohort(membership: Membership | None) -> Cohort | None:
    """The cohort a new ballot speaks for: the voter's, unless it is archived (an archived
    cohort takes no new ballots, so the ballot counts as from no cohort)."""
    cohort = membership.cohort if membership else None
    return cohort if cohort is not None and cohort.archived_at is None else None


def _lock_round(round_id: int) -> VotingRound | None:
    # Only the round row: the joined product stays unlocked for moves and rescores.
    return (
        VotingRound.objects.select_for_update(of=("self",))
        .order_by()
        .select_related("product")
        .filter(pk=round_id)
        .first()
    )


def round_close(*, round_id: int) -> VotingRound | None:
    """Close a round and freeze its result. Safe to run twice: a closed round is left alone."""
    with transaction.atomic():
        round = _lock_round(round_id)
        if round is None or round.closed_at is not None:
            return round
        # The matrix stays in the round's tally, which is not counted again once closed.
        round.result = results.live_outcome(round).data
        round.closed_at = timezone.now()
        round.save(update_fields=["result", "closed_at"])
    return round


def round_close_due(*, now: datetime | None = None) -> list[int]:
    """Close every round whose closing time has passed. Returns the ids closed."""
    now = now or timezone.now()
    due = list(
        VotingRound.objects.filter(closed_at__isnull=True, closes_at__lte=now).values_list(
            "pk", flat=True
        )
    )
    for round_id in due:
        round_close(round_id=round_id)
    return due


def round_close_now(*, round: VotingRound, actor: AbstractBaseUser | None) -> VotingRound:
    """Close an open round before its closing time (the product owner's "close now").

    The planned closing time stays on record, so a round closed by mistake can be re-opened
    until then. Refuses a round that is closed already or not open yet."""
    with transaction.atomic():
        locked = _lock_round(round.pk)
        if locked is None or locked.closed_at is not None:
            raise ValidationError("This round is closed already.")
        if timezone.now() < locked.opens_at:
            raise ValidationError(
                "This round has not opened yet, so there is nothing to close. "
                "Open a new round with the times you want instead."
            )
        return round_close(round_id=locked.pk)


def round_reopen(*, round: VotingRound, actor: AbstractBaseUser | None) -> VotingRound:
    """Re-open a round closed by mistake: ballots are taken again until its planned closing
    time, and the frozen result is dropped (it is computed again when the round closes).

    Refused once the result was adopted into the backlog's order (even if that was undone:
    the order people saw came from this result), and after the planned closing time."""
    with transaction.atomic():
        locked = _lock_round(round.pk)
        if locked is None or locked.closed_at is None:
            raise ValidationError("This round is open already.")
        if locked.adopted_at is not None:
            raise ValidationError(
                "This round's result was already adopted into the backlog's order, so it "
                "cannot be re-opened. Open a new round to vote again."
            )
        if timezone.now() >= locked.closes_at:
            raise ValidationError(
                "This round's closing time has passed, so it cannot be re-opened. "
                "Open a new round to vote again."
            )
        locked.closed_at, locked.result, locked.kept_reason = None, None, ""
        locked.save(update_fields=["closed_at", "result", "kept_reason"])
    return locked


def round_adopt(*, round: VotingRound, actor: AbstractBaseUser | None) -> VotingRound:
    """Put the round's consensus order at the top of the manual order (pinned items stay).

    The order service computes the new keys before it locks the product; once it holds the
    product lock (the backlog's first lock) it locks the round and checks it is still
    closed, so a re-open cannot slip in between the check and the adoption."""
    from backlog.models import ReorderKind
    from backlog.services import order_adopt

    if round.closed_at is None or round.result is None:
        raise ValidationError("Adopt the result once the round has closed.")
    locked = None

    def still_closed() -> None:
        nonlocal locked
        locked = _lock_round(round.pk)
        if locked is None or locked.closed_at is None:
            raise ValidationError("Adopt the result once the round has closed.")
        if locked.result != round.result:
            raise ValidationError("The round was re-opened and closed again: adopt it anew.")

    ranked = [pk for tier in round.result["ranking"] for pk in tier]
    with transaction.atomic():
        snapshot = order_adopt(
            product=round.product,
            actor=actor,
            ranked_ids=ranked,
            kind=ReorderKind.VOTE_ORDER,
            note=f"Adopted the result of voting round “{round.title}” (#{round.pk}).",
            on_locked=still_closed,
        )
        locked.adopted_at, locked.adopted_by = timezone.now(), actor
        locked.adopted_snapshot = snapshot
        locked.save(update_fields=["adopted_at", "adopted_by", "adopted_snapshot"])
    round.adopted_at, round.adopted_by = locked.adopted_at, actor
    round.adopted_snapshot = snapshot
    return round


def round_keep(*, round: VotingRound, actor: AbstractBaseUser | None, reason: str) -> VotingRound:
    """Keep the product owner's order instead of the vote's, and record why."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"kept_reason": "Say why the product owner's order stays."})
    round.kept_reason = (
        f"{reason} — {actor.get_full_name() or actor.get_username()}" if actor else reason
    )
    round.save(update_fields=["kept_reason"])
    return round
