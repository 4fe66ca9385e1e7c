"""Contract: the Redemption part of "Benefits and redemption" in API.md."""
import re
from datetime import datetime, timedelta, timezone

import pytest

from points.verify import verify
from tests.activity_support import frozen  # noqa: F401  (fixture)
from tests.benefit_support import give_points, make_benefit, points_of, redeem
from tests.support import API, assert_error, change_settings

CROCKFORD_13 = re.compile(r"^[0-9ABCDEFGHJKMNPQRSTVWXYZ]{13}$")


@pytest.fixture
def room(actors, frozen):  # noqa: F811  every test here runs on the frozen clock
    tree = actors.tree()
    return {"tree": tree, "id": tree["room_a"], "worker": actors.staff(tree["room_a"], "worker")}


@pytest.fixture
def volunteer(app, actors, room):
    person = actors.resident(volunteer=True)
    give_points(app, person.id, room["id"], 100)
    return person


def fulfil(client, staff, code):
    return client.post(f"{API}/redemptions/fulfil", json={"code": code}, headers=staff.headers)


def benefit_of(client, benefit_id):
    return client.get(f"{API}/benefits/{benefit_id}").get_json()


def assert_books_balance(app):
    with app.app_context():
        problems, _ = verify()
    assert problems == []


# -- reserve ----------------------------------------------------------------------

def test_redeem_takes_stock_and_holds_points(client, app, room, volunteer, frozen):
    benefit = make_benefit(client, room["worker"], room["id"], cost=30, stock=2)
    response = redeem(client, volunteer, benefit["id"])
    assert response.status_code == 201
    got = response.get_json()
    assert {"id", "benefit_id", "code", "status", "cost", "expires_at"} <= set(got)
    assert (got["benefit_id"], got["status"], got["cost"]) == (benefit["id"], "reserved", 30)
    assert CROCKFORD_13.match(got["code"])
    expires = datetime.fromisoformat(got["expires_at"])
    assert expires == frozen.current + timedelta(days=7)
    assert benefit_of(client, benefit["id"])["stock_left"] == 1
    assert points_of(app, volunteer.id) == {"balance": 100, "held": 30, "available": 70}
    assert_books_balance(app)


def test_pickup_days_are_configurable(client, app, room, volunteer, monkeypatch, frozen):
    change_settings(app, monkeypatch, redemption_pickup_days=2)
    benefit = make_benefit(client, room["worker"], room["id"])
    got = redeem(client, volunteer, benefit["id"]).get_json()
    assert datetime.fromisoformat(got["expires_at"]) == frozen.current + timedelta(days=2)


def test_redeem_needs_a_user_and_a_benefit(client, volunteer):
    assert_error(client.post(f"{API}/benefits/1/redemptions"), 401, "UNAUTHENTICATED")
    assert_error(redeem(client, volunteer, 999999), 404, "NOT_FOUND")


def test_errors_come_in_order_stock_limit_points(client, app, actors, room):
    poor = actors.resident()
    give_points(app, poor.id, room["id"], 15)
    benefit = make_benefit(client, room["worker"], room["id"], cost=10, stock=2, per_user_limit=1)
    assert redeem(client, poor, benefit["id"]).status_code == 201  # 5 points left, limit used
    rich = actors.resident()
    give_points(app, rich.id, room["id"], 100)
    assert redeem(client, rich, benefit["id"]).status_code == 201  # stock now 0
    # out of stock, over the limit and short of points: OUT_OF_STOCK first
    assert_error(redeem(client, poor, benefit["id"]), 409, "OUT_OF_STOCK")
    client.post(f"{API}/benefits/{benefit['id']}/restock", json={"quantity": 1}, headers=room["worker"].headers)
    # over the limit and short of points: LIMIT_REACHED
    error = assert_error(redeem(client, poor, benefit["id"]), 409, "LIMIT_REACHED")
    assert error["details"]["limit"] == 1
    # only short of points: INSUFFICIENT_POINTS, and nothing was taken
    other = make_benefit(client, room["worker"], room["id"], cost=10, stock=1, per_user_limit=1)
    assert_error(redeem(client, poor, other["id"]), 409, "INSUFFICIENT_POINTS")
    assert benefit_of(client, other["id"])["stock_left"] == 1
    assert benefit_of(client, benefit["id"])["stock_left"] == 1
    assert points_of(app, poor.id) == {"balance": 15, "held": 10, "available": 5}
    assert_books_balance(app)


