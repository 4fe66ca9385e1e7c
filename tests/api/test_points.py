"""Contract: the Points ledger section of API.md, plus the staff reversal."""
import itertools

import pytest
import sqlalchemy as sa

from core import clock
from core.db import db
from points import ledger
from points.models import Account, Transfer
from points.verify import verify
from tests.support import API, assert_error

_keys = itertools.count()


def earn(app, user_id, org_id, amount, memo="社区敬老志愿服务", cause_key=None):
    """Points as settlement would post them: from the org's issuing account."""
    with app.app_context():
        now = clock.now()
        t = ledger.transfer(debit=ledger.issuing_account(org_id, now=now),
                            credit=ledger.person_account(user_id, now=now), amount=amount,
                            kind="earn", memo=memo, idempotency_key=f"test-earn:{next(_keys)}",
                            now=now, cause_key=cause_key)
        db.session.commit()
        return t.id


def hold(app, user_id, amount):
    with app.app_context():
        now = clock.now()
        ledger.hold(account=ledger.person_account(user_id, now=now), amount=amount,
                    idempotency_key=f"test-hold:{next(_keys)}", memo="兑换", now=now)
        db.session.commit()


def adjust(client, person, **body):
    return client.post(f"{API}/points/adjustments", json=body, headers=person.headers if person else {})


def reverse(client, person, transfer_id, **body):
    return client.post(f"{API}/points/transfers/{transfer_id}/reverse", json=body,
                       headers=person.headers if person else {})


@pytest.fixture
def world(app, actors):
    tree = actors.tree()
    return {
        "tree": tree,
        "alice": actors.resident("alice", home_org_id=tree["room_a"], volunteer=True),
        "bob": actors.resident("bob", home_org_id=tree["room_b"]),
        "nomad": actors.resident("nomad"),  # no home org: under the city root
        "room_a_admin": actors.staff(tree["room_a"], "admin"),
        "room_a_worker": actors.staff(tree["room_a"], "worker"),
        "room_b_admin": actors.staff(tree["room_b"], "admin"),
        "station_admin": actors.staff(tree["station"], "admin"),
        "city_admin": actors.staff(tree["city"], "admin"),
    }


# -- GET /me/points ---------------------------------------------------------

def test_my_points_are_zero_before_any_and_reading_creates_no_account(app, client, world):
    response = client.get(f"{API}/me/points", headers=world["alice"].headers)
    assert response.status_code == 200
    assert response.get_json() == {"balance": 0, "held": 0, "available": 0}
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Account)) == 0
    assert_error(client.get(f"{API}/me/points"), 401, "UNAUTHENTICATED")


def test_my_points_show_balance_held_and_available(app, client, world):
    earn(app, world["alice"].id, world["tree"]["room_a"], 50)
    hold(app, world["alice"].id, 20)
    body = client.get(f"{API}/me/points", headers=world["alice"].headers).get_json()
    assert body == {"balance": 50, "held": 20, "available": 30}


# -- GET /me/points/entries -------------------------------------------------

def test_my_entries_newest_first_with_signed_amounts_and_cause(app, client, world):
    alice = world["alice"]
    earn(app, alice.id, world["tree"]["room_a"], 30, memo="重阳节敬老活动", cause_key="settlement:7")
    adjust(client, world["room_a_admin"], user_id=alice.id, amount=-5, reason="重复计分更正",
           idempotency_key="fix-1")
    response = client.get(f"{API}/me/points/entries", headers=alice.headers)
    assert response.status_code == 200
    page = response.get_json()
    assert page["next"] is None
    newest, oldest = page["items"]
    assert set(newest) == {"id", "amount", "balance_after", "kind", "memo", "cause_key",
                           "transfer_id", "created_at"}
    assert (newest["amount"], newest["balance_after"], newest["kind"], newest["memo"]) == \
        (-5, 25, "adjustment", "重复计分更正")
    assert (oldest["amount"], oldest["balance_after"], oldest["kind"], oldest["memo"],
            oldest["cause_key"]) == (30, 30, "earn", "重阳节敬老活动", "settlement:7")
    assert newest["id"] > oldest["id"] and oldest["created_at"].endswith("+08:00")


