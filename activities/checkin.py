"""Check-in and check-out: self scans of the activity code, staff scans of a
pass, manual check-in by staff (annulment and figures: `attendance`; the
self scan's one-statement fast path: `door_scan`; uploads: `offline`).

Each door reads the facts and calls `decision.decide`, which holds every
rule; this module only reads, writes what the decision says and logs it.
Every attempt writes exactly one row of the check-in log, accepted or not;
a refusal raises with `keep_changes=True` so its row survives the rollback
that an error otherwise causes. The registration's `checked_in_at` /
`checked_out_at` change only through one UPDATE guarded by the facts the
decision was made on; when another scan changed them in between, the
registration is read again, locked, and decided on afresh. So any number of
simultaneous scans of one registration yield exactly one `first`.
"""
from dataclasses import dataclass

import sqlalchemy as sa

from core import codes
from core.db import UTCDateTime, db, is_postgres
from core.errors import Code, DomainError, NotFound
from core.settings import Settings
from orgs.scope import require
from people.models import User

from .decision import (ACCEPTED, IN, REFUSED, REPEAT, ActivityFacts, Decision, RegistrationFacts,
                       ScanFacts, checkin_window, decide)
from .models import Activity, CheckinLog, Registration
from .passes import user_of_pass


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


_MESSAGES = {Code.NOT_REGISTERED: "没有已确认的报名", Code.NOT_CHECKED_IN: "请先签到再签退"}


def _error_of(decision: Decision, activity: ActivityFacts, scan: Scan) -> DomainError:
    """The refusal the client is shown: the decision's reason, worded."""
    if decision.reason == Code.CHECKIN_NOT_OPEN:
        opens, closes = checkin_window(activity)
        return DomainError(Code.CHECKIN_NOT_OPEN, "不在签到时间内", opens_at=opens.isoformat(),
                           closes_at=closes.isoformat())
    if decision.reason == Code.OUT_OF_AREA:
        return DomainError(Code.OUT_OF_AREA, "需要定位信息才能签到" if scan.lat is None or scan.lng is None
                           else "不在活动地点范围内")
    return DomainError(Code[decision.reason], _MESSAGES[decision.reason])


# --- reading and writing the registration -----------------------------------

@dataclass(frozen=True, slots=True)
class _Place:
    """The person's registration: its id and the facts the decision reads."""

    id: int
    facts: RegistrationFacts


_registrations = Registration.__table__
_PLACE_COLUMNS = (_registrations.c.id, _registrations.c.status, _registrations.c.checked_in_at,
                  _registrations.c.checked_out_at)
_PLACE = sa.select(*_PLACE_COLUMNS).where(_registrations.c.id == sa.bindparam("registration_id"))
_LOCKED_PLACE = _PLACE.with_for_update()


def _place(row) -> _Place:
    return _Place(row.id, RegistrationFacts(row.status, row.checked_in_at, row.checked_out_at))


def _place_of(activity_id: int, user_id: int) -> _Place | None:
    row = db.session.execute(
        sa.select(*_PLACE_COLUMNS)
        .where(_registrations.c.activity_id == activity_id, _registrations.c.user_id == user_id)
    ).first()
    return None if row is None else _place(row)


def _stored_place(registration_id: int, *, lock: bool) -> _Place:
    return _place(db.session.execute(_LOCKED_PLACE if lock else _PLACE,
                                     {"registration_id": registration_id}).one())


