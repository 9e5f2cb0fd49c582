"""Reads for the organisation's technology principles and the items checked against them.

Only active (not archived) principles count: an archived principle's answers are kept but
no longer asked for, shown or counted.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Exists, F, FilteredRelation, OuterRef, Q, QuerySet

from backlog.models import (
    OPEN_STATUSES,
    BacklogItem,
    ItemPrincipleCheck,
    Principle,
    PrincipleAnswer,
    Product,
)
from customers.models import Organisation

# The backlog filter's values: open items with an active principle not yet answered, and
# open items that do not meet an active principle.
UNANSWERED = "unanswered"
FAILING = "failing"
PRINCIPLE_FILTERS = {
    UNANSWERED: "Open items with unanswered principles",
    FAILING: "Open items failing a principle",
}


def principle_list(*, organisation: Organisation) -> QuerySet[Principle]:
    """Every principle of the organisation, active ones first, each in position order."""
    return Principle.objects.filter(organisation=organisation).order_by(
        F("archived_at").asc(nulls_first=True), "position", "name", "pk"
    )


def principles_active(*, organisation: Organisation | int) -> QuerySet[Principle]:
    return Principle.objects.filter(organisation=organisation, archived_at__isnull=True).order_by(
        "position", "name", "pk"
    )


def principle_get(*, organisation: Organisation, pk: int) -> Principle | None:
    return Principle.objects.filter(organisation=organisation, pk=pk).first()


@dataclass(frozen=True)
class PrincipleRow:
    """One active principle and the item's answer to it ("" when unanswered)."""

    principle: Principle
    answer: str
    note: str

    @property
    def answer_label(self) -> str:
        return PrincipleAnswer(self.answer).label if self.answer else "Not answered"


def item_principles(*, item: BacklogItem) -> list[PrincipleRow]:
    """The organisation's active principles with the item's answers, in position order.
    One query: the principles with the item's check joined in."""
    principles = principles_active(organisation=item.product.organisation_id).annotate(
        item_check=FilteredRelation("checks", condition=Q(checks__item_id=item.pk)),
        check_answer=F("item_check__answer"),
        check_note=F("item_check__note"),
    )
    return [
        PrincipleRow(
            principle=principle,
            answer=principle.check_answer or "",
            note=principle.check_note or "",
        )
        for principle in principles
    ]


def principles_filtered(
    items: QuerySet[BacklogItem], which: str, *, organisation_id: int
) -> QuerySet[BacklogItem]:
    """The backlog filter: the open ones of ``items`` with an active principle unanswered
    (``UNANSWERED``) or not met (``FAILING``). EXISTS subqueries probing the checks'
    (item, principle) unique index, so a filtered page stays a keyset walk of the backlog's
    own index."""
    active = Principle.objects.filter(organisation_id=organisation_id, archived_at__isnull=True)
    if which == UNANSWERED:
        answered = ItemPrincipleCheck.objects.filter(
            item_id=OuterRef(OuterRef("pk")), principle_id=OuterRef("pk")
        )
        condition = Exists(active.filter(~Exists(answered)))
    elif which == FAILING:
        condition = Exists(
            ItemPrincipleCheck.objects.filter(
                item_id=OuterRef("pk"),
                answer=PrincipleAnswer.DOES_NOT,
                principle__in=active,
            )
        )
    else:
        return items
    return items.filter(condition, status__in=OPEN_STATUSES)


@dataclass(frozen=True)
class PrinciplesSummary:
    """How many open items of a product have an active principle unanswered, and how many
    fail one; ``active`` is how many principles are asked."""

    active: int
    unanswered: int
    failing: int


def principles_summary(*, product: Product) -> PrinciplesSummary:
    """Counts for the backlog page. Four queries, whatever the backlog's size: the open
    items (an index-only count on the open items' partial index), the open items that
    answered every active principle and those failing one (both read the checks, which
    grow with what people answered, not with the backlog)."""
    active = principles_active(organisation=product.organisation_id).count()
    if not active:
        return PrinciplesSummary(0, 0, 0)
    open_items = BacklogItem.objects.filter(product=product, status__in=OPEN_STATUSES)
    open_count = open_items.count()
    checks = ItemPrincipleCheck.objects.filter(
        item__product=product,
        item__status__in=OPEN_STATUSES,
        principle__organisation_id=product.organisation_id,
        principle__archived_at__isnull=True,
    )
    complete = (
        checks.values("item_id")
        .annotate(n=Count("principle_id", distinct=True))
        .filter(n__gte=active)
        .order_by()
        .count()
    )
    failing = checks.filter(answer=PrincipleAnswer.DOES_NOT).values("item_id").distinct().count()
    return PrinciplesSummary(active=active, unanswered=open_count - complete, failing=failing)
