"""The full path writes only on the facts it decided on: when another scan
changed the registration after it was read, it reads it again and decides
again. First made to happen deterministically (the change slipped in between
the decision and the write), then raced with real threads on PostgreSQL."""
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from activities import checkin, decision
from activities.models import CheckinLog, Registration
from core.db import db
from tests.activity_support import checkin as self_scan
from tests.activity_support import code_of, frozen, make_activity, register  # noqa: F401
from tests.conftest import ON_POSTGRES
from tests.support import API


@pytest.fixture
def door(client, actors, frozen):
    tree = actors.tree()
    staff = actors.staff(tree["room_a"], "worker")
    activity = make_activity(client, staff, tree["room_a"], frozen.current)
    resident = actors.resident()
    registration_id = register(client, resident, activity["id"]).get_json()["id"]
    return {"staff": staff, "activity": activity, "resident": resident, "registration_id": registration_id}


def race(app, count: int, request):
    """Runs `request(client, i)` in `count` threads released at once; returns the responses."""
    barrier = threading.Barrier(count)

    def run(i):
        client = app.test_client()
        barrier.wait()
        return request(client, i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def slip_in(monkeypatch, registration_id: int, **stored):
    """Another scan's write, landing after the first decision and before its write."""
    calls = []

    def deciding(*args):
        if not calls:
            db.session.execute(sa.update(Registration).where(Registration.id == registration_id).values(**stored))
        calls.append(args)
        return decision.decide(*args)

    monkeypatch.setattr(checkin, "decide", deciding)
    return calls


def log_of(app, registration_id):
    with app.app_context():
        return db.session.execute(sa.select(CheckinLog.action, CheckinLog.result).where(
            CheckinLog.registration_id == registration_id).order_by(CheckinLog.id)).all()


def test_a_check_in_that_lost_to_another_is_a_repeat(app, client, door, frozen, monkeypatch):
    earlier = frozen.current - timedelta(seconds=2)
    calls = slip_in(monkeypatch, door["registration_id"], checked_in_at=earlier)
    pass_code = client.get(f"{API}/me/pass", headers=door["resident"].headers).get_json()["code"]
    response = client.post(f"{API}/activities/{door['activity']['id']}/scan",
                           json={"code": pass_code, "action": "in"}, headers=door["staff"].headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["first"] is False and datetime.fromisoformat(body["checked_in_at"]) == earlier
    assert len(calls) == 2  # decided again on what was stored
    assert log_of(app, door["registration_id"]) == [("in", "repeat")]


def test_a_check_out_that_lost_to_another_is_a_repeat(app, client, door, frozen, monkeypatch):
    url = f"{API}/activities/{door['activity']['id']}/registrations/{door['registration_id']}/checkin"
    assert client.post(url, json={"action": "in"}, headers=door["staff"].headers).get_json()["first"] is True
    frozen.advance(seconds=30)
    other = frozen.current - timedelta(seconds=1)
    slip_in(monkeypatch, door["registration_id"], checked_out_at=other)
    body = client.post(url, json={"action": "out"}, headers=door["staff"].headers).get_json()
    assert body["first"] is False and body["status"] == "checked_out"
    assert datetime.fromisoformat(body["checked_out_at"]) == other
    assert log_of(app, door["registration_id"]) == [("in", "accepted"), ("out", "repeat")]


def test_a_registration_cancelled_meanwhile_is_refused(app, client, door, monkeypatch):
    slip_in(monkeypatch, door["registration_id"], status="cancelled")
    url = f"{API}/activities/{door['activity']['id']}/registrations/{door['registration_id']}/checkin"
    response = client.post(url, json={"action": "in"}, headers=door["staff"].headers)
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "NOT_REGISTERED"
    assert log_of(app, door["registration_id"]) == [("in", "refused")]
    with app.app_context():
        assert db.session.get(Registration, door["registration_id"]).checked_in_at is None


@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (TEST_DATABASE_URL)")
def test_simultaneous_staff_scans_and_check_outs_of_one_person(app, client, door):
    pass_code = client.get(f"{API}/me/pass", headers=door["resident"].headers).get_json()["code"]
    scan_url = f"{API}/activities/{door['activity']['id']}/scan"
    staff = door["staff"]
    scans = race(app, 20, lambda c, i: c.post(scan_url, json={"code": pass_code, "action": "in"},
                                               headers=staff.headers))
    assert [r.status_code for r in scans] == [200] * 20
    assert [r.get_json()["first"] for r in scans].count(True) == 1
    assert len({r.get_json()["checked_in_at"] for r in scans}) == 1
    code = code_of(client, staff, door["activity"]["id"])
    outs = race(app, 20, lambda c, i: self_scan(c, door["resident"], code, action="out"))
    assert [r.status_code for r in outs] == [200] * 20
    assert [r.get_json()["first"] for r in outs].count(True) == 1
    assert len({r.get_json()["checked_out_at"] for r in outs}) == 1
    results = [result for _, result in log_of(app, door["registration_id"])]
    assert results.count("accepted") == 2 and results.count("repeat") == 38