def test_a_refused_reservation_gives_the_stock_back(client, app, actors, room):
    benefit = make_benefit(client, room["worker"], room["id"], cost=10, stock=1)
    broke = actors.resident()
    assert_error(redeem(client, broke, benefit["id"]), 409, "INSUFFICIENT_POINTS")
    assert benefit_of(client, benefit["id"])["stock_left"] == 1


def test_unlimited_stock_never_runs_out(client, app, room, volunteer):
    benefit = make_benefit(client, room["worker"], room["id"], cost=10, stock=None)
    for _ in range(3):
        assert redeem(client, volunteer, benefit["id"]).status_code == 201
    assert benefit_of(client, benefit["id"])["stock_left"] is None


def test_cancelled_and_expired_reservations_free_the_limit(client, app, room, volunteer, frozen):
    benefit = make_benefit(client, room["worker"], room["id"], cost=10, per_user_limit=1)
    first = redeem(client, volunteer, benefit["id"]).get_json()
    assert_error(redeem(client, volunteer, benefit["id"]), 409, "LIMIT_REACHED")
    client.post(f"{API}/redemptions/{first['id']}/cancel", headers=volunteer.headers)
    assert redeem(client, volunteer, benefit["id"]).status_code == 201
    frozen.advance(days=8)
    assert redeem(client, volunteer, benefit["id"]).status_code == 201


def test_monthly_limit_counts_calendar_months_in_the_local_zone(client, app, room, volunteer, frozen):
    benefit = make_benefit(client, room["worker"], room["id"], cost=10, per_user_limit=1,
                           limit_period="month")
    # 31 Jan 23:30 and 1 Feb 00:30 in Shanghai are both still January in UTC.
    for local in ("2027-01-31T23:30:00+08:00", "2027-02-01T00:30:00+08:00"):
        frozen.current = datetime.fromisoformat(local).astimezone(timezone.utc)
        assert redeem(client, volunteer, benefit["id"]).status_code == 201
    assert_error(redeem(client, volunteer, benefit["id"]), 409, "LIMIT_REACHED")


# -- idempotency -------------------------------------------------------------------

def test_the_same_idempotency_key_returns_the_same_redemption(client, app, actors, room, volunteer):
    benefit = make_benefit(client, room["worker"], room["id"], cost=10, stock=5)
    first = redeem(client, volunteer, benefit["id"], key="tap-1")
    again = redeem(client, volunteer, benefit["id"], key="tap-1")
    assert first.status_code == 201 and again.status_code == 200
    assert again.get_json() == first.get_json()
    assert benefit_of(client, benefit["id"])["stock_left"] == 4
    assert points_of(app, volunteer.id)["held"] == 10
    # keys are per person: someone else's "tap-1" is their own
    other = actors.resident()
    give_points(app, other.id, room["id"], 50)
    assert redeem(client, other, benefit["id"], key="tap-1").get_json()["id"] != first.get_json()["id"]
    # the same key on another benefit
    second = make_benefit(client, room["worker"], room["id"], cost=10)
    assert_error(redeem(client, volunteer, second["id"], key="tap-1"), 409, "IDEMPOTENCY_CONFLICT")
    # a replay is still a replay after the benefit runs out
    client.post(f"{API}/benefits/{benefit['id']}/withdraw", headers=room["worker"].headers)
    assert redeem(client, volunteer, benefit["id"], key="tap-1").status_code == 200


def test_an_over_long_idempotency_key_is_a_validation_error(client, room, volunteer):
    benefit = make_benefit(client, room["worker"], room["id"])
    assert_error(redeem(client, volunteer, benefit["id"], key="k" * 201), 422, "VALIDATION_ERROR")


