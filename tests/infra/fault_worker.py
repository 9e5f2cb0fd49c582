"""The Celery app as the fault tests' worker subprocesses run it (``-A tests.infra.fault_worker``).

It is the project's own app and settings, with two test-only changes:

- a short visibility timeout and a sweep every second, so a task whose worker was killed is
  delivered again within seconds rather than an hour;
- with ``FAULT_PAUSE_AFTER_STORE=<path>``, a rescore that has written its new scores (inside
  its transaction, not yet committed) creates ``<path>`` and then sleeps, so the test can
  kill the worker in the middle of the task.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from celery.signals import worker_process_init

from config.celery import app

app.conf.broker_transport_options = {
    **app.conf.broker_transport_options,
    "visibility_timeout": 3,
    # Kombu 5.7 sweeps for abandoned messages every interval × throttle seconds (10 × 10 by
    # default): every second here, so the redelivery is seen within the test's wait.
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}


@worker_process_init.connect
def _pause_rescores_after_they_store(**_: object) -> None:
    marker = os.environ.get("FAULT_PAUSE_AFTER_STORE")
    if not marker:
        return
    from prioritisation.services import recompute

    store = recompute._store_postgresql  # called inside the scores' transaction

    def store_then_hang(product, scores, now):
        written = store(product, scores, now)
        Path(marker).write_text(str(os.getpid()))
        time.sleep(300)
        return written

    recompute._store_postgresql = store_then_hang


__all__ = ["app"]
