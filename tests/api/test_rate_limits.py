"""Per-user limits counted in the process first, then in the shared store.

The limits here are per hour, so a slow machine cannot see a window end in
the middle of a test (the storage's window starts at its first hit)."""
import pytest
from limits import parse as parse_limit

from api.limits import LocalCounts, rate_limits
from tests.activity_support import checkin
from tests.conftest import TEST_REDIS_URL
from tests.support import API, assert_error


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

    monkeypatch.setattr(rate_limits(app), "shared", Unreachable())
    assert_error(checkin(client, resident, "garbage"), 429, "RATE_LIMITED")


def test_another_process_sees_the_shared_count(app, client, actors, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_CHECKIN", "48 per hour")
    resident = actors.resident()
    statuses = [checkin(client, resident, "garbage").status_code for _ in range(48 + 3 + 1)]
    assert statuses[-1] == 429  # the limit plus this process's allowance is refused
    monkeypatch.setattr(rate_limits(app), "local", LocalCounts())  # as a fresh worker process starts
    statuses = [checkin(client, resident, "garbage").status_code for _ in range(5)]
    assert statuses == [400, 400, 400, 429, 429]  # its own allowance, then the shared verdict


@pytest.mark.parametrize("limit", ["1 per hour", "15 per hour"])
def test_small_limits_are_exact(app, client, actors, monkeypatch, limit):
    monkeypatch.setitem(app.config, "RATELIMIT_CHECKIN", limit)
    resident = actors.resident()
    amount = int(limit.split()[0])
    statuses = [checkin(client, resident, "garbage").status_code for _ in range(amount + 2)]
    assert statuses == [400] * amount + [429, 429]


class Unreachable:
    """The shared counter while Redis is down: every call fails."""

    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise ConnectionError("redis is down")

        return fail


def _login(client, phone, password, ip="10.3.0.1"):
    return client.post(f"{API}/auth/login", json={"phone": phone, "password": password},
                       environ_base={"REMOTE_ADDR": ip})


def test_with_the_store_down_limits_count_in_the_process_and_nothing_fails(app, client, actors, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN", "3 per minute")
    worker = actors.staff(actors.tree()["room_a"], "worker", password="owners-pass-1")
    limits = rate_limits(app)
    monkeypatch.setattr(limits, "shared", Unreachable())
    monkeypatch.setattr(limits.storage, "check", lambda: False)
    statuses = [_login(client, worker.phone, "guess").status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 429, 429]
    assert_error(_login(client, worker.phone, "guess"), 429, "RATE_LIMITED")


def test_the_store_is_asked_again_once_it_answers(app, client, actors, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN", "3 per minute")
    worker = actors.staff(actors.tree()["room_a"], "worker", password="owners-pass-1")
    limits = rate_limits(app)
    real = limits.shared
    monkeypatch.setattr(limits, "shared", Unreachable())
    assert _login(client, worker.phone, "owners-pass-1").status_code == 200  # counted in the fallback
    monkeypatch.setattr(limits, "shared", real)
    monkeypatch.setattr(limits, "_retry_at", 0.0)  # the retry is due
    assert _login(client, worker.phone, "owners-pass-1").status_code == 200
    window = real.get_window_stats(parse_limit("3 per minute"), "login", "ip:10.3.0.1")
    assert window.remaining == 2  # the store counted the second attempt


def test_without_a_fallback_a_store_down_lets_requests_through(app, client, actors, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN", "1 per minute")
    worker = actors.staff(actors.tree()["room_a"], "worker", password="owners-pass-1")
    limits = rate_limits(app)
    monkeypatch.setattr(limits, "shared", Unreachable())
    monkeypatch.setattr(limits, "fallback", None)
    monkeypatch.setattr(limits.storage, "check", lambda: False)
    assert [_login(client, worker.phone, "owners-pass-1").status_code for _ in range(3)] == [200] * 3


def test_the_wechat_sign_in_counts_per_address_and_answers_the_headers(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN", "2 per minute")
    post = lambda ip: client.post(f"{API}/auth/wechat", json={}, environ_base={"REMOTE_ADDR": ip})  # noqa: E731
    first = post("10.4.0.1")
    assert first.status_code == 422
    assert (first.headers["X-RateLimit-Limit"], first.headers["X-RateLimit-Remaining"]) == ("2", "1")
    assert post("10.4.0.1").status_code == 422
    refused = post("10.4.0.1")
    assert_error(refused, 429, "RATE_LIMITED")
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    assert post("10.4.0.2").status_code == 422  # another address has its own count


def test_limits_can_be_switched_off(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN", "1 per minute")
    monkeypatch.setattr(rate_limits(app), "enabled", False)
    statuses = [client.post(f"{API}/auth/wechat", json={}).status_code for _ in range(3)]
    assert statuses == [422] * 3


@pytest.mark.skipif(not TEST_REDIS_URL, reason="needs Redis (TEST_REDIS_URL)")
def test_resetting_forgets_only_this_apps_own_counters(app):
    client = app.extensions["linli.kv"].client
    foreign = "another-run:rl:LIMITER/login/ip:10.0.0.9/10/1/minute"
    client.set(foreign, 5)
    try:
        limits = rate_limits(app)
        limits.hit(parse_limit("10 per minute"), "login", "ip:10.0.0.9")
        assert list(client.scan_iter(match=app.config["RATELIMIT_KEY_PREFIX"] + ":*"))
        limits.reset()
        assert list(client.scan_iter(match=app.config["RATELIMIT_KEY_PREFIX"] + ":*")) == []
        assert client.get(foreign) is not None
    finally:
        client.delete(foreign)
