"""Contract: the Settlement section of API.md — service becomes points."""
import pytest
import sqlalchemy as sa

from core.db import db
from points.models import Transfer
from points.verify import verify
from tests.activity_support import frozen, make_activity, register  # noqa: F401  (fixture)
from tests.support import API, assert_error, change_settings


@pytest.fixture
def world(client, actors, frozen):  # noqa: F811
    tree = actors.tree()
    worker = actors.staff(tree["room_a"], "worker")
    people = {name: actors.resident(volunteer=name.startswith("v")) for name in ("v1", "v2", "v3", "p1")}
    return {"tree": tree, "worker": worker, "clock": frozen, **people}


def _activity(client, world, **overrides):
    body = {"attendance_points": 5, "points_per_hour": 10, "volunteer_slots": 5}
    body.update(overrides)
    activity = make_activity(client, world["worker"], world["tree"]["room_a"], world["clock"](), **body)
    ids = {}
    for name in ("v1", "v2", "v3", "p1"):
        role = "participant" if name == "p1" else "volunteer"
        response = register(client, world[name], activity["id"], role)
        assert response.status_code == 201, response.get_json()
        ids[name] = response.get_json()["id"]
    return activity, ids


def _scan(client, world, activity_id, registration_id, action):
    response = client.post(f"{API}/activities/{activity_id}/registrations/{registration_id}/checkin",
                           json={"action": action}, headers=world["worker"].headers)
    assert response.status_code == 200, response.get_json()


def _settle(client, world, activity_id, adjustments=None, person=None):
    body = {} if adjustments is None else {"adjustments": adjustments}
    return client.post(f"{API}/activities/{activity_id}/settle", json=body,
                       headers=(person or world["worker"]).headers)


def _run_activity(client, world, **overrides):
    """v1 serves 45 minutes, v2 checks in and never out, v3 never comes, p1 attends."""
    activity, ids = _activity(client, world, **overrides)
    clock = world["clock"]
    clock.advance(minutes=10)                      # the start
    for name in ("v1", "v2", "p1"):
        _scan(client, world, activity["id"], ids[name], "in")
    clock.advance(minutes=45)
    _scan(client, world, activity["id"], ids["v1"], "out")
    clock.advance(minutes=16)                      # past the end
    return activity, ids


def test_settle_turns_verified_service_into_records_and_points(client, world, app):
    activity, ids = _run_activity(client, world)
    response = _settle(client, world, activity["id"])
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["activity_id"] == activity["id"] and body["status"] == "settled"
    records = {r["registration_id"]: r for r in body["records"]}
    assert set(records) == {ids["v1"], ids["v2"], ids["p1"]}  # v3 never came
    assert (records[ids["v1"]]["minutes"], records[ids["v1"]]["points"]) == (45, 7)  # 45×10÷60 ↓
    assert (records[ids["v2"]]["minutes"], records[ids["v2"]]["points"]) == (0, 0)
    assert (records[ids["p1"]]["role"], records[ids["p1"]]["minutes"], records[ids["p1"]]["points"]) \
        == ("participant", 0, 5)
    assert body["unverified"] == [{"registration_id": ids["v2"], "user_id": world["v2"].id}]
    assert (body["minutes_total"], body["points_total"]) == (45, 12)

    assert client.get(f"{API}/me/points", headers=world["v1"].headers).get_json()["balance"] == 7
    assert client.get(f"{API}/me/points", headers=world["p1"].headers).get_json()["balance"] == 5
    service = client.get(f"{API}/me/service-records", headers=world["v1"].headers).get_json()
    assert [(r["activity_id"], r["minutes"], r["points"]) for r in service["items"]] == \
        [(activity["id"], 45, 7)]
    assert client.get(f"{API}/me/service-records", headers=world["v2"].headers).get_json()["items"] == []
    entries = client.get(f"{API}/me/points/entries", headers=world["v1"].headers).get_json()["items"]
    assert activity["title"] in entries[0]["memo"]
    assert client.get(f"{API}/activities/{activity['id']}").get_json()["status"] == "settled"
    with app.app_context():
        assert verify()[0] == []


