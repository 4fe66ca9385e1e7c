"""Check-in and check-out: self scans of the activity code, staff scans of a
pass, manual check-in by staff (annulment and figures: `attendance`).

Every attempt writes exactly one row of the check-in log, accepted or not;
a refusal raises with `keep_changes=True` so its row survives the rollback
that an error otherwise causes. The registration's `checked_in_at` /
`checked_out_at` change only through one conditional UPDATE each, so any
number of simultaneous scans of one registration yield exactly one `first`.
"""
import math
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from core import codes
from core.db import UTCDateTime, db, is_postgres
from core.errors import Conflict, DomainError, Forbidden, NotFound
from orgs.scope import require
from volunteers.models import User

from .models import Activity, CheckinLog, Registration
from .passes import user_of_pass

EARTH_RADIUS_M = 6_371_000


@dataclass(frozen=True)
class Scan:
    """Where an attempt came from, as the log records it."""

    method: str  # self, staff, manual (walk_in is decided here)
    action: str  # in, out
    actor_id: int | None
    device: str | None = None
    client_at: object = None
    lat: float | None = None
    lng: float | None = None


@dataclass(frozen=True)
class CheckinResult:
    registration_id: int
    activity_id: int
    status: str
    first: bool
    checked_in_at: object
    checked_out_at: object
    scan_id: int


_LOG_ROW = CheckinLog.__table__.insert().returning(CheckinLog.__table__.c.id)


def _log_params(scan: Scan, *, now, activity_id=None, user_id=None, registration_id=None,
                result="accepted", reason=None, method=None, action=None, annuls_id=None,
                occurred_at=None, client_ref=None) -> dict:
    return {
        "activity_id": activity_id, "registration_id": registration_id, "user_id": user_id,
        "actor_id": scan.actor_id, "action": action or scan.action, "method": method or scan.method,
        "result": result, "reason": reason, "annuls_id": annuls_id,
        "device": (scan.device or None) and scan.device[:200], "client_at": scan.client_at,
        "lat": scan.lat, "lng": scan.lng, "occurred_at": occurred_at or now, "client_ref": client_ref,
        "created_at": now,
    }


def log_scan(scan: Scan, *, now, **fields) -> int:
    """Appends one row to the check-in log; returns its id."""
    return db.session.execute(_LOG_ROW, _log_params(scan, now=now, **fields)).scalar_one()


class _Refusal(Exception):
    """Carries what is known of a refused attempt to the one place that logs it."""

    def __init__(self, error: DomainError, activity_id=None, user_id=None, registration_id=None):
        self.error, self.activity_id = error, activity_id
        self.user_id, self.registration_id = user_id, registration_id


def _refused(scan: Scan, refusal: _Refusal, now) -> DomainError:
    error = refusal.error
    log_scan(scan, now=now, activity_id=refusal.activity_id, user_id=refusal.user_id,
         registration_id=refusal.registration_id, result="refused", reason=error.code)
    return DomainError(error.code, error.message, keep_changes=True, **error.details)


# --- checks -----------------------------------------------------------------

def checkin_window(activity: Activity):
    return (activity.starts_at - timedelta(minutes=activity.checkin_opens_before_min),
            activity.ends_at + timedelta(minutes=activity.checkin_closes_after_min))


def _check_open(activity: Activity, now) -> None:
    opens, closes = checkin_window(activity)
    if activity.status != "published" or not opens <= now <= closes:
        raise DomainError("CHECKIN_NOT_OPEN", "不在签到时间内", opens_at=opens.isoformat(),
                          closes_at=closes.isoformat())


def distance_m(lat1, lng1, lat2, lng2) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def _check_area(activity: Activity, scan: Scan) -> None:
    if activity.geofence_radius_m is None:
        return
    if scan.lat is None or scan.lng is None:
        raise Forbidden("需要定位信息才能签到", code="OUT_OF_AREA")
    if distance_m(scan.lat, scan.lng, activity.geofence_lat, activity.geofence_lng) > activity.geofence_radius_m:
        raise Forbidden("不在活动地点范围内", code="OUT_OF_AREA")


