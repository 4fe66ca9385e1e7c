"""Settlement: after an activity ends, verified service becomes service
records and points (以服务换积分).

Rules (API.md, DESIGN.md):
- Volunteer minutes = overlap of [check-in, check-out] with [starts_at, ends_at],
  rounded by the activity's rule, unless a worker's adjustment (with a note)
  gives the minutes. Points = minutes × points_per_hour ÷ 60, rounded down.
- A volunteer checked in but never out gets 0 minutes unless adjusted, and is
  listed as unverified for the worker instead of being silently counted.
- Checked-in participants get `attendance_points` and 0 minutes.
- An optional daily cap (POINTS_DAILY_CAP) bounds the points one person earns
  from activities starting on one local day.
- Each volunteer record with minutes becomes a service record (hours kept
  forever); each record with points becomes one ledger transfer keyed
  `settlement:{registration_id}`, so nothing is ever posted twice.
- Settling again with the same body replays the stored result; another body is
  ALREADY_SETTLED. The activity row is locked, so concurrent settlements
  serialise and all but the first replay.
"""
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

import sqlalchemy as sa

from core.db import db
from core.errors import Code, Conflict, Invalid
from core.settings import Settings
from orgs.scope import require
from points import ledger
from volunteers.records import record_services

from .models import Activity
from .registration import attendance_times
from .services import lock
from .settlement_models import Settlement, SettlementRecord

MAX_ADJUSTED_MINUTES = 24 * 60


def overlap_minutes(checked_in_at, checked_out_at, starts_at, ends_at) -> int:
    """Whole minutes of [in, out] inside [starts_at, ends_at]; 0 if either is missing."""
    if checked_in_at is None or checked_out_at is None:
        return 0
    start, end = max(checked_in_at, starts_at), min(checked_out_at, ends_at)
    return max(0, int((end - start).total_seconds() // 60))


def rounded(minutes: int, rule: str) -> int:
    """`minute` keeps whole minutes; `half_hour` and `hour` count completed
    steps only (the 0 / 0.5 h / 1 h style of some volunteer platforms)."""
    step = {"minute": 1, "half_hour": 30, "hour": 60}[rule]
    return minutes // step * step


@dataclass
class PlannedRecord:
    registration_id: int
    user_id: int
    role: str
    measured_minutes: int
    minutes: int
    points: int
    is_adjusted: bool = False
    is_unverified: bool = False
    is_capped: bool = False
    note: str = ""
    checked_in_at: object = None


@dataclass
class Plan:
    """A settlement not (yet) posted; shaped like `Settlement` for the response."""

    activity: Activity
    records: list[PlannedRecord] = field(default_factory=list)
    status = "preview"
    settled_at = None

    @property
    def activity_id(self):
        return self.activity.id

    @property
    def rounding(self):
        return self.activity.rounding

    @property
    def unverified(self):
        return [r for r in self.records if r.is_unverified]

    @property
    def minutes_total(self):
        return sum(r.minutes for r in self.records)

    @property
    def points_total(self):
        return sum(r.points for r in self.records)


def _check_adjustments(activity: Activity, adjustments: list[dict], times) -> dict:
    volunteers = {t.registration_id for t in times if t.role == "volunteer"}
    errors, by_registration = {}, {}
    for index, adjustment in enumerate(adjustments):
        registration_id = adjustment["registration_id"]
        problems = []
        if registration_id not in volunteers:
            problems.append("不是本活动已确认的志愿者报名")
        if registration_id in by_registration:
            problems.append("同一报名重复调整")
        if not 0 <= adjustment["minutes"] <= MAX_ADJUSTED_MINUTES:
            problems.append(f"minutes 须在 0 到 {MAX_ADJUSTED_MINUTES} 之间")
        if not adjustment.get("note", "").strip():
            problems.append("调整须填写说明 note")
        if problems:
            errors[f"adjustments.{index}"] = problems
        by_registration[registration_id] = adjustment
    if errors:
        raise Invalid(errors)
    return by_registration


def _local_day(moment, zone):
    day = moment.astimezone(zone).date()
    start = datetime.combine(day, time.min, tzinfo=zone)
    return start, start + timedelta(days=1)


def _earned_that_day(user_id: int, activity: Activity, zone) -> int:
    start, end = _local_day(activity.starts_at, zone)
    # int(): PostgreSQL sums a bigint column as numeric, which arrives as a Decimal.
    return int(db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(SettlementRecord.points), 0))
        .join(Settlement, Settlement.id == SettlementRecord.settlement_id)
        .join(Activity, Activity.id == Settlement.activity_id)
        .where(SettlementRecord.user_id == user_id, Activity.starts_at >= start,
               Activity.starts_at < end, Activity.id != activity.id)))


