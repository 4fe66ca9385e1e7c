"""Domain rules of activities, called without HTTP."""
from datetime import timedelta

import pytest

from activities import checkin, decision, registration, services
from activities.checkin import Scan
from activities.models import Activity
from core import clock
from core.db import db
from core.errors import DomainError
from orgs.models import Org
from tests.activity_support import frozen, make_activity, register  # noqa: F401
from tests.support import API


def test_haversine_distances():
    assert decision.distance_m(30.65, 114.30, 30.65, 114.30) == 0
    # One degree of latitude is about 111.2 km anywhere.
    assert decision.distance_m(30.0, 114.3, 31.0, 114.3) == pytest.approx(111_195, rel=1e-3)
    # Wuhan to Beijing, about 1,050 km.
    assert decision.distance_m(30.593, 114.305, 39.904, 116.407) == pytest.approx(1_052_000, rel=0.01)


def test_attendance_times_feed_settlement(app, client, actors, frozen):
    tree = actors.tree()
    staff = actors.staff(tree["room_a"])
    activity = make_activity(client, staff, tree["room_a"], frozen.current, capacity=1)
    volunteer = actors.resident(volunteer=True)
    waiting = [actors.resident(), actors.resident()]
    register(client, volunteer, activity["id"], "volunteer")
    for person in waiting:
        register(client, person, activity["id"])
    with app.app_context():
        now = clock.now()
        reg_id = registration.attendance_times(activity["id"])[0].registration_id
        row = checkin.manual_checkin(actor=_user(staff.id), activity=db.session.get(Activity, activity["id"]),
                                     registration_id=reg_id, scan=Scan("manual", "in", staff.id), now=now)
        db.session.commit()
        times = registration.attendance_times(activity["id"])
    # Only confirmed registrations: the volunteer and the first participant.
    assert [(t.role, t.status) for t in times] == [("volunteer", "confirmed"), ("participant", "confirmed")]
    assert times[0].checked_in_at == row.checked_in_at and times[0].checked_out_at is None


def _user(user_id):
    from people.models import User

    return db.session.get(User, user_id)


def test_publish_cancel_rules(app, actors, frozen):
    tree = actors.tree()
    staff = actors.staff(tree["room_a"])
    with app.app_context():
        actor, org = _user(staff.id), db.session.get(Org, tree["room_a"])
        now = clock.now()
        activity = services.create_activity(
            actor=actor, org=org, now=now, title="议事会", domain="community_governance",
            location="社区会议室", starts_at=now + timedelta(hours=1), ends_at=now + timedelta(hours=2),
            capacity=5, volunteer_slots=0, points_per_hour=0)
        assert activity.status == "draft" and len(activity.code_secret) == 32
        assert services.publish(actor=actor, activity=activity, now=now).status == "published"
        assert services.publish(actor=actor, activity=activity, now=now).status == "published"
        activity.status = "settled"  # what settlement will do
        with pytest.raises(DomainError) as caught:
            services.cancel(actor=actor, activity=activity, now=now)
        assert caught.value.code == "CONFLICT"
        with pytest.raises(DomainError) as caught:
            registration.register(actor=actor, activity=activity, role="participant", now=now,
                                  user_id=actor.id)
        assert caught.value.code == "REGISTRATION_CLOSED"
        db.session.rollback()


def test_check_in_window_bounds_are_inclusive(app, client, actors, frozen):
    tree = actors.tree()
    staff = actors.staff(tree["room_a"])
    body = make_activity(client, staff, tree["room_a"], frozen.current, checkin_opens_before_min=10)
    with app.app_context():
        activity = decision.ActivityFacts.of(db.session.get(Activity, body["id"]))
        opens, closes = decision.checkin_window(activity)
        assert opens == activity.starts_at - timedelta(minutes=10)
        assert closes == activity.ends_at + timedelta(minutes=30)
        registered = decision.RegistrationFacts("confirmed", None, None)
        scan = decision.ScanFacts(door="manual", action="in")
        for inside in (opens, closes):
            assert decision.decide(activity, registered, scan, inside).outcome == "accepted"
        for outside in (opens - timedelta(seconds=1), closes + timedelta(seconds=1)):
            assert decision.decide(activity, registered, scan, outside).reason == "CHECKIN_NOT_OPEN"
    assert client.get(f"{API}/activities/{body['id']}").get_json()["checkin_opens_before_min"] == 10
