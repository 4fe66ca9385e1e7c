"""A small key-value interface over Redis, with an in-process substitute.

Redis holds only what may be lost (caches, counters, leaderboards). So every
call here degrades instead of failing: when Redis is unreachable a read is a
miss and a write is dropped, and the caller carries on from the database.
With no `REDIS_URL` the in-process `MemoryStore` serves (one process only).
"""
from __future__ import annotations

import logging
import threading
import time

import redis

log = logging.getLogger(__name__)


class MemoryStore:
    """Thread-safe, single-process stand-in with the same methods as `RedisStore`."""

    def __init__(self):
        self._lock = threading.Lock()
        self._values: dict[str, tuple[object, float | None]] = {}
        self._zsets: dict[str, dict[str, float]] = {}

    def _live(self, key):
        item = self._values.get(key)
        if item is None:
            return None
        value, expires = item
        if expires is not None and expires <= time.monotonic():
            del self._values[key]
            return None
        return value

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._live(key)

    def set(self, key: str, value: str, ex: float | None = None, nx: bool = False) -> bool:
        with self._lock:
            if nx and self._live(key) is not None:
                return False
            self._values[key] = (str(value), time.monotonic() + ex if ex else None)
            return True

    def incr(self, key: str, ex: float | None = None) -> int:
        """Add one; the expiry is set when the counter is created."""
        with self._lock:
            current = self._live(key)
            if current is None:
                self._values[key] = ("1", time.monotonic() + ex if ex else None)
                return 1
            value, expires = self._values[key]
            self._values[key] = (str(int(value) + 1), expires)
            return int(value) + 1

    def delete(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._values.pop(key, None)
                self._zsets.pop(key, None)

    def zincrby(self, key: str, amount: float, member: str) -> None:
        with self._lock:
            zset = self._zsets.setdefault(key, {})
            zset[member] = zset.get(member, 0) + amount

    def ztop(self, key: str, count: int) -> list[tuple[str, float]]:
        with self._lock:
            items = self._zsets.get(key, {}).items()
            return sorted(items, key=lambda kv: (-kv[1], kv[0]))[:count]

    def ping(self) -> bool:
        return True


class RedisStore:
    """Redis behind the same methods; a Redis failure is logged, never raised."""

    def __init__(self, url: str, prefix: str = ""):
        self.client = redis.Redis.from_url(
            url, socket_timeout=0.5, socket_connect_timeout=0.5, decode_responses=True
        )
        self.prefix = prefix

    def _k(self, key):
        return self.prefix + key

    def _safe(self, default, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except redis.RedisError as exc:
            log.warning("redis unavailable, degrading: %s", exc)
            return default

    def get(self, key):
        return self._safe(None, self.client.get, self._k(key))

    def set(self, key, value, ex=None, nx=False):
        return bool(self._safe(False, self.client.set, self._k(key), value, ex=ex, nx=nx))

    def incr(self, key, ex=None):
        def run():
            pipe = self.client.pipeline()
            pipe.incr(self._k(key))
            if ex:
                pipe.expire(self._k(key), int(ex), nx=True)
            return pipe.execute()[0]

        return self._safe(0, run)

    def delete(self, *keys):
        if keys:
            self._safe(None, self.client.delete, *[self._k(k) for k in keys])

    def zincrby(self, key, amount, member):
        self._safe(None, self.client.zincrby, self._k(key), amount, member)

    def ztop(self, key, count):
        return self._safe([], self.client.zrevrange, self._k(key), 0, count - 1, withscores=True)

    def ping(self):
        return bool(self._safe(False, self.client.ping))


def make_store(url: str | None, prefix: str = ""):
    return RedisStore(url, prefix) if url else MemoryStore()

