"""The transactional outbox: a task is recorded in the caller's transaction and sent to
the broker after that transaction commits; the sweep sends whatever could not be sent then.

Why not ``transaction.on_commit(lambda: task.delay(...))``: if Redis is stopped or hung at
that moment, ``delay()`` raises after the change has committed (the person sees an error for
a saved change) and the task is lost for good. Here the row commits with the change, a
failed send is logged and left for the sweep, and a send waits on a hung Redis at most
``SEND_TIMEOUT`` seconds, once per ``breaker.COOLDOWN``.

Delivery is at least once: a task may run twice (a crash between its send and its mark, or
a sweep racing the after-commit send), so every task sent through here must be idempotent.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from celery import Task, current_app
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

from outbox import breaker
from outbox.models import OutboxMessage

logger = logging.getLogger(__name__)

# A request waits on the broker at most this long (connect, or a reply from a hung Redis).
SEND_TIMEOUT = 1.0
SEND_TRANSPORT_OPTIONS = {
    "socket_timeout": SEND_TIMEOUT,
    "socket_connect_timeout": SEND_TIMEOUT,
    "max_retries": 0,  # one try: the sweep is the retry
}
BROKER_ERRORS = (OperationalError, RedisError, OSError)  # OSError: refused, timed out
# Back-off between sweeps' attempts at one row: 0, 1, 3, 7, then 15 minutes.
BACKOFF_CAP = timedelta(minutes=15)
# A sweep claims rows for this long, so a concurrent sweep leaves them alone.
CLAIM = timedelta(minutes=2)
SWEEP_BATCH = 500
KEEP_SENT = timedelta(days=7)


def _task_name(task: str | Task) -> str:
    return task if isinstance(task, str) else task.name


def outbox_enqueue(*, task: str | Task, **kwargs: object) -> OutboxMessage:
    """Record ``task(**kwargs)`` in the caller's transaction; it is sent once that commits,
    and never if it rolls back. ``kwargs`` must be JSON (ids, not objects)."""
    message = OutboxMessage.objects.create(task=_task_name(task), kwargs=kwargs)
    transaction.on_commit(lambda: _deliver([message]))
    return message


def outbox_enqueue_many(
    *, task: str | Task, kwargs_list: Iterable[dict[str, object]]
) -> list[OutboxMessage]:
    """Record one ``task`` per kwargs in one INSERT; all are sent over one connection."""
    name = _task_name(task)
    messages = OutboxMessage.objects.bulk_create(
        OutboxMessage(task=name, kwargs=kwargs) for kwargs in kwargs_list
    )
    if messages:
        transaction.on_commit(lambda: _deliver(messages))
    return messages


def outbox_send_due(*, limit: int = SWEEP_BATCH) -> int:
    """Send unsent rows whose next attempt is due (the beat sweep). Returns how many went.

    Rows are claimed under ``SKIP LOCKED`` and their next attempt pushed on by ``CLAIM``, so
    two sweeps never send the same row; the send itself happens outside any transaction."""
    now = timezone.now()
    with transaction.atomic():
        due = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(sent_at__isnull=True, next_attempt_at__lte=now)
            .order_by("pk")[:limit]
        )
        if due:
            OutboxMessage.objects.filter(pk__in=[m.pk for m in due]).update(
                next_attempt_at=now + CLAIM
            )
    OutboxMessage.objects.filter(sent_at__lt=now - KEEP_SENT).delete()
    return _deliver(due)


def _deliver(messages: list[OutboxMessage]) -> int:
    """Send (or, with ``CELERY_TASK_ALWAYS_EAGER``, run) the messages; mark each sent or
    failed. Never raises: whatever is not sent stays in the outbox for the sweep."""
    if not messages:
        return 0
    if current_app.conf.task_always_eager:
        return _run_in_process(messages)
    if not breaker.allows():
        return 0  # Redis failed moments ago: the rows wait for the sweep
    sent: list[int] = []
    try:
        with current_app.connection_for_write(
            transport_options=SEND_TRANSPORT_OPTIONS, connect_timeout=SEND_TIMEOUT
        ) as connection:
            for message in messages:
                current_app.send_task(
                    message.task,
                    kwargs=message.kwargs,
                    task_id=f"outbox-{message.pk}-{message.attempts + 1}",
                    connection=connection,
                    retry=False,
                    ignore_result=True,
                )
                sent.append(message.pk)
    except BROKER_ERRORS as exc:
        breaker.record_failure(exc, what="send")
        _mark_failed([m for m in messages if m.pk not in sent], exc)
    except Exception as exc:  # not the broker's fault: log it loudly, keep the rows
        logger.exception("Outbox send failed")
        _mark_failed([m for m in messages if m.pk not in sent], exc)
    _mark_sent(sent)
    return len(sent)


def _run_in_process(messages: list[OutboxMessage]) -> int:
    """No broker (the embedded default): run each task here, after the commit, as
    ``delay()`` did under ``CELERY_TASK_ALWAYS_EAGER``; a failure is logged, not raised."""
    sent = []
    for message in messages:
        try:
            current_app.tasks[message.task].apply(kwargs=message.kwargs, throw=True)
        except Exception as exc:
            logger.exception("Outbox task %s failed in process", message.task)
            _mark_failed([message], exc)
        else:
            sent.append(message.pk)
    _mark_sent(sent)
    return len(sent)


def _mark_sent(ids: list[int]) -> None:
    if ids:
        OutboxMessage.objects.filter(pk__in=ids).update(
            sent_at=timezone.now(), attempts=F("attempts") + 1, last_error=""
        )


def _backoff(attempts: int) -> timedelta:
    return min(timedelta(minutes=2 ** min(attempts - 1, 8) - 1), BACKOFF_CAP)


def _mark_failed(messages: list[OutboxMessage], exc: BaseException) -> None:
    if not messages:
        return
    now = timezone.now()
    error = f"{type(exc).__name__}: {exc}"[:2000]
    for message in messages:
        message.attempts += 1
        message.last_error = error
        message.next_attempt_at = now + _backoff(message.attempts)
    OutboxMessage.objects.bulk_update(messages, ["attempts", "last_error", "next_attempt_at"])
    logger.warning("Outbox: %d task(s) not sent (%s); the sweep will retry", len(messages), error)
