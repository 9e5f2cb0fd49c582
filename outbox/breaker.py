"""One circuit breaker for every call a web process makes to Redis (cache and broker).

A stopped Redis refuses a connection at once, but a hung one (paused, or a network that
drops packets) costs a whole socket timeout per call. After one failure, Redis is skipped by
this process for ``COOLDOWN`` seconds: a request pays at most one bounded wait, and the
requests that follow pay none until the next probe. Work that was skipped is not lost: the
cache is only a cache, and tasks wait in the outbox until the sweep sends them.
"""

from __future__ import annotations

import logging
import threading
import time

logger = logging.getLogger(__name__)

# Seconds Redis is left alone after a failure. Long enough that one request (and the next
# few) never waits twice; short enough that work flows again soon after Redis returns.
COOLDOWN = 10.0

_lock = threading.Lock()
_open_until = 0.0
# Counters for tests and for the log: calls that reached Redis, and those that failed.
attempts = 0
failures = 0


def allows() -> bool:
    """Whether a call to Redis should be tried now (counted as an attempt if so)."""
    global attempts
    with _lock:
        if time.monotonic() < _open_until:
            return False
        attempts += 1
        return True


def record_failure(exc: BaseException, *, what: str) -> None:
    global _open_until, failures
    with _lock:
        failures += 1
        _open_until = time.monotonic() + COOLDOWN
    logger.warning("Redis %s failed (%s: %s); skipping Redis for %.0f s", what,
                   type(exc).__name__, exc, COOLDOWN)  # fmt: skip


def reset() -> None:
    """Close the breaker and zero the counters (tests, and nothing else)."""
    global _open_until, attempts, failures
    with _lock:
        _open_until, attempts, failures = 0.0, 0, 0