def test_settling_again_replays_and_another_body_conflicts(client, world, app):
    activity, ids = _run_activity(client, world)
    adjustments = [{"registration_id": ids["v2"], "minutes": 50, "note": "纸质签到表核实"}]
    first = _settle(client, world, activity["id"], adjustments)
    assert first.status_code == 200
    with app.app_context():
        transfers = db.session.scalar(sa.select(sa.func.count()).select_from(Transfer))
    again = _settle(client, world, activity["id"], adjustments)
    assert again.status_code == 200 and again.get_json() == first.get_json()
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Transfer)) == transfers
    assert_error(_settle(client, world, activity["id"]), 409, "ALREADY_SETTLED")


def test_adjustments_give_minutes_with_a_note(client, world):
    activity, ids = _run_activity(client, world)
    response = _settle(client, world, activity["id"], [
        {"registration_id": ids["v2"], "minutes": 60, "note": "忘记签退，社工确认全程在岗"},
        {"registration_id": ids["v3"], "minutes": 30, "note": "纸质签到补录"},
    ])
    body = response.get_json()
    records = {r["registration_id"]: r for r in body["records"]}
    assert (records[ids["v2"]]["minutes"], records[ids["v2"]]["points"]) == (60, 10)
    assert records[ids["v2"]]["is_adjusted"] and records[ids["v2"]]["note"]
    assert (records[ids["v3"]]["minutes"], records[ids["v3"]]["points"]) == (30, 5)
    assert body["unverified"] == []


@pytest.mark.parametrize("adjustment,field", [
    ({"registration_id": "p1", "minutes": 10, "note": "x"}, "adjustments.0"),
    ({"registration_id": 999999, "minutes": 10, "note": "x"}, "adjustments.0"),
    ({"registration_id": "v2", "minutes": 10, "note": "  "}, "adjustments"),
    ({"registration_id": "v2", "minutes": 10}, "adjustments"),
    ({"registration_id": "v2", "minutes": -1, "note": "x"}, "adjustments"),
    ({"registration_id": "v2", "minutes": 10.5, "note": "x"}, "adjustments"),
])
def test_adjustment_validation(client, world, adjustment, field):
    activity, ids = _run_activity(client, world)
    adjustment = dict(adjustment)
    adjustment["registration_id"] = ids.get(adjustment["registration_id"], adjustment["registration_id"])
    error = assert_error(_settle(client, world, activity["id"], [adjustment]), 422, "VALIDATION_ERROR")
    assert any(key.startswith(field) for key in error["details"]), error
    # Nothing was settled by the refused request.
    assert _settle(client, world, activity["id"]).status_code == 200


def test_a_registration_adjusted_twice_is_refused(client, world):
    activity, ids = _run_activity(client, world)
    twice = [{"registration_id": ids["v2"], "minutes": 10, "note": "a"},
             {"registration_id": ids["v2"], "minutes": 20, "note": "b"}]
    assert_error(_settle(client, world, activity["id"], twice), 422, "VALIDATION_ERROR")


def test_not_before_the_end_and_not_drafts_or_cancelled(client, world):
    activity, _ = _activity(client, world)
    assert_error(_settle(client, world, activity["id"]), 409, "NOT_ENDED")
    draft = make_activity(client, world["worker"], world["tree"]["room_a"], world["clock"](),
                          publish=False)
    cancelled = make_activity(client, world["worker"], world["tree"]["room_a"], world["clock"]())
    client.post(f"{API}/activities/{cancelled['id']}/cancel", headers=world["worker"].headers)
    world["clock"].advance(minutes=80)
    assert_error(_settle(client, world, draft["id"]), 409, "CONFLICT")
    assert_error(_settle(client, world, cancelled["id"]), 409, "CONFLICT")


def test_who_may_settle(client, world, actors):
    # Tokens are made before the frozen clock moves on (JWTs are checked on the real clock).
    other_room = actors.staff(world["tree"]["room_b"], "admin")
    station_worker = actors.staff(world["tree"]["station"], "worker")
    activity, _ = _run_activity(client, world)
    assert_error(client.post(f"{API}/activities/{activity['id']}/settle", json={}), 401, "UNAUTHENTICATED")
    assert_error(_settle(client, world, 999999), 404, "NOT_FOUND")
    assert_error(_settle(client, world, activity["id"], person=other_room), 403, "FORBIDDEN")
    assert_error(_settle(client, world, activity["id"], person=world["v1"]), 403, "FORBIDDEN")
    # 403 comes before 422: a bad body from an outsider is still forbidden.
    assert_error(_settle(client, world, activity["id"], [{"bad": 1}], person=other_room), 403, "FORBIDDEN")
    assert _settle(client, world, activity["id"], person=station_worker).status_code == 200


