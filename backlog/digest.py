"""The show-and-tell digest: an HTML email to the product's people after the session."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import strip_tags

from backlog.models import ShowAndTell
from backlog.showandtell import session_sections


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
    recipients = sorted(
        {
            email
            for email in get_user_model()
            .objects.filter(product_roles__product=session.product, is_active=True)
            .values_list("email", flat=True)
            if email
        }
    )
    if not recipients:
        return False
    context = {"session": session, "product": session.product, **session_sections(session)}
    html = render_to_string("backlog/email/digest.html", context)
    message = EmailMultiAlternatives(
        subject=f"{session.product.name}: show-and-tell of {session.date:%-d %B %Y}",
        body=strip_tags(html),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
    )
    message.attach_alternative(html, "text/html")
    message.send()
    return True
