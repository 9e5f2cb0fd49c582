"""E-mail notifications, each sent once, and only to people who still want them.

Who may get one: an active member (not deactivated, user active) with an e-mail address,
who has not switched that kind off on their profile (``Membership.notify_*``). Each
notification is claimed before it is sent: a ``NotificationSent`` row per address, kind and
thing (``round:12``) written with ``INSERT … ON CONFLICT DO NOTHING``, so of two task runs
at once (the outbox delivers at least once, beat may overlap) only one claims an address,
and a task run twice sends nothing the second time. The claim commits before the e-mail
goes out, outside any transaction: a mail relay that fails then loses that one e-mail
rather than ever sending it twice.

The layers above decide what to say and to whom (prioritisation/notifications.py for
rounds, backlog/notifications.py for go-live); this module owns the rules they share.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from customers.models import NotificationKind, NotificationSent

# The profile switch each kind honours ("you were invited" has none: it is not a member's).
SWITCHES = {
    NotificationKind.ROUND_OPENED: "notify_round_opened",
    NotificationKind.ROUND_CLOSING: "notify_round_closing",
    NotificationKind.GO_LIVE_WAITING: "notify_go_live",
    NotificationKind.DIGEST: "notify_digest",
}
# Links in e-mails when SITE_URL is not set (a laptop).
DEVELOPMENT_SITE_URL = "http://localhost:8000"


def site_url(path: str = "/") -> str:
    """The absolute address of ``path`` on this site, for a link in an e-mail."""
    return (settings.SITE_URL or DEVELOPMENT_SITE_URL).rstrip("/") + path


def notifiable_users(*, organisation_id: int, kind: str) -> QuerySet:
    """The organisation's members who may get ``kind``: active, with an address, and not
    switched off. Callers narrow it (the product's voters, the round's non-voters)."""
    users = (
        get_user_model()
        .objects.filter(
            membership__organisation_id=organisation_id,
            membership__deactivated_at__isnull=True,
            is_active=True,
        )
        .exclude(email="")
    )
    switch = SWITCHES.get(kind)
    if switch:
        users = users.filter(**{f"membership__{switch}": True})
    return users


def claim(*, organisation_id: int, kind: str, pairs: Iterable[tuple[str, str]]) -> set[tuple]:
    """Claim each (email, about) for ``kind``; returns the pairs this call claimed (those not
    sent before, by this or any concurrent call). Commits before returning."""
    wanted = sorted(set(pairs))
    if not wanted:
        return set()
    table = NotificationSent._meta.db_table
    claimed: set[tuple] = set()
    now = timezone.now()
    # One statement per batch: the unique (email, kind, about) decides between racing runs.
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(wanted), 500):
            batch = wanted[start : start + 500]
            values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(batch))
            params: list = []
            for email, about in batch:
                params += [organisation_id, email, kind, about, now]
            cursor.execute(
                f"INSERT INTO {table} (organisation_id, email, kind, about, sent_at) "  # noqa: S608
                f"VALUES {values} ON CONFLICT (email, kind, about) DO NOTHING "
                "RETURNING email, about",
                params,
            )
            claimed.update((email, about) for email, about in cursor.fetchall())
    return claimed


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    template: str  # without extension: .txt and .html are both rendered
    context: dict


def send_all(emails: list[Email]) -> int:
    """Send each e-mail (text and HTML) over one connection; returns how many went. Call
    outside any transaction, after ``claim``."""
    if not emails:
        return 0
    profile = site_url(reverse("accounts:profile"))
    messages = []
    for email in emails:
        context = {"profile_url": profile, **email.context}
        message = EmailMultiAlternatives(
            subject=one_line(email.subject),
            body=render_to_string(f"{email.template}.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[email.to],
        )
        message.attach_alternative(render_to_string(f"{email.template}.html", context), "text/html")
        messages.append(message)
    with get_connection() as mail:
        return mail.send_messages(messages) or 0


def one_line(text: str) -> str:
    """A subject line: titles people typed may hold line breaks or control characters,
    which a mail header cannot (Django refuses them rather than send)."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def display_name(user) -> str:
    return user.get_full_name() or user.get_username()
