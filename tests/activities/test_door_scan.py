"""The one-round-trip self scan (`activities/door_scan.py`) answers exactly as
the full path would, whatever changed since it cached an activity's facts.

Each test first checks someone in, so the activity's facts are cached, then
changes the activity, account or registration behind the cache's back and
scans again. On SQLite every scan takes the full path and the answers are
the same, which is the point.
"""
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from activities.models import Activity, CheckinLog, Registration
from core.db import db
from tests.activity_support import checkin, code_of, frozen, make_activity, register  # noqa: F401
from tests.conftest import ON_POSTGRES
from tests.support import API, assert_error
from people.models import User


@pytest.fixture
def door(app, client, actors, frozen):
    """A published activity with facts cached by one accepted scan, and a
    second registered resident who has not scanned yet."""
    tree = actors.tree()
    staff = actors.staff(tree["room_a"], "worker")
    activity = make_activity(client, staff, tree["room_a"], frozen.current)
    early, resident = actors.resident(), actors.resident()
    for person in (early, resident):
        assert register(client, person, activity["id"]).status_code == 201
    code = code_of(client, staff, activity["id"])
    assert checkin(client, early, code).get_json()["first"] is True
    if ON_POSTGRES:
        assert activity["id"] in app.extensions["linli.door_scan_facts"]  # the fast path ran
    return {"staff": staff, "activity": activity, "resident": resident, "code": code}


def change(app, model, row_id, **values):
    with app.app_context():
        db.session.execute(sa.update(model).where(model.id == row_id).values(**values))
        db.session.commit()


def log_of(app, user_id):
    with app.app_context():
        return db.session.execute(
            sa.select(CheckinLog.action, CheckinLog.method, CheckinLog.result, CheckinLog.reason,
                      CheckinLog.actor_id, CheckinLog.device, CheckinLog.client_at, CheckinLog.lat,
                      CheckinLog.lng, CheckinLog.registration_id)
            .where(CheckinLog.user_id == user_id).order_by(CheckinLog.id)).all()


def checked_in_at(app, activity_id, user_id):
    with app.app_context():
        return db.session.scalar(sa.select(Registration.checked_in_at).where(
            Registration.activity_id == activity_id, Registration.user_id == user_id))


def test_a_plain_scan_logs_what_the_full_path_logs(app, client, door, frozen):
    resident = door["resident"]
    response = checkin(client, resident, door["code"], device_id="phone-7",
                       client_time=(frozen.current - timedelta(seconds=3)).isoformat(),
                       lat=30.65, lng=114.3)
    assert response.status_code == 200
    body = response.get_json()
    assert body["first"] is True and body["status"] == "checked_in"
    assert datetime.fromisoformat(body["checked_in_at"]) == frozen.current
    again = checkin(client, resident, door["code"]).get_json()
    assert again["first"] is False and again["checked_in_at"] == body["checked_in_at"]
    assert again["registration_id"] == body["registration_id"] and again["scan_id"] > body["scan_id"]
    rows = log_of(app, resident.id)
    assert [tuple(row[:5]) for row in rows] == [("in", "self", "accepted", None, resident.id),
                                                ("in", "self", "repeat", None, resident.id)]
    assert rows[0].device == "phone-7" and rows[0].lat == 30.65 and rows[0].lng == 114.3
    assert rows[0].client_at == frozen.current - timedelta(seconds=3)
    assert {row.registration_id for row in rows} == {body["registration_id"]}


def test_a_cancelled_activity_is_refused_though_cached(app, client, door):
    change(app, Activity, door["activity"]["id"], status="cancelled")
    assert_error(checkin(client, door["resident"], door["code"]), 409, "CHECKIN_NOT_OPEN")
    assert [row.result + ":" + row.reason for row in log_of(app, door["resident"].id)] == \
        ["refused:CHECKIN_NOT_OPEN"]
    assert checked_in_at(app, door["activity"]["id"], door["resident"].id) is None


def test_a_moved_activity_is_judged_on_its_new_times(app, client, door, frozen):
    later = frozen.current + timedelta(hours=3)
    change(app, Activity, door["activity"]["id"], starts_at=later, ends_at=later + timedelta(hours=1))
    assert_error(checkin(client, door["resident"], door["code"]), 409, "CHECKIN_NOT_OPEN")
    assert checked_in_at(app, door["activity"]["id"], door["resident"].id) is None


def test_a_new_code_secret_revokes_cached_codes_and_its_codes_work(app, client, door):
    change(app, Activity, door["activity"]["id"], code_secret="rotated-secret")
    assert_error(checkin(client, door["resident"], door["code"]), 400, "CODE_INVALID")
    fresh = code_of(client, door["staff"], door["activity"]["id"])
    accepted = checkin(client, door["resident"], fresh)
    assert accepted.status_code == 200 and accepted.get_json()["first"] is True
    assert [row.result for row in log_of(app, door["resident"].id)] == ["refused", "accepted"]


def test_a_geofence_added_later_applies_and_one_removed_later_does_not(app, client, door):
    fence = dict(geofence_lat=30.65, geofence_lng=114.3, geofence_radius_m=100)
    change(app, Activity, door["activity"]["id"], **fence)
    assert_error(checkin(client, door["resident"], door["code"]), 403, "OUT_OF_AREA")
    assert checkin(client, door["resident"], door["code"], lat=30.6501, lng=114.3001).status_code == 200
    # Cached with the fence now; without it, a scan from anywhere is accepted.
    late = register_another(app, client, door)
    change(app, Activity, door["activity"]["id"], geofence_lat=None, geofence_lng=None,
           geofence_radius_m=None)
    response = checkin(client, late, door["code"], lat=31.0, lng=121.0)
    assert response.status_code == 200 and response.get_json()["first"] is True


def register_another(app, client, door):
    from tests.support import Actors

    person = Actors(app, client).resident()
    assert register(client, person, door["activity"]["id"]).status_code == 201
    return person


def test_a_deactivated_account_is_unauthenticated_though_cached(app, client, door):
    change(app, User, door["resident"].id, is_active=False)
    assert_error(checkin(client, door["resident"], door["code"]), 401, "UNAUTHENTICATED")
    assert checked_in_at(app, door["activity"]["id"], door["resident"].id) is None


def test_a_cancelled_registration_is_not_registered_though_cached(app, client, door):
    cancelled = client.delete(f"{API}/activities/{door['activity']['id']}/registrations/me",
                              headers=door["resident"].headers)
    assert cancelled.status_code == 200, cancelled.get_json()
    assert_error(checkin(client, door["resident"], door["code"]), 403, "NOT_REGISTERED")
    assert [row.reason for row in log_of(app, door["resident"].id)] == ["NOT_REGISTERED"]


def test_a_code_for_another_activity_than_expected_is_refused(app, client, door):
    response = checkin(client, door["resident"], door["code"], activity_id=door["activity"]["id"] + 1)
    assert_error(response, 400, "CODE_INVALID")
    assert [row.reason for row in log_of(app, door["resident"].id)] == ["CODE_INVALID"]
