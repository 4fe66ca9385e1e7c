"""Scans a staff device made without a network, uploaded when it is back.

At a door in a basement or a village hall the worker's phone often has no
signal. The app keeps scanning passes (and ticking residents off by
registration), stores each scan with the time it happened and an id of its
own, and uploads them later in one batch. Each scan is judged as if it had
arrived when it was made: the pass's window, the check-in window and the
registration at `scanned_at`. The registration's times are then recomputed
from the log (`attendance.recompute_times`), so an offline check-in made
before a live one moves the check-in earlier, as the person was there since.

Every scan of the batch becomes one log row, accepted or refused, with the
server's time (`created_at`) and the device's (`occurred_at`, `client_at`).
The device's id for a scan (`client_ref`) is unique per worker, so uploading
a batch again, after a dropped answer, logs nothing twice and answers the same.
"""
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from core.db import db
from core.errors import Code, DomainError
from core.settings import Settings
from orgs.scope import require

from .attendance import recompute_times
from .checkin import Scan, log_scan, walk_in
from .decision import ACCEPTED, REFUSED, ActivityFacts, RegistrationFacts, ScanFacts, decide
from .models import Activity, CheckinLog, Registration
from .passes import user_of_pass
from .services import lock


@dataclass(frozen=True)
class OfflineScan:
    client_ref: str
    action: str  # in, out
    scanned_at: object
    code: str | None = None  # a pass
    registration_id: int | None = None  # ticked off by hand


@dataclass(frozen=True)
class OfflineResult:
    client_ref: str
    result: str  # accepted, repeat, refused
    reason: str | None
    scan_id: int
    registration_id: int | None
    checked_in_at: object
    checked_out_at: object


def upload(*, actor, activity: Activity, scans: list[OfflineScan], device: str | None, now,
           settings: Settings) -> list[OfflineResult]:
    """Logs and applies each scan as of its `scanned_at`; results in the order given.

    Raises FORBIDDEN unless staff. A scan is refused (not raised) with
    SCAN_TIME_INVALID (later than now, or older than OFFLINE_SCAN_MAX_HOURS),
    ALREADY_SETTLED, CODE_INVALID, CODE_EXPIRED (the pass was not current at
    `scanned_at`), NOT_FOUND (a registration of another activity), then
    CHECKIN_NOT_OPEN, NOT_REGISTERED or NOT_CHECKED_IN (`decision.decide`).
    """
    require(actor, "operate", activity.org)
    # Uploads for one activity take turns, as enrolment and settlement do: two devices
    # whose batches touch the same people in another order cannot deadlock, and a
    # settlement cannot read times an upload is changing.
    activity = lock(activity)
    facts = ActivityFacts.of(activity)
    max_age = timedelta(hours=settings.offline_scan_max_hours)
    uploaded_before = {row.client_ref: row for row in db.session.scalars(sa.select(CheckinLog).where(
        CheckinLog.actor_id == actor.id, CheckinLog.client_ref.in_([scan.client_ref for scan in scans])))}
    results = {}
    # In the order they happened, so a check-out follows its check-in.
    for scan in sorted(scans, key=lambda s: s.scanned_at):
        earlier = uploaded_before.get(scan.client_ref)
        results[scan.client_ref] = (_result_of(earlier, scan, activity.id) if earlier is not None
                                    else _upload_one(actor, facts, scan, device, now, max_age, settings))
    return [results[scan.client_ref] for scan in scans]


