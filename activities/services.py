"""Creating, publishing, cancelling and finding activities."""
import secrets
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import lazyload

from core.db import db
from core.errors import Code, Conflict, Invalid, NotFound
from core.paging import Page, keyset_page
from orgs.models import Org
from orgs.scope import can, require, scope_paths
from orgs.services import get_org

from .models import Activity, Registration

# Multi-day activities are real (a summer camp, a week of home visits); a
# schedule longer than a year is a typo, and its check-in windows and
# settlement would span it all.
MAX_DURATION = timedelta(days=366)


def new_secret() -> str:
    return secrets.token_hex(16)


def is_visible(activity: Activity, actor) -> bool:
    """A draft is seen by staff of its organisation (or above) only."""
    return activity.status != "draft" or can(actor, "operate", activity.org)


def get_activity(activity_id: int, *, actor=None) -> Activity:
    """Raises NOT_FOUND for an unknown activity, or a draft the actor may not see."""
    activity = db.session.get(Activity, activity_id)
    if activity is None or not is_visible(activity, actor):
        raise NotFound("activity", "活动不存在")
    return activity


def _check_schedule(starts_at, ends_at, geofence) -> None:
    errors = {}
    if ends_at <= starts_at:
        errors["ends_at"] = ["结束时间须晚于开始时间"]
    elif ends_at - starts_at > MAX_DURATION:
        errors["ends_at"] = ["活动至多持续一年"]
    if geofence is not None:
        for field, limit in (("lat", 90), ("lng", 180)):
            value = geofence.get(field)
            if value is None or not -limit <= value <= limit:
                errors.setdefault("geofence", []).append(f"{field} 须在 ±{limit} 之间")
        if not (geofence.get("radius_m") or 0) > 0:
            errors.setdefault("geofence", []).append("radius_m 须大于 0")
    if errors:
        raise Invalid(errors)


def create_activity(*, actor, org: Org, now, title, domain, location, starts_at, ends_at,
                    capacity, volunteer_slots, points_per_hour, description="", category="",
                    attendance_points=0, is_walk_in_allowed=False, checkin_opens_before_min=30,
                    checkin_closes_after_min=30, geofence=None, rounding="minute") -> Activity:
    """A draft activity of `org`. Past times are allowed (back-entry of paper records).

    Raises FORBIDDEN unless the actor is staff of the org or above; VALIDATION_ERROR
    when `ends_at` is not after `starts_at`, or more than a year (366 days) after
    it, or the geofence is out of range.
    """
    require(actor, "operate", org)
    _check_schedule(starts_at, ends_at, geofence)
    activity = Activity(
        org=org, title=title, description=description or "", domain=domain,
        category=category or "", location=location, starts_at=starts_at, ends_at=ends_at,
        capacity=capacity, volunteer_slots=volunteer_slots, points_per_hour=points_per_hour,
        attendance_points=attendance_points, is_walk_in_allowed=is_walk_in_allowed,
        checkin_opens_before_min=checkin_opens_before_min,
        checkin_closes_after_min=checkin_closes_after_min,
        geofence_lat=geofence["lat"] if geofence else None,
        geofence_lng=geofence["lng"] if geofence else None,
        geofence_radius_m=geofence["radius_m"] if geofence else None,
        status="draft", code_secret=new_secret(), created_by_id=actor.id, created_at=now,
        rounding=rounding,
    )
    db.session.add(activity)
    db.session.flush()
    return activity


def lock(activity: Activity) -> Activity:
    """Takes the activity's row lock (PostgreSQL) for the rest of the transaction and
    reloads it: registrations and state changes of one activity queue up here."""
    return db.session.scalars(
        sa.select(Activity).where(Activity.id == activity.id)
        # The org is already loaded; a joined load would put FOR UPDATE on an outer join.
        .options(lazyload(Activity.org))
        .with_for_update(of=Activity).execution_options(populate_existing=True)
    ).one()


def publish(*, actor, activity: Activity, now) -> Activity:
    """Draft → published; publishing again returns it unchanged.

    Raises FORBIDDEN unless staff; CONFLICT for a cancelled or settled activity.
    """
    require(actor, "operate", activity.org)
    activity = lock(activity)
    if activity.status == "draft":
        activity.status, activity.published_at = "published", now
    elif activity.status != "published":
        raise Conflict(Code.CONFLICT, "活动已取消或已结算，不能发布", status=activity.status)
    db.session.flush()
    return activity


def cancel(*, actor, activity: Activity, now) -> Activity:
    """Cancels the activity and every registration; cancelling again changes nothing.

    Raises FORBIDDEN unless staff; CONFLICT once settled.
    """
    require(actor, "operate", activity.org)
    activity = lock(activity)
    if activity.status == "settled":
        raise Conflict(Code.CONFLICT, "活动已结算，不能取消")
    if activity.status != "cancelled":
        activity.status, activity.cancelled_at = "cancelled", now
        db.session.execute(
            sa.update(Registration)
            .where(Registration.activity_id == activity.id, Registration.status != "cancelled")
            .values(status="cancelled", cancelled_at=now)
        )
    db.session.flush()
    return activity


def list_activities(*, actor, org_id=None, domain=None, status=None, starts_from=None,
                    starts_before=None, cursor=None, limit=20) -> Page:
    """Activities by start time; `org_id` takes its whole subtree. Drafts are listed
    only where the actor is staff. Raises NOT_FOUND for an unknown org."""
    stmt = sa.select(Activity).join(Org, Activity.org_id == Org.id)
    if org_id is not None:
        stmt = stmt.where(Org.under(get_org(org_id).path))
    if domain is not None:
        stmt = stmt.where(Activity.domain == domain)
    if status is not None:
        stmt = stmt.where(Activity.status == status)
    if starts_from is not None:
        stmt = stmt.where(Activity.starts_at >= starts_from)
    if starts_before is not None:
        stmt = stmt.where(Activity.starts_at < starts_before)
    staff_paths = scope_paths(actor, "operate")
    draft_visible = sa.or_(*[Org.under(p) for p in staff_paths]) \
        if staff_paths else sa.false()
    stmt = stmt.where(sa.or_(Activity.status != "draft", draft_visible))
    return keyset_page(stmt, order=[Activity.starts_at, Activity.id], cursor=cursor, limit=limit)


def counts(activity_id: int) -> dict:
    """Confirmed participants, confirmed volunteers, and the waitlist of both roles."""
    rows = db.session.execute(
        sa.select(Registration.role, Registration.status, sa.func.count())
        .where(Registration.activity_id == activity_id, Registration.status != "cancelled")
        .group_by(Registration.role, Registration.status)
    ).all()
    found = {(role, status): n for role, status, n in rows}
    return {
        "participants": found.get(("participant", "confirmed"), 0),
        "volunteers": found.get(("volunteer", "confirmed"), 0),
        "waitlisted": found.get(("participant", "waitlisted"), 0) + found.get(("volunteer", "waitlisted"), 0),
    }


class ActivityDetail:
    """An activity with its registration counts, for the detail view."""

    def __init__(self, activity: Activity):
        self._activity = activity
        self.counts = counts(activity.id)

    def __getattr__(self, name):
        return getattr(self._activity, name)


def detail(activity: Activity) -> ActivityDetail:
    return ActivityDetail(activity)
