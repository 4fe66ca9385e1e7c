"""A small key-value interface over Redis, with an in-process substitute.

Redis holds only what may be lost, so every call here degrades instead of
failing: when Redis is unreachable a read is a miss and a write is dropped,
and the caller carries on from the database. With no `REDIS_URL` the
in-process `MemoryStore` serves (one process only).

Rate-limit counters are not kept here: Flask-Limiter keeps them in its own
storage, at the same `REDIS_URL` (api/limits.py).
"""
from __future__ import annotations

import logging
import math
import threading
import time

import redis

log = logging.getLogger(__name__)


class MemoryStore:
    """Thread-safe, single-process stand-in with the same methods as `RedisStore`."""

    def __init__(self, monotonic=time.monotonic):
        self._lock = threading.Lock()
        self._values: dict[str, tuple[str, float | None]] = {}
        self._monotonic = monotonic

    def get(self, key: str) -> str | None:
        with self._lock:
            item = self._values.get(key)
            if item is None:
                return None
            value, expires = item
            if expires is not None and expires <= self._monotonic():
                del self._values[key]
                return None
            return value

    def set(self, key: str, value: str, ex: float | None = None) -> bool:
        """Stores `value` under `key`, for `ex` seconds if given."""
        with self._lock:
            self._values[key] = (str(value), self._monotonic() + ex if ex else None)
            return True

    def ping(self) -> bool:
        return True


class RedisStore:
    """Redis behind the same methods; a Redis failure is logged, never raised."""

    def __init__(self, url: str, prefix: str = ""):
        self.client = redis.Redis.from_url(
            url, socket_timeout=0.5, socket_connect_timeout=0.5, decode_responses=True
        )
        self.prefix = prefix

    def _safe(self, default, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except redis.RedisError as exc:
            log.warning("redis unavailable, degrading: %s", exc)
            return default

    def get(self, key):
        return self._safe(None, self.client.get, self.prefix + key)

    def set(self, key, value, ex=None):
        # Redis takes whole seconds only (a float is refused): round up.
        ex = math.ceil(ex) if ex else None
        return bool(self._safe(False, self.client.set, self.prefix + key, value, ex=ex))

    def ping(self):
        return bool(self._safe(False, self.client.ping))


def make_store(url: str | None, prefix: str = ""):
    return RedisStore(url, prefix) if url else MemoryStore()