def _upload_one(actor, activity: ActivityFacts, scan: OfflineScan, device, now, max_age,
                settings: Settings) -> OfflineResult:
    method = "staff" if scan.code is not None else "manual"
    log = Scan(method=method, action=scan.action, actor_id=actor.id, device=device, client_at=scan.scanned_at)
    fields = dict(now=now, activity_id=activity.id, occurred_at=scan.scanned_at, client_ref=scan.client_ref)
    try:
        with db.session.begin_nested():
            user_id, registration, unidentified = _identify(activity.id, scan, settings)
            facts_of_scan = ScanFacts(door=method, action=scan.action, unidentified=unidentified,
                                      made_at=scan.scanned_at, max_age=max_age)
            decision = decide(activity, _facts(registration), facts_of_scan, now)
            if decision.is_walk_in:
                registration = _locked(Registration.id == walk_in(
                    activity_id=activity.id, user_id=user_id,
                    registration_id=None if registration is None else registration.id, now=decision.at))
                method = "walk_in"
                # Decided again on the registration as it now stands (a live walk-in may have made it).
                decision = decide(activity, _facts(registration), facts_of_scan, now)
            registration_id = None if registration is None else registration.id
            if decision.outcome == REFUSED:
                scan_id = log_scan(log, result=REFUSED, reason=decision.reason, user_id=user_id,
                                   registration_id=registration_id, **fields)
                return OfflineResult(scan.client_ref, REFUSED, decision.reason, scan_id, registration_id,
                                     *_times_of(registration))
            # The registration's times are the earliest standing scans: an accepted
            # scan is earlier than the one in place, and the times are recomputed.
            scan_id = log_scan(log, method=method, result=decision.outcome, user_id=user_id,
                               registration_id=registration_id, **fields)
            if decision.outcome == ACCEPTED:
                recompute_times(registration)
            return OfflineResult(scan.client_ref, decision.outcome, None, scan_id, registration_id,
                                 *_times_of(registration))
    except sa.exc.IntegrityError:  # the same id, uploaded at this moment by another request
        return _result_of(_logged(actor.id, scan.client_ref), scan, activity.id)


def _identify(activity_id: int, scan: OfflineScan,
              settings: Settings) -> tuple[int | None, Registration | None, str | None]:
    """Whose scan it is: (user id, their locked registration here or None, None),
    or (None, None, why it names no one here)."""
    if scan.code is not None:
        try:
            user_id = user_of_pass(scan.code, scan.scanned_at, settings=settings)  # the pass as it was when scanned
        except DomainError as error:
            return None, None, error.code
        registration = _locked(Registration.activity_id == activity_id, Registration.user_id == user_id)
        return user_id, registration, None
    registration = _locked(Registration.id == scan.registration_id)
    if registration is None or registration.activity_id != activity_id:
        return None, None, Code.NOT_FOUND
    return registration.user_id, registration, None


def _facts(registration: Registration | None) -> RegistrationFacts | None:
    if registration is None:
        return None
    return RegistrationFacts(registration.status, registration.checked_in_at, registration.checked_out_at)


def _times_of(registration: Registration | None) -> tuple:
    return (None, None) if registration is None else (registration.checked_in_at, registration.checked_out_at)


def _locked(*conditions) -> Registration | None:
    """The registration, locked like a live scan's update locks it, so the two serialize."""
    return db.session.scalars(
        sa.select(Registration).where(*conditions).with_for_update().execution_options(populate_existing=True)
    ).one_or_none()


def _logged(actor_id: int, client_ref: str) -> CheckinLog | None:
    return db.session.scalars(sa.select(CheckinLog).where(
        CheckinLog.actor_id == actor_id, CheckinLog.client_ref == client_ref)).one_or_none()


def _result_of(row: CheckinLog, scan: OfflineScan, activity_id: int) -> OfflineResult:
    """What the logged scan came to, with the registration's times as they are now.
    A device that sent another scan under the same id learns that nothing was done."""
    times = _times(row.registration_id)
    if (row.activity_id, row.action, row.occurred_at) != (activity_id, scan.action, scan.scanned_at):
        return OfflineResult(row.client_ref, "refused", Code.IDEMPOTENCY_CONFLICT, row.id, row.registration_id,
                             *times)
    return OfflineResult(row.client_ref, row.result, row.reason, row.id, row.registration_id, *times)


def _times(registration_id: int | None) -> tuple:
    if registration_id is None:
        return None, None
    return db.session.execute(sa.select(Registration.checked_in_at, Registration.checked_out_at)
                              .where(Registration.id == registration_id)).one()