_REGISTRATION_COLUMNS = (Registration.id, Registration.status, Registration.checked_in_at,
                         Registration.checked_out_at)


_registrations = Registration.__table__
# Prebuilt statements: the hot path skips building and caching SQL per request.
_CHECK_IN = (_registrations.update()
             .where(_registrations.c.id == sa.bindparam("registration_id"),
                    _registrations.c.checked_in_at.is_(None))
             .values(checked_in_at=sa.bindparam("now")))
_CHECK_OUT = (_registrations.update()
              .where(_registrations.c.id == sa.bindparam("registration_id"),
                     _registrations.c.checked_in_at.is_not(None),
                     _registrations.c.checked_out_at.is_(None))
              .values(checked_out_at=sa.bindparam("now")))
# PostgreSQL only (a data-modifying CTE): check in and log, `accepted` or `repeat`.
_CHECK_IN_AND_LOG = sa.text("""
    WITH changed AS (
        UPDATE registrations SET checked_in_at = :created_at
        WHERE id = :registration_id AND checked_in_at IS NULL
        RETURNING id
    )
    INSERT INTO checkin_log (activity_id, registration_id, user_id, actor_id, action, method,
                             result, reason, annuls_id, device, client_at, lat, lng, occurred_at,
                             created_at)
    SELECT :activity_id, :registration_id, :user_id, :actor_id, :action, :method,
           CASE WHEN EXISTS (SELECT 1 FROM changed) THEN 'accepted' ELSE 'repeat' END,
           NULL, NULL, :device, :client_at, :lat, :lng, :created_at, :created_at
    RETURNING id, result
""").bindparams(
    sa.bindparam("created_at", type_=UTCDateTime), sa.bindparam("client_at", type_=UTCDateTime),
    sa.bindparam("lat", type_=sa.Float), sa.bindparam("lng", type_=sa.Float),
    sa.bindparam("actor_id", type_=sa.Integer), sa.bindparam("device", type_=sa.String),
)
_TIMES = (sa.select(_registrations.c.checked_in_at, _registrations.c.checked_out_at)
          .where(_registrations.c.id == sa.bindparam("registration_id")))


def _registration_row(activity_id: int, user_id: int):
    return db.session.execute(
        sa.select(*_REGISTRATION_COLUMNS)
        .where(Registration.activity_id == activity_id, Registration.user_id == user_id)
    ).first()


