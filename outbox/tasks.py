from celery import shared_task

from outbox import services


@shared_task(ignore_result=True)
def outbox_sweep() -> int:
    """Beat, every minute: send the outbox rows that could not be sent after their commit.
    Idempotent: rows are claimed before they are sent, and a row sent twice (a crash between
    the send and its mark) runs a task that is itself safe to run twice."""
    return services.outbox_send_due()
