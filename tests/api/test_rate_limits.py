"""Per-user limits counted in the process first, then in the shared store.

The limits here are per hour, so a slow machine cannot see a window end in
the middle of a test (the storage's window starts at its first hit)."""
import pytest
from flask_limiter import Limiter

from api.limits import LocalCounts
from tests.activity_support import checkin
from tests.support import assert_error


def test_local_counts_flush_past_the_allowance_and_block_until_the_window_ends():
    counts, key = LocalCounts(), ("linli", "user:1", "RATELIMIT_CHECKIN")
    attempt = lambda now: counts.attempt(key, allowance=2, period=60, now=now)  # noqa: E731
    assert [attempt(100.0 + i) for i in range(6)] == [
        ("local", 0), ("local", 0), ("flush", 3), ("local", 0), ("local", 0), ("flush", 3)]
    counts.block(key, until=150.0)
    assert attempt(120.0) == ("blocked", 30.0)
    assert attempt(160.0) == ("local", 0)  # a new window: counted afresh, no longer blocked
    assert counts.attempt(key, allowance=0, period=60, now=161.0) == ("flush", 2)


def test_a_hammering_client_is_stopped_within_its_allowance(app, client, actors, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_CHECKIN", "48 per hour")  # allowance 3
    resident = actors.resident()
    statuses = [checkin(client, resident, "garbage").status_code for _ in range(60)]
    first_refusal = statuses.index(429)
    assert 48 <= first_refusal <= 48 + 3
    assert set(statuses[:first_refusal]) == {400} and set(statuses[first_refusal:]) == {429}

    # Refused here without asking the store again, so even with the store down.
    class Unreachable:
        def hit(self, *args, **kwargs):
            raise ConnectionError("redis is down")

    monkeypatch.setattr(Limiter, "limiter", property(lambda self: Unreachable()))
    assert_error(checkin(client, resident, "garbage"), 429, "RATE_LIMITED")


def test_another_process_sees_the_shared_count(app, client, actors, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_CHECKIN", "48 per hour")
    resident = actors.resident()
    statuses = [checkin(client, resident, "garbage").status_code for _ in range(48 + 3 + 1)]
    assert statuses[-1] == 429  # the limit plus this process's allowance is refused
    app.extensions.pop("linli.local_limits")  # as a fresh worker process starts
    statuses = [checkin(client, resident, "garbage").status_code for _ in range(5)]
    assert statuses == [400, 400, 400, 429, 429]  # its own allowance, then the shared verdict


@pytest.mark.parametrize("limit", ["1 per hour", "15 per hour"])
def test_small_limits_are_exact(app, client, actors, monkeypatch, limit):
    monkeypatch.setitem(app.config, "RATELIMIT_CHECKIN", limit)
    resident = actors.resident()
    amount = int(limit.split()[0])
    statuses = [checkin(client, resident, "garbage").status_code for _ in range(amount + 2)]
    assert statuses == [400] * amount + [429, 429]