def plan(activity: Activity, adjustments: list[dict], *, settings: Settings) -> Plan:
    """What settling would post, computed from the check-in log; posts nothing.
    Points are capped per person and local day at `settings.points_daily_cap`."""
    daily_cap = settings.points_daily_cap
    times = attendance_times(activity.id)
    by_registration = _check_adjustments(activity, adjustments, times)
    result = Plan(activity)
    for t in times:
        adjustment = by_registration.get(t.registration_id)
        if t.role == "participant":
            if t.checked_in_at is None:
                continue
            record = PlannedRecord(t.registration_id, t.user_id, t.role, 0, 0,
                                   activity.attendance_points, checked_in_at=t.checked_in_at)
        else:
            if t.checked_in_at is None and adjustment is None:
                continue  # did not come: nothing to record
            measured = overlap_minutes(t.checked_in_at, t.checked_out_at,
                                       activity.starts_at, activity.ends_at)
            record = PlannedRecord(t.registration_id, t.user_id, t.role, measured, 0, 0,
                                   checked_in_at=t.checked_in_at)
            if adjustment is not None:
                record.minutes, record.is_adjusted = adjustment["minutes"], True
                record.note = adjustment["note"].strip()
            elif t.checked_out_at is None:
                record.is_unverified = True
            else:
                record.minutes = rounded(measured, activity.rounding)
            record.points = record.minutes * activity.points_per_hour // 60
        if daily_cap is not None and record.points:
            room = max(0, daily_cap - _earned_that_day(t.user_id, activity, settings.zone))
            if record.points > room:
                record.points, record.is_capped = room, True
        result.records.append(record)
    return result


def _fingerprint(adjustments: list[dict]) -> str:
    body = sorted((a["registration_id"], a["minutes"], a.get("note", "").strip()) for a in adjustments)
    return ledger.fingerprint_of({"adjustments": body})


def _check_settleable(activity: Activity, now) -> None:
    if activity.status in ("draft", "cancelled"):
        raise Conflict(Code.CONFLICT, "草稿或已取消的活动不能结算", status=activity.status)
    if now < activity.ends_at:
        raise Conflict(Code.NOT_ENDED, "活动结束后才能结算", ends_at=activity.ends_at.isoformat())


def preview(*, actor, activity: Activity, adjustments: list[dict], now, settings: Settings) -> Plan:
    """The settlement a worker would get, to review unverified check-ins first.
    Raises FORBIDDEN, CONFLICT (draft/cancelled), NOT_ENDED, VALIDATION_ERROR."""
    require(actor, "operate", activity.org)
    _check_settleable(activity, now)
    return plan(activity, adjustments, settings=settings)


def _memo(activity: Activity, record: PlannedRecord) -> str:
    if record.role == "volunteer":
        return f"{activity.title}：志愿服务 {record.minutes} 分钟"
    return f"{activity.title}：参加活动"


def _post(activity: Activity, planned: list[PlannedRecord], actor, now,
          settings: Settings) -> list[SettlementRecord]:
    """One transfer per record with points and one service record per volunteer with
    minutes, all keyed `settlement:{registration_id}` so nothing can be posted twice."""
    paid = [r for r in planned if r.points > 0]
    issuing = ledger.issuing_account(activity.org_id, now=now) if paid else None
    accounts = ledger.person_accounts([r.user_id for r in paid], now=now)
    transfer_ids = ledger.issue_many(debit=issuing, kind="earn", now=now, actor_id=actor.id, credits=[
        ledger.Credit(accounts[r.user_id], r.points, f"settlement:{r.registration_id}", _memo(activity, r),
                      cause_key=f"settlement:{r.registration_id}") for r in paid]) if paid else []
    transfers = {r.registration_id: transfer_id for r, transfer_id in zip(paid, transfer_ids)}
    served = [r for r in planned if r.role == "volunteer" and r.minutes > 0]
    service_records = record_services([dict(
        user_id=r.user_id, activity_id=activity.id, title=activity.title, org=activity.org,
        place=activity.location, content=activity.description or activity.category or activity.title,
        started_at=activity.starts_at, ended_at=activity.ends_at, minutes=r.minutes,
        points=r.points, responsible_person=actor.nickname or "社工", recorded_by=actor.id,
        cause_key=f"settlement:{r.registration_id}") for r in served], now=now, settings=settings)
    service_ids = {r.registration_id: s.id for r, s in zip(served, service_records)}
    return [SettlementRecord(
        registration_id=r.registration_id, user_id=r.user_id, role=r.role,
        measured_minutes=r.measured_minutes, minutes=r.minutes, points=r.points,
        is_adjusted=r.is_adjusted, is_unverified=r.is_unverified, is_capped=r.is_capped,
        note=r.note, transfer_id=transfers.get(r.registration_id),
        service_record_id=service_ids.get(r.registration_id)) for r in planned]


def settle(*, actor, activity: Activity, adjustments: list[dict], now, settings: Settings) -> Settlement:
    """Settles an ended activity once (see the module docstring for the rules).

    Returns the settlement, with `replayed` True when it already existed with
    the same body. Raises FORBIDDEN, CONFLICT (draft or cancelled), NOT_ENDED,
    VALIDATION_ERROR (adjustments), ALREADY_SETTLED (settled with another body).
    """
    require(actor, "operate", activity.org)
    _check_settleable(activity, now)
    fingerprint = _fingerprint(adjustments)
    activity = lock(activity)
    existing = db.session.scalar(sa.select(Settlement).where(Settlement.activity_id == activity.id))
    if existing is not None:
        if existing.fingerprint != fingerprint:
            raise Conflict(Code.ALREADY_SETTLED, "活动已结算，不能以不同的调整再次结算",
                           settled_at=existing.settled_at.isoformat())
        existing.replayed = True
        return existing
    planned = plan(activity, adjustments, settings=settings)
    settlement = Settlement(activity_id=activity.id, fingerprint=fingerprint,
                            rounding=activity.rounding, minutes_total=planned.minutes_total,
                            points_total=planned.points_total, settled_by_id=actor.id,
                            settled_at=now)
    settlement.records = _post(activity, planned.records, actor, now, settings)
    db.session.add(settlement)
    activity.status, activity.settled_at = "settled", now
    db.session.flush()
    settlement.replayed = False
    return settlement
