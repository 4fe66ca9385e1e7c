"""Helpers for the activity, registration and check-in tests."""
from datetime import datetime, timedelta

import pytest

from core import clock
from tests.support import API


class FrozenClock:
    """Replaces `core.clock.now` so views and services see a time the test sets.

    Tokens are checked by PyJWT against the real clock, not this one: a token
    made before the clock moves stays valid wherever it moves (the tests that
    expire reservations move it days ahead), but one made while it stands in
    the real clock's future is "not yet valid", and one made while it stands
    more than its lifetime in the past has expired. So make people (their
    tokens) first, then move the clock."""

    def __init__(self, start: datetime):
        self.current = start

    def __call__(self):
        return self.current

    def advance(self, **delta):
        self.current += timedelta(**delta)


@pytest.fixture
def frozen(monkeypatch):
    # Five minutes ago (tokens made now are checked against the real clock, so
    # their `iat` must not be in the future), one second into a 30 s window.
    start = clock.now() - timedelta(minutes=5)
    clock_ = FrozenClock(start.replace(second=1 if start.second < 30 else 31, microsecond=0))
    monkeypatch.setattr(clock, "now", clock_)
    return clock_


def activity_body(now: datetime, **overrides) -> dict:
    """Starts in 10 minutes (registration open, check-in already open), lasts an hour."""
    body = {
        "title": "重阳节长者关怀茶话会", "domain": "elderly_care", "category": "关怀服务",
        "location": "花园社区活动室", "starts_at": (now + timedelta(minutes=10)).isoformat(),
        "ends_at": (now + timedelta(minutes=70)).isoformat(), "capacity": 10,
        "volunteer_slots": 2, "points_per_hour": 10,
    }
    body.update(overrides)
    return body


def make_activity(client, staff, org_id: int, now: datetime, *, publish: bool = True, **overrides) -> dict:
    response = client.post(f"{API}/orgs/{org_id}/activities", json=activity_body(now, **overrides),
                           headers=staff.headers)
    assert response.status_code == 201, response.get_json()
    activity = response.get_json()
    if publish:
        published = client.post(f"{API}/activities/{activity['id']}/publish", headers=staff.headers)
        assert published.status_code == 200, published.get_json()
        activity = published.get_json()
    return activity


def register(client, person, activity_id: int, role: str = "participant"):
    return client.post(f"{API}/activities/{activity_id}/registrations", json={"role": role},
                       headers=person.headers)


def code_of(client, staff, activity_id: int) -> str:
    response = client.get(f"{API}/activities/{activity_id}/checkin-code", headers=staff.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["code"]


def checkin(client, person, code: str, **body):
    return client.post(f"{API}/checkins", json={"code": code, **body}, headers=person.headers)
