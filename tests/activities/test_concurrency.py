"""Races on PostgreSQL with real threads and connections (SQLite hides lock bugs)."""
import base64
import struct
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from activities.models import CheckinLog, Registration
from core.db import db
from tests.activity_support import code_of, frozen, make_activity  # noqa: F401
from tests.conftest import ON_POSTGRES
from tests.support import API

pytestmark = pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (TEST_DATABASE_URL)")


def _with_subject(code: str, subject_id: int) -> str:
    """The same code, signature kept, with another subject id written in."""
    raw = bytearray(base64.urlsafe_b64decode(code + "=" * (-len(code) % 4)))
    raw[1:5] = struct.pack(">I", subject_id)
    return base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")


def race(app, count: int, request):
    """Runs `request(client, i)` in `count` threads released at once; returns the responses."""
    barrier = threading.Barrier(count)

    def run(i):
        client = app.test_client()
        barrier.wait()
        return request(client, i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_thirty_residents_race_for_ten_places(app, client, actors, frozen):
    tree = actors.tree()
    staff = actors.staff(tree["room_a"])
    activity = make_activity(client, staff, tree["room_a"], frozen.current, capacity=10)
    people = [actors.resident() for _ in range(30)]
    responses = race(app, 30, lambda c, i: c.post(f"{API}/activities/{activity['id']}/registrations",
                                                   json={"role": "participant"}, headers=people[i].headers))
    assert sorted(r.status_code for r in responses) == [201] * 30
    statuses = [r.get_json()["status"] for r in responses]
    assert statuses.count("confirmed") == 10 and statuses.count("waitlisted") == 20
    with app.app_context():
        stored = db.session.scalar(sa.select(sa.func.count()).select_from(Registration).where(
            Registration.activity_id == activity["id"], Registration.status == "confirmed"))
    assert stored == 10


def test_one_person_registering_twenty_times_at_once_gets_one_registration(app, client, actors, frozen):
    tree = actors.tree()
    staff = actors.staff(tree["room_a"])
    activity = make_activity(client, staff, tree["room_a"], frozen.current)
    person = actors.resident()
    responses = race(app, 20, lambda c, i: c.post(f"{API}/activities/{activity['id']}/registrations",
                                                   json={"role": "participant"}, headers=person.headers))
    assert sorted(r.status_code for r in responses) == [200] * 19 + [201]
    assert len({r.get_json()["id"] for r in responses}) == 1


def test_fifty_simultaneous_scans_of_one_registration(app, client, actors, frozen):
    tree = actors.tree()
    staff = actors.staff(tree["room_a"])
    activity = make_activity(client, staff, tree["room_a"], frozen.current)
    resident = actors.resident()
    client.post(f"{API}/activities/{activity['id']}/registrations", json={"role": "participant"},
                headers=resident.headers)
    code = code_of(client, staff, activity["id"])
    responses = race(app, 50, lambda c, i: c.post(f"{API}/checkins", json={"code": code},
                                                   headers=resident.headers))
    assert [r.status_code for r in responses] == [200] * 50
    firsts = [r.get_json()["first"] for r in responses]
    assert firsts.count(True) == 1 and firsts.count(False) == 49
    assert len({r.get_json()["checked_in_at"] for r in responses}) == 1
    with app.app_context():
        rows = db.session.execute(sa.select(CheckinLog.result).where(
            CheckinLog.activity_id == activity["id"])).scalars().all()
        checked_in = db.session.scalar(sa.select(sa.func.count()).select_from(Registration).where(
            Registration.activity_id == activity["id"], Registration.checked_in_at.is_not(None)))
    assert len(rows) == 50 and rows.count("accepted") == 1 and rows.count("repeat") == 49
    assert checked_in == 1


def test_simultaneous_walk_ins_of_one_person_make_one_registration(app, client, actors, frozen):
    tree = actors.tree()
    staff = actors.staff(tree["room_a"])
    activity = make_activity(client, staff, tree["room_a"], frozen.current, allow_walk_in=True)
    walker = actors.resident()
    code = code_of(client, staff, activity["id"])
    responses = race(app, 20, lambda c, i: c.post(f"{API}/checkins", json={"code": code},
                                                   headers=walker.headers))
    assert [r.status_code for r in responses] == [200] * 20
    assert [r.get_json()["first"] for r in responses].count(True) == 1
    assert len({r.get_json()["registration_id"] for r in responses}) == 1


def test_bad_codes_raced_are_all_refused_and_logged(app, client, actors, frozen):
    tree = actors.tree()
    staff = actors.staff(tree["room_a"])
    activity = make_activity(client, staff, tree["room_a"], frozen.current)
    other = make_activity(client, staff, tree["room_a"], frozen.current)
    resident = actors.resident()
    client.post(f"{API}/activities/{activity['id']}/registrations", json={"role": "participant"},
                headers=resident.headers)
    old = code_of(client, staff, activity["id"])
    other_code = code_of(client, staff, other["id"])
    frozen.advance(seconds=60)
    good = code_of(client, staff, activity["id"])
    forged = good[:-4] + ("AAAA" if good[-4:] != "AAAA" else "BBBB")  # a guessed signature
    tampered = _with_subject(code_of(client, staff, other["id"]), activity["id"])  # re-pointed
    cases = [({"code": forged}, 400, "CODE_INVALID"), ({"code": old}, 410, "CODE_EXPIRED"),
             ({"code": tampered}, 400, "CODE_INVALID"),
             ({"code": other_code, "activity_id": activity["id"]}, 400, "CODE_INVALID"),
             ({"code": "%%garbled%%"}, 400, "CODE_INVALID")] * 5
    responses = race(app, len(cases), lambda c, i: c.post(f"{API}/checkins", json=cases[i][0],
                                                           headers=resident.headers))
    for (body, status, code), response in zip(cases, responses):
        assert (response.status_code, response.get_json()["error"]["code"]) == (status, code)
    with app.app_context():
        reasons = db.session.execute(sa.select(CheckinLog.reason)).scalars().all()
    assert sorted(reasons) == sorted(code for _, _, code in cases)


def test_the_check_in_log_refuses_updates_and_deletes(app, client, actors, frozen):
    tree = actors.tree()
    staff = actors.staff(tree["room_a"])
    activity = make_activity(client, staff, tree["room_a"], frozen.current)
    client.post(f"{API}/checkins", json={"code": "garbage"}, headers=actors.resident().headers)
    with app.app_context():
        for statement in ["UPDATE checkin_log SET result = 'accepted'", "DELETE FROM checkin_log"]:
            with pytest.raises(sa.exc.DatabaseError, match="append-only"):
                db.session.execute(sa.text(statement))
            db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CheckinLog)) == 1
    assert activity["status"] == "published"


