"""Registration and the waitlist; places per role counted under the activity's row lock."""
from dataclasses import dataclass

import sqlalchemy as sa

from core.db import db
from core.errors import Code, Conflict, Forbidden, Invalid, NotFound
from core.paging import Page, keyset_page
from orgs.scope import can, require
from people.models import User
from volunteers.models import VolunteerProfile

from .models import Activity, Registration
from .services import lock


def _confirmed_count(activity_id: int, role: str) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Registration)
        .where(Registration.activity_id == activity_id, Registration.role == role,
               Registration.status == "confirmed")
    )


def _existing(activity_id: int, user_id: int) -> Registration | None:
    return db.session.scalar(
        sa.select(Registration).where(Registration.activity_id == activity_id,
                                      Registration.user_id == user_id)
    )


def is_active_volunteer(user_id: int) -> bool:
    return db.session.scalar(
        sa.select(VolunteerProfile.id).where(VolunteerProfile.user_id == user_id,
                                             VolunteerProfile.status == "active")
    ) is not None


def register(*, actor, activity: Activity, role: str, now, user_id: int | None = None):
    """Registers the actor (or, for staff enrolment, `user_id`) in `role`.

    Returns (registration, created). A place is taken under the activity's row
    lock, so places are never overbooked; a full role puts the person on its
    waitlist. A repeat with the same role returns the same registration.
    Staff enrolment is `confirmed` even past capacity and allowed at any time
    until the activity is settled.
    Raises FORBIDDEN (enrolling someone else without being staff),
    VALIDATION_ERROR (unknown `user_id`), NOT_A_VOLUNTEER, REGISTRATION_CLOSED
    (not published, started, or no places of that role; for staff: draft,
    cancelled or settled, or no places of that role), ALREADY_REGISTERED (active in the other role).
    """
    by_staff = user_id is not None
    if by_staff:
        require(actor, "operate", activity.org)
        if db.session.get(User, user_id) is None:
            raise Invalid({"user_id": ["用户不存在"]})
    else:
        user_id = actor.id
    activity = lock(activity)
    existing = _existing(activity.id, user_id)
    if existing is not None and existing.status != "cancelled":
        if existing.role != role:
            raise Conflict(Code.ALREADY_REGISTERED, "已以另一身份报名此活动", registration_id=existing.id)
        if by_staff and existing.status == "waitlisted":
            existing.status, existing.method = "confirmed", "staff"
            db.session.flush()
        return existing, False
    _check_open(activity, role, now, by_staff)
    if role == "volunteer" and not is_active_volunteer(user_id):
        raise Forbidden("需要先成为注册志愿者", code=Code.NOT_A_VOLUNTEER)
    full = _confirmed_count(activity.id, role) >= activity.places_for(role)
    status = "confirmed" if by_staff or not full else "waitlisted"
    registration = existing or Registration(activity_id=activity.id, user_id=user_id, created_at=now)
    registration.role, registration.status = role, status
    registration.method = "staff" if by_staff else "self"
    registration.registered_at, registration.cancelled_at = now, None
    registration.checked_in_at = registration.checked_out_at = None
    db.session.add(registration)
    db.session.flush()
    return registration, existing is None


def _check_open(activity: Activity, role: str, now, by_staff: bool) -> None:
    if activity.places_for(role) <= 0:
        raise Conflict(Code.REGISTRATION_CLOSED, "此活动不招募该身份", role=role)
    if by_staff:
        if activity.status != "published":
            raise Conflict(Code.REGISTRATION_CLOSED, "活动未发布、已取消或已结算", status=activity.status)
        return
    if activity.status != "published":
        raise Conflict(Code.REGISTRATION_CLOSED, "活动未开放报名", status=activity.status)
    if now >= activity.starts_at:
        raise Conflict(Code.REGISTRATION_CLOSED, "活动已开始，报名已截止")


def cancel_mine(*, actor, activity: Activity, now) -> Registration:
    """Cancels the actor's registration until the activity starts; the freed place
    goes to the oldest waitlisted registration of the same role. Cancelling
    again returns the cancelled registration.
    Raises NOT_FOUND (never registered), REGISTRATION_CLOSED (started, or the
    activity is no longer published).
    """
    activity = lock(activity)
    registration = _existing(activity.id, actor.id)
    if registration is None:
        raise NotFound("registration", "未报名此活动")
    if registration.status == "cancelled":
        return registration
    if activity.status != "published" or now >= activity.starts_at:
        raise Conflict(Code.REGISTRATION_CLOSED, "活动已开始，不能取消报名")
    freed = registration.status == "confirmed"
    registration.status, registration.cancelled_at = "cancelled", now
    db.session.flush()
    if freed:
        _promote(activity, registration.role)
    return registration


def _promote(activity: Activity, role: str) -> None:
    """Fills free places of `role` from its waitlist, oldest first (caller holds the lock)."""
    free = activity.places_for(role) - _confirmed_count(activity.id, role)
    if free <= 0:
        return
    waiting = db.session.scalars(
        sa.select(Registration)
        .where(Registration.activity_id == activity.id, Registration.role == role,
               Registration.status == "waitlisted")
        .order_by(Registration.registered_at, Registration.id).limit(free)
    ).all()
    for registration in waiting:
        registration.status = "confirmed"
    db.session.flush()


def list_for_activity(*, actor, activity: Activity, cursor=None, limit=20) -> Page:
    """Every registration of the activity, by id. Raises FORBIDDEN unless staff."""
    require(actor, "operate", activity.org)
    stmt = sa.select(Registration).where(Registration.activity_id == activity.id)
    return keyset_page(stmt, order=[Registration.id], cursor=cursor, limit=limit)


def list_mine(*, actor, cursor=None, limit=20) -> Page:
    """The actor's registrations, newest first."""
    stmt = sa.select(Registration).where(Registration.user_id == actor.id)
    return keyset_page(stmt, order=[Registration.id], cursor=cursor, limit=limit, descending=True)


def get_registration(*, activity: Activity, registration_id: int) -> Registration:
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.activity_id != activity.id:
        raise NotFound("registration", "报名记录不存在")
    return registration


@dataclass(frozen=True)
class AttendanceTimes:
    registration_id: int
    user_id: int
    role: str
    status: str
    checked_in_at: object
    checked_out_at: object


def attendance_times(activity_id: int) -> list[AttendanceTimes]:
    """Per confirmed registration, the derived check-in and check-out times
    (annulled scans already removed): what settlement reads."""
    rows = db.session.execute(
        sa.select(Registration.id, Registration.user_id, Registration.role, Registration.status,
                  Registration.checked_in_at, Registration.checked_out_at)
        .where(Registration.activity_id == activity_id, Registration.status == "confirmed")
        .order_by(Registration.id)
    ).all()
    return [AttendanceTimes(*row) for row in rows]


def can_operate(actor, activity: Activity) -> bool:
    return can(actor, "operate", activity.org)
