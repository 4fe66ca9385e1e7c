"""Annulling scans, the check-in log and the attendance figures."""
import sqlalchemy as sa

from core.db import db
from core.errors import Code, Conflict, NotFound
from core.paging import Page, keyset_page
from orgs.scope import require

from .checkin import Scan, log_scan
from .models import Activity, CheckinLog, Registration
from .services import counts


def annul(*, actor, activity: Activity, scan_id: int, now, device=None) -> Registration:
    """Cancels an accepted scan by logging an `annul` row that names it (the log is
    never updated or deleted), then recomputes the registration's times.

    Raises FORBIDDEN unless staff, NOT_FOUND for a scan of another activity,
    CONFLICT for a scan that changed nothing or is already annulled.
    """
    require(actor, "operate", activity.org)
    target = db.session.get(CheckinLog, scan_id)
    if target is None or target.activity_id != activity.id:
        raise NotFound("scan", "签到记录不存在")
    if target.action not in ("in", "out") or target.result != "accepted":
        raise Conflict(Code.CONFLICT, "只能撤销已生效的签到或签退")
    registration = db.session.scalars(
        sa.select(Registration).where(Registration.id == target.registration_id).with_for_update()
    ).one()
    try:
        with db.session.begin_nested():
            log_scan(Scan(method="manual", action="annul", actor_id=actor.id, device=device), now=now,
                 activity_id=activity.id, user_id=target.user_id,
                 registration_id=target.registration_id, annuls_id=target.id)
    except sa.exc.IntegrityError:
        raise Conflict(Code.CONFLICT, "该记录已被撤销")
    recompute_times(registration)
    return registration


_log = CheckinLog.__table__
# Built once (every offline scan recomputes): the registration's accepted scans
# that stand (not annulled since), then the earliest check-in and the earliest
# check-out at or after it, by when each scan happened.
_standing = (sa.select(_log.c.action, _log.c.occurred_at)
             .where(_log.c.registration_id == sa.bindparam("registration_id"),
                    _log.c.result == "accepted", _log.c.action.in_(("in", "out")),
                    _log.c.id.not_in(sa.select(_log.c.annuls_id).where(
                        _log.c.registration_id == sa.bindparam("registration_id"),
                        _log.c.annuls_id.is_not(None))))
             .cte("standing"))
_first_in = (sa.select(sa.func.min(_standing.c.occurred_at).label("at"))
             .where(_standing.c.action == "in").cte("first_in"))
_TIMES_FROM_LOG = sa.select(
    _first_in.c.at,
    sa.select(sa.func.min(_standing.c.occurred_at))
    .where(_standing.c.action == "out", _standing.c.occurred_at >= _first_in.c.at).scalar_subquery())


def recompute_times(registration: Registration) -> None:
    """The registration's times from its log: the earliest accepted check-in
    that stands (not annulled), and the earliest check-out at or after it,
    by when each scan happened (live or uploaded later from offline)."""
    checked_in_at, checked_out_at = db.session.execute(
        _TIMES_FROM_LOG, {"registration_id": registration.id}).one()
    registration.checked_in_at, registration.checked_out_at = checked_in_at, checked_out_at
    db.session.flush()


def list_log(*, actor, activity: Activity, cursor=None, limit=20) -> Page:
    """The activity's check-in log, newest first. Raises FORBIDDEN unless staff."""
    require(actor, "operate", activity.org)
    stmt = sa.select(CheckinLog).where(CheckinLog.activity_id == activity.id)
    return keyset_page(stmt, order=[CheckinLog.id], cursor=cursor, limit=limit, descending=True)


def attendance(*, actor, activity: Activity) -> dict:
    """Registered, checked in, checked out, inside now, refused scans by reason.
    Raises FORBIDDEN unless staff."""
    require(actor, "operate", activity.org)
    return attendance_figures(activity.id)


def attendance_figures(activity_id: int) -> dict:
    checked_in, checked_out = db.session.execute(
        sa.select(sa.func.count(Registration.checked_in_at), sa.func.count(Registration.checked_out_at))
        .where(Registration.activity_id == activity_id, Registration.status == "confirmed")
    ).one()
    refused = db.session.execute(
        sa.select(CheckinLog.reason, sa.func.count())
        .where(CheckinLog.activity_id == activity_id, CheckinLog.result == "refused")
        .group_by(CheckinLog.reason)
    ).all()
    return {"registered": counts(activity_id), "checked_in": checked_in,
            "checked_out": checked_out, "inside_now": checked_in - checked_out,
            "refused": {reason: n for reason, n in refused}}
