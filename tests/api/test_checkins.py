"""Contract: the Check-in (QR) section of API.md, and the check-in log."""
import base64
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from activities.models import CheckinLog
from core.db import db
from tests.activity_support import checkin, code_of, frozen, make_activity, register  # noqa: F401
from tests.support import API, assert_error


@pytest.fixture
def site(client, actors, frozen):
    """A published activity starting in 10 minutes, a worker, a registered resident."""
    tree = actors.tree()
    staff = actors.staff(tree["room_a"], "worker")
    activity = make_activity(client, staff, tree["room_a"], frozen.current)
    resident = actors.resident()
    assert register(client, resident, activity["id"]).status_code == 201
    return {"tree": tree, "staff": staff, "activity": activity, "resident": resident}


def log_rows(app, activity_id=None):
    with app.app_context():
        stmt = sa.select(CheckinLog).order_by(CheckinLog.id)
        if activity_id is not None:
            stmt = stmt.where(CheckinLog.activity_id == activity_id)
        return [(r.user_id, r.action, r.method, r.result, r.reason, r.device)
                for r in db.session.scalars(stmt)]


def test_checkin_code_shape(client, site, frozen):
    response = client.get(f"{API}/activities/{site['activity']['id']}/checkin-code",
                          headers=site["staff"].headers)
    assert response.status_code == 200
    body = response.get_json()
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,32}", body["code"])
    assert set(body) == {"code", "link", "expires_at", "refresh_at"} and body["link"] is None
    assert body["expires_at"] > body["refresh_at"]
    png = client.get(f"{API}/activities/{site['activity']['id']}/checkin-code.png",
                     headers=site["staff"].headers)
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert png.data.startswith(b"\x89PNG")
    for path in ["checkin-code", "checkin-code.png"]:
        url = f"{API}/activities/{site['activity']['id']}/{path}"
        assert_error(client.get(url), 401, "UNAUTHENTICATED")
        assert_error(client.get(url, headers=site["resident"].headers), 403, "FORBIDDEN")
        assert_error(client.get(f"{API}/activities/99999/{path}", headers=site["staff"].headers),
                     404, "NOT_FOUND")


def test_self_checkin_then_out_idempotent_and_logged(app, client, site, frozen):
    code = code_of(client, site["staff"], site["activity"]["id"])
    resident = site["resident"]
    first = checkin(client, resident, code, device_id="phone-1",
                    client_time=frozen.current.isoformat())
    assert first.status_code == 200
    body = first.get_json()
    assert body["first"] is True and body["status"] == "checked_in"
    assert body["activity_id"] == site["activity"]["id"] and body["checked_out_at"] is None
    again = checkin(client, resident, code).get_json()
    assert again["first"] is False and again["checked_in_at"] == body["checked_in_at"]
    frozen.advance(seconds=20)
    out = checkin(client, resident, code, action="out").get_json()
    assert out["first"] is True and out["status"] == "checked_out"
    out_again = checkin(client, resident, code, action="out").get_json()
    assert out_again["first"] is False and out_again["checked_out_at"] == out["checked_out_at"]
    # A check-in after check-out changes nothing either.
    after_out = checkin(client, resident, code).get_json()
    assert after_out.pop("scan_id") != out_again.pop("scan_id") and after_out == out_again
    rows = log_rows(app)
    assert [r[3] for r in rows] == ["accepted", "repeat", "accepted", "repeat", "repeat"]
    assert rows[0][5] == "phone-1" and rows[0][2] == "self"
    registrations = client.get(f"{API}/activities/{site['activity']['id']}/registrations",
                               headers=site["staff"].headers).get_json()["items"]
    assert registrations[0]["checked_in_at"] == body["checked_in_at"]
    assert registrations[0]["checked_out_at"] == out["checked_out_at"]