def _offline_site(client, actors, frozen, people: int):
    tree = actors.tree()
    staff = actors.staff(tree["room_a"])
    activity = make_activity(client, staff, tree["room_a"], frozen.current)
    residents = [actors.resident() for _ in range(people)]
    registrations = [client.post(f"{API}/activities/{activity['id']}/registrations", json={"role": "participant"},
                                 headers=r.headers).get_json()["id"] for r in residents]
    return tree, staff, activity, registrations


def test_one_offline_batch_uploaded_ten_times_at_once_is_logged_once(app, client, actors, frozen):
    _, staff, activity, registrations = _offline_site(client, actors, frozen, 5)
    scans = [{"client_ref": f"scan-{i}", "registration_id": rid,
              "scanned_at": (frozen.current + timedelta(seconds=i)).isoformat()} for i, rid in enumerate(registrations)]
    frozen.advance(minutes=1)
    url = f"{API}/activities/{activity['id']}/scans/offline"
    responses = race(app, 10, lambda c, i: c.post(url, json={"scans": scans}, headers=staff.headers))
    assert [r.status_code for r in responses] == [200] * 10
    assert len({str(r.get_json()) for r in responses}) == 1
    assert {r["result"] for r in responses[0].get_json()["results"]} == {"accepted"}
    with app.app_context():
        rows = db.session.scalar(sa.select(sa.func.count()).select_from(CheckinLog))
    assert rows == 5


def test_offline_batches_crossing_each_other_do_not_deadlock(app, client, actors, frozen):
    tree, _, activity, registrations = _offline_site(client, actors, frozen, 4)
    workers = [actors.staff(tree["room_a"], "worker") for _ in range(8)]
    start = frozen.current
    frozen.advance(minutes=1)
    url = f"{API}/activities/{activity['id']}/scans/offline"

    def batch(i):  # half the workers go through the people one way, half the other way
        order = registrations if i % 2 else list(reversed(registrations))
        return [{"client_ref": f"w{i}-{rid}", "registration_id": rid,
                 "scanned_at": (start + timedelta(seconds=i + k)).isoformat()} for k, rid in enumerate(order)]

    responses = race(app, len(workers), lambda c, i: c.post(url, json={"scans": batch(i)},
                                                             headers=workers[i].headers))
    assert [r.status_code for r in responses] == [200] * len(workers)
    with app.app_context():
        times = dict(db.session.execute(sa.select(Registration.id, Registration.checked_in_at)
                                        .where(Registration.activity_id == activity["id"])).all())
    # Each person's check-in is the earliest scan of them in any batch.
    earliest = {}
    for i in range(len(workers)):
        for scan in batch(i):
            moment = datetime.fromisoformat(scan["scanned_at"])
            earliest[scan["registration_id"]] = min(earliest.get(scan["registration_id"], moment), moment)
    assert times == earliest
