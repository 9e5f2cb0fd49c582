"""The show-and-tell digest: an HTML email to the product's people after the session."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from backlog.models import ShowAndTell
from backlog.showandtell import session_sections


def digest_recipients(session: ShowAndTell) -> list:
    """Who the digest goes to: the product's people who are active and have an e-mail
    address, by name, except deactivated members and those who switched the digest off on
    their profile. The finish button's confirmation names exactly these."""
    people = (
        get_user_model()
        .objects.filter(product_roles__product_id=session.product_id, is_active=True)
        .filter(membership__deactivated_at__isnull=True, membership__notify_digest=True)
        .exclude(email="")
        .distinct()
        .order_by("first_name", "last_name", "username")
    )
    return list(people)


def recipients_phrase(people: list, *, limit: int = 12) -> str:
    """ "the 6 people on this product: Ann Abel, …" (the first ``limit`` by name), for the
    finish button's question and the message after."""
    names = [person.get_full_name() or person.get_username() for person in people]
    if not names:
        return "nobody: no one on this product has an e-mail address"
    shown = ", ".join(names[:limit])
    if len(names) > limit:
        shown += f" and {len(names) - limit} more"
    noun = "person" if len(names) == 1 else "people"
    return f"the {len(names)} {noun} on this product: {shown}"


def digest_send(*, session_id: int) -> bool:
    """Send the digest once. Returns False when there is nothing to send (not finished,
    already sent, or nobody to send to). The email is sent outside any transaction; the
    "sent" mark is set first under a row lock, so a retried task never sends it twice."""
    with transaction.atomic():
        session = (
            # Only the session row: the joined product and organisation stay unlocked.
            ShowAndTell.objects.select_for_update(of=("self",))
            .order_by()
            .select_related("product", "product__organisation")
            .filter(pk=session_id)
            .first()
        )
        if session is None or session.finished_at is None or session.digest_sent_at is not None:
            return False
        session.digest_sent_at = timezone.now()
        session.save(update_fields=["digest_sent_at"])
    recipients = sorted({person.email for person in digest_recipients(session)})
    if not recipients:
        return False
    context = {"session": session, "product": session.product, **session_sections(session)}
    html = render_to_string("backlog/email/digest.html", context)
    message = EmailMultiAlternatives(
        subject=f"{session.product.name}: show-and-tell of {session.date:%-d %B %Y}",
        body=digest_text(context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
    )
    message.attach_alternative(html, "text/html")
    message.send()
    return True


def _number(value: Decimal) -> str:
    return f"{value.normalize():,f}" if value == value.to_integral() else f"{value:,.2f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Rows of text in columns: the first left-aligned, the rest right-aligned."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return [
        "  ".join(
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        ).rstrip()
        for row in [header, *rows]
    ]


def digest_text(context: dict) -> str:
    """The digest's plain-text part, from the same sections as the HTML: one line per item,
    the benefit table in aligned columns, people's words exactly as written (not escaped)."""
    session, product = context["session"], context["product"]
    points = _number(context["done_effort"])
    count = context["done_count"]
    lines = [
        f"{product.name}: show-and-tell of {session.date:%-d %B %Y}",
        "",
        f"Done this week ({count} item{'' if count == 1 else 's'}, {points} points)",
    ]
    lines += [f"  - {row.title} ({row.status}), by {row.by}" for row in context["done"]] or [
        "  Nothing finished this week."
    ]
    lines += ["", "Benefit landed"]
    table = context["week_benefit"]
    if table.rows:
        header = ["Metric", *table.cohorts, "Total"]
        rows = [
            [
                f"{row['metric']} ({row['unit']})",
                *(_number(cell["value"]) for cell in row["cells"]),
                _number(row["total"]),
            ]
            for row in table.rows
        ]
        lines += [f"  {line}" for line in _table(header, rows)]
    else:
        lines.append("  No estimated benefit landed this week.")
    lines += ["", "Next up"]
    lines += [
        f"  {n}. {row['title']}"
        + (f" ({row['effort']} points)" if row["effort"] is not None else " (effort unknown)")
        for n, row in enumerate(context["next_up"], start=1)
    ] or ["  Nothing planned."]
    lines += ["", "Went live"]
    lines += [f"  - {row.title}" for row in context["went_live"]] or [
        "  Nothing went live this week."
    ]
    lines += ["", "Decisions and actions"]
    lines += [
        f"  - {d.kind_label}: {d.text}" + (f" (owner: {d.owner.name})" if d.owner else "")
        for d in context["decisions"]
    ] or ["  None recorded."]
    return "\n".join(lines) + "\n"