def test_a_phone_whose_clock_is_wrong_still_checks_in(app, client, site, frozen):
    """The device's time is only logged: a clock reset to 1970 is dropped, not refused."""
    code = code_of(client, site["staff"], site["activity"]["id"])
    response = checkin(client, site["resident"], code, client_time="1970-01-01T08:00:00+08:00")
    assert response.status_code == 200 and response.get_json()["first"] is True
    with app.app_context():
        assert db.session.scalar(sa.select(CheckinLog.client_at)) is None


def _tamper(code: str) -> str:
    raw = bytearray(base64.urlsafe_b64decode(code + "=" * (-len(code) % 4)))
    raw[-1] ^= 0x40
    return base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")


def test_bad_codes_are_refused_and_logged(app, client, actors, site, frozen):
    activity_id = site["activity"]["id"]
    resident = site["resident"]
    code = code_of(client, site["staff"], activity_id)
    other = make_activity(client, site["staff"], site["tree"]["room_a"], frozen.current)
    other_code = code_of(client, site["staff"], other["id"])
    assert_error(checkin(client, resident, "not-a-code!"), 400, "CODE_INVALID")
    assert_error(checkin(client, resident, "A" * 28), 400, "CODE_INVALID")
    assert_error(checkin(client, resident, _tamper(code)), 400, "CODE_INVALID")
    assert_error(checkin(client, resident, other_code, activity_id=activity_id), 400, "CODE_INVALID")
    pass_code = client.get(f"{API}/me/pass", headers=resident.headers).get_json()["code"]
    assert_error(checkin(client, resident, pass_code), 400, "CODE_INVALID")
    frozen.advance(seconds=60)  # two periods: the code shown before is too old
    assert_error(checkin(client, resident, code), 410, "CODE_EXPIRED")
    reasons = [r[4] for r in log_rows(app)]
    assert reasons == ["CODE_INVALID"] * 5 + ["CODE_EXPIRED"]
    assert {r[0] for r in log_rows(app)} == {resident.id}
    refused = client.get(f"{API}/activities/{activity_id}/attendance", headers=site["staff"].headers)
    # Refusals whose activity is known count for it (the tampered and the expired code).
    assert refused.get_json()["refused"] == {"CODE_INVALID": 1, "CODE_EXPIRED": 1}


def test_previous_code_still_accepted_for_one_period(client, site, frozen):
    code = code_of(client, site["staff"], site["activity"]["id"])
    frozen.advance(seconds=35)
    assert code_of(client, site["staff"], site["activity"]["id"]) != code
    assert checkin(client, site["resident"], code).status_code == 200


def test_window_not_registered_and_not_checked_in(app, client, actors, site, frozen):
    staff, tree = site["staff"], site["tree"]
    later = make_activity(client, staff, tree["room_a"], frozen.current + timedelta(minutes=45))
    register(client, site["resident"], later["id"])
    assert_error(checkin(client, site["resident"], code_of(client, staff, later["id"])),
                 409, "CHECKIN_NOT_OPEN")
    over = make_activity(client, staff, tree["room_a"], frozen.current - timedelta(minutes=101))
    assert_error(checkin(client, site["resident"], code_of(client, staff, over["id"])),
                 409, "CHECKIN_NOT_OPEN")
    # Configurable per activity: closes 60 minutes after the end.
    longer = make_activity(client, staff, tree["room_a"], frozen.current - timedelta(minutes=101),
                           checkin_closes_after_min=60)
    assert_error(checkin(client, site["resident"], code_of(client, staff, longer["id"])),
                 403, "NOT_REGISTERED")
    cancelled = make_activity(client, staff, tree["room_a"], frozen.current)
    client.post(f"{API}/activities/{cancelled['id']}/cancel", headers=staff.headers)
    assert_error(checkin(client, site["resident"], code_of(client, staff, cancelled["id"])),
                 409, "CHECKIN_NOT_OPEN")
    code = code_of(client, staff, site["activity"]["id"])
    stranger = actors.resident()
    assert_error(checkin(client, stranger, code), 403, "NOT_REGISTERED")
    assert_error(checkin(client, site["resident"], code, action="out"), 409, "NOT_CHECKED_IN")
    # A waitlisted person is not registered either.
    full = make_activity(client, staff, tree["room_a"], frozen.current, capacity=0)
    assert_error(register(client, stranger, full["id"]), 409, "REGISTRATION_CLOSED")
    assert {r[4] for r in log_rows(app)} == {"CHECKIN_NOT_OPEN", "NOT_REGISTERED", "NOT_CHECKED_IN"}


