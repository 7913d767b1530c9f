"""The Redis cache backend the settings use when REDIS_URL is set: Django's own, except that Redis being down
cannot take the site down with it. Everything kept in these caches can be lost (API rate-limit counts, live
prices that collection writes again on its next tick), so a failed read is a miss and a failed write is
skipped, each logged; pages and the API go on answering from the database (issue #15, Redis-down drill:
tests/drills/test_redis_down.py). While Redis is down the rate limits do not count (they fail open).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError)


def _tolerant(fallback: Callable[..., Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorator(method: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(method)
        def wrapper(self: ResilientRedisCache, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except UNAVAILABLE as exc:
                logger.warning("cache %s unavailable (%s): %s skipped", self._alias_hint, exc, method.__name__)
                return fallback(*args, **kwargs)

        return wrapper

    return decorator


def _default(key: Any, default: Any = None, *_args: Any, **kwargs: Any) -> Any:
    return kwargs.get("default", default)


def _nothing(*_args: Any, **_kwargs: Any) -> None:
    return None


def _false(*_args: Any, **_kwargs: Any) -> bool:
    return False


def _empty(*_args: Any, **_kwargs: Any) -> dict:
    return {}


def _unset(data: dict, *_args: Any, **_kwargs: Any) -> list:
    return list(data)  # set_many's answer: the keys it failed to store


def _incr(key: Any, *_args: Any, **_kwargs: Any) -> int:
    raise ValueError(f"Key {key!r} not found (the cache is unavailable)")  # what incr says of a missing key


class ResilientRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._alias_hint = params.get("KEY_PREFIX") or "default"

    get = _tolerant(_default)(RedisCache.get)
    add = _tolerant(_false)(RedisCache.add)
    set = _tolerant(_nothing)(RedisCache.set)
    touch = _tolerant(_false)(RedisCache.touch)
    delete = _tolerant(_false)(RedisCache.delete)
    get_many = _tolerant(_empty)(RedisCache.get_many)
    has_key = _tolerant(_false)(RedisCache.has_key)
    incr = _tolerant(_incr)(RedisCache.incr)
    set_many = _tolerant(_unset)(RedisCache.set_many)
    delete_many = _tolerant(_nothing)(RedisCache.delete_many)
    clear = _tolerant(_false)(RedisCache.clear)
