"""Service records (志愿服务记录), the totals they add up to, and star levels."""
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from core.db import db
from core.errors import Invalid
from core.paging import Page, keyset_page
from core.settings import Settings
from orgs.models import Org

from .calendar import exceptions_between
from .models import ServiceRecord

# 星级志愿者: cumulative hours for one to five stars.
STAR_HOURS = (100, 300, 600, 1000, 1500)
# 志愿服务记录与证明出具办法: a record is made within 10 working days of the service's end.
RECORDING_WORKING_DAYS = 10


def star_for_minutes(minutes: int) -> int:
    """0 below 100 hours; 1★ from 100 h, 2★ 300 h, 3★ 600 h, 4★ 1000 h, 5★ 1500 h."""
    return sum(1 for hours in STAR_HOURS if minutes >= hours * 60)


def working_days_after(start: date, end: date, exceptions: dict[date, bool] | None = None) -> int:
    """Working days d with start < d <= end (0 when end <= start): Monday to
    Friday, less the public holidays and plus the weekend days worked in their
    place (调休) that `exceptions` ({day: is_workday}, see volunteers.calendar) holds."""
    if end <= start:
        return 0
    days = (end - start).days
    full_weeks, rest = divmod(days, 7)
    count = full_weeks * 5
    for offset in range(1, rest + 1):
        if (start + timedelta(days=full_weeks * 7 + offset)).weekday() < 5:
            count += 1
    for day, is_workday in (exceptions or {}).items():
        if start < day <= end and is_workday == (day.weekday() >= 5):
            count += 1 if is_workday else -1
    return count


def is_recorded_late(*, ended_on: date, recorded_on: date, exceptions: dict[date, bool] | None = None) -> bool:
    return working_days_after(ended_on, recorded_on, exceptions) > RECORDING_WORKING_DAYS


def _local_date(moment: datetime, settings: Settings) -> date:
    return settings.local(moment).date()


def record_service(*, user_id: int, activity_id: int, title: str, org: Org, place: str,
                   content: str, started_at: datetime | None, ended_at: datetime | None,
                   minutes: int, points: int, responsible_person: str, recorded_by: int | None,
                   cause_key: str, now: datetime, settings: Settings,
                   service_date: date | None = None) -> ServiceRecord:
    """Writes one volunteer's service record; idempotent on `cause_key`.

    A second call with a `cause_key` already recorded returns the existing
    record unchanged (whatever the other arguments), so settlement can retry
    safely; two concurrent calls leave one row. The organising unit's name is
    copied, so a later rename does not rewrite history. `service_date` is the
    local date of `started_at` (else `ended_at`) unless given; `is_late` is set
    when `now` is more than 10 working days after the end (`ended_at`, else
    the service date). Records are never deleted, whatever happens to points.
    Raises VALIDATION_ERROR for negative minutes or points, an end before the
    start, a blank required text, or no date at all.
    """
    return record_services([dict(
        user_id=user_id, activity_id=activity_id, title=title, org=org, place=place,
        content=content, started_at=started_at, ended_at=ended_at, minutes=minutes, points=points,
        responsible_person=responsible_person, recorded_by=recorded_by, cause_key=cause_key,
        service_date=service_date)], now=now, settings=settings)[0]


def _new_record(*, user_id, activity_id, title, org, place, content, started_at, ended_at, minutes,
                points, responsible_person, recorded_by, cause_key, now, settings, calendar, service_date=None):
    _check(title=title, place=place, content=content, responsible_person=responsible_person,
           cause_key=cause_key, minutes=minutes, points=points, started_at=started_at,
           ended_at=ended_at)
    day = service_date or next((_local_date(t, settings) for t in (started_at, ended_at) if t is not None), None)
    if day is None:
        raise Invalid({"service_date": ["需要服务日期或起止时间"]})
    ended_on = _local_date(ended_at, settings) if ended_at is not None else day
    return ServiceRecord(
        user_id=user_id, activity_id=activity_id, title=title, org_id=org.id, org_name=org.name,
        place=place, content=content, service_date=day, started_at=started_at, ended_at=ended_at,
        minutes=minutes, points=points, responsible_person=responsible_person,
        recorded_by=recorded_by, recorded_at=now, cause_key=cause_key,
        is_late=is_recorded_late(ended_on=ended_on, recorded_on=_local_date(now, settings), exceptions=calendar),
    )


