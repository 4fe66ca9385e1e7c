"""The key-value store: Redis when configured, an in-process substitute when not,
and a Redis that does not answer is a miss, never an error."""
import uuid

import pytest

from core import kv
from tests.conftest import TEST_REDIS_URL

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


class FakeMonotonic:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_memory_store_keeps_a_value_until_it_expires():
    clock = FakeMonotonic()
    store = kv.MemoryStore(monotonic=clock)
    assert store.get("k") is None
    assert store.set("k", 1, ex=30) is True and store.set("forever", "v") is True
    clock.now += 29.9
    assert store.get("k") == "1"
    clock.now += 0.1
    assert store.get("k") is None and store.get("forever") == "v"
    assert store.ping() is True


def test_an_unreachable_redis_is_a_miss_and_a_dropped_write():
    store = kv.make_store(UNREACHABLE_REDIS, "linli-test:")
    assert isinstance(store, kv.RedisStore)
    assert store.set("k", "v", ex=30) is False
    assert store.get("k") is None
    assert store.ping() is False


@pytest.mark.skipif(not TEST_REDIS_URL, reason="needs TEST_REDIS_URL")
def test_redis_store_keeps_values_under_its_prefix_for_whole_seconds():
    prefix = f"linli-test-kv-{uuid.uuid4().hex[:8]}:"
    store = kv.make_store(TEST_REDIS_URL, prefix)
    try:
        assert store.ping() is True
        assert store.set("k", "v", ex=0.5) is True  # a fraction is rounded up, not refused
        assert store.get("k") == "v"
        assert 0 < store.client.ttl(prefix + "k") <= 1
    finally:
        store.client.delete(prefix + "k")
