"""Scans a staff device made offline: POST /activities/{id}/scans/offline."""
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from activities.models import CheckinLog
from core.db import db
from tests.activity_support import checkin, code_of, frozen, make_activity, register  # noqa: F401
from tests.support import API, assert_error, change_settings


@pytest.fixture
def door(client, actors, frozen):
    """A published activity whose check-in opened before the test's first moment (t0),
    a worker, and two registered residents."""
    tree = actors.tree()
    staff = actors.staff(tree["room_a"], "worker")
    activity = make_activity(client, staff, tree["room_a"], frozen.current - timedelta(minutes=5))
    people = [actors.resident(), actors.resident()]
    registrations = [register(client, person, activity["id"]).get_json()["id"] for person in people]
    return {"tree": tree, "staff": staff, "activity": activity, "people": people,
            "registrations": registrations, "t0": frozen.current}


def pass_of(client, person) -> str:
    return client.get(f"{API}/me/pass", headers=person.headers).get_json()["code"]


def upload(client, door, scans, **body):
    return client.post(f"{API}/activities/{door['activity']['id']}/scans/offline",
                       json={"scans": scans, **body}, headers=door["staff"].headers)


def at(moment: datetime) -> str:
    return moment.isoformat()


def when(text: str | None):
    return None if text is None else datetime.fromisoformat(text)


def logged(app, activity_id):
    with app.app_context():
        return db.session.scalars(sa.select(CheckinLog).where(CheckinLog.activity_id == activity_id)
                                  .order_by(CheckinLog.id)).all()


def test_scans_are_judged_as_of_when_they_were_made(app, client, door, frozen):
    t0, (ana, bo), (ana_reg, bo_reg) = door["t0"], door["people"], door["registrations"]
    ana_in_pass = pass_of(client, ana)
    frozen.advance(seconds=40)
    ana_out_pass = pass_of(client, ana)
    frozen.advance(minutes=3)  # back online: both passes expired long ago
    scans = [
        {"client_ref": "s4", "action": "out", "scanned_at": at(t0 + timedelta(seconds=50)), "code": ana_out_pass},
        {"client_ref": "s1", "action": "in", "scanned_at": at(t0 + timedelta(seconds=2)), "code": ana_in_pass},
        {"client_ref": "s2", "action": "in", "scanned_at": at(t0 + timedelta(seconds=10)), "registration_id": bo_reg},
    ]
    response = upload(client, door, scans, device_id="pad-3")
    assert response.status_code == 200, response.get_json()
    results = response.get_json()["results"]
    assert [(r["client_ref"], r["result"], r["reason"]) for r in results] == [
        ("s4", "accepted", None), ("s1", "accepted", None), ("s2", "accepted", None)]
    assert [r["registration_id"] for r in results] == [ana_reg, ana_reg, bo_reg]
    assert when(results[0]["checked_in_at"]) == t0 + timedelta(seconds=2)
    assert when(results[0]["checked_out_at"]) == t0 + timedelta(seconds=50)
    assert when(results[2]["checked_in_at"]) == t0 + timedelta(seconds=10)
    # Live, the same pass is long expired.
    live = client.post(f"{API}/activities/{door['activity']['id']}/scan",
                       json={"code": ana_in_pass, "action": "in"}, headers=door["staff"].headers)
    assert_error(live, 410, "CODE_EXPIRED")
    rows = [r for r in logged(app, door["activity"]["id"]) if r.client_ref]
    assert [(r.client_ref, r.action, r.method, r.result) for r in rows] == [
        ("s1", "in", "staff", "accepted"), ("s2", "in", "manual", "accepted"),
        ("s4", "out", "staff", "accepted")]
    assert [r.occurred_at for r in rows] == [t0 + timedelta(seconds=s) for s in (2, 10, 50)]
    assert all(r.client_at == r.occurred_at and r.created_at == frozen.current for r in rows)
    assert {r.device for r in rows} == {"pad-3"} and {r.actor_id for r in rows} == {door["staff"].id}
    listed = client.get(f"{API}/activities/{door['activity']['id']}/checkins",
                        headers=door["staff"].headers).get_json()["items"]
    assert {item["client_ref"] for item in listed} >= {"s1", "s2", "s4"}
    assert all(item["occurred_at"] for item in listed)


