"""The check-in decision (`activities/decision.py`): every reason, its order,
duplicates, uploaded scans, and the fast path's agreement with it. Pure: no
app, no database, fixed times."""
import ast
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from activities import decision
from activities.decision import (ACCEPTED, REFUSED, REPEAT, ActivityFacts, Decision, RegistrationFacts,
                                 ScanFacts, decide)
from activities.door_scan import plain_decisions

STARTS = datetime(2024, 10, 11, 14, 0, tzinfo=timezone.utc)  # a Friday afternoon, 22:00 in Wuhan
ACTIVITY = ActivityFacts(id=7, status="published", starts_at=STARTS, ends_at=STARTS + timedelta(hours=1),
                         checkin_opens_before_min=30, checkin_closes_after_min=30, geofence_lat=None,
                         geofence_lng=None, geofence_radius_m=None, is_walk_in_allowed=False)
FENCED = replace(ACTIVITY, geofence_lat=30.65, geofence_lng=114.30, geofence_radius_m=150)
WALK_INS = replace(ACTIVITY, is_walk_in_allowed=True)
NOW = STARTS + timedelta(minutes=5)
EARLIER, LATER = NOW - timedelta(minutes=3), NOW + timedelta(minutes=3)
MAX_AGE = timedelta(hours=48)

REGISTERED = RegistrationFacts("confirmed", None, None)
INSIDE = RegistrationFacts("confirmed", EARLIER, None)
LEFT = RegistrationFacts("confirmed", EARLIER, NOW - timedelta(minutes=1))
WAITLISTED = RegistrationFacts("waitlisted", None, None)
CANCELLED = RegistrationFacts("cancelled", None, None)
CANCELLED_INSIDE = RegistrationFacts("cancelled", EARLIER, None)


def live(door="self", action="in", **facts) -> ScanFacts:
    return ScanFacts(door=door, action=action, **facts)


def uploaded(made_at, door="staff", action="in", **facts) -> ScanFacts:
    return ScanFacts(door=door, action=action, made_at=made_at, max_age=MAX_AGE, **facts)


def at_fence(**facts) -> dict:
    return {"lat": 30.6505, "lng": 114.3005, **facts}  # about 70 m from the fence's centre


