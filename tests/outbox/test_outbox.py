"""The outbox: rows commit with the change, sends never raise, the sweep retries with back-off.

The broker here is either absent (a loopback port nothing listens on: refused at once) or
in-process (``CELERY_TASK_ALWAYS_EAGER``); the tests against a real, stopped and hung Redis
are in tests/infra.
"""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from config.celery import app
from outbox import breaker, services
from outbox.models import OutboxMessage
from outbox.tasks import outbox_sweep

pytestmark = pytest.mark.django_db

ran: list[dict] = []


@app.task(name="tests.outbox.record_run")
def record_run(**kwargs):
    ran.append(kwargs)


@app.task(name="tests.outbox.always_fails")
def always_fails(**kwargs):
    raise RuntimeError("the task broke")


@pytest.fixture(autouse=True)
def fresh():
    ran.clear()
    breaker.reset()
    yield
    breaker.reset()


def _reset_pools() -> None:
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def no_broker():
    """The broker URL points at a loopback port where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    saved = app.conf.broker_url, app.conf.task_always_eager
    app.conf.update(broker_url=f"redis://127.0.0.1:{port}/0", task_always_eager=False)
    _reset_pools()
    yield
    app.conf.update(broker_url=saved[0], task_always_eager=saved[1])
    _reset_pools()


@pytest.fixture
def eager():
    saved = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = saved


def test_a_row_is_recorded_in_the_callers_transaction_and_gone_if_it_rolls_back(
    no_broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                services.outbox_enqueue(task=record_run, n=1)
                assert OutboxMessage.objects.count() == 1
                raise RuntimeError("the change failed")
        except RuntimeError:
            pass
    assert not callbacks and not OutboxMessage.objects.exists()
    assert breaker.attempts == 0  # nothing was sent for a change that did not happen


def test_a_send_that_fails_after_commit_is_kept_for_the_sweep_and_never_raises(
    no_broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        services.outbox_enqueue(task=record_run, n=1)
    row = OutboxMessage.objects.get()
    assert row.sent_at is None and row.attempts == 1
    assert "refused" in row.last_error.lower() or "connect" in row.last_error.lower()
    assert row.next_attempt_at <= timezone.now()  # the first retry is the next sweep's
    assert (breaker.attempts, breaker.failures) == (1, 1)


def test_after_one_failure_further_sends_skip_redis_for_a_while(
    no_broker, django_capture_on_commit_callbacks
):
    """One bounded wait per request (and per cooldown), not one per task."""
    for n in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            services.outbox_enqueue(task=record_run, n=n)
    assert (breaker.attempts, breaker.failures) == (1, 1)
    assert OutboxMessage.objects.filter(sent_at__isnull=True).count() == 3
    assert services.outbox_send_due() == 0  # the sweep in this process waits too
    assert breaker.attempts == 1


def test_in_process_mode_runs_the_task_after_commit_and_marks_it_sent(
    eager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.outbox_enqueue(task=record_run, n=7)
    assert ran == []  # not before the commit
    for callback in callbacks:
        callback()
    assert ran == [{"n": 7}]
    row = OutboxMessage.objects.get()
    assert row.sent_at is not None and row.attempts == 1 and row.last_error == ""


def test_in_process_a_failing_task_is_logged_not_raised_and_stays_unsent(
    eager, django_capture_on_commit_callbacks, caplog
):
    with django_capture_on_commit_callbacks(execute=True):
        services.outbox_enqueue(task=always_fails)
    row = OutboxMessage.objects.get()
    assert row.sent_at is None and "the task broke" in row.last_error
    assert "failed in process" in caplog.text


def test_the_sweep_sends_due_rows_once_and_backs_off_from_failing_ones(eager):
    now = timezone.now()
    due = OutboxMessage.objects.create(task=record_run.name, kwargs={"n": 1})
    later = OutboxMessage.objects.create(
        task=record_run.name, kwargs={"n": 2}, next_attempt_at=now + timedelta(minutes=5)
    )
    failing = OutboxMessage.objects.create(task=always_fails.name, attempts=2)
    assert outbox_sweep() == 1
    assert outbox_sweep() == 0  # idempotent: a sent row is not sent again
    assert ran == [{"n": 1}]
    due.refresh_from_db(), later.refresh_from_db(), failing.refresh_from_db()
    assert due.sent_at is not None and later.sent_at is None
    assert failing.attempts == 3 and failing.sent_at is None
    # Back-off after 3 failed attempts: 3 minutes.
    wait = failing.next_attempt_at - timezone.now()
    assert timedelta(minutes=2) < wait <= timedelta(minutes=3)


def test_back_off_grows_to_a_cap():
    waits = [services._backoff(n) for n in (1, 2, 3, 4, 5, 6, 60, 10**6)]
    assert waits[:5] == [timedelta(minutes=m) for m in (0, 1, 3, 7, 15)]
    assert waits[5:] == [services.BACKOFF_CAP] * 3


def test_the_sweep_forgets_rows_sent_a_week_ago(eager):
    old = timezone.now() - timedelta(days=8)
    OutboxMessage.objects.create(task=record_run.name, sent_at=old, created_at=old)
    kept = OutboxMessage.objects.create(task=record_run.name, sent_at=timezone.now())
    unsent_old = OutboxMessage.objects.create(
        task=always_fails.name, created_at=old, next_attempt_at=timezone.now() + timedelta(1)
    )
    outbox_sweep()
    assert set(OutboxMessage.objects.values_list("pk", flat=True)) == {kept.pk, unsent_old.pk}


def test_the_sweep_runs_every_minute(settings):
    entry = next(
        e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == outbox_sweep.name
    )
    assert entry["schedule"] == 60.0


def test_with_redis_configured_the_cache_is_the_one_that_degrades_to_a_miss(settings):
    if not settings.REDIS_URL:
        pytest.skip("REDIS_URL is not set: the cache is per process")
    assert settings.CACHES["default"]["BACKEND"] == "outbox.cache.ResilientRedisCache"