def test_uploading_a_batch_again_logs_nothing_twice(app, client, actors, door, frozen):
    t0, (ana, _), (_, bo_reg) = door["t0"], door["people"], door["registrations"]
    scans = [{"client_ref": "a", "scanned_at": at(t0 + timedelta(seconds=1)), "code": pass_of(client, ana)},
             {"client_ref": "b", "scanned_at": at(t0 + timedelta(seconds=3)), "registration_id": bo_reg}]
    frozen.advance(minutes=2)
    first = upload(client, door, scans).get_json()
    again = upload(client, door, scans).get_json()
    assert again == first and [r["result"] for r in first["results"]] == ["accepted", "accepted"]
    assert len(logged(app, door["activity"]["id"])) == 2
    # The same id for another scan: nothing is done, and the device is told.
    changed = upload(client, door, [{**scans[1], "action": "out"}]).get_json()["results"][0]
    assert (changed["result"], changed["reason"]) == ("refused", "IDEMPOTENCY_CONFLICT")
    assert changed["checked_out_at"] is None and len(logged(app, door["activity"]["id"])) == 2
    elsewhere = make_activity(client, door["staff"], door["tree"]["room_a"], t0)
    reused = client.post(f"{API}/activities/{elsewhere['id']}/scans/offline", json={"scans": [scans[0]]},
                         headers=door["staff"].headers).get_json()["results"][0]
    assert (reused["result"], reused["reason"]) == ("refused", "IDEMPOTENCY_CONFLICT")
    # Each worker's ids are their own.
    colleague = actors.staff(door["tree"]["room_a"], "worker")
    theirs = client.post(f"{API}/activities/{door['activity']['id']}/scans/offline",
                         json={"scans": [scans[1]]}, headers=colleague.headers).get_json()["results"][0]
    assert theirs["result"] == "repeat" and theirs["scan_id"] != first["results"][1]["scan_id"]


def test_an_earlier_offline_check_in_moves_a_live_one_earlier(app, client, door, frozen):
    t0, (ana, _), (ana_reg, _) = door["t0"], door["people"], door["registrations"]
    offline_pass = pass_of(client, ana)
    frozen.advance(seconds=20)
    live = checkin(client, ana, code_of(client, door["staff"], door["activity"]["id"])).get_json()
    assert when(live["checked_in_at"]) == t0 + timedelta(seconds=20)
    later_pass = pass_of(client, ana)
    frozen.advance(seconds=40)
    results = upload(client, door, [
        {"client_ref": "late", "scanned_at": at(t0 + timedelta(seconds=25)), "code": later_pass},
        {"client_ref": "early", "scanned_at": at(t0 + timedelta(seconds=5)), "code": offline_pass},
    ]).get_json()["results"]
    assert [r["result"] for r in results] == ["repeat", "accepted"]
    assert {when(r["checked_in_at"]) for r in results} == {t0 + timedelta(seconds=5)}
    # Annulling the offline scan puts the live one back.
    annul = client.post(f"{API}/activities/{door['activity']['id']}/checkins/{results[1]['scan_id']}/annul",
                        headers=door["staff"].headers).get_json()
    assert annul["id"] == ana_reg and when(annul["checked_in_at"]) == t0 + timedelta(seconds=20)


def test_each_refusal_is_logged_with_its_reason(app, client, actors, door, frozen, monkeypatch):
    t0, (ana, bo), (ana_reg, bo_reg) = door["t0"], door["people"], door["registrations"]
    stranger = actors.resident()
    ana_pass, stranger_pass = pass_of(client, ana), pass_of(client, stranger)
    elsewhere = make_activity(client, door["staff"], door["tree"]["room_a"], t0)
    other_reg = register(client, stranger, elsewhere["id"]).get_json()["id"]
    change_settings(app, monkeypatch, offline_scan_max_hours=1)
    frozen.advance(minutes=2)
    opens = datetime.fromisoformat(door["activity"]["starts_at"]) - timedelta(minutes=30)
    scans = [
        {"client_ref": "future", "scanned_at": at(frozen.current + timedelta(minutes=6)), "registration_id": ana_reg},
        {"client_ref": "stale", "scanned_at": at(frozen.current - timedelta(minutes=61)), "registration_id": ana_reg},
        {"client_ref": "early", "scanned_at": at(opens - timedelta(seconds=1)), "registration_id": ana_reg},
        {"client_ref": "garbled", "scanned_at": at(t0), "code": "not-a-pass"},
        {"client_ref": "expired", "scanned_at": at(t0 + timedelta(minutes=2)), "code": ana_pass},
        {"client_ref": "other", "scanned_at": at(t0), "registration_id": other_reg},
        {"client_ref": "stranger", "scanned_at": at(t0), "code": stranger_pass},
        {"client_ref": "out-first", "action": "out", "scanned_at": at(t0), "registration_id": bo_reg},
    ]
    results = upload(client, door, scans).get_json()["results"]
    assert [(r["client_ref"], r["result"], r["reason"]) for r in results] == [
        ("future", "refused", "SCAN_TIME_INVALID"), ("stale", "refused", "SCAN_TIME_INVALID"),
        ("early", "refused", "CHECKIN_NOT_OPEN"), ("garbled", "refused", "CODE_INVALID"),
        ("expired", "refused", "CODE_EXPIRED"), ("other", "refused", "NOT_FOUND"),
        ("stranger", "refused", "NOT_REGISTERED"), ("out-first", "refused", "NOT_CHECKED_IN")]
    rows = {r.client_ref: r for r in logged(app, door["activity"]["id"])}
    assert {ref: (row.result, row.reason) for ref, row in rows.items()} == {
        r["client_ref"]: ("refused", r["reason"]) for r in results}
    assert rows["stranger"].user_id == stranger.id and rows["out-first"].registration_id == bo_reg
    registrations = client.get(f"{API}/activities/{door['activity']['id']}/registrations",
                               headers=door["staff"].headers).get_json()["items"]
    assert {r["checked_in_at"] for r in registrations} == {None}


