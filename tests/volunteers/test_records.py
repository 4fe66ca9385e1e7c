"""Service records: star levels, the 10-working-day rule, idempotence, totals."""
from datetime import date, datetime, timedelta, timezone

import pytest

from core import clock
from core.db import db
from core.errors import DomainError
from orgs.models import Org
from orgs.services import _save_org, ensure_city
from volunteers import records
from people.models import User
from volunteers.models import ServiceRecord
from volunteers.records import is_recorded_late, star_for_minutes, working_days_after
from tests.support import current_settings

HOUR = 60


@pytest.mark.parametrize("minutes,star", [
    (0, 0), (100 * HOUR - 1, 0), (100 * HOUR, 1), (300 * HOUR - 1, 1), (300 * HOUR, 2),
    (600 * HOUR - 1, 2), (600 * HOUR, 3), (1000 * HOUR - 1, 3), (1000 * HOUR, 4),
    (1500 * HOUR - 1, 4), (1500 * HOUR, 5), (10_000 * HOUR, 5),
])
def test_star_boundaries(minutes, star):
    assert star_for_minutes(minutes) == star


FRIDAY = date(2026, 11, 27)


@pytest.mark.parametrize("end,recorded,days", [
    (FRIDAY, FRIDAY, 0),
    (FRIDAY, FRIDAY + timedelta(days=1), 0),   # Saturday
    (FRIDAY, FRIDAY + timedelta(days=2), 0),   # Sunday
    (FRIDAY, FRIDAY + timedelta(days=3), 1),   # Monday
    (FRIDAY, FRIDAY + timedelta(days=14), 10),  # Friday two weeks on
    (FRIDAY, FRIDAY + timedelta(days=17), 11),  # the Monday after
    (date(2026, 11, 28), date(2026, 11, 30), 1),  # Saturday → Monday
    (FRIDAY, FRIDAY - timedelta(days=3), 0),
    (date(2026, 1, 1), date(2026, 12, 31), 260),
])
def test_working_days_count_monday_to_friday(end, recorded, days):
    assert working_days_after(end, recorded) == days
    brute = sum(1 for n in range(1, (recorded - end).days + 1)
                if (end + timedelta(days=n)).weekday() < 5)
    assert days == brute


def test_late_is_more_than_ten_working_days():
    assert not is_recorded_late(ended_on=FRIDAY, recorded_on=FRIDAY + timedelta(days=14))
    assert is_recorded_late(ended_on=FRIDAY, recorded_on=FRIDAY + timedelta(days=17))


@pytest.fixture
def room(ctx):
    now = clock.now()
    city = ensure_city(name="武汉市", now=now)
    room = _save_org(Org(name="花园社区社工室", kind="room", parent=city, created_at=now))
    user = User(nickname="v", created_at=now)
    db.session.add(user)
    db.session.flush()
    return room, user


def _record(room, user, **overrides):
    start = datetime(2026, 11, 27, 1, 0, tzinfo=timezone.utc)  # 09:00 in Wuhan, a Friday
    args = dict(user_id=user.id, activity_id=7, title="敬老院探访", org=room, place="百步亭敬老院",
                content="陪伴聊天、整理房间", started_at=start, ended_at=start + timedelta(hours=3),
                minutes=180, points=30, responsible_person="李社工", recorded_by=None,
                cause_key="settlement:1", now=start + timedelta(hours=4), settings=current_settings())
    args.update(overrides)
    return records.record_service(**args)


def test_record_names_everything_the_rules_ask_for(room):
    room, user = room
    record = _record(room, user)
    assert (record.title, record.org_name, record.place, record.responsible_person) == (
        "敬老院探访", "花园社区社工室", "百步亭敬老院", "李社工")
    assert record.service_date == date(2026, 11, 27) and record.minutes == 180
    assert record.is_late is False


def test_service_date_is_the_local_date(room):
    room, user = room
    start = datetime(2026, 11, 26, 17, 0, tzinfo=timezone.utc)  # 01:00 on the 27th in Wuhan
    record = _record(room, user, started_at=start, ended_at=start + timedelta(hours=1),
                     now=start + timedelta(hours=2))
    assert record.service_date == date(2026, 11, 27)


def test_a_record_made_after_ten_working_days_is_marked_late(room):
    room, user = room
    end = datetime(2026, 11, 27, 4, 0, tzinfo=timezone.utc)
    on_time = _record(room, user, cause_key="settlement:1", now=end + timedelta(days=14))
    late = _record(room, user, cause_key="settlement:2", now=end + timedelta(days=17))
    assert (on_time.is_late, late.is_late) == (False, True)


def test_recording_twice_with_the_same_cause_is_a_no_op(room):
    room, user = room
    first = _record(room, user)
    again = _record(room, user, minutes=999, points=999)
    assert again.id == first.id and again.minutes == 180
    assert db.session.query(ServiceRecord).count() == 1


@pytest.mark.parametrize("overrides,field", [
    ({"minutes": -1}, "minutes"), ({"points": -5}, "points"), ({"title": " "}, "title"),
    ({"responsible_person": ""}, "responsible_person"),
    ({"started_at": None, "ended_at": None}, "service_date"),
])
def test_bad_records_are_refused(room, overrides, field):
    room, user = room
    with pytest.raises(DomainError) as caught:
        _record(room, user, **overrides)
    assert caught.value.code == "VALIDATION_ERROR" and field in caught.value.details


def test_end_before_start_is_refused(room):
    room, user = room
    start = datetime(2026, 11, 27, 1, 0, tzinfo=timezone.utc)
    with pytest.raises(DomainError) as caught:
        _record(room, user, ended_at=start - timedelta(minutes=1))
    assert "ended_at" in caught.value.details


def test_totals_cover_every_record_and_give_the_star(room):
    room, user = room
    for n in range(4):
        _record(room, user, cause_key=f"settlement:{n}", minutes=25 * HOUR, points=10)
    totals = records.totals_for(user.id)
    assert (totals.records, totals.minutes, totals.points, totals.star) == (4, 100 * HOUR, 40, 1)
    assert records.totals_for(user.id + 1000).minutes == 0