def test_my_entries_page_by_cursor(app, client, world):
    alice = world["alice"]
    for amount in range(1, 6):
        earn(app, alice.id, world["tree"]["room_a"], amount)
    first = client.get(f"{API}/me/points/entries?limit=2", headers=alice.headers).get_json()
    assert [e["amount"] for e in first["items"]] == [5, 4] and first["next"]
    second = client.get(f"{API}/me/points/entries?limit=2&cursor={first['next']}",
                        headers=alice.headers).get_json()
    third = client.get(f"{API}/me/points/entries?limit=2&cursor={second['next']}",
                       headers=alice.headers).get_json()
    assert [e["amount"] for e in second["items"] + third["items"]] == [3, 2, 1]
    assert third["next"] is None


def test_my_entries_errors(client, world):
    alice = world["alice"]
    empty = client.get(f"{API}/me/points/entries", headers=alice.headers)
    assert empty.status_code == 200 and empty.get_json() == {"items": [], "next": None}
    assert_error(client.get(f"{API}/me/points/entries"), 401, "UNAUTHENTICATED")
    assert_error(client.get(f"{API}/me/points/entries?cursor=nonsense!!", headers=alice.headers),
                 422, "VALIDATION_ERROR")
    for limit in ("0", "101", "x"):
        assert_error(client.get(f"{API}/me/points/entries?limit={limit}", headers=alice.headers),
                     422, "VALIDATION_ERROR")


# -- GET /users/{id}/points -------------------------------------------------

@pytest.mark.parametrize("reader,target,status", [
    ("alice", "alice", 200),             # the user
    ("room_a_worker", "alice", 200),     # staff of the home org
    ("station_admin", "alice", 200),     # staff above it
    ("room_b_admin", "alice", 403),      # staff of a sibling
    ("bob", "alice", 403),               # another resident
    ("city_admin", "nomad", 200),        # no home org: under the city root
    ("station_admin", "nomad", 403),
    ("nomad", "nomad", 200),
])
def test_user_points_scope(app, client, world, reader, target, status):
    earn(app, world[target].id, world["tree"]["room_a"], 12)
    response = client.get(f"{API}/users/{world[target].id}/points", headers=world[reader].headers)
    if status == 200:
        assert response.status_code == 200
        assert response.get_json() == {"balance": 12, "held": 0, "available": 12}
        entries = client.get(f"{API}/users/{world[target].id}/points/entries",
                             headers=world[reader].headers)
        assert [e["amount"] for e in entries.get_json()["items"]] == [12]
    else:
        assert_error(response, 403, "FORBIDDEN")


def test_user_points_unknown_and_unauthenticated(client, world):
    assert_error(client.get(f"{API}/users/987654/points", headers=world["city_admin"].headers),
                 404, "NOT_FOUND")
    # Existence before permission.
    assert_error(client.get(f"{API}/users/987654/points", headers=world["bob"].headers),
                 404, "NOT_FOUND")
    assert_error(client.get(f"{API}/users/{world['alice'].id}/points"), 401, "UNAUTHENTICATED")


# -- POST /points/adjustments -----------------------------------------------

