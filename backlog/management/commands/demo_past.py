"""The demo's past: when each item reached each status, and who moved it there, as a team
would have. Plain computation (no database): ``seed_demo`` makes every change through the
services, as the person named, then moves its recorded time back to the moment planned here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from backlog.models import ItemStatus, ProductRoleKind

# The demo's past ends half an hour ago, so a moment planned here is never "now".
LATEST = timedelta(minutes=30)
DONE_THIS_WEEK = 3  # of a product's done items, the first three were finished this week
LIVE_THIS_WEEK = 2  # of its live items, the first two went live this week
# Who moves an item into a status (demo usernames); "done" alternates between the two.
MOVERS = {
    ItemStatus.READY: ("owner",),  # written up ready: the owner creates it so
    ItemStatus.IN_PROGRESS: ("engineer",),
    ItemStatus.DONE: ("engineer", "delivery"),
    ItemStatus.REJECTED: ("owner",),
}
# The four go-live signatures, in the order the demo signs them.
SIGNERS = (
    ("sponsor", ProductRoleKind.SPONSOR),
    ("analyst", ProductRoleKind.BUSINESS_ANALYST),
    ("engineer", ProductRoleKind.LEAD_ENGINEER),
    ("delivery", ProductRoleKind.DELIVERY_LEAD),
)
PATH = (ItemStatus.READY, ItemStatus.IN_PROGRESS, ItemStatus.DONE)
_MINUTES = (0, 5, 10, 15, 20, 30, 35, 40, 45, 50)


@dataclass
class Plan:
    """One item's past: created (as an idea, or straight into "ready" as teams often do),
    then each later status in turn, then any go-live signatures."""

    created: datetime
    created_as: str = ItemStatus.IDEA
    steps: list[tuple[str, str, datetime]] = field(default_factory=list)  # status, who, when
    signatures: list[tuple[str, str, datetime]] = field(default_factory=list)  # who, role, when


@dataclass(frozen=True)
class Clock:
    """Moments in the organisation's working hours (weekdays, 9:00 to 17:00 local time)
    before ``now``; ``week_start`` is where this week's show-and-tell starts counting."""

    zone: ZoneInfo
    now: datetime
    week_start: datetime

    @property
    def latest(self) -> datetime:
        return self.now - LATEST

    def _at_work(self, day: date, rng: random.Random) -> datetime:
        while day.weekday() >= 5:  # a weekend's work happened on the Friday before
            day -= timedelta(days=1)
        return datetime.combine(
            day, time(rng.randint(9, 16), rng.choice(_MINUTES)), tzinfo=self.zone
        )

    def days_before(self, moment: datetime, rng: random.Random, low: int, high: int) -> datetime:
        """A working moment ``low`` to ``high`` days (at least one) before ``moment``'s day,
        so always strictly earlier."""
        day = moment.astimezone(self.zone).date() - timedelta(days=rng.randint(max(low, 1), high))
        return self._at_work(day, rng)

    def days_after(self, moment: datetime, rng: random.Random, low: int, high: int) -> datetime:
        """A working moment ``low`` to ``high`` days (at least one) after ``moment``'s day
        (a weekend moves on to the Monday), never later than ``latest``."""
        day = moment.astimezone(self.zone).date() + timedelta(days=rng.randint(max(low, 1), high))
        while day.weekday() >= 5:
            day += timedelta(days=1)
        return min(self._at_work(day, rng), self.latest)

    def this_week(self, rng: random.Random) -> datetime:
        """A working moment since this week's show-and-tell started counting, before now."""
        first = self.week_start.astimezone(self.zone).date()
        last = self.latest.astimezone(self.zone).date()
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        days = [d for d in days if d.weekday() < 5] or [last]
        moment = self._at_work(rng.choice(days), rng)
        if not self.week_start <= moment <= self.latest:
            moment = self.latest - timedelta(minutes=rng.choice(_MINUTES))
        return max(moment, self.week_start)


def plan(status: str, *, nth: int, number: int, clock: Clock, rng: random.Random) -> Plan:
    """The past of the ``nth`` item with ``status`` (``number`` is its place in the demo)."""
    if status == ItemStatus.IDEA:
        return Plan(clock.days_before(clock.latest, rng, 3, 200))
    if status == ItemStatus.REJECTED:
        rejected = clock.days_before(clock.latest, rng, 1, 30)
        return Plan(
            clock.days_before(rejected, rng, 5, 120),
            steps=[(status, MOVERS[status][0], rejected)],
        )
    signatures = []
    if status == ItemStatus.LIVE:
        live = (
            clock.this_week(rng)
            if nth < LIVE_THIS_WEEK
            else clock.days_before(clock.week_start, rng, 1, 50)
        )
        last = clock.days_before(live, rng, 1, 6)
        # Signed in the room at a show-and-tell, minutes apart; the fourth makes it live.
        signatures = [
            (who, role, live - timedelta(minutes=10 * (len(SIGNERS) - 1 - n)))
            for n, (who, role) in enumerate(SIGNERS)
        ]
        path = PATH
    elif status == ItemStatus.DONE:
        if nth < DONE_THIS_WEEK:
            last = clock.this_week(rng)
        else:
            last = clock.days_before(clock.week_start, rng, 1, 40)
            # Older done items wait with some of their signatures in (none, one, two, three),
            # given a working day or two after it was done.
            first_signed = clock.days_after(last, rng, 1, 3)
            signatures = [
                (who, role, min(first_signed + timedelta(minutes=25 * n), clock.latest))
                for n, (who, role) in enumerate(SIGNERS[: (nth - DONE_THIS_WEEK) % 4])
            ]
        path = PATH
    else:
        last = (
            clock.days_before(clock.latest, rng, 1, 12)
            if status == ItemStatus.IN_PROGRESS
            else clock.days_before(clock.latest, rng, 2, 60)
        )
        path = PATH[: PATH.index(status) + 1]
    moments = [last]
    for _step in path[:-1]:
        moments.insert(0, clock.days_before(moments[0], rng, 1, 7))
    steps = [
        (step, MOVERS[step][number % len(MOVERS[step])], moment)
        for step, moment in zip(path, moments, strict=True)
    ]
    # The owner writes it up ready to work on; the later moves are the team's.
    return Plan(moments[0], ItemStatus.READY, steps[1:], signatures)
