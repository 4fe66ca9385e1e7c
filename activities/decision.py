"""The check-in decision: one pure function that every door calls.

The facts of the activity, of the person's registration, of the scan, and
the time go in; an outcome comes out: `accepted` (the scan changes the
registration's time), `repeat` (it changes nothing) or `refused`, with the
reason. No database, no request, no clock. The doors (self scan, staff scan,
manual, offline upload, the one-statement fast path) read the facts, call
`decide`, and write what it says, guarded by the facts it was made on; when
the stored facts changed in between, a door reads them again and calls
`decide` again. None of them holds a rule of its own (house rule 11).

The code check (a check-in code's or a pass's signature and window) needs
the server's key, so it runs before: what it found reaches the decision as
`ScanFacts.unidentified`, which puts it in its place among the reasons.
"""
import math
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

ACCEPTED, REPEAT, REFUSED = "accepted", "repeat", "refused"  # as the check-in log records them
IN, OUT = "in", "out"
SELF = "self"  # the one door with a geofence; staff and manual doors have a person on site
EARTH_RADIUS_M = 6_371_000
MAX_CLOCK_AHEAD = timedelta(minutes=5)  # a device clock running a little fast


@dataclass(frozen=True, slots=True)
class ActivityFacts:
    """What the decision needs of an activity (the names are the columns')."""

    id: int
    status: str
    starts_at: datetime
    ends_at: datetime
    checkin_opens_before_min: int
    checkin_closes_after_min: int
    geofence_lat: float | None
    geofence_lng: float | None
    geofence_radius_m: int | None
    is_walk_in_allowed: bool

    @classmethod
    def of(cls, source) -> "ActivityFacts":
        """From anything with these attributes: an Activity, a row."""
        return cls(*(getattr(source, name) for name in _ACTIVITY_FIELDS))


_ACTIVITY_FIELDS = tuple(field.name for field in fields(ActivityFacts))


@dataclass(frozen=True, slots=True)
class RegistrationFacts:
    """The person's registration at the activity; the doors pass None when there is none."""

    status: str  # confirmed, waitlisted, cancelled
    checked_in_at: datetime | None
    checked_out_at: datetime | None


@dataclass(frozen=True, slots=True)
class ScanFacts:
    door: str  # self, staff, manual
    action: str  # in, out
    lat: float | None = None
    lng: float | None = None
    # Why the scan names no one here, found before the decision: CODE_INVALID,
    # CODE_EXPIRED (the code check), NOT_FOUND (a ticked-off registration of another activity).
    unidentified: str | None = None
    # A scan a staff device kept offline and uploaded later: when it was made, and
    # how old such a scan may be. None: a live scan, made at `now`.
    made_at: datetime | None = None
    max_age: timedelta | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: str  # accepted, repeat, refused
    reason: str | None  # the refusal's code
    at: datetime  # the moment the scan is judged at, and the time an accepted scan writes
    # Through a walk-in: the registration is to be created, or confirmed, as a
    # participant first; the outcome is then what the confirmed registration gives.
    is_walk_in: bool = False


def checkin_window(activity: ActivityFacts) -> tuple[datetime, datetime]:
    """When check-in opens and closes, both inclusive."""
    return (activity.starts_at - timedelta(minutes=activity.checkin_opens_before_min),
            activity.ends_at + timedelta(minutes=activity.checkin_closes_after_min))


def distance_m(lat1, lng1, lat2, lng2) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def is_inside_geofence(activity: ActivityFacts, lat, lng) -> bool:
    """True without a geofence; with one, the position must be given and inside."""
    if activity.geofence_radius_m is None:
        return True
    if lat is None or lng is None:
        return False
    return distance_m(lat, lng, activity.geofence_lat, activity.geofence_lng) <= activity.geofence_radius_m


def decide(activity: ActivityFacts, registration: RegistrationFacts | None, scan: ScanFacts,
           now: datetime) -> Decision:
    """The outcome of a scan, its reasons checked in this order:

    - a scan uploaded later: SCAN_TIME_INVALID unless made between `max_age`
      before `now` and MAX_CLOCK_AHEAD after it; ALREADY_SETTLED once the
      activity is settled (its records are made: a late scan cannot count).
      It is judged from here on as of when it was made;
    - `scan.unidentified` (a bad code, a registration of another activity);
    - CHECKIN_NOT_OPEN: the activity is not published, or the moment is outside
      the check-in window;
    - OUT_OF_AREA: a self scan, a geofence, and the position missing or outside;
    - NOT_REGISTERED: no confirmed registration, unless it is a check-in and
      walk-ins are allowed (then a walk-in: see `Decision.is_walk_in`);
    - NOT_CHECKED_IN: a check-out with no check-in at or before the moment.

    Otherwise `accepted` when the time it would set is not set yet, `repeat` when
    it is: the first scan wins, so any number of simultaneous scans of a person
    make exactly one `accepted`. A scan uploaded later is also `accepted` when it
    was made before the time in place: the person was there since.
    """
    uploaded = scan.made_at is not None
    at = scan.made_at if uploaded else now
    if uploaded:
        if not now - scan.max_age <= at <= now + MAX_CLOCK_AHEAD:
            return Decision(REFUSED, "SCAN_TIME_INVALID", at)
        if activity.status == "settled":
            return Decision(REFUSED, "ALREADY_SETTLED", at)
    if scan.unidentified is not None:
        return Decision(REFUSED, scan.unidentified, at)
    opens, closes = checkin_window(activity)
    if activity.status != "published" or not opens <= at <= closes:
        return Decision(REFUSED, "CHECKIN_NOT_OPEN", at)
    if scan.door == SELF and not is_inside_geofence(activity, scan.lat, scan.lng):
        return Decision(REFUSED, "OUT_OF_AREA", at)
    is_walk_in = registration is None or registration.status != "confirmed"
    if is_walk_in and (scan.action != IN or not activity.is_walk_in_allowed):
        return Decision(REFUSED, "NOT_REGISTERED", at)
    checked_in_at = registration.checked_in_at if registration is not None else None
    if scan.action == IN:
        in_place = checked_in_at
    else:
        if checked_in_at is None or checked_in_at > at:
            return Decision(REFUSED, "NOT_CHECKED_IN", at)
        in_place = registration.checked_out_at
    if in_place is None or (uploaded and at < in_place):
        return Decision(ACCEPTED, None, at, is_walk_in)
    return Decision(REPEAT, None, at, is_walk_in)
