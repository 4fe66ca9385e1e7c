"""The working-day calendar: holidays and swapped workdays in the 10-working-day rule."""
from datetime import date, datetime, timedelta, timezone

import pytest

from core import clock
from core.db import db
from orgs.models import Org
from orgs.services import _save_org, ensure_city
from tests.support import API, assert_error, current_settings
from volunteers import records
from volunteers.calendar import exceptions_between
from people.models import User
from volunteers.models import CalendarDay
from volunteers.records import working_days_after

# A National Day week like the usual arrangement (the dates here are a sample):
# Thursday 1 October to Wednesday 7 October off, Saturday 10 October worked.
GOLDEN_WEEK = [{"day": f"2026-10-0{d}", "is_workday": False, "name": "国庆节"} for d in range(1, 8)
               if date(2026, 10, d).weekday() < 5] + [
    {"day": "2026-10-10", "is_workday": True, "name": "国庆节调休上班"}]
ENDED = date(2026, 9, 28)  # a Monday
RECORDED = date(2026, 10, 16)  # the Friday of the second week after


def as_exceptions(days):
    return {date.fromisoformat(d["day"]): d["is_workday"] for d in days}


def test_holidays_and_swapped_workdays_change_the_count():
    assert working_days_after(ENDED, RECORDED) == 14
    assert working_days_after(ENDED, RECORDED, as_exceptions(GOLDEN_WEEK)) == 14 - 5 + 1
    # Only exceptions inside the span count, and an exception that is no exception changes nothing.
    assert working_days_after(ENDED, date(2026, 9, 30), as_exceptions(GOLDEN_WEEK)) == 2
    assert working_days_after(ENDED, RECORDED, {date(2026, 10, 3): False, date(2026, 10, 5): True}) == 14


def test_brute_force_agrees_on_every_span_of_the_season():
    exceptions = as_exceptions(GOLDEN_WEEK)
    start = date(2026, 9, 1)
    for a in range(60):
        for b in range(a, 75):
            end, recorded = start + timedelta(days=a), start + timedelta(days=b)
            brute = sum(1 for n in range(1, b - a + 1)
                        if exceptions.get(end + timedelta(days=n),
                                          (end + timedelta(days=n)).weekday() < 5))
            assert working_days_after(end, recorded, exceptions) == brute


@pytest.fixture
def city_admin(actors):
    tree = actors.tree()
    return tree, actors.staff(tree["city"], "admin")


def test_city_admins_enter_the_year_and_records_follow_it(app, client, actors, city_admin):
    tree, admin = city_admin
    url = f"{API}/calendar/2026"
    saved = client.put(url, json={"days": list(reversed(GOLDEN_WEEK))}, headers=admin.headers)
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json() == {"year": 2026, "days": GOLDEN_WEEK}
    worker = actors.staff(tree["room_a"], "worker")
    assert client.get(url, headers=worker.headers).get_json() == saved.get_json()
    assert client.get(f"{API}/calendar/2027", headers=worker.headers).get_json() == {"year": 2027, "days": []}
    # A record made on 16 October for a service that ended on 28 September is on time.
    with app.app_context():
        assert exceptions_between(ENDED, RECORDED) == as_exceptions(GOLDEN_WEEK)
        room = db.session.get(Org, tree["room_a"])
        user = User(nickname="v", created_at=clock.now())
        db.session.add(user)
        db.session.flush()
        ended = datetime(2026, 9, 28, 4, 0, tzinfo=timezone.utc)
        made = dict(user_id=user.id, activity_id=7, title="重阳节探访", org=room, place="敬老院",
                    content="陪伴", started_at=ended - timedelta(hours=2), ended_at=ended, minutes=120,
                    points=20, responsible_person="李社工", recorded_by=None)
        on_time = records.record_service(**made, cause_key="a", now=datetime(2026, 10, 16, 4, tzinfo=timezone.utc),
                                         settings=current_settings())
        late = records.record_service(**made, cause_key="b", now=datetime(2026, 10, 19, 4, tzinfo=timezone.utc),
                                      settings=current_settings())
        assert (on_time.is_late, late.is_late) == (False, True)
        db.session.commit()
    # Entering the year again replaces it.
    again = client.put(url, json={"days": GOLDEN_WEEK[:2]}, headers=admin.headers)
    assert again.get_json()["days"] == GOLDEN_WEEK[:2]
    with app.app_context():
        assert db.session.query(CalendarDay).count() == 2


def test_only_city_admins_may_set_it_and_bad_days_are_refused(client, actors, city_admin):
    tree, admin = city_admin
    url = f"{API}/calendar/2026"
    body = {"days": GOLDEN_WEEK}
    assert_error(client.put(url, json=body), 401, "UNAUTHENTICATED")
    assert_error(client.get(url), 401, "UNAUTHENTICATED")
    for someone in (actors.staff(tree["district"], "admin"), actors.staff(tree["city"], "worker"),
                    actors.resident()):
        assert_error(client.put(url, json=body, headers=someone.headers), 403, "FORBIDDEN")
    holiday, workday = GOLDEN_WEEK[0], GOLDEN_WEEK[-1]
    for days in ([{**holiday, "day": "2027-10-01"}], [holiday, holiday],
                 [{**holiday, "day": "2026-10-03"}],  # a Saturday off is no exception
                 [{**workday, "day": "2026-10-09"}],  # nor a Friday worked
                 [{**holiday, "is_workday": "false"}], [{**holiday, "name": ""}],
                 [{**holiday, "day": "2026-02-30"}], [holiday] * 61):
        assert_error(client.put(url, json={"days": days}, headers=admin.headers), 422, "VALIDATION_ERROR")
    assert_error(client.put(f"{API}/calendar/1999", json=body, headers=admin.headers), 422, "VALIDATION_ERROR")
    assert_error(client.get(f"{API}/calendar/2101", headers=admin.headers), 422, "VALIDATION_ERROR")
    assert client.get(url, headers=admin.headers).get_json()["days"] == []