# -- lists and the QR -------------------------------------------------------------------

def test_my_redemptions_newest_first(client, app, actors, room, volunteer):
    benefit = make_benefit(client, room["worker"], room["id"], cost=10)
    ids = [redeem(client, volunteer, benefit["id"]).get_json()["id"] for _ in range(2)]
    other = actors.resident()
    give_points(app, other.id, room["id"], 50)
    redeem(client, other, benefit["id"])
    listed = client.get(f"{API}/me/redemptions", headers=volunteer.headers).get_json()
    assert [r["id"] for r in listed["items"]] == ids[::-1]
    assert listed["items"][0]["benefit_name"] == "爱心理发券" and listed["next"] is None
    client.post(f"{API}/redemptions/{ids[0]}/cancel", headers=volunteer.headers)
    cancelled = client.get(f"{API}/me/redemptions?status=cancelled", headers=volunteer.headers).get_json()
    assert [r["id"] for r in cancelled["items"]] == [ids[0]]
    assert_error(client.get(f"{API}/me/redemptions"), 401, "UNAUTHENTICATED")
    assert_error(client.get(f"{API}/me/redemptions?status=lost", headers=volunteer.headers),
                 422, "VALIDATION_ERROR")


def test_staff_list_a_benefits_redemptions(client, actors, room, volunteer):
    benefit = make_benefit(client, room["worker"], room["id"])
    made = redeem(client, volunteer, benefit["id"]).get_json()
    url = f"{API}/benefits/{benefit['id']}/redemptions"
    listed = client.get(url, headers=room["worker"].headers).get_json()
    assert [r["id"] for r in listed["items"]] == [made["id"]]
    assert_error(client.get(url, headers=volunteer.headers), 403, "FORBIDDEN")


def test_get_one_redemption_owner_or_staff(client, actors, room, volunteer):
    benefit = make_benefit(client, room["worker"], room["id"])
    made = redeem(client, volunteer, benefit["id"]).get_json()
    url = f"{API}/redemptions/{made['id']}"
    assert client.get(url, headers=volunteer.headers).get_json()["code"] == made["code"]
    assert client.get(url, headers=room["worker"].headers).status_code == 200
    assert_error(client.get(url, headers=actors.resident().headers), 403, "FORBIDDEN")
    assert_error(client.get(f"{API}/redemptions/999999", headers=volunteer.headers), 404, "NOT_FOUND")


def test_the_pickup_code_as_a_qr_for_its_owner(client, actors, room, volunteer):
    benefit = make_benefit(client, room["worker"], room["id"])
    made = redeem(client, volunteer, benefit["id"]).get_json()
    url = f"{API}/redemptions/{made['id']}/code.png"
    response = client.get(url, headers=volunteer.headers)
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.data.startswith(b"\x89PNG")
    assert_error(client.get(url), 401, "UNAUTHENTICATED")
    assert_error(client.get(url, headers=actors.resident().headers), 403, "FORBIDDEN")
    assert_error(client.get(f"{API}/redemptions/999999/code.png", headers=volunteer.headers), 404, "NOT_FOUND")
    client.post(f"{API}/redemptions/{made['id']}/cancel", headers=volunteer.headers)
    assert_error(client.get(url, headers=volunteer.headers), 409, "REDEMPTION_CANCELLED")


# -- fulfil -----------------------------------------------------------------------------

def test_fulfil_posts_the_hold_to_the_rooms_redemption_account(client, app, room, volunteer):
    benefit = make_benefit(client, room["worker"], room["id"], cost=30)
    made = redeem(client, volunteer, benefit["id"]).get_json()
    # typed by hand: lower case, a dash, O for 0 and I/L for 1 all read the same
    typed = made["code"].lower()[:5] + "-" + made["code"].lower()[5:]
    typed = typed.replace("0", "o").replace("1", "l")
    response = fulfil(client, room["worker"], typed)
    assert response.status_code == 200
    got = response.get_json()
    assert (got["id"], got["status"]) == (made["id"], "fulfilled") and got["fulfilled_at"]
    assert points_of(app, volunteer.id) == {"balance": 70, "held": 0, "available": 70}
    assert_error(fulfil(client, room["worker"], made["code"]), 409, "ALREADY_FULFILLED")
    assert benefit_of(client, benefit["id"])["stock_left"] == 4
    assert_books_balance(app)