def test_waitlisted_is_not_registered_and_walk_in_creates_a_participant(client, actors, site, frozen):
    staff, tree = site["staff"], site["tree"]
    small = make_activity(client, staff, tree["room_a"], frozen.current, capacity=1)
    register(client, actors.resident(), small["id"])
    waiting = actors.resident()
    assert register(client, waiting, small["id"]).get_json()["status"] == "waitlisted"
    assert_error(checkin(client, waiting, code_of(client, staff, small["id"])), 403, "NOT_REGISTERED")
    open_door = make_activity(client, staff, tree["room_a"], frozen.current, allow_walk_in=True)
    walker = actors.resident()
    code = code_of(client, staff, open_door["id"])
    assert_error(checkin(client, walker, code, action="out"), 403, "NOT_REGISTERED")
    walked = checkin(client, walker, code)
    assert walked.status_code == 200 and walked.get_json()["first"] is True
    listed = client.get(f"{API}/activities/{open_door['id']}/registrations", headers=staff.headers)
    [registration] = listed.get_json()["items"]
    assert registration == {**registration, "user_id": walker.id, "role": "participant",
                            "status": "confirmed", "method": "walk_in"}
    log = client.get(f"{API}/activities/{open_door['id']}/checkins", headers=staff.headers).get_json()
    assert [row["method"] for row in log["items"]] == ["walk_in", "self"]


def test_geofence_for_self_checkin_only(client, actors, site, frozen):
    staff, tree = site["staff"], site["tree"]
    fenced = make_activity(client, staff, tree["room_a"], frozen.current,
                           geofence={"lat": 30.6500, "lng": 114.3000, "radius_m": 150})
    resident = actors.resident()
    register(client, resident, fenced["id"])
    code = code_of(client, staff, fenced["id"])
    assert_error(checkin(client, resident, code), 403, "OUT_OF_AREA")
    assert_error(checkin(client, resident, code, lat=30.6600, lng=114.3000), 403, "OUT_OF_AREA")  # ~1.1 km
    assert_error(checkin(client, resident, code, lat="30.65", lng=114.3), 422, "VALIDATION_ERROR")
    assert_error(checkin(client, resident, code, lat=95, lng=114.3), 422, "VALIDATION_ERROR")
    inside = checkin(client, resident, code, lat=30.6505, lng=114.3005)  # ~70 m
    assert inside.status_code == 200 and inside.get_json()["first"] is True
    # A staff scan of a pass ignores the geofence.
    other = actors.resident()
    register(client, other, fenced["id"])
    pass_code = client.get(f"{API}/me/pass", headers=other.headers).get_json()["code"]
    scanned = client.post(f"{API}/activities/{fenced['id']}/scan", json={"code": pass_code, "action": "in"},
                          headers=staff.headers)
    assert scanned.status_code == 200 and scanned.get_json()["first"] is True


def test_checkins_validation_and_auth(client, site):
    assert_error(client.post(f"{API}/checkins", json={"code": "x"}), 401, "UNAUTHENTICATED")
    resident = site["resident"]
    for body in [{}, {"code": 5}, {"code": "abc", "action": "sideways"}, {"code": "abc", "client_time": "x"},
                 {"code": "abc", "extra": 1}]:
        assert_error(client.post(f"{API}/checkins", json=body, headers=resident.headers),
                     422, "VALIDATION_ERROR")
    assert_error(client.post(f"{API}/checkins", data="[]", headers={**resident.headers,
                                                                    "Content-Type": "application/json"}),
                 400, "BAD_REQUEST")