def record_services(entries: list[dict], *, now: datetime, settings: Settings) -> list[ServiceRecord]:
    """`record_service` for many records at once (same rules, same order out):
    one lookup and one batched insert, so settling hundreds of volunteers stays fast."""
    keys = [entry["cause_key"] for entry in entries]
    existing = {record.cause_key: record for record in db.session.scalars(
        sa.select(ServiceRecord).where(ServiceRecord.cause_key.in_(keys)))} if keys else {}
    new_entries = [entry for entry in entries if entry["cause_key"] not in existing]
    # The holidays of the last year cover any record made on time; older ones are late anyway.
    today = _local_date(now, settings)
    calendar = exceptions_between(today - timedelta(days=366), today) if new_entries else {}
    fresh = {entry["cause_key"]: _new_record(**entry, now=now, settings=settings, calendar=calendar)
             for entry in new_entries}
    if fresh:
        try:
            # Added inside the savepoint, so a failed insert leaves nothing pending to retry on autoflush.
            with db.session.begin_nested():
                db.session.add_all(fresh.values())
                db.session.flush()
        except sa.exc.IntegrityError:
            # Some cause was recorded concurrently; theirs stand, the rest are written one by one.
            if len(entries) == 1:
                found = _by_cause(keys[0])
                if found is None:
                    raise
                return [found]
            return [record_services([entry], now=now, settings=settings)[0] for entry in entries]
    return [existing.get(key) or fresh[key] for key in keys]


def _by_cause(cause_key: str) -> ServiceRecord | None:
    return db.session.scalar(sa.select(ServiceRecord).where(ServiceRecord.cause_key == cause_key))


def _check(*, minutes, points, started_at, ended_at, **texts) -> None:
    problems = {name: ["不能为空"] for name, value in texts.items() if not (value or "").strip()}
    if minutes < 0:
        problems["minutes"] = ["不能为负数"]
    if points < 0:
        problems["points"] = ["不能为负数"]
    if started_at is not None and ended_at is not None and ended_at < started_at:
        problems["ended_at"] = ["结束时间早于开始时间"]
    if problems:
        raise Invalid(problems)


@dataclass
class Totals:
    records: int
    minutes: int
    points: int
    first_date: date | None
    last_date: date | None

    @property
    def star(self) -> int:
        return star_for_minutes(self.minutes)

    @property
    def hours(self) -> float:
        return round(self.minutes / 60, 1)


def totals_for(user_id: int) -> Totals:
    """Over every record the volunteer has, ever.

    One aggregate over the (user_id, service_date, id) index rather than
    cached counters: a volunteer has at most a few hundred records a year, so
    the sum is cheap, and there is no second copy to drift from the records.
    """
    row = db.session.execute(
        sa.select(sa.func.count(ServiceRecord.id), sa.func.coalesce(sa.func.sum(ServiceRecord.minutes), 0),
                  sa.func.coalesce(sa.func.sum(ServiceRecord.points), 0),
                  sa.func.min(ServiceRecord.service_date), sa.func.max(ServiceRecord.service_date))
        .where(ServiceRecord.user_id == user_id)
    ).one()
    return Totals(records=row[0], minutes=int(row[1]), points=int(row[2]),
                  first_date=row[3], last_date=row[4])


def list_records(*, user_id: int, cursor: str | None, limit: int) -> Page:
    """The volunteer's records, newest service date first."""
    stmt = sa.select(ServiceRecord).where(ServiceRecord.user_id == user_id)
    return keyset_page(stmt, order=[ServiceRecord.service_date, ServiceRecord.id], cursor=cursor,
                       limit=limit, descending=True)


def records_with_totals(*, user_id: int, cursor: str | None, limit: int) -> dict:
    """One page of the volunteer's records and the totals over all of them."""
    page = list_records(user_id=user_id, cursor=cursor, limit=limit)
    return {"items": page.items, "next": page.next, "totals": totals_for(user_id)}