def test_fulfil_errors(client, app, actors, room, volunteer):
    benefit = make_benefit(client, room["worker"], room["id"])
    made = redeem(client, volunteer, benefit["id"]).get_json()
    assert_error(client.post(f"{API}/redemptions/fulfil", json={"code": made["code"]}), 401, "UNAUTHENTICATED")
    assert_error(fulfil(client, room["worker"], "ZZZZZZZZZZZZZ"), 404, "NOT_FOUND")
    other_room = actors.staff(room["tree"]["room_b"], "admin")
    assert_error(fulfil(client, other_room, made["code"]), 403, "FORBIDDEN")
    assert_error(fulfil(client, volunteer, made["code"]), 403, "FORBIDDEN")
    for body in ({}, {"code": ""}, {"code": 12}, {"code": "x" * 33}):
        assert_error(client.post(f"{API}/redemptions/fulfil", json=body, headers=room["worker"].headers),
                     422, "VALIDATION_ERROR")
    # a station's staff may fulfil for the rooms below it
    station_worker = actors.staff(room["tree"]["station"], "worker")
    assert fulfil(client, station_worker, made["code"]).status_code == 200


def test_fulfil_of_a_cancelled_or_expired_redemption(client, app, room, volunteer, frozen):
    benefit = make_benefit(client, room["worker"], room["id"], cost=10)
    cancelled = redeem(client, volunteer, benefit["id"]).get_json()
    client.post(f"{API}/redemptions/{cancelled['id']}/cancel", headers=volunteer.headers)
    assert_error(fulfil(client, room["worker"], cancelled["code"]), 409, "REDEMPTION_CANCELLED")
    overdue = redeem(client, volunteer, benefit["id"]).get_json()
    frozen.advance(days=7, seconds=1)
    assert_error(fulfil(client, room["worker"], overdue["code"]), 409, "REDEMPTION_EXPIRED")
    # the expiry stuck even though the request was refused
    assert benefit_of(client, benefit["id"])["stock_left"] == 5
    assert points_of(app, volunteer.id) == {"balance": 100, "held": 0, "available": 100}
    assert_error(fulfil(client, room["worker"], overdue["code"]), 409, "REDEMPTION_EXPIRED")
    assert_books_balance(app)


# -- cancel -------------------------------------------------------------------------------

def test_owner_cancels_stock_and_points_come_back_once(client, app, actors, room, volunteer):
    benefit = make_benefit(client, room["worker"], room["id"], cost=25, stock=1)
    made = redeem(client, volunteer, benefit["id"]).get_json()
    url = f"{API}/redemptions/{made['id']}/cancel"
    assert_error(client.post(url), 401, "UNAUTHENTICATED")
    assert_error(client.post(url, headers=actors.resident().headers), 403, "FORBIDDEN")
    assert_error(client.post(url, headers=actors.staff(room["tree"]["room_b"]).headers), 403, "FORBIDDEN")
    response = client.post(url, headers=volunteer.headers)
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    again = client.post(url, headers=volunteer.headers)
    assert again.status_code == 200 and again.get_json()["status"] == "cancelled"
    assert benefit_of(client, benefit["id"])["stock_left"] == 1
    assert points_of(app, volunteer.id) == {"balance": 100, "held": 0, "available": 100}
    assert_error(client.post(f"{API}/redemptions/999999/cancel", headers=volunteer.headers), 404, "NOT_FOUND")
    assert_books_balance(app)


