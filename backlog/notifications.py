"""E-mails about the go-live: an item waits for your signature.

When a product's show-and-tell is open (started and not finished), each done item waits for
the four go-live signatures; everyone holding one of the missing roles gets one e-mail
listing the items newly waiting for them, once per person and item
(customers/notifications.py). Sent by a task after a session is created or a signature is
added, and by the beat sweep, which finds items that became done since.
"""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Exists, OuterRef
from django.urls import reverse

from backlog.models import (
    GO_LIVE_ROLES,
    BacklogItem,
    GoLiveSignature,
    ItemStatus,
    ProductRole,
    ProductRoleKind,
    ShowAndTell,
)
from customers.models import NotificationKind
from customers.notifications import Email, claim, display_name, notifiable_users, send_all, site_url

KIND = NotificationKind.GO_LIVE_WAITING


def go_live_waiting_notify(*, session_id: int) -> int:
    """E-mail the people whose signature done items of the session's product wait for.
    Nothing for a finished session or an archived product. Returns how many were sent."""
    session = (
        ShowAndTell.objects.select_related("product")
        .filter(pk=session_id, finished_at__isnull=True, product__archived_at__isnull=True)
        .first()
    )
    if session is None:
        return 0
    product = session.product
    roles = [role.value for role in GO_LIVE_ROLES]
    signed = {
        role: Exists(GoLiveSignature.objects.filter(item=OuterRef("pk"), role=role))
        for role in roles
    }
    items = list(
        BacklogItem.objects.filter(product=product, status=ItemStatus.DONE)
        .annotate(**{f"signed_{role}": exists for role, exists in signed.items()})
        .order_by("rank_key", "pk")
        .only("pk", "title")
    )
    if not items:
        return 0
    people = notifiable_users(organisation_id=product.organisation_id, kind=KIND).filter(
        pk__in=ProductRole.objects.filter(product=product, role__in=roles).values("user_id")
    )
    people = {person.pk: person for person in people}
    held: dict[int, set[str]] = defaultdict(set)
    for user_id, role in ProductRole.objects.filter(
        product=product, role__in=roles, user_id__in=list(people)
    ).values_list("user_id", "role"):
        held[user_id].add(role)
    # For each person, the items waiting for one of their roles, and which roles.
    waiting: dict[int, list[tuple[BacklogItem, list[str]]]] = defaultdict(list)
    for item in items:
        missing = {role for role in roles if not getattr(item, f"signed_{role}")}
        for user_id, mine in held.items():
            for_them = [role for role in roles if role in mine & missing]
            if for_them:
                waiting[user_id].append((item, for_them))
    claimed = claim(
        organisation_id=product.organisation_id,
        kind=KIND,
        pairs=(
            (people[user_id].email, f"item:{item.pk}")
            for user_id, rows in waiting.items()
            for item, _roles in rows
        ),
    )
    labels = dict(ProductRoleKind.choices)
    session_url = site_url(reverse("backlog:session_detail", args=[session.pk]))
    emails = []
    for user_id, rows in sorted(waiting.items()):
        person = people[user_id]
        new = [
            {"title": item.title, "roles": [labels[role].lower() for role in for_them]}
            for item, for_them in rows
            if (person.email, f"item:{item.pk}") in claimed
        ]
        if not new:
            continue
        count = len(new)
        emails.append(
            Email(
                to=person.email,
                subject=(
                    f"{product.name}: {count} item{'' if count == 1 else 's'} "
                    "waiting for your go-live signature"
                ),
                template="backlog/email/notify_go_live",
                context={
                    "name": display_name(person),
                    "product": product,
                    "session": session,
                    "items": new,
                    "session_url": session_url,
                },
            )
        )
    return send_all(emails)


def go_live_notify_due() -> int:
    """The beat sweep: for each product's latest open show-and-tell with done items, tell
    whoever those items newly wait for. Safe to run as often as beat likes."""
    has_done = Exists(
        BacklogItem.objects.filter(product_id=OuterRef("product_id"), status=ItemStatus.DONE)
    )
    latest: dict[int, int] = {}
    for product_id, session_id in (
        ShowAndTell.objects.filter(finished_at__isnull=True, product__archived_at__isnull=True)
        .filter(has_done)
        .order_by("product_id", "-week_start", "-pk")
        .values_list("product_id", "pk")
    ):
        latest.setdefault(product_id, session_id)
    return sum(go_live_waiting_notify(session_id=pk) for pk in latest.values())