def test_staff_scan_of_a_pass(app, client, actors, site, frozen):
    activity_id, staff, resident = site["activity"]["id"], site["staff"], site["resident"]
    issued = client.get(f"{API}/me/pass", headers=resident.headers)
    assert issued.status_code == 200 and set(issued.get_json()) == {"code", "expires_at"}
    pass_code = issued.get_json()["code"]
    url = f"{API}/activities/{activity_id}/scan"
    scanned = client.post(url, json={"code": pass_code, "action": "in"}, headers=staff.headers)
    assert scanned.status_code == 200
    assert scanned.get_json() == {**scanned.get_json(), "first": True, "status": "checked_in"}
    assert client.post(url, json={"code": pass_code, "action": "in"}, headers=staff.headers) \
        .get_json()["first"] is False
    out = client.post(url, json={"code": pass_code, "action": "out"}, headers=staff.headers)
    assert out.get_json()["status"] == "checked_out"
    # An activity code is not a pass; a rotated pass secret revokes old passes.
    assert_error(client.post(url, json={"code": code_of(client, staff, activity_id), "action": "in"},
                             headers=staff.headers), 400, "CODE_INVALID")
    rotated = client.post(f"{API}/me/pass/rotate", headers=resident.headers).get_json()["code"]
    assert rotated != pass_code
    assert_error(client.post(url, json={"code": pass_code, "action": "in"}, headers=staff.headers),
                 400, "CODE_INVALID")
    frozen.advance(seconds=60)
    assert_error(client.post(url, json={"code": rotated, "action": "in"}, headers=staff.headers),
                 410, "CODE_EXPIRED")
    assert_error(client.post(url, json={"code": rotated, "action": "in"}), 401, "UNAUTHENTICATED")
    assert_error(client.post(url, json={"code": rotated, "action": "in"}, headers=resident.headers),
                 403, "FORBIDDEN")
    assert_error(client.post(f"{API}/activities/99999/scan", json={"code": rotated},
                             headers=staff.headers), 404, "NOT_FOUND")
    assert_error(client.post(url, json={"action": "in"}, headers=staff.headers), 422, "VALIDATION_ERROR")
    methods = [(r[2], r[3], r[4]) for r in log_rows(app, activity_id)]
    assert methods[:3] == [("staff", "accepted", None), ("staff", "repeat", None), ("staff", "accepted", None)]
    assert [m[2] for m in methods[3:]] == ["CODE_INVALID", "CODE_INVALID", "CODE_EXPIRED"]


def test_manual_checkin_by_registration(client, actors, site, frozen):
    activity_id, staff = site["activity"]["id"], site["staff"]
    [registration] = client.get(f"{API}/activities/{activity_id}/registrations",
                                headers=staff.headers).get_json()["items"]
    url = f"{API}/activities/{activity_id}/registrations/{registration['id']}/checkin"
    assert_error(client.post(url, json={"action": "out"}, headers=staff.headers), 409, "NOT_CHECKED_IN")
    done = client.post(url, json={"action": "in"}, headers=staff.headers)
    assert done.status_code == 200 and done.get_json()["first"] is True
    assert client.post(url, json={}, headers=staff.headers).get_json()["first"] is False
    assert_error(client.post(url, json={"action": "in"}, headers=site["resident"].headers), 403, "FORBIDDEN")
    assert_error(client.post(f"{API}/activities/{activity_id}/registrations/99999/checkin", json={},
                             headers=staff.headers), 404, "NOT_FOUND")
    other = make_activity(client, staff, site["tree"]["room_a"], frozen.current)
    assert_error(client.post(f"{API}/activities/{other['id']}/registrations/{registration['id']}/checkin",
                             json={}, headers=staff.headers), 404, "NOT_FOUND")
    assert_error(client.post(url, json={"action": "up"}, headers=staff.headers), 422, "VALIDATION_ERROR")
    log = client.get(f"{API}/activities/{activity_id}/checkins", headers=staff.headers).get_json()["items"]
    assert [row["method"] for row in log] == ["manual"] * 3