def test_walk_ins_and_a_settled_activity(app, client, actors, door, frozen):
    staff, t0 = door["staff"], door["t0"]
    open_door = make_activity(client, staff, door["tree"]["room_a"], t0 - timedelta(minutes=5),
                              allow_walk_in=True)
    walker = actors.resident()
    walker_pass = pass_of(client, walker)
    frozen.advance(minutes=1)
    response = client.post(f"{API}/activities/{open_door['id']}/scans/offline", headers=staff.headers, json={
        "scans": [{"client_ref": "w", "scanned_at": at(t0), "code": walker_pass}]})
    [walked] = response.get_json()["results"]
    assert walked["result"] == "accepted" and when(walked["checked_in_at"]) == t0
    [registration] = client.get(f"{API}/activities/{open_door['id']}/registrations",
                                headers=staff.headers).get_json()["items"]
    assert (registration["user_id"], registration["method"], registration["id"]) == \
        (walker.id, "walk_in", walked["registration_id"])
    assert logged(app, open_door["id"])[-1].method == "walk_in"
    ended = make_activity(client, staff, door["tree"]["room_a"], t0 - timedelta(hours=3))
    ended_reg = client.post(f"{API}/activities/{ended['id']}/registrations", headers=staff.headers,
                            json={"role": "participant", "user_id": door["people"][0].id})
    assert ended_reg.status_code == 201, ended_reg.get_json()
    assert client.post(f"{API}/activities/{ended['id']}/settle", json={}, headers=staff.headers).status_code == 200
    late = client.post(f"{API}/activities/{ended['id']}/scans/offline", headers=staff.headers, json={
        "scans": [{"client_ref": "x", "scanned_at": at(t0), "registration_id": ended_reg.get_json()["id"]}]})
    assert [(r["result"], r["reason"]) for r in late.get_json()["results"]] == [("refused", "ALREADY_SETTLED")]


def test_bad_uploads_are_refused_whole(client, door):
    scan = {"client_ref": "a", "scanned_at": at(door["t0"]), "registration_id": door["registrations"][0]}
    for body in [{"scans": []}, {"scans": [scan] * 2}, {"scans": [{**scan, "client_ref": f"r{i}"} for i in range(501)]},
                 {"scans": [{**scan, "code": "abc"}]}, {"scans": [{k: v for k, v in scan.items() if k != "registration_id"}]},
                 {"scans": [{**scan, "scanned_at": None}]}, {"scans": [{**scan, "client_ref": "x" * 65}]},
                 {"scans": [{**scan, "action": "sideways"}]}, {"scans": [{**scan, "registration_id": "1"}]},
                 {"scans": scan}, {}]:
        assert_error(client.post(f"{API}/activities/{door['activity']['id']}/scans/offline", json=body,
                                 headers=door["staff"].headers), 422, "VALIDATION_ERROR")
    url = f"{API}/activities/{door['activity']['id']}/scans/offline"
    assert_error(client.post(url, json={"scans": [scan]}), 401, "UNAUTHENTICATED")
    assert_error(client.post(url, json={"scans": [scan]}, headers=door["people"][0].headers), 403, "FORBIDDEN")
    assert_error(client.post(f"{API}/activities/99999/scans/offline", json={"scans": [scan]},
                             headers=door["staff"].headers), 404, "NOT_FOUND")
