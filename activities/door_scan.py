"""The self scan of the door-side rush in one round trip (PostgreSQL).

The full path (`checkin.self_checkin`) reads the account, the activity and
the registration, decides, then checks in and logs: two statements in the
request's transaction, so four round trips with BEGIN and COMMIT. Nearly
every scan at the door is the plain case: a good code, a check-in the
decision accepts for a confirmed registration. Here the code is checked
against the activity's facts as this process last read them, and
`decision.decide` is asked, on those facts, about the two states the
registration can be in: confirmed without a check-in, and confirmed with one
(for a live check-in the decision looks only at whether one is in place).
One autocommit statement then writes the answer for the state it finds, but
only if the stored activity still holds exactly the facts decided on, the
account is active and the registration confirmed. It skips the reading,
never the deciding: when the statement finds otherwise it writes nothing,
and so does a scan the cached facts would refuse; both take the full path,
which reads everything afresh. A stale cache can make a scan slower, never
change its answer.

This is the one writer that commits by itself instead of through the
request (house rule 3): the check-in and its log row are one statement, so
there is nothing to commit together with it, and BEGIN and COMMIT would be
half of the round trips of a scan.

The facts cache lives as long as the app (a dict the app factory makes) and
is handed in as `facts_cache`, as the settings are.
"""
import time
from dataclasses import replace
from datetime import timezone

from psycopg.rows import namedtuple_row

from core import codes
from core.db import autocommit_connection, is_postgres
from core.errors import DomainError
from core.settings import Settings

from . import checkin
from .checkin import CheckinResult, Scan
from .decision import (ACCEPTED, IN, REPEAT, ActivityFacts, Decision, RegistrationFacts, ScanFacts,
                       decide)

# Where the app factory keeps the app's facts cache (app.extensions).
FACTS_CACHE = "linli.door_scan_facts"
FACTS_TTL_SECONDS = 30  # only bounds how long a dead activity's entry lingers
MAX_CACHED_ACTIVITIES = 4096

_FACTS = """
    SELECT id, status, code_secret, starts_at, ends_at, checkin_opens_before_min,
           checkin_closes_after_min, geofence_lat, geofence_lng, geofence_radius_m,
           is_walk_in_allowed
    FROM activities WHERE id = %(activity_id)s
"""

# `target` is the registration, found only if the stored activity holds the
# facts decided on; the update is conditional as on the full path, so
# simultaneous scans of one registration still yield exactly one `accepted`.
# The log row takes the decision for the state the update met: `if_new` when it
# checked in, `if_checked_in` when a check-in was already in place.
_CHECK_IN_AND_LOG = """
    WITH target AS (
        SELECT r.id, r.checked_in_at, r.checked_out_at
        FROM registrations r
        JOIN users u ON u.id = r.user_id AND u.is_active
        JOIN activities a ON a.id = r.activity_id
        WHERE r.activity_id = %(activity_id)s AND r.user_id = %(user_id)s AND r.status = 'confirmed'
          AND a.status = %(status)s AND a.code_secret = %(code_secret)s
          AND a.starts_at = %(starts_at)s AND a.ends_at = %(ends_at)s
          AND a.checkin_opens_before_min = %(opens_before)s
          AND a.checkin_closes_after_min = %(closes_after)s
          AND a.geofence_radius_m IS NOT DISTINCT FROM %(radius)s::integer
          AND a.geofence_lat IS NOT DISTINCT FROM %(fence_lat)s::float8
          AND a.geofence_lng IS NOT DISTINCT FROM %(fence_lng)s::float8
          AND a.is_walk_in_allowed = %(walk_ins)s
    ), changed AS (
        UPDATE registrations SET checked_in_at = %(now)s
        FROM target WHERE registrations.id = target.id AND registrations.status = 'confirmed'
          AND registrations.checked_in_at IS NULL
        RETURNING registrations.id
    ), logged AS (
        INSERT INTO checkin_log (activity_id, registration_id, user_id, actor_id, action, method,
                                 result, device, client_at, lat, lng, occurred_at, created_at)
        SELECT %(activity_id)s, target.id, %(user_id)s, %(actor_id)s, 'in', 'self',
               CASE WHEN EXISTS (SELECT 1 FROM changed) THEN %(if_new)s ELSE %(if_checked_in)s END,
               %(device)s::text, %(client_at)s::timestamptz, %(lat)s::float8, %(lng)s::float8,
               %(now)s, %(now)s
        FROM target
        RETURNING id, registration_id, result
    )
    SELECT logged.id, logged.registration_id, logged.result, target.checked_in_at,
           target.checked_out_at
    FROM logged JOIN target ON target.id = logged.registration_id
"""

_TIMES = "SELECT checked_in_at, checked_out_at FROM registrations WHERE id = %(registration_id)s"

_NOT_CHECKED_IN = RegistrationFacts("confirmed", None, None)