def test_annul_is_a_new_row_and_recomputes(app, client, site, frozen):
    activity_id, staff, resident = site["activity"]["id"], site["staff"], site["resident"]
    code = code_of(client, staff, activity_id)
    scan_in = checkin(client, resident, code).get_json()
    frozen.advance(seconds=5)
    scan_out = checkin(client, resident, code, action="out").get_json()
    annul_url = f"{API}/activities/{activity_id}/checkins/{scan_out['scan_id']}/annul"
    annulled = client.post(annul_url, headers=staff.headers)
    assert annulled.status_code == 200
    assert annulled.get_json()["checked_out_at"] is None
    assert annulled.get_json()["checked_in_at"] == scan_in["checked_in_at"]
    assert_error(client.post(annul_url, headers=staff.headers), 409, "CONFLICT")
    frozen.advance(seconds=5)
    again = checkin(client, resident, code, action="out").get_json()
    assert again["first"] is True and again["checked_out_at"] > scan_out["checked_out_at"]
    annul_in = client.post(f"{API}/activities/{activity_id}/checkins/{scan_in['scan_id']}/annul",
                           headers=staff.headers).get_json()
    assert annul_in["checked_in_at"] is None and annul_in["checked_out_at"] is None
    repeat_row = checkin(client, resident, code).get_json()  # a fresh check-in after the annulment
    assert repeat_row["first"] is True
    rows = log_rows(app, activity_id)
    assert [r[1] for r in rows] == ["in", "out", "annul", "out", "annul", "in"]
    assert_error(client.post(f"{API}/activities/{activity_id}/checkins/{scan_in['scan_id']}/annul",
                             headers=resident.headers), 403, "FORBIDDEN")
    assert_error(client.post(f"{API}/activities/{activity_id}/checkins/99999/annul", headers=staff.headers),
                 404, "NOT_FOUND")


def test_attendance_counts(client, actors, site, frozen):
    activity_id, staff = site["activity"]["id"], site["staff"]
    code = code_of(client, staff, activity_id)
    others = [actors.resident() for _ in range(2)]
    for person in others:
        register(client, person, activity_id)
    checkin(client, site["resident"], code)
    checkin(client, others[0], code)
    checkin(client, others[0], code, action="out")
    checkin(client, others[1], code, action="out")
    checkin(client, actors.resident(), code)
    response = client.get(f"{API}/activities/{activity_id}/attendance", headers=staff.headers)
    assert response.status_code == 200
    assert response.get_json() == {
        "registered": {"participants": 3, "volunteers": 0, "waitlisted": 0},
        "checked_in": 2, "checked_out": 1, "inside_now": 1,
        "refused": {"NOT_CHECKED_IN": 1, "NOT_REGISTERED": 1},
    }
    assert_error(client.get(f"{API}/activities/{activity_id}/attendance", headers=site["resident"].headers),
                 403, "FORBIDDEN")