def walk_in(*, activity_id: int, user_id: int, registration_id: int | None, now) -> int:
    """A confirmed participant registration for someone who came without one
    (`registration_id`: the waitlisted or cancelled one they have); returns its id."""
    if registration_id is not None:
        db.session.execute(
            sa.update(Registration).where(Registration.id == registration_id)
            .values(status="confirmed", method="walk_in", role=sa.case(
                (Registration.status == "waitlisted", Registration.role), else_="participant"),
                registered_at=now, cancelled_at=None)
        )
        return registration_id
    registration = Registration(activity_id=activity_id, user_id=user_id, role="participant",
                                status="confirmed", method="walk_in", registered_at=now,
                                created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(registration)
            db.session.flush()
    except sa.exc.IntegrityError:  # a simultaneous scan of the same person created it
        return _place_of(activity_id, user_id).id
    return registration.id


# The time an accepted scan sets, only if the registration still holds the facts
# it was decided on. Prebuilt: the hot path skips building and caching SQL per request.
_FACTS_HELD = (_registrations.c.id == sa.bindparam("registration_id"),
               _registrations.c.status == sa.bindparam("was_status"),
               _registrations.c.checked_in_at.is_not_distinct_from(sa.bindparam("was_in")),
               _registrations.c.checked_out_at.is_not_distinct_from(sa.bindparam("was_out")))
_SET_TIME = {
    action: _registrations.update().where(*_FACTS_HELD).values({column: sa.bindparam("at")})
    for action, column in (("in", "checked_in_at"), ("out", "checked_out_at"))
}


def _set_time_and_log(column: str) -> sa.TextClause:
    """PostgreSQL only (a data-modifying CTE): the guarded update and, if it
    changed the registration, its `accepted` log row, in one round trip."""
    return sa.text(f"""
        WITH changed AS (
            UPDATE registrations SET {column} = :at
            WHERE id = :registration_id AND status = :was_status
              AND checked_in_at IS NOT DISTINCT FROM :was_in
              AND checked_out_at IS NOT DISTINCT FROM :was_out
            RETURNING id
        )
        INSERT INTO checkin_log (activity_id, registration_id, user_id, actor_id, action, method,
                                 result, reason, annuls_id, device, client_at, lat, lng,
                                 occurred_at, created_at)
        SELECT :activity_id, changed.id, :user_id, :actor_id, :action, :method, 'accepted', NULL,
               NULL, :device, :client_at, :lat, :lng, :at, :created_at
        FROM changed
        RETURNING id
    """).bindparams(
        sa.bindparam("at", type_=UTCDateTime), sa.bindparam("was_in", type_=UTCDateTime),
        sa.bindparam("was_out", type_=UTCDateTime), sa.bindparam("created_at", type_=UTCDateTime),
        sa.bindparam("client_at", type_=UTCDateTime), sa.bindparam("lat", type_=sa.Float),
        sa.bindparam("lng", type_=sa.Float), sa.bindparam("actor_id", type_=sa.Integer),
        sa.bindparam("device", type_=sa.String), sa.bindparam("user_id", type_=sa.Integer),
    )


_SET_TIME_AND_LOG = {"in": _set_time_and_log("checked_in_at"), "out": _set_time_and_log("checked_out_at")}


def _core(statement, params):
    """Runs a Core statement on the session's connection (same transaction),
    skipping the ORM's per-statement work: for the hot path."""
    return db.session.connection().execute(statement, params)


def _write(place: _Place, decision: Decision, scan: Scan, now, log_fields: dict) -> int | None:
    """Sets the time of an accepted scan and logs it; the log row's id, or None
    (nothing written) when the registration no longer holds `place.facts`."""
    guard = {"registration_id": place.id, "was_status": place.facts.status,
             "was_in": place.facts.checked_in_at, "was_out": place.facts.checked_out_at, "at": decision.at}
    if is_postgres():
        return _core(_SET_TIME_AND_LOG[scan.action],
                     {**_log_params(scan, now=now, **log_fields), **guard}).scalar()
    if _core(_SET_TIME[scan.action], guard).rowcount != 1:
        return None
    return log_scan(scan, now=now, result=ACCEPTED, **log_fields)


# --- the shared flow --------------------------------------------------------

# A walk-in, then a guard that found the registration changed (re-read locked),
# and the same once more if a cancellation slipped in before the lock: no more.
_MAX_DECISIONS = 5


def _attend(activity: ActivityFacts, user_id: int | None, place: _Place | None, scan: Scan, now,
            unidentified: DomainError | None = None) -> CheckinResult:
    """Decides on the facts, writes and logs what the decision says.

    `place` is the person's registration at the activity (None: none, or not
    known because `unidentified`, what the code check refused, is set)."""
    facts_of_scan = ScanFacts(door=scan.method, action=scan.action, lat=scan.lat, lng=scan.lng,
                              unidentified=None if unidentified is None else unidentified.code)
    method = scan.method
    for _ in range(_MAX_DECISIONS):
        decision = decide(activity, None if place is None else place.facts, facts_of_scan, now)
        if decision.outcome == REFUSED:
            error = (unidentified if unidentified is not None and decision.reason == unidentified.code
                     else _error_of(decision, activity, scan))
            raise _Refusal(error, activity.id, user_id, None if place is None else place.id)
        if decision.is_walk_in:
            registration_id = walk_in(activity_id=activity.id, user_id=user_id,
                                      registration_id=None if place is None else place.id, now=now)
            place, method = _stored_place(registration_id, lock=False), "walk_in"
            continue  # decided again on the registration as it now stands
        log_fields = dict(activity_id=activity.id, user_id=user_id, registration_id=place.id,
                          method=method)
        checked_in_at, checked_out_at = place.facts.checked_in_at, place.facts.checked_out_at
        if decision.outcome == REPEAT:
            scan_id = log_scan(scan, now=now, result=REPEAT, **log_fields)
        else:
            scan_id = _write(place, decision, scan, now, log_fields)
            if scan_id is None:  # another scan changed the registration since it was read
                place = _stored_place(place.id, lock=True)
                continue
            if scan.action == IN:
                checked_in_at = decision.at
            else:
                checked_out_at = decision.at
        return CheckinResult(place.id, activity.id, "checked_out" if checked_out_at else "checked_in",
                             decision.outcome == ACCEPTED, checked_in_at, checked_out_at, scan_id)
    raise RuntimeError("the registration kept changing under its row lock")


_activities = Activity.__table__
_users = User.__table__
# The account, the activity named by the code and the caller's registration, in one round trip.
_SELF_SCAN_LOOKUP = (
    sa.select(_users.c.is_active, _activities.c.id, _activities.c.status, _activities.c.code_secret,
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


def _signed_out():
    return DomainError(Code.UNAUTHENTICATED, "账号不存在或已停用")


def self_checkin(*, user_id: int, code, scan: Scan, now, settings: Settings,
                 activity_id: int | None = None) -> CheckinResult:
    """The resident scanned the activity's code.

    Raises UNAUTHENTICATED for an unknown or deactivated account (the token is
    checked before), then CODE_INVALID (forged, garbled, unknown activity, or not
    the `activity_id` the client expected), CODE_EXPIRED (genuine but older than
    the previous window), then the decision's refusals: CHECKIN_NOT_OPEN,
    OUT_OF_AREA (geofence set and position missing or outside), NOT_REGISTERED
    (no confirmed registration and no walk-ins), NOT_CHECKED_IN (check-out
    before check-in). Each refusal is logged.
    """
    try:
        parsed = codes.parse(code, "checkin")
    except DomainError as error:
        if db.session.execute(_ACTIVE_USER, {"user_id": user_id}).first() is None:
            raise _signed_out()
        raise _refused(scan, _Refusal(error, None, user_id), now)
    row = _core(_SELF_SCAN_LOOKUP, {"user_id": user_id, "activity_id": parsed.subject_id}).first()
    if row is None or not row.is_active:
        raise _signed_out()
    try:
        if row.id is None:  # a code of no activity: nothing to decide about
            raise _Refusal(codes.invalid(), None, user_id)
        unidentified = None
        try:
            if activity_id is not None and activity_id != row.id:
                raise codes.invalid("这是另一个活动的签到码")
            codes.verify(parsed, row.code_secret, now=now, settings=settings)
        except DomainError as error:
            unidentified = error
        place = None if unidentified is not None or row.registration_id is None else _Place(
            row.registration_id, RegistrationFacts(row.registration_status, row.checked_in_at,
                                                   row.checked_out_at))
        return _attend(ActivityFacts.of(row), user_id, place, scan, now, unidentified)
    except _Refusal as refusal:
        raise _refused(scan, refusal, now)


def staff_scan(*, actor, activity: Activity, code, scan: Scan, now, settings: Settings) -> CheckinResult:
    """A worker scanned a resident's pass at `activity`; no geofence.

    Raises FORBIDDEN unless staff; then as `self_checkin` (CODE_INVALID also
    for an activity code instead of a pass), each logged.
    """
    require(actor, "operate", activity.org)
    try:
        try:
            user_id, unidentified = user_of_pass(code, now, settings=settings), None
        except DomainError as error:
            user_id, unidentified = None, error
        place = None if user_id is None else _place_of(activity.id, user_id)
        return _attend(ActivityFacts.of(activity), user_id, place, scan, now, unidentified)
    except _Refusal as refusal:
        raise _refused(scan, refusal, now)


def manual_checkin(*, actor, activity: Activity, registration_id: int, scan: Scan, now) -> CheckinResult:
    """Staff check a registered person in or out by hand (no phone, no pass).

    Raises FORBIDDEN unless staff, NOT_FOUND for a registration of another
    activity; then CHECKIN_NOT_OPEN, NOT_REGISTERED, NOT_CHECKED_IN, each logged.
    """
    require(actor, "operate", activity.org)
    row = db.session.execute(
        sa.select(_registrations.c.user_id, *_PLACE_COLUMNS)
        .where(_registrations.c.id == registration_id, _registrations.c.activity_id == activity.id)
    ).first()
    if row is None:
        raise NotFound("registration", "报名记录不存在")
    try:
        return _attend(ActivityFacts.of(activity), row.user_id, _place(row), scan, now)
    except _Refusal as refusal:
        raise _refused(scan, refusal, now)