def test_staff_cancel_but_not_after_fulfilment(client, app, room, volunteer, frozen):
    benefit = make_benefit(client, room["worker"], room["id"])
    made = redeem(client, volunteer, benefit["id"]).get_json()
    assert client.post(f"{API}/redemptions/{made['id']}/cancel", headers=room["worker"].headers).status_code == 200
    done = redeem(client, volunteer, benefit["id"]).get_json()
    fulfil(client, room["worker"], done["code"])
    assert_error(client.post(f"{API}/redemptions/{done['id']}/cancel", headers=volunteer.headers),
                 409, "ALREADY_FULFILLED")
    late = redeem(client, volunteer, benefit["id"]).get_json()
    frozen.advance(days=30)
    assert_error(client.post(f"{API}/redemptions/{late['id']}/cancel", headers=volunteer.headers),
                 409, "REDEMPTION_EXPIRED")


# -- expiry -----------------------------------------------------------------------------------

def test_overdue_reservations_expire_when_listed(client, app, room, volunteer, frozen):
    benefit = make_benefit(client, room["worker"], room["id"], cost=10, stock=1)
    made = redeem(client, volunteer, benefit["id"]).get_json()
    frozen.advance(days=7, minutes=1)
    listed = client.get(f"{API}/me/redemptions", headers=volunteer.headers).get_json()
    assert listed["items"][0]["status"] == "expired" and listed["items"][0]["expired_at"]
    assert benefit_of(client, benefit["id"])["stock_left"] == 1
    assert points_of(app, volunteer.id)["held"] == 0
    assert client.get(f"{API}/redemptions/{made['id']}", headers=volunteer.headers).get_json()["status"] == "expired"
    assert_books_balance(app)


def test_the_expire_command_releases_each_overdue_reservation_once(client, app, actors, room, volunteer,
                                                                    frozen):
    benefit = make_benefit(client, room["worker"], room["id"], cost=10, stock=3)
    redeem(client, volunteer, benefit["id"])
    redeem(client, volunteer, benefit["id"])
    runner = app.test_cli_runner()
    assert "0 redemption(s) expired" in runner.invoke(args=["redemptions", "expire"]).output
    frozen.advance(days=8)
    result = runner.invoke(args=["redemptions", "expire"])
    assert result.exit_code == 0 and "2 redemption(s) expired" in result.output
    assert "0 redemption(s) expired" in runner.invoke(args=["redemptions", "expire"]).output
    assert benefit_of(client, benefit["id"])["stock_left"] == 3
    assert points_of(app, volunteer.id) == {"balance": 100, "held": 0, "available": 100}
    assert_books_balance(app)


# -- correction ----------------------------------------------------------------------------------

def test_staff_correct_a_fulfilled_redemption_by_reversal(client, app, actors, room, volunteer):
    benefit = make_benefit(client, room["worker"], room["id"], cost=40)
    made = redeem(client, volunteer, benefit["id"]).get_json()
    url = f"{API}/redemptions/{made['id']}/correct"
    assert_error(client.post(url, json={"reason": "扫错了"}, headers=room["worker"].headers), 409, "NOT_FULFILLED")
    fulfil(client, room["worker"], made["code"])
    assert points_of(app, volunteer.id)["balance"] == 60
    assert_error(client.post(url, json={"reason": "扫错了"}, headers=volunteer.headers), 403, "FORBIDDEN")
    assert_error(client.post(url, json={}, headers=room["worker"].headers), 422, "VALIDATION_ERROR")
    response = client.post(url, json={"reason": "扫错了人"}, headers=room["worker"].headers)
    assert response.status_code == 200
    got = response.get_json()
    assert got["status"] == "fulfilled" and got["correction_reason"] == "扫错了人" and got["corrected_at"]
    assert points_of(app, volunteer.id)["balance"] == 100
    assert_error(client.post(url, json={"reason": "再来"}, headers=room["worker"].headers), 409, "ALREADY_REVERSED")
    assert_error(client.post(f"{API}/redemptions/999999/correct", json={"reason": "x"},
                             headers=room["worker"].headers), 404, "NOT_FOUND")
    assert_books_balance(app)