def test_adjustment_credits_once_per_key_and_is_audited(app, client, world):
    alice, admin = world["alice"], world["room_a_admin"]
    body = {"user_id": alice.id, "amount": 40, "reason": "历史纸质记录补录", "idempotency_key": "paper-2026-11"}
    first = adjust(client, admin, **body)
    assert first.status_code == 201
    made = first.get_json()
    assert (made["user_id"], made["amount"], made["kind"], made["reason"], made["memo"],
            made["actor_id"], made["transfer_amount"]) == \
        (alice.id, 40, "adjustment", "历史纸质记录补录", "历史纸质记录补录", admin.id, 40)
    assert made["created_at"].endswith("+08:00")
    again = adjust(client, admin, **body)
    assert again.status_code == 200 and again.get_json() == made
    assert client.get(f"{API}/me/points", headers=alice.headers).get_json()["balance"] == 40
    with app.app_context():
        t = db.session.get(Transfer, made["id"])
        issuing = db.session.get(Account, t.debit_account_id)
        # The room admin's correction weighs on the room's issuing account.
        assert (issuing.owner_key, issuing.balance) == (f"org_issuing:{world['tree']['room_a']}", -40)
        assert (t.actor_id, t.memo) == (admin.id, "历史纸质记录补录")
        assert verify()[0] == []


def test_adjustment_charges_the_nearest_org_the_admin_administers(app, client, world):
    made = adjust(client, world["city_admin"], user_id=world["nomad"].id, amount=7, reason="补录",
                  idempotency_key="k").get_json()
    station = adjust(client, world["station_admin"], user_id=world["alice"].id, amount=3,
                     reason="补录", idempotency_key="k").get_json()
    with app.app_context():
        def owner(transfer_id):
            return db.session.get(Account, db.session.get(Transfer, transfer_id).debit_account_id).owner_key
        assert owner(made["id"]) == f"org_issuing:{world['tree']['city']}"
        assert owner(station["id"]) == f"org_issuing:{world['tree']['station']}"


def test_adjustment_same_key_other_body_conflicts(client, world):
    admin, alice = world["room_a_admin"], world["alice"]
    assert adjust(client, admin, user_id=alice.id, amount=5, reason="a", idempotency_key="k").status_code == 201
    for changed in ({"amount": 6}, {"reason": "b"}, {"amount": -5}):
        body = {"user_id": alice.id, "amount": 5, "reason": "a", "idempotency_key": "k", **changed}
        assert_error(adjust(client, admin, **body), 409, "IDEMPOTENCY_CONFLICT")
    # Keys belong to their admin: another admin's "k" is another adjustment.
    assert adjust(client, world["station_admin"], user_id=alice.id, amount=6, reason="a",
                  idempotency_key="k").status_code == 201


def test_adjustment_debit_is_limited_to_the_available_balance(app, client, world):
    alice, admin = world["alice"], world["room_a_admin"]
    earn(app, alice.id, world["tree"]["room_a"], 30)
    hold(app, alice.id, 10)
    error = assert_error(adjust(client, admin, user_id=alice.id, amount=-21, reason="更正",
                                idempotency_key="d1"), 409, "INSUFFICIENT_POINTS")
    assert error["details"] == {"available": 20, "required": 21}
    assert client.get(f"{API}/me/points", headers=alice.headers).get_json() == \
        {"balance": 30, "held": 10, "available": 20}
    debit = adjust(client, admin, user_id=alice.id, amount=-20, reason="更正", idempotency_key="d2")
    assert debit.status_code == 201 and debit.get_json()["amount"] == -20
    assert client.get(f"{API}/me/points", headers=alice.headers).get_json() == \
        {"balance": 10, "held": 10, "available": 0}
    # No account yet: a debit is refused the same way, and leaves nothing.
    assert_error(adjust(client, world["room_b_admin"], user_id=world["bob"].id, amount=-1, reason="x",
                        idempotency_key="d3"), 409, "INSUFFICIENT_POINTS")
    with app.app_context():
        assert ledger.find_person_account(world["bob"].id) is None