def test_minutes_are_clipped_to_the_schedule_and_rounded_by_rule(client, world):
    activity, ids = _activity(client, world, rounding="half_hour")
    clock = world["clock"]
    _scan(client, world, activity["id"], ids["v1"], "in")     # 10 minutes before the start
    clock.advance(minutes=10)
    _scan(client, world, activity["id"], ids["v2"], "in")
    clock.advance(minutes=59)
    _scan(client, world, activity["id"], ids["v2"], "out")    # 59 minutes → one completed half hour
    clock.advance(minutes=20)
    _scan(client, world, activity["id"], ids["v1"], "out")    # 19 minutes after the end
    records = {r["registration_id"]: r for r in _settle(client, world, activity["id"]).get_json()["records"]}
    assert (records[ids["v1"]]["measured_minutes"], records[ids["v1"]]["minutes"]) == (60, 60)
    assert (records[ids["v2"]]["measured_minutes"], records[ids["v2"]]["minutes"]) == (59, 30)
    assert records[ids["v2"]]["points"] == 5


def test_the_daily_cap_bounds_points_per_person_and_day(client, world, app, monkeypatch):
    change_settings(app, monkeypatch, points_daily_cap=8)
    activity, ids = _run_activity(client, world, points_per_hour=60)   # 45 points uncapped
    response = _settle(client, world, activity["id"])
    assert response.status_code == 200, response.get_json()
    records = {r["registration_id"]: r for r in response.get_json()["records"]}
    assert (records[ids["v1"]]["points"], records[ids["v1"]]["is_capped"]) == (8, True)
    assert (records[ids["p1"]]["points"], records[ids["p1"]]["is_capped"]) == (5, False)


def test_preview_shows_unverified_and_posts_nothing(client, world, app):
    activity, ids = _run_activity(client, world)
    preview = client.post(f"{API}/activities/{activity['id']}/settlement/preview", json={},
                          headers=world["worker"].headers)
    assert preview.status_code == 200
    body = preview.get_json()
    assert body["status"] == "preview" and body["settled_at"] is None
    assert body["unverified"] == [{"registration_id": ids["v2"], "user_id": world["v2"].id}]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Transfer)) == 0
    settled = _settle(client, world, activity["id"]).get_json()
    assert settled["records"] == body["records"] and settled["points_total"] == body["points_total"]


def test_staff_back_entry_after_the_end_then_settle(client, world, actors):
    """Paper records: staff enrol a volunteer after the activity and adjust their minutes."""
    late, later = actors.resident(volunteer=True), actors.resident(volunteer=True)
    activity, ids = _run_activity(client, world)
    enrolled = client.post(f"{API}/activities/{activity['id']}/registrations",
                           json={"role": "volunteer", "user_id": late.id}, headers=world["worker"].headers)
    assert enrolled.status_code == 201, enrolled.get_json()
    registration_id = enrolled.get_json()["id"]
    body = _settle(client, world, activity["id"],
                   [{"registration_id": registration_id, "minutes": 90, "note": "纸质签到表补录"}]).get_json()
    assert {(r["registration_id"], r["minutes"], r["points"]) for r in body["records"]} >= \
        {(registration_id, 90, 15)}
    after = client.post(f"{API}/activities/{activity['id']}/registrations",
                        json={"role": "volunteer", "user_id": later.id},
                        headers=world["worker"].headers)
    assert_error(after, 409, "REGISTRATION_CLOSED")


def test_the_daily_cap_counts_earlier_settlements_of_the_same_day(client, world, app, monkeypatch):
    first = make_activity(client, world["worker"], world["tree"]["room_a"], world["clock"](), volunteer_slots=2)
    second = make_activity(client, world["worker"], world["tree"]["room_a"], world["clock"](), volunteer_slots=2,
                           title="社区环境整治")
    registrations = [register(client, world["v1"], a["id"], "volunteer").get_json()["id"] for a in (first, second)]
    world["clock"].advance(minutes=71)
    change_settings(app, monkeypatch, points_daily_cap=15)
    bodies = [_settle(client, world, a["id"], [{"registration_id": r, "minutes": 60, "note": "纸质签到"}]).get_json()
              for a, r in zip((first, second), registrations)]
    assert [(b["records"][0]["points"], b["records"][0]["is_capped"]) for b in bodies] == [(10, False), (5, True)]
    assert client.get(f"{API}/me/points", headers=world["v1"].headers).get_json()["balance"] == 15