def plain_decisions(activity: ActivityFacts, scan: ScanFacts, now) -> tuple[Decision, Decision] | None:
    """What `decide` says of a confirmed registration without a check-in (it
    must be `accepted`) and with one (it must be `repeat`): the two states the
    one statement handles. None: not the plain case, the full path decides.

    A live check-in's decision looks only at whether a check-in is in place,
    not at its time (tests/activities/test_decision.py holds it to that), so
    `now` stands for any stored time."""
    if scan.action != IN or scan.made_at is not None:
        return None
    if_new = decide(activity, _NOT_CHECKED_IN, scan, now)
    if_checked_in = decide(activity, RegistrationFacts("confirmed", now, None), scan, now)
    if if_new.outcome != ACCEPTED or if_new.is_walk_in or if_checked_in.outcome != REPEAT:
        return None
    return if_new, if_checked_in


def _cached_facts(connection, activity_id: int, cache: dict) -> tuple[ActivityFacts, str] | None:
    """The activity's facts and code secret, as this process last read them."""
    entry = cache.get(activity_id)
    if entry is not None and entry[1] > time.monotonic():
        return entry[0]
    row = connection.cursor(row_factory=namedtuple_row).execute(
        _FACTS, {"activity_id": activity_id}).fetchone()
    if row is None:
        return None
    if len(cache) >= MAX_CACHED_ACTIVITIES:
        cache.clear()
    facts = replace(ActivityFacts.of(row), starts_at=_utc(row.starts_at), ends_at=_utc(row.ends_at))
    cache[activity_id] = ((facts, row.code_secret), time.monotonic() + FACTS_TTL_SECONDS)
    return facts, row.code_secret


def _utc(value):
    return None if value is None else value.astimezone(timezone.utc)


def self_checkin(*, user_id: int, code, scan: Scan, now, settings: Settings, facts_cache: dict,
                 activity_id: int | None = None) -> CheckinResult:
    """The resident scanned the activity's code: the rules and error codes of
    `checkin.self_checkin`, which takes every scan that is not the plain case.
    `facts_cache` is the app's (see above)."""
    if is_postgres() and scan.action == IN:
        try:
            parsed = codes.parse(code, "checkin")
        except DomainError:
            parsed = None  # refused and logged by the full path
        if parsed is not None and activity_id in (None, parsed.subject_id):
            result = _try_plain_checkin(user_id=user_id, parsed=parsed, scan=scan, now=now,
                                        settings=settings, cache=facts_cache)
            if result is not None:
                return result
    return checkin.self_checkin(user_id=user_id, code=code, scan=scan, now=now, settings=settings,
                                activity_id=activity_id)


def _try_plain_checkin(*, user_id: int, parsed: codes.ParsedCode, scan: Scan, now, settings: Settings,
                       cache: dict) -> CheckinResult | None:
    """Checks in the plain case in one statement; None: nothing written, take the full path."""
    with autocommit_connection() as connection:
        cached = _cached_facts(connection, parsed.subject_id, cache)
        if cached is None:
            return None
        facts, code_secret = cached
        try:
            codes.verify(parsed, code_secret, now=now, settings=settings)
        except DomainError:
            cache.pop(facts.id, None)  # the full path decides, on fresh facts
            return None
        decisions = plain_decisions(facts, ScanFacts(door=scan.method, action=scan.action, lat=scan.lat,
                                                     lng=scan.lng), now)
        if decisions is None:
            cache.pop(facts.id, None)
            return None
        if_new, if_checked_in = decisions
        row = connection.execute(_CHECK_IN_AND_LOG, {
            "activity_id": facts.id, "user_id": user_id, "actor_id": scan.actor_id,
            "status": facts.status, "code_secret": code_secret,
            "starts_at": facts.starts_at, "ends_at": facts.ends_at,
            "opens_before": facts.checkin_opens_before_min,
            "closes_after": facts.checkin_closes_after_min, "radius": facts.geofence_radius_m,
            "fence_lat": facts.geofence_lat, "fence_lng": facts.geofence_lng,
            "walk_ins": facts.is_walk_in_allowed, "now": if_new.at,
            "if_new": if_new.outcome, "if_checked_in": if_checked_in.outcome,
            "device": (scan.device or None) and scan.device[:200], "client_at": scan.client_at,
            "lat": scan.lat, "lng": scan.lng,
        }).fetchone()
        if row is None:  # not the plain case after all: nothing was written
            cache.pop(facts.id, None)
            return None
        scan_id, registration_id, result, checked_in_at, checked_out_at = row
        first = result == ACCEPTED
        if first:
            checked_in_at = if_new.at
        elif checked_in_at is None:  # a simultaneous scan won the update after our snapshot
            checked_in_at, checked_out_at = connection.execute(
                _TIMES, {"registration_id": registration_id}).fetchone()
    checked_in_at, checked_out_at = _utc(checked_in_at), _utc(checked_out_at)
    return CheckinResult(registration_id, facts.id, "checked_out" if checked_out_at else "checked_in",
                         first, checked_in_at, checked_out_at, scan_id)
