"""E-mails about voting rounds: a round opens (to its voters) and a round closes within 24
hours (to its voters who have not voted). Each is sent once per person and round
(customers/notifications.py) by a task after the round's commit, or by the beat sweep for
rounds that open later or come within a day of closing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from backlog.models import ProductRoleKind
from customers.models import NotificationKind
from customers.notifications import Email, claim, display_name, notifiable_users, send_all, site_url
from prioritisation.models import Ballot, VotingRound

# "Closes within 24 hours": the reminder goes once the closing time is this near.
CLOSING_SOON = timedelta(hours=24)
# The sweep announces rounds that opened this recently (a round opening in the future is
# announced when its time comes; the task after a round's creation announces the rest).
OPENED_RECENTLY = timedelta(days=1)


def _round(round_id: int) -> VotingRound | None:
    return (
        VotingRound.objects.select_related("product", "product__organisation")
        .filter(pk=round_id, product__archived_at__isnull=True)
        .first()
    )


def _voters(round: VotingRound, kind: str):
    return notifiable_users(organisation_id=round.product.organisation_id, kind=kind).filter(
        product_roles__product_id=round.product_id,
        product_roles__role=ProductRoleKind.BUSINESS_VOTER,
    )


def _send(round: VotingRound, kind: str, people: list, *, subject: str, template: str) -> int:
    about = f"round:{round.pk}"
    claimed = claim(
        organisation_id=round.product.organisation_id,
        kind=kind,
        pairs=((person.email, about) for person in people),
    )
    ballot_url = site_url(reverse("prioritisation:ballot", args=[round.pk]))
    closes_at = timezone.localtime(
        round.closes_at, timezone=ZoneInfo(round.product.organisation.time_zone)
    )
    emails = [
        Email(
            to=person.email,
            subject=subject,
            template=template,
            context={
                "name": display_name(person),
                "round": round,
                "product": round.product,
                "closes_at": closes_at,
                "ballot_url": ballot_url,
            },
        )
        for person in people
        if (person.email, about) in claimed
    ]
    return send_all(emails)


def round_opened_notify(*, round_id: int, now: datetime | None = None) -> int:
    """E-mail the round's voters that it is open, once each. Returns how many were sent;
    nothing while the round has not opened yet (the sweep sends it then) or once closed."""
    now = now or timezone.now()
    round = _round(round_id)
    if round is None or not round.is_open(now):
        return 0
    people = list(_voters(round, NotificationKind.ROUND_OPENED).distinct().order_by("pk"))
    return _send(
        round,
        NotificationKind.ROUND_OPENED,
        people,
        subject=f"Your vote is wanted: {round.title} ({round.product.name})",
        template="prioritisation/email/notify_round_opened",
    )


def round_closing_notify(*, round_id: int, now: datetime | None = None) -> int:
    """Remind the round's voters who have not voted that it closes within 24 hours, once
    each. Not for a round open for 24 hours or less: its opening e-mail said when it closes."""
    now = now or timezone.now()
    round = _round(round_id)
    if round is None or not round.is_open(now) or round.closes_at - now > CLOSING_SOON:
        return 0
    if round.closes_at - round.opens_at <= CLOSING_SOON:
        return 0
    voted = Ballot.objects.filter(round_id=round.pk, voter=OuterRef("pk"))
    people = list(
        _voters(round, NotificationKind.ROUND_CLOSING)
        .exclude(Exists(voted))
        .distinct()
        .order_by("pk")
    )
    return _send(
        round,
        NotificationKind.ROUND_CLOSING,
        people,
        subject=f"Last day to vote: {round.title} ({round.product.name})",
        template="prioritisation/email/notify_round_closing",
    )


def rounds_notify_due(*, now: datetime | None = None) -> int:
    """The beat sweep: announce rounds that opened in the last day, and remind voters of
    rounds closing within 24 hours. Safe to run as often as beat likes: each e-mail goes
    once. Returns how many were sent."""
    now = now or timezone.now()
    live = VotingRound.objects.filter(
        closed_at__isnull=True,
        opens_at__lte=now,
        closes_at__gt=now,
        product__archived_at__isnull=True,
    )
    sent = 0
    for round_id in live.filter(opens_at__gt=now - OPENED_RECENTLY).values_list("pk", flat=True):
        sent += round_opened_notify(round_id=round_id, now=now)
    for round_id in live.filter(closes_at__lte=now + CLOSING_SOON).values_list("pk", flat=True):
        sent += round_closing_notify(round_id=round_id, now=now)
    return sent