def test_adjustment_permissions(client, world):
    body = {"user_id": world["alice"].id, "amount": 5, "reason": "补录", "idempotency_key": "p"}
    assert_error(adjust(client, None, **body), 401, "UNAUTHENTICATED")
    for who in ("room_a_worker", "room_b_admin", "bob", "alice"):
        assert_error(adjust(client, world[who], **body), 403, "FORBIDDEN")
    assert_error(adjust(client, world["station_admin"], **{**body, "user_id": world["nomad"].id}),
                 403, "FORBIDDEN")
    # Never one's own balance, even in scope.
    assert_error(adjust(client, world["city_admin"], **{**body, "user_id": world["city_admin"].id}),
                 403, "FORBIDDEN")
    assert_error(adjust(client, world["city_admin"], **{**body, "user_id": 987654}), 404, "NOT_FOUND")


@pytest.mark.parametrize("change,field", [
    ({"amount": 0}, "amount"),
    ({"amount": 1_000_001}, "amount"),
    ({"amount": "5"}, "amount"),
    ({"amount": 1.5}, "amount"),
    ({"amount": True}, "amount"),
    ({"amount": None}, "amount"),
    ({"user_id": "1"}, "user_id"),
    ({"reason": ""}, "reason"),
    ({"reason": "x" * 201}, "reason"),
    ({"idempotency_key": ""}, "idempotency_key"),
    ({"idempotency_key": "k" * 101}, "idempotency_key"),
    ({"extra": 1}, "extra"),
])
def test_adjustment_validation(client, world, change, field):
    body = {"user_id": world["alice"].id, "amount": 5, "reason": "补录", "idempotency_key": "v", **change}
    error = assert_error(adjust(client, world["room_a_admin"], **body), 422, "VALIDATION_ERROR")
    assert field in error["details"], error


def test_adjustment_missing_fields_and_bad_bodies(client, world):
    admin = world["room_a_admin"]
    error = assert_error(adjust(client, admin), 422, "VALIDATION_ERROR")
    assert set(error["details"]) == {"user_id", "amount", "reason", "idempotency_key"}
    assert_error(client.post(f"{API}/points/adjustments", data="[1]", content_type="application/json",
                             headers=admin.headers), 400, "BAD_REQUEST")


# -- POST /points/transfers/{id}/reverse ------------------------------------

def test_reversal_undoes_once(app, client, world):
    alice, admin = world["alice"], world["room_a_admin"]
    original = earn(app, alice.id, world["tree"]["room_a"], 25)
    response = reverse(client, admin, original, reason="误录")
    assert response.status_code == 201
    reversal = response.get_json()
    assert (reversal["reverses_id"], reversal["amount"], reversal["kind"], reversal["actor_id"]) == \
        (original, 25, "reversal", admin.id)
    assert "误录" in reversal["memo"]
    assert client.get(f"{API}/me/points", headers=alice.headers).get_json()["balance"] == 0
    assert_error(reverse(client, admin, original, reason="again"), 409, "ALREADY_REVERSED")
    assert_error(reverse(client, admin, reversal["id"], reason="undo the undo"), 409, "ALREADY_REVERSED")
    with app.app_context():
        assert verify()[0] == []


def test_reversal_of_spent_points_is_refused(app, client, world):
    alice = world["alice"]
    original = earn(app, alice.id, world["tree"]["room_a"], 25)
    hold(app, alice.id, 10)
    assert_error(reverse(client, world["room_a_admin"], original, reason="误录"), 409, "INSUFFICIENT_POINTS")


def test_reversal_errors_in_order(app, client, world):
    original = earn(app, world["alice"].id, world["tree"]["room_a"], 25)
    assert_error(reverse(client, None, original, reason="x"), 401, "UNAUTHENTICATED")
    assert_error(reverse(client, world["room_a_admin"], 987654, reason=""), 404, "NOT_FOUND")
    for who in ("room_a_worker", "room_b_admin", "alice"):
        assert_error(reverse(client, world[who], original, reason=""), 403, "FORBIDDEN")
    assert_error(reverse(client, world["room_a_admin"], original, reason=""), 422, "VALIDATION_ERROR")
    assert_error(reverse(client, world["room_a_admin"], original), 422, "VALIDATION_ERROR")
    assert reverse(client, world["station_admin"], original, reason="误录").status_code == 201