CASES = {
    # --- live scans: every door ------------------------------------------------
    "self scan, plain": (ACTIVITY, REGISTERED, live(), NOW, ACCEPTED, None),
    "staff scan, plain": (ACTIVITY, REGISTERED, live("staff"), NOW, ACCEPTED, None),
    "manual, plain": (ACTIVITY, REGISTERED, live("manual"), NOW, ACCEPTED, None),
    "bad code": (ACTIVITY, None, live(unidentified="CODE_INVALID"), NOW, REFUSED, "CODE_INVALID"),
    "expired code": (ACTIVITY, None, live("staff", unidentified="CODE_EXPIRED"), NOW, REFUSED, "CODE_EXPIRED"),
    "bad code at a closed activity": (replace(ACTIVITY, status="cancelled"), None,
                                      live(unidentified="CODE_INVALID"), NOW, REFUSED, "CODE_INVALID"),
    "draft": (replace(ACTIVITY, status="draft"), REGISTERED, live(), NOW, REFUSED, "CHECKIN_NOT_OPEN"),
    "cancelled": (replace(ACTIVITY, status="cancelled"), REGISTERED, live(), NOW, REFUSED, "CHECKIN_NOT_OPEN"),
    "settled, live": (replace(ACTIVITY, status="settled"), REGISTERED, live("staff"), NOW,
                      REFUSED, "CHECKIN_NOT_OPEN"),
    "the second it opens": (ACTIVITY, REGISTERED, live(), STARTS - timedelta(minutes=30), ACCEPTED, None),
    "a second before it opens": (ACTIVITY, REGISTERED, live(), STARTS - timedelta(minutes=30, seconds=1),
                                 REFUSED, "CHECKIN_NOT_OPEN"),
    "the second it closes": (ACTIVITY, REGISTERED, live(), STARTS + timedelta(minutes=90), ACCEPTED, None),
    "a second after it closes": (ACTIVITY, REGISTERED, live(), STARTS + timedelta(minutes=90, seconds=1),
                                 REFUSED, "CHECKIN_NOT_OPEN"),
    "closes later when configured": (replace(ACTIVITY, checkin_closes_after_min=60), REGISTERED, live(),
                                     STARTS + timedelta(minutes=110), ACCEPTED, None),
    "closed before out of area": (FENCED, REGISTERED, live(), STARTS + timedelta(hours=3),
                                  REFUSED, "CHECKIN_NOT_OPEN"),
    "geofence, no position": (FENCED, REGISTERED, live(), NOW, REFUSED, "OUT_OF_AREA"),
    "geofence, half a position": (FENCED, REGISTERED, live(lat=30.65), NOW, REFUSED, "OUT_OF_AREA"),
    "geofence, 1.1 km away": (FENCED, REGISTERED, live(lat=30.66, lng=114.30), NOW, REFUSED, "OUT_OF_AREA"),
    "geofence, inside": (FENCED, REGISTERED, live(**at_fence()), NOW, ACCEPTED, None),
    "geofence, staff scan anywhere": (FENCED, REGISTERED, live("staff"), NOW, ACCEPTED, None),
    "geofence, manual anywhere": (FENCED, REGISTERED, live("manual"), NOW, ACCEPTED, None),
    "no geofence, no position needed": (ACTIVITY, REGISTERED, live(lat=31.0, lng=121.0), NOW, ACCEPTED, None),
    "out of area before not registered": (FENCED, None, live(), NOW, REFUSED, "OUT_OF_AREA"),
    "not registered": (ACTIVITY, None, live(), NOW, REFUSED, "NOT_REGISTERED"),
    "waitlisted": (ACTIVITY, WAITLISTED, live(), NOW, REFUSED, "NOT_REGISTERED"),
    "cancelled registration": (ACTIVITY, CANCELLED, live("staff"), NOW, REFUSED, "NOT_REGISTERED"),
    "walk-in out": (WALK_INS, None, live(action="out"), NOW, REFUSED, "NOT_REGISTERED"),
    "check-out first": (ACTIVITY, REGISTERED, live(action="out"), NOW, REFUSED, "NOT_CHECKED_IN"),
    "check-out before the check-in in place": (ACTIVITY, RegistrationFacts("confirmed", LATER, None),
                                               live(action="out"), NOW, REFUSED, "NOT_CHECKED_IN"),
    "check-out": (ACTIVITY, INSIDE, live(action="out"), NOW, ACCEPTED, None),
    # --- duplicates: the first scan wins --------------------------------------
    "in again": (ACTIVITY, INSIDE, live(), NOW, REPEAT, None),
    "in after out": (ACTIVITY, LEFT, live(), NOW, REPEAT, None),
    "out again": (ACTIVITY, LEFT, live(action="out"), NOW, REPEAT, None),
    "in, after an upload from a fast clock": (ACTIVITY, RegistrationFacts("confirmed", LATER, None), live(),
                                              NOW, REPEAT, None),
    # --- uploaded scans: judged as of when they were made ---------------------
    "upload, plain": (ACTIVITY, REGISTERED, uploaded(EARLIER), NOW, ACCEPTED, None),
    "upload, made 5 minutes ahead": (ACTIVITY, REGISTERED, uploaded(NOW + timedelta(minutes=5)), NOW,
                                     ACCEPTED, None),
    "upload, made further ahead": (ACTIVITY, REGISTERED, uploaded(NOW + timedelta(minutes=5, seconds=1)),
                                   NOW, REFUSED, "SCAN_TIME_INVALID"),
    "upload, as old as allowed": (replace(ACTIVITY, checkin_closes_after_min=3000), REGISTERED,
                                  uploaded(STARTS), STARTS + MAX_AGE, ACCEPTED, None),
    "upload, older": (replace(ACTIVITY, checkin_closes_after_min=3000), REGISTERED,
                      uploaded(STARTS - timedelta(seconds=1)), STARTS + MAX_AGE, REFUSED, "SCAN_TIME_INVALID"),
    "upload, time before settled": (replace(ACTIVITY, status="settled"), REGISTERED,
                                    uploaded(NOW + timedelta(hours=1)), NOW, REFUSED, "SCAN_TIME_INVALID"),
    "upload, settled": (replace(ACTIVITY, status="settled"), REGISTERED, uploaded(EARLIER), NOW,
                        REFUSED, "ALREADY_SETTLED"),
    "upload, settled before a bad pass": (replace(ACTIVITY, status="settled"), None,
                                          uploaded(EARLIER, unidentified="CODE_INVALID"), NOW,
                                          REFUSED, "ALREADY_SETTLED"),
    "upload, time before a bad pass": (ACTIVITY, None, uploaded(NOW - MAX_AGE * 2, unidentified="CODE_EXPIRED"),
                                       NOW, REFUSED, "SCAN_TIME_INVALID"),
    "upload, a pass not current then": (ACTIVITY, None, uploaded(EARLIER, unidentified="CODE_EXPIRED"), NOW,
                                        REFUSED, "CODE_EXPIRED"),
    "upload, another activity's registration": (ACTIVITY, None, uploaded(EARLIER, "manual",
                                                                         unidentified="NOT_FOUND"),
                                                NOW, REFUSED, "NOT_FOUND"),
    "upload, made before it opened": (ACTIVITY, REGISTERED, uploaded(STARTS - timedelta(minutes=31)),
                                      STARTS - timedelta(minutes=20), REFUSED, "CHECKIN_NOT_OPEN"),
    "upload, made while open, arriving after": (ACTIVITY, REGISTERED, uploaded(STARTS + timedelta(minutes=80)),
                                                STARTS + timedelta(hours=5), ACCEPTED, None),
    "upload, a geofence does not apply": (FENCED, REGISTERED, uploaded(EARLIER), NOW, ACCEPTED, None),
    "upload, not registered": (ACTIVITY, None, uploaded(EARLIER), NOW, REFUSED, "NOT_REGISTERED"),
    "upload, out before any in": (ACTIVITY, REGISTERED, uploaded(EARLIER, action="out"), NOW,
                                  REFUSED, "NOT_CHECKED_IN"),
    "upload, out made before the in in place": (ACTIVITY, INSIDE, uploaded(EARLIER - timedelta(seconds=1),
                                                                          action="out"),
                                                NOW, REFUSED, "NOT_CHECKED_IN"),
    "upload, out made with the in in place": (ACTIVITY, INSIDE, uploaded(EARLIER, action="out"), NOW,
                                              ACCEPTED, None),
    "upload, in earlier than the one in place": (ACTIVITY, INSIDE, uploaded(EARLIER - timedelta(seconds=1)),
                                                 NOW, ACCEPTED, None),
    "upload, in as early as the one in place": (ACTIVITY, INSIDE, uploaded(EARLIER), NOW, REPEAT, None),
    "upload, in later than the one in place": (ACTIVITY, INSIDE, uploaded(NOW), NOW, REPEAT, None),
    "upload, out earlier than the one in place": (ACTIVITY, LEFT, uploaded(EARLIER, action="out"), NOW,
                                                  ACCEPTED, None),
    "upload, out later than the one in place": (ACTIVITY, LEFT, uploaded(NOW, action="out"), NOW,
                                                REPEAT, None),
}


