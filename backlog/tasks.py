from celery import shared_task

from backlog.services import sessions


@shared_task(ignore_result=True)
def create_due_show_and_tells() -> list[int]:
    """Beat, hourly: create this week's session for products whose day it is. Idempotent."""
    return sessions.sessions_create_due()


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_show_and_tell_digest(*, session_id: int) -> bool:
    """Email the digest of a finished session. Idempotent: a digest is sent once."""
    from backlog.digest import digest_send

    return digest_send(session_id=session_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def notify_go_live_waiting(*, session_id: int) -> int:
    """E-mail whoever done items of the session's product wait for. Idempotent: each
    person hears of each item once (customers.NotificationSent)."""
    from backlog.notifications import go_live_waiting_notify

    return go_live_waiting_notify(session_id=session_id)


@shared_task(ignore_result=True)
def notify_go_live_due() -> int:
    """Beat, every 15 minutes: the go-live e-mails for items done since. Idempotent."""
    from backlog.notifications import go_live_notify_due

    return go_live_notify_due()