def test_checkins_are_rate_limited_per_user(app, client, site, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_CHECKIN", "3 per minute")
    resident = site["resident"]
    for _ in range(3):
        assert checkin(client, resident, "garbage").status_code == 400
    assert_error(checkin(client, resident, "garbage"), 429, "RATE_LIMITED")
    # Another user has a budget of their own.
    assert checkin(client, site["staff"], "garbage").status_code == 400


def test_a_deactivated_account_is_unauthenticated_before_any_code_check(app, client, site):
    from people.models import User

    code = code_of(client, site["staff"], site["activity"]["id"])
    with app.app_context():
        db.session.get(User, site["resident"].id).is_active = False
        db.session.commit()
    assert_error(checkin(client, site["resident"], code), 401, "UNAUTHENTICATED")
    assert_error(checkin(client, site["resident"], "garbage"), 401, "UNAUTHENTICATED")
    assert_error(client.post(f"{API}/checkins", json={"code": code},
                             headers={"Authorization": "Bearer not.a.jwt"}), 401, "UNAUTHENTICATED")


def test_rate_limit_answer_says_when_to_retry(app, client, site, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_CHECKIN", "1 per minute")
    assert checkin(client, site["resident"], "garbage").status_code == 400
    refused = client.post(f"{API}/checkins", json={"code": "garbage"}, headers=site["resident"].headers)
    assert_error(refused, 429, "RATE_LIMITED")
    assert 1 <= int(refused.headers["Retry-After"]) <= 61


def test_checkin_goes_through_when_the_rate_limit_storage_is_down(app, client, site, monkeypatch):
    from api.limits import rate_limits

    class Unreachable:
        def hit(self, *args, **kwargs):
            raise ConnectionError("redis is down")

    monkeypatch.setattr(rate_limits(app), "shared", Unreachable())
    code = code_of(client, site["staff"], site["activity"]["id"])
    response = checkin(client, site["resident"], code)
    assert response.status_code == 200 and response.get_json()["first"] is True


def test_rotating_the_checkin_code_revokes_every_earlier_code(app, client, actors, site, frozen):
    activity_id, staff = site["activity"]["id"], site["staff"]
    early = actors.resident()
    register(client, early, activity_id)
    previous = code_of(client, staff, activity_id)
    frozen.advance(seconds=30)
    current = code_of(client, staff, activity_id)
    assert checkin(client, early, current).status_code == 200  # both codes work until the rotation
    url = f"{API}/activities/{activity_id}/checkin-code/rotate"
    rotated = client.post(url, headers=staff.headers)
    assert rotated.status_code == 200
    body = rotated.get_json()
    assert set(body) == {"code", "link", "expires_at", "refresh_at"} and body["code"] not in (previous, current)
    for revoked in (previous, current):
        assert_error(checkin(client, site["resident"], revoked), 400, "CODE_INVALID")
    assert code_of(client, staff, activity_id) == body["code"]
    accepted = checkin(client, site["resident"], body["code"])
    assert accepted.status_code == 200 and accepted.get_json()["first"] is True
    assert [r[3:5] for r in log_rows(app, activity_id)] == [
        ("accepted", None), ("refused", "CODE_INVALID"), ("refused", "CODE_INVALID"), ("accepted", None)]
    assert_error(client.post(url), 401, "UNAUTHENTICATED")
    assert_error(client.post(url, headers=site["resident"].headers), 403, "FORBIDDEN")
    assert_error(client.post(f"{API}/activities/99999/checkin-code/rotate", headers=staff.headers),
                 404, "NOT_FOUND")


def test_staff_scans_are_rate_limited_per_worker(app, client, actors, site, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_STAFF_SCAN", "2 per minute")
    activity_id, staff = site["activity"]["id"], site["staff"]
    scan_url = f"{API}/activities/{activity_id}/scan"
    assert client.post(scan_url, json={"code": "garbage", "action": "in"}, headers=staff.headers).status_code == 400
    manual = client.post(f"{API}/activities/{activity_id}/registrations/99999/checkin", json={"action": "in"},
                         headers=staff.headers)
    assert manual.status_code == 404
    assert_error(client.post(scan_url, json={"code": "garbage", "action": "in"}, headers=staff.headers),
                 429, "RATE_LIMITED")
    # Another worker, and residents' own scans, have budgets of their own.
    other = actors.staff(site["tree"]["room_a"], "worker")
    assert client.post(scan_url, json={"code": "garbage", "action": "in"}, headers=other.headers).status_code == 400
    assert checkin(client, site["resident"], code_of(client, staff, activity_id)).status_code == 200
