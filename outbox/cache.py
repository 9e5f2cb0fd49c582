"""Django's Redis cache, made only a cache: an error is a miss, never a 500.

Every call goes through ``outbox.breaker``: after one failure Redis is skipped for a while,
so a hung Redis costs a request at most one short socket timeout, not one per call.
Configured in settings as ``outbox.cache.ResilientRedisCache``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

from outbox import breaker

logger = logging.getLogger(__name__)

CACHE_ERRORS = (RedisError, OSError)


def _degrading(name: str, on_error: Callable[..., Any]) -> Callable[..., Any]:
    call = getattr(RedisCache, name)

    def method(self: RedisCache, *args: Any, **kwargs: Any) -> Any:
        if not breaker.allows():
            return on_error(*args, **kwargs)
        try:
            return call(self, *args, **kwargs)
        except CACHE_ERRORS as exc:
            breaker.record_failure(exc, what=f"cache {name}")
            return on_error(*args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"{call.__doc__ or name} (a Redis error counts as a miss)"
    return method


def _default(key: str, default: Any = None, *args: Any, **kwargs: Any) -> Any:
    return default


def _missing(key: str, *args: Any, **kwargs: Any) -> Any:
    # What Django's incr/decr do for a key that is not there.
    raise ValueError(f"Key '{key}' not found (the cache is unavailable)")


class ResilientRedisCache(RedisCache):
    """``RedisCache`` whose failures read as misses and whose writes are best-effort."""

    get = _degrading("get", _default)
    get_many = _degrading("get_many", lambda *a, **k: {})
    has_key = _degrading("has_key", lambda *a, **k: False)
    add = _degrading("add", lambda *a, **k: False)
    set = _degrading("set", lambda *a, **k: None)
    set_many = _degrading("set_many", lambda data, *a, **k: list(data))
    touch = _degrading("touch", lambda *a, **k: False)
    delete = _degrading("delete", lambda *a, **k: False)
    delete_many = _degrading("delete_many", lambda *a, **k: None)
    incr = _degrading("incr", _missing)
    clear = _degrading("clear", lambda *a, **k: False)