@pytest.mark.parametrize("activity, registration, scan, now, outcome, reason", CASES.values(), ids=CASES.keys())
def test_each_reason_in_its_order(activity, registration, scan, now, outcome, reason):
    decided = decide(activity, registration, scan, now)
    assert (decided.outcome, decided.reason, decided.is_walk_in) == (outcome, reason, False)
    assert decided.at == (now if scan.made_at is None else scan.made_at)


WALK_IN_CASES = {
    "no registration": (None, live(), ACCEPTED),
    "waitlisted": (WAITLISTED, live(), ACCEPTED),
    "cancelled": (CANCELLED, live("staff"), ACCEPTED),
    "cancelled after a check-in": (CANCELLED_INSIDE, live("manual"), REPEAT),
    "uploaded": (None, uploaded(EARLIER), ACCEPTED),
    "uploaded, earlier than a check-in in place": (CANCELLED_INSIDE, uploaded(EARLIER - timedelta(seconds=1)),
                                                   ACCEPTED),
}


@pytest.mark.parametrize("registration, scan, outcome", WALK_IN_CASES.values(), ids=WALK_IN_CASES.keys())
def test_a_walk_in_is_decided_as_the_confirmed_registration_it_makes(registration, scan, outcome):
    decided = decide(WALK_INS, registration, scan, NOW)
    assert (decided.outcome, decided.reason, decided.is_walk_in) == (outcome, None, True)
    confirmed = replace(registration or REGISTERED, status="confirmed")
    assert decide(WALK_INS, confirmed, scan, NOW) == replace(decided, is_walk_in=False)


def test_the_decision_module_needs_nothing_but_the_standard_library():
    tree = ast.parse(Path(decision.__file__).read_text(encoding="utf-8"))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= {"math", "dataclasses", "datetime"}


def test_the_fast_path_plans_only_the_plain_check_in():
    plain = plain_decisions(FENCED, live(**at_fence()), NOW)
    assert plain is not None and [d.outcome for d in plain] == [ACCEPTED, REPEAT]
    assert all(d.at == NOW for d in plain)
    for activity, scan in [(FENCED, live()), (replace(ACTIVITY, status="draft"), live()),
                           (ACTIVITY, live(action="out")), (ACTIVITY, uploaded(EARLIER))]:
        assert plain_decisions(activity, scan, NOW) is None


# --- properties --------------------------------------------------------------

MINUTES = st.integers(min_value=-600, max_value=600).map(lambda m: timedelta(minutes=m))
SECONDS = st.integers(min_value=-7200, max_value=7200).map(lambda s: timedelta(seconds=s))
MAYBE_TIME = st.none() | SECONDS.map(lambda d: NOW + d)


