"""Races on PostgreSQL with real threads, each with its own client and connection."""
import threading

import pytest
import sqlalchemy as sa

from core import clock
from core.db import db
from core.errors import DomainError
from points import ledger
from points.models import Account, Hold, Transfer
from points.verify import verify
from tests.api.test_points import earn
from tests.conftest import ON_POSTGRES
from tests.support import API

pytestmark = pytest.mark.skipif(not ON_POSTGRES, reason="SQLite serialises writers and hides lock bugs")


def race(count, work):
    """Runs work(i) in `count` threads released together; returns results in order.
    An exception in a thread (a 500 re-raises under TESTING) fails the test."""
    barrier = threading.Barrier(count)
    results, errors = [None] * count, []

    def run(i):
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 — reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


@pytest.fixture
def scene(app, actors):
    tree = actors.tree()
    return {"tree": tree,
            "alice": actors.resident("alice", home_org_id=tree["room_a"]),
            "admin": actors.staff(tree["room_a"], "admin")}


def figures(app, user_id):
    with app.app_context():
        account = ledger.find_person_account(user_id)
        problems = verify()[0]
        return account.balance, account.held, problems


def test_twenty_debits_from_enough_for_five(app, scene):
    alice, admin = scene["alice"], scene["admin"]
    earn(app, alice.id, scene["tree"]["room_a"], 50)

    def spend(i):
        response = app.test_client().post(f"{API}/points/adjustments", headers=admin.headers, json={
            "user_id": alice.id, "amount": -10, "reason": "并发扣减", "idempotency_key": f"spend-{i}"})
        return response.status_code, response.get_json()

    results = race(20, spend)
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] * 5 + [409] * 15
    assert {body["error"]["code"] for status, body in results if status == 409} == {"INSUFFICIENT_POINTS"}
    assert figures(app, alice.id) == (0, 0, [])


def test_twenty_holds_from_enough_for_five(app, scene):
    alice = scene["alice"]
    earn(app, alice.id, scene["tree"]["room_a"], 50)

    def reserve(i):
        with app.app_context():
            try:
                ledger.hold(account=ledger.person_account(alice.id, now=clock.now()), amount=10,
                            idempotency_key=f"hold-{i}", memo="兑换", now=clock.now())
                db.session.commit()
                return "held"
            except DomainError as error:
                db.session.rollback()
                return error.code

    results = race(20, reserve)
    assert sorted(results) == ["INSUFFICIENT_POINTS"] * 15 + ["held"] * 5
    assert figures(app, alice.id) == (50, 50, [])


def test_ten_reversals_of_one_transfer_make_one(app, scene):
    alice, admin = scene["alice"], scene["admin"]
    original = earn(app, alice.id, scene["tree"]["room_a"], 30)

    def undo(i):
        response = app.test_client().post(f"{API}/points/transfers/{original}/reverse",
                                          headers=admin.headers, json={"reason": f"误录 {i}"})
        return response.status_code, response.get_json()

    results = race(10, undo)
    assert sorted(status for status, _ in results) == [201] + [409] * 9
    assert {body["error"]["code"] for status, body in results if status == 409} == {"ALREADY_REVERSED"}
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Transfer)
                                 .where(Transfer.reverses_id == original)) == 1
    assert figures(app, alice.id) == (0, 0, [])


def test_ten_adjustments_with_one_key_post_once(app, scene):
    alice, admin = scene["alice"], scene["admin"]
    body = {"user_id": alice.id, "amount": 15, "reason": "补录", "idempotency_key": "flaky-network"}

    def send(i):
        response = app.test_client().post(f"{API}/points/adjustments", headers=admin.headers, json=body)
        return response.status_code, response.get_json()

    results = race(10, send)
    statuses = [status for status, _ in results]
    assert statuses.count(201) == 1 and set(statuses) <= {200, 201, 409}
    ids = {reply["id"] for status, reply in results if status in (200, 201)}
    assert len(ids) == 1
    assert all(reply["error"]["code"] == "IDEMPOTENCY_CONFLICT" for status, reply in results if status == 409)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Transfer)) == 1
        assert db.session.scalar(sa.select(Account.balance).where(Account.user_id == alice.id)) == 15
    assert figures(app, alice.id) == (15, 0, [])


def test_posting_holds_while_refunding_the_same_accounts_never_deadlocks(app, scene):
    # A post releases the hold and debits the person in one UPDATE, so it locks
    # the two accounts in id order like every transfer; before, it locked the
    # person first and could deadlock against a refund (redemption → person).
    alice, room = scene["alice"], scene["tree"]["room_a"]
    with app.app_context():  # the redemption account gets the lower id: locked first
        ledger.redemption_account(room, now=clock.now())
        db.session.commit()
    earn(app, alice.id, room, 100)
    with app.app_context():
        now = clock.now()
        person = ledger.person_account(alice.id, now=now)
        holds = [ledger.hold(account=person, amount=5, idempotency_key=f"h{i}", memo="兑换", now=now).id
                 for i in range(10)]
        ledger.transfer(debit=person, credit=ledger.redemption_account(room, now=now), amount=50,
                        kind="redeem", memo="兑换", idempotency_key="stock", now=now)
        db.session.commit()

    def work(i):
        with app.app_context():
            now = clock.now()
            redemption = ledger.redemption_account(room, now=now)
            if i % 2:
                ledger.post_hold(hold_row=db.session.get(Hold, holds[i // 2]), credit=redemption, now=now)
            else:
                ledger.transfer(debit=redemption, credit=ledger.person_account(alice.id, now=now), amount=1,
                                kind="refund", memo="退还", idempotency_key=f"refund-{i}", now=now)
            db.session.commit()
            return "done"

    assert race(20, work) == ["done"] * 20
    assert figures(app, alice.id) == (100 - 50 - 50 + 10, 0, [])


def test_the_expiry_job_run_ten_times_at_once_expires_once(app, actors):
    from points import expiry

    tree = actors.tree()
    people = [actors.resident() for _ in range(5)]
    now = clock.now()
    old = expiry.add_months(now, -13)
    with app.app_context():
        issuing = ledger.issuing_account(tree["room_a"], now=now)
        for i, person in enumerate(people):
            ledger.transfer(debit=issuing, credit=ledger.person_account(person.id, now=now), amount=10 + i,
                            kind="earn", memo="志愿服务", idempotency_key=f"old-earn-{i}", now=old)
        db.session.commit()

    def run_job(_):
        with app.app_context():
            return expiry.expire_all(now=now, months=12)

    results = race(10, run_job)
    assert sum(points for points, _ in results) == sum(10 + i for i in range(5))
    with app.app_context():
        expired = db.session.scalars(sa.select(Transfer.amount).where(Transfer.kind == "expiry")).all()
        assert sorted(expired) == [10, 11, 12, 13, 14]
        assert verify()[0] == []
