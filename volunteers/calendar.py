"""The working-day calendar: the year's public holidays and swapped workdays.

Only exceptions to Monday-to-Friday are stored. The city's administrators
enter each year's arrangement once the State Council publishes it (usually
in the autumn before); until then every weekday counts as a working day.
"""
from datetime import date

import sqlalchemy as sa

from core.db import db
from core.errors import Invalid
from orgs.models import Org
from orgs.scope import require

from .models import CalendarDay

YEARS = range(2000, 2101)


def exceptions_between(start: date, end: date) -> dict[date, bool]:
    """{day: is_workday} for the exceptions with start < day <= end."""
    return dict(db.session.execute(sa.select(CalendarDay.day, CalendarDay.is_workday)
                                   .where(CalendarDay.day > start, CalendarDay.day <= end)).all())


def year_of(year: int) -> list[CalendarDay]:
    """The year's exceptions in date order. Raises VALIDATION_ERROR outside 2000-2100."""
    _check_year(year)
    return db.session.scalars(sa.select(CalendarDay).where(
        CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
        .order_by(CalendarDay.day)).all()


def set_year(*, actor, year: int, days: list[dict], now) -> list[CalendarDay]:
    """Replaces the year's exceptions with `days` ({day, is_workday, name});
    records already made keep the `is_late` they were given.

    Raises FORBIDDEN unless the actor administers the city (the root
    organisation); VALIDATION_ERROR for a year outside 2000-2100, a day outside
    the year or given twice, a holiday on a weekend or a workday on a weekday
    (neither is an exception to the usual week).
    """
    city = db.session.scalar(sa.select(Org).where(Org.parent_id.is_(None)).order_by(Org.id))
    require(actor, "manage", city)
    _check_year(year)
    problems = {}
    for index, entry in enumerate(days):
        day, weekend = entry["day"], entry["day"].weekday() >= 5
        if day.year != year:
            problems[f"days.{index}.day"] = [f"不在 {year} 年内"]
        elif any(other["day"] == day for other in days[:index]):
            problems[f"days.{index}.day"] = ["日期重复"]
        elif entry["is_workday"] != weekend:
            problems[f"days.{index}.is_workday"] = ["周末调休上班填 true，工作日放假填 false"]
    if problems:
        raise Invalid(problems)
    db.session.execute(sa.delete(CalendarDay).where(
        CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31)))
    db.session.add_all(CalendarDay(day=entry["day"], is_workday=entry["is_workday"], name=entry["name"],
                                   set_by_id=actor.id, created_at=now) for entry in days)
    db.session.flush()
    return year_of(year)


def _check_year(year: int) -> None:
    if year not in YEARS:
        raise Invalid({"year": ["年份须在 2000 到 2100 之间"]})
