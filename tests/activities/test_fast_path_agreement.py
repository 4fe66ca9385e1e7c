"""The door's fast path (`door_scan.self_checkin`) and the full path
(`checkin.self_checkin`) answer and log alike, state by state: two residents
in the same state scan the same code, one through each. On PostgreSQL the
plain states take the one statement (counted below); on SQLite every scan
takes the full path, and the answers are the same, which is the point."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from activities import checkin, door_scan
from activities.checkin import Scan
from activities.models import Activity, CheckinLog, Registration
from core import codes
from core.db import db
from core.errors import DomainError
from tests.activity_support import frozen, make_activity  # noqa: F401
from tests.conftest import ON_POSTGRES
from tests.support import current_settings

# (registration state or None, allow walk-ins, geofence, activity status) -> takes the one statement
STATES = {
    "registered": (("confirmed", None, None), False, False, "published", True),
    "checked in": (("confirmed", -120, None), False, False, "published", True),
    "checked out": (("confirmed", -120, -60), False, False, "published", True),
    "not registered": (None, False, False, "published", False),
    "walk-in": (None, True, False, "published", False),
    "waitlisted": (("waitlisted", None, None), False, False, "published", False),
    "cancelled, walk-ins": (("cancelled", None, None), True, False, "published", False),
    "cancelled after a check-in, walk-ins": (("cancelled", -120, None), True, False, "published", False),
    "outside the geofence": (("confirmed", None, None), False, True, "published", False),
    "activity cancelled": (("confirmed", None, None), False, False, "cancelled", False),
}


def answer(call, **kwargs):
    try:
        result = call(**kwargs)
    except DomainError as error:
        db.session.commit()  # as the request does for a refusal: its log row stays
        return error.code, None
    db.session.commit()
    return None, (result.status, result.first, result.checked_in_at, result.checked_out_at)


@pytest.mark.parametrize("state, walk_ins, fenced, status, is_plain", STATES.values(), ids=STATES.keys())
def test_both_paths_answer_and_log_alike(app, client, actors, frozen, monkeypatch, state, walk_ins, fenced,
                                         status, is_plain):
    tree = actors.tree()
    staff = actors.staff(tree["room_a"], "worker")
    activity_id = make_activity(client, staff, tree["room_a"], frozen.current, allow_walk_in=walk_ins)["id"]
    twins = [actors.resident().id, actors.resident().id]
    now = frozen.current
    full_path = checkin.self_checkin
    fallbacks = []
    monkeypatch.setattr(checkin, "self_checkin", lambda **kwargs: fallbacks.append(1) or full_path(**kwargs))
    with app.app_context():
        activity = db.session.get(Activity, activity_id)
        activity.status = status
        if fenced:
            activity.geofence_lat, activity.geofence_lng, activity.geofence_radius_m = 30.65, 114.30, 100
        for user_id in twins:
            if state is not None:
                db.session.add(Registration(
                    activity_id=activity_id, user_id=user_id, role="participant", status=state[0],
                    registered_at=now, created_at=now,
                    checked_in_at=None if state[1] is None else now + timedelta(seconds=state[1]),
                    checked_out_at=None if state[2] is None else now + timedelta(seconds=state[2])))
        db.session.commit()
        settings = current_settings()
        code = codes.issue("checkin", activity_id, activity.code_secret, now=now, settings=settings).code
        answers = [answer(door_scan.self_checkin, user_id=twins[0], code=code, now=now, settings=settings,
                          facts_cache={},
                          scan=Scan("self", "in", twins[0], device="phone", lat=30.66, lng=114.30))]
        answers.append(answer(full_path, user_id=twins[1], code=code, now=now, settings=settings,
                              scan=Scan("self", "in", twins[1], device="phone", lat=30.66, lng=114.30)))
        logged = [db.session.execute(sa.select(CheckinLog.action, CheckinLog.method, CheckinLog.result,
                                               CheckinLog.reason, CheckinLog.device, CheckinLog.occurred_at)
                                     .where(CheckinLog.user_id == user_id)).all() for user_id in twins]
        stored = [db.session.execute(sa.select(Registration.status, Registration.method, Registration.checked_in_at,
                                               Registration.checked_out_at)
                                     .where(Registration.user_id == user_id)).all() for user_id in twins]
    assert answers[0] == answers[1]
    assert logged[0] == logged[1] and len(logged[0]) == 1
    assert stored[0] == stored[1]
    if ON_POSTGRES:
        assert fallbacks == ([] if is_plain else [1])