def _walk_in(activity: Activity, user_id: int, existing, now) -> int:
    """A confirmed participant registration for someone who came without one."""
    if existing is not None:
        db.session.execute(
            sa.update(Registration).where(Registration.id == existing.id)
            .values(status="confirmed", method="walk_in", role=sa.case(
                (Registration.status == "waitlisted", Registration.role), else_="participant"),
                registered_at=now, cancelled_at=None)
        )
        return existing.id
    registration = Registration(activity_id=activity.id, user_id=user_id, role="participant",
                                status="confirmed", method="walk_in", registered_at=now,
                                created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(registration)
            db.session.flush()
    except sa.exc.IntegrityError:  # a simultaneous scan of the same person created it
        return _registration_row(activity.id, user_id).id
    return registration.id


# --- the shared flow --------------------------------------------------------

_LOOK_UP = object()


def _core(statement, params):
    """Runs a Core statement on the session's connection (same transaction),
    skipping the ORM's per-statement work: for the self-scan hot path."""
    return db.session.connection().execute(statement, params)


def _attend(activity, user_id: int, scan: Scan, now, registration_row=_LOOK_UP) -> CheckinResult:
    """Window, geofence (self only), registration or walk-in, then the action.

    `activity` is an Activity or the self-scan's `_ActivityFacts`; `registration_row`
    (id, status, checked_in_at, checked_out_at) or None when already looked up."""
    try:
        _check_open(activity, now)
        if scan.method == "self":
            _check_area(activity, scan)
    except DomainError as error:
        raise _Refusal(error, activity.id, user_id)
    row = _registration_row(activity.id, user_id) if registration_row is _LOOK_UP else registration_row
    method = scan.method
    if row is None or row.status != "confirmed":
        if scan.action != "in" or not activity.is_walk_in_allowed:
            raise _Refusal(Forbidden("没有已确认的报名", code="NOT_REGISTERED"), activity.id, user_id,
                           row.id if row is not None else None)
        registration_id, method = _walk_in(activity, user_id, row, now), "walk_in"
    else:
        registration_id = row.id
    log_fields = dict(activity_id=activity.id, user_id=user_id, registration_id=registration_id,
                      method=method)
    scan_id = None
    if scan.action == "in" and is_postgres():
        # The hot path: the conditional update and its log row in one round trip.
        scan_id, result = _core(_CHECK_IN_AND_LOG, _log_params(
            scan, now=now, result=None, **log_fields)).one()
        first = result == "accepted"
    else:
        statement = _CHECK_IN if scan.action == "in" else _CHECK_OUT
        first = db.session.execute(statement, {"registration_id": registration_id, "now": now}).rowcount == 1
    if first:
        checked_in_at, checked_out_at = (now, None) if scan.action == "in" else (row.checked_in_at, now)
        if checked_in_at is None:  # checked in by a scan this transaction could not see yet
            checked_in_at = db.session.execute(_TIMES, {"registration_id": registration_id}).one()[0]
    elif row is not None and row.id == registration_id and \
            (row.checked_out_at if scan.action == "out" else row.checked_in_at) is not None:
        checked_in_at, checked_out_at = row.checked_in_at, row.checked_out_at  # already done
    else:  # a simultaneous scan won the update, or out before in: read what is stored
        checked_in_at, checked_out_at = db.session.execute(
            _TIMES, {"registration_id": registration_id}).one()
        if checked_in_at is None:
            raise _Refusal(Conflict("NOT_CHECKED_IN", "请先签到再签退"), activity.id, user_id,
                           registration_id)
    if scan_id is None:
        scan_id = log_scan(scan, now=now, result="accepted" if first else "repeat", **log_fields)
    return CheckinResult(registration_id, activity.id,
                         "checked_out" if checked_out_at else "checked_in", first,
                         checked_in_at, checked_out_at, scan_id)


class _ActivityFacts:
    """The columns of an activity that a self scan needs, from the one lookup."""

    def __init__(self, row):
        self.id, self.status, self.code_secret = row.activity_id, row.activity_status, row.code_secret
        self.starts_at, self.ends_at = row.starts_at, row.ends_at
        self.checkin_opens_before_min = row.checkin_opens_before_min
        self.checkin_closes_after_min = row.checkin_closes_after_min
        self.geofence_lat, self.geofence_lng = row.geofence_lat, row.geofence_lng
        self.geofence_radius_m, self.is_walk_in_allowed = row.geofence_radius_m, row.is_walk_in_allowed


_activities = Activity.__table__
_users = User.__table__
# The account, the activity named by the code and the caller's registration, in one round trip.
_SELF_SCAN_LOOKUP = (
    sa.select(_users.c.is_active, _activities.c.id.label("activity_id"),
              _activities.c.status.label("activity_status"), _activities.c.code_secret,
              _activities.c.starts_at, _activities.c.ends_at, _activities.c.checkin_opens_before_min,
              _activities.c.checkin_closes_after_min, _activities.c.geofence_lat,
              _activities.c.geofence_lng, _activities.c.geofence_radius_m,
              _activities.c.is_walk_in_allowed, _registrations.c.id.label("registration_id"),
              _registrations.c.status.label("registration_status"),
              _registrations.c.checked_in_at, _registrations.c.checked_out_at)
    .select_from(_users)
    .outerjoin(_activities, _activities.c.id == sa.bindparam("activity_id"))
    .outerjoin(_registrations, sa.and_(_registrations.c.activity_id == _activities.c.id,
                                       _registrations.c.user_id == _users.c.id))
    .where(_users.c.id == sa.bindparam("user_id"))
)
_ACTIVE_USER = sa.select(_users.c.id).where(_users.c.id == sa.bindparam("user_id"), _users.c.is_active)


class _RegistrationRow:
    __slots__ = ("id", "status", "checked_in_at", "checked_out_at")

    def __init__(self, id, status, checked_in_at, checked_out_at):
        self.id, self.status = id, status
        self.checked_in_at, self.checked_out_at = checked_in_at, checked_out_at


def _signed_out():
    return DomainError("UNAUTHENTICATED", "账号不存在或已停用")


def self_checkin(*, user_id: int, code, scan: Scan, now, activity_id: int | None = None) -> CheckinResult:
    """The resident scanned the activity's code.

    Raises UNAUTHENTICATED for an unknown or deactivated account (the token is
    checked before), then CODE_INVALID (forged, garbled, unknown activity, or not
    the `activity_id` the client expected), CODE_EXPIRED (genuine but older than
    the previous window), CHECKIN_NOT_OPEN, OUT_OF_AREA (geofence set and position
    missing or outside), NOT_REGISTERED (no confirmed registration and no
    walk-ins), NOT_CHECKED_IN (check-out before check-in). Each refusal is logged.
    """
    try:
        parsed = codes.parse(code, "checkin")
    except DomainError as error:
        if db.session.execute(_ACTIVE_USER, {"user_id": user_id}).first() is None:
            raise _signed_out()
        raise _refused(scan, _Refusal(error, None, user_id), now)
    row = _core(_SELF_SCAN_LOOKUP,
                             {"user_id": user_id, "activity_id": parsed.subject_id}).first()
    if row is None or not row.is_active:
        raise _signed_out()
    try:
        if row.activity_id is None:
            raise _Refusal(codes.invalid(), None, user_id)
        activity = _ActivityFacts(row)
        try:
            if activity_id is not None and activity_id != activity.id:
                raise codes.invalid("这是另一个活动的签到码")
            codes.verify(parsed, activity.code_secret, now=now)
        except DomainError as error:
            raise _Refusal(error, activity.id, user_id)
        registration = None if row.registration_id is None else _RegistrationRow(
            row.registration_id, row.registration_status, row.checked_in_at, row.checked_out_at)
        return _attend(activity, user_id, scan, now, registration_row=registration)
    except _Refusal as refusal:
        raise _refused(scan, refusal, now)


def staff_scan(*, actor, activity: Activity, code, scan: Scan, now) -> CheckinResult:
    """A worker scanned a resident's pass at `activity`; no geofence.

    Raises FORBIDDEN unless staff; then as `self_checkin` (CODE_INVALID also
    for an activity code instead of a pass), each logged.
    """
    require(actor, "operate", activity.org)
    user_id = None
    try:
        try:
            user_id = user_of_pass(code, now)
        except DomainError as error:
            raise _Refusal(error, activity.id)
        return _attend(activity, user_id, scan, now)
    except _Refusal as refusal:
        raise _refused(scan, refusal, now)


def manual_checkin(*, actor, activity: Activity, registration_id: int, scan: Scan, now) -> CheckinResult:
    """Staff check a registered person in or out by hand (no phone, no pass).

    Raises FORBIDDEN unless staff, NOT_FOUND for a registration of another
    activity; then CHECKIN_NOT_OPEN, NOT_REGISTERED, NOT_CHECKED_IN, each logged.
    """
    require(actor, "operate", activity.org)
    row = db.session.execute(
        sa.select(Registration.user_id, *_REGISTRATION_COLUMNS)
        .where(Registration.id == registration_id, Registration.activity_id == activity.id)
    ).first()
    if row is None:
        raise NotFound("registration", "报名记录不存在")
    try:
        return _attend(activity, row.user_id, scan, now, registration_row=row)
    except _Refusal as refusal:
        raise _refused(scan, refusal, now)