def activities(statuses=("published", "published", "draft", "cancelled", "settled"), starts=MINUTES):
    return st.builds(
        lambda status, starts, hours, opens, closes, fence, walk_ins: ActivityFacts(
            7, status, NOW + starts, NOW + starts + timedelta(hours=hours), opens, closes,
            *(fence or (None, None, None)), walk_ins),
        st.sampled_from(statuses), starts, st.integers(min_value=0, max_value=8),
        st.integers(min_value=0, max_value=120), st.integers(min_value=0, max_value=120),
        st.none() | st.tuples(st.just(30.65), st.just(114.30), st.integers(min_value=0, max_value=2000)),
        st.booleans())


ACTIVITIES = activities()
# Mostly open now, so that most examples are ones the fast path takes.
OPEN_NOW = activities(("published",) * 9 + ("cancelled",),
                      st.integers(min_value=-300, max_value=90).map(lambda m: timedelta(minutes=m)))
REGISTRATIONS = st.none() | st.builds(RegistrationFacts, st.sampled_from(["confirmed", "waitlisted", "cancelled"]),
                                      MAYBE_TIME, MAYBE_TIME)
POSITIONS = st.none() | st.tuples(st.floats(min_value=30.63, max_value=30.67),
                                  st.floats(min_value=114.28, max_value=114.32))
UNIDENTIFIED = st.none() | st.sampled_from(["CODE_INVALID", "CODE_EXPIRED", "NOT_FOUND"])


@st.composite
def scans(draw, doors=("self", "staff", "manual"), actions=("in", "out"), may_be_uploaded=True):
    position = draw(POSITIONS) or (None, None)
    made_at = draw(st.none() | SECONDS.map(lambda d: NOW + d)) if may_be_uploaded else None
    return ScanFacts(door=draw(st.sampled_from(doors)), action=draw(st.sampled_from(actions)),
                     lat=position[0], lng=position[1], unidentified=draw(UNIDENTIFIED),
                     made_at=made_at, max_age=None if made_at is None else timedelta(hours=1))


PROPERTY = settings(max_examples=300, deadline=None, database=None)


@PROPERTY
@given(OPEN_NOW, scans(doors=("self",), actions=("in",), may_be_uploaded=False),
       st.builds(RegistrationFacts, st.just("confirmed"), MAYBE_TIME, MAYBE_TIME))
def test_the_fast_path_agrees_with_the_decision_wherever_it_applies(activity, scan, registration):
    """The one statement picks, by the stored state, between the decisions it was
    given: for every confirmed registration that is the decision itself."""
    plain = plain_decisions(activity, replace(scan, unidentified=None), NOW)
    if plain is None:
        return
    if_new, if_checked_in = plain
    picked = if_new if registration.checked_in_at is None else if_checked_in
    assert picked == decide(activity, registration, replace(scan, unidentified=None), NOW)


@PROPERTY
@given(OPEN_NOW, POSITIONS)
def test_the_fast_path_takes_every_plain_check_in(activity, position):
    """Wherever the decision accepts a live self check-in of a confirmed
    registration, the fast path has a plan (it never sends it the long way)."""
    scan = live(lat=position and position[0], lng=position and position[1])
    if decide(activity, REGISTERED, scan, NOW).outcome == ACCEPTED:
        assert plain_decisions(activity, scan, NOW) is not None


@PROPERTY
@given(ACTIVITIES, scans(actions=("in",), may_be_uploaded=False), st.sampled_from(["confirmed", "cancelled"]),
       SECONDS, SECONDS, MAYBE_TIME, MAYBE_TIME)
def test_a_live_check_in_looks_only_at_whether_a_check_in_is_in_place(activity, scan, status, one, other,
                                                                       out_one, out_other):
    """What lets the fast path stand `now` for whatever check-in time is stored."""
    first = decide(activity, RegistrationFacts(status, NOW + one, out_one), scan, NOW)
    assert first == decide(activity, RegistrationFacts(status, NOW + other, out_other), scan, NOW)


@PROPERTY
@given(ACTIVITIES, REGISTRATIONS, scans())
def test_a_scan_decided_again_after_its_write_is_a_repeat(activity, registration, scan):
    """Duplicates change nothing: once an accepted scan's time is written (and a
    walk-in's registration confirmed), the same scan is a repeat."""
    decided = decide(activity, registration, scan, NOW)
    assert isinstance(decided, Decision)
    if decided.outcome == REFUSED:
        assert decided.reason is not None and not decided.is_walk_in
        return
    assert decided.reason is None
    written = replace(registration or RegistrationFacts("confirmed", None, None), status="confirmed")
    if decided.outcome == ACCEPTED:
        written = replace(written, **{"checked_in_at" if scan.action == "in" else "checked_out_at": decided.at})
    again = decide(activity, written, scan, NOW)
    assert (again.outcome, again.is_walk_in) == (REPEAT, False)
