"""The nightly jobs in batches: points expiry, redemption expiry, and the
ledger's bulk posting under them; `verify` across its chunk boundaries."""
import itertools
from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import clock
from core.db import db
from core.errors import Conflict, Invalid
from orgs.services import get_org
from points import benefits, expiry, ledger, redemption, verify as verify_module
from points.benefits_models import Benefit, Redemption
from points.models import HOLD_OPEN, Account, Entry, Hold, Transfer
from points.verify import verify
from tests.conftest import ON_POSTGRES
from tests.support import current_settings
from tests.points.test_concurrency import race
from volunteers.models import User

MONTHS = 12
_keys = itertools.count()


@pytest.fixture
def site(ctx, actors):
    tree = actors.tree()
    now = clock.now()
    people = [actors.resident().id for _ in range(3)]
    found = {"now": now, "tree": tree, "people": people,
             "accounts": [ledger.person_account(person, now=now).id for person in people],
             "a": ledger.issuing_account(tree["room_a"], now=now).id,
             "b": ledger.issuing_account(tree["room_b"], now=now).id,
             "shop": ledger.redemption_account(tree["room_a"], now=now).id}
    db.session.commit()  # the accounts outlive each example's rollback
    return found


def account(account_id):
    return db.session.get(Account, account_id, populate_existing=True)


def move(debit, credit, amount, when, kind="earn"):
    return ledger.transfer(debit=account(debit), credit=account(credit), amount=amount, kind=kind, memo=kind,
                           idempotency_key=f"{kind}:{next(_keys)}", now=when)


def reference_expiring(account_id, cutoff):
    """The rule as first written: every entry of the account, oldest lots used first."""
    rows = db.session.execute(
        sa.select(Entry.amount, Transfer.id, Transfer.debit_account_id, Transfer.reverses_id, Transfer.created_at)
        .join(Transfer, Transfer.id == Entry.transfer_id)
        .where(Entry.account_id == account_id).order_by(Entry.id)).all()
    reversed_ids = {row.reverses_id for row in rows if row.amount < 0 and row.reverses_id is not None}
    lots, used = [], 0
    for row in rows:
        if row.amount > 0 and row.id not in reversed_ids:
            lots.append([row.id, row.debit_account_id, row.created_at, row.amount])
        elif row.amount < 0 and row.reverses_id not in reversed_ids:
            used -= row.amount
    used += int(db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Hold.amount), 0))
                                  .where(Hold.account_id == account_id, Hold.status == HOLD_OPEN)))
    by_source, last = {}, 0
    for lot in lots:
        taken = min(lot[3], used)
        lot[3], used = lot[3] - taken, used - taken
        if lot[2] < cutoff and lot[3] > 0:
            by_source[lot[1]] = by_source.get(lot[1], 0) + lot[3]
            last = lot[0]
    return by_source, last


# (months ago, what, amount)
STEP = st.tuples(st.integers(min_value=0, max_value=30),
                 st.sampled_from(["earn_a", "earn_b", "spend", "reverse", "hold", "void", "post", "correct",
                                  "expire"]),
                 st.integers(min_value=1, max_value=40))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEP, max_size=16))
def test_what_is_left_read_from_the_newest_lots_is_the_oldest_first_rule(site, steps):
    """Whatever the history (holds open, voided and posted, reversed credits,
    corrected spends, earlier expiries), reading only the newest lots that the
    available balance covers gives what the full oldest-first walk gives."""
    person, now = site["accounts"][0], site["now"]
    try:
        credits, holds, spends = [], [], []
        for age, what, amount in sorted(steps, key=lambda step: -step[0]):
            when = expiry.add_months(now, -age)
            available = ledger.available(account(person))
            if what.startswith("earn"):
                credits.append(move(site[what[-1]], person, amount, when))
            elif what == "spend" and available > 0:
                spends.append(move(person, site["shop"], min(amount, available), when, "redeem"))
            elif what == "reverse" and credits and credits[-1].amount <= available:
                ledger.reverse(original=credits.pop(), reason="录错了", actor_id=None, now=when)
            elif what == "hold" and available > 0:
                holds.append(ledger.hold(account=account(person), amount=min(amount, available),
                                         idempotency_key=f"hold:{next(_keys)}", memo="兑换", now=when))
            elif what == "void" and holds:
                ledger.void_hold(hold_row=holds.pop(0), now=when)
            elif what == "post" and holds:
                ledger.post_hold(hold_row=holds.pop(), credit=account(site["shop"]), now=when)
            elif what == "correct" and spends:
                ledger.reverse(original=spends.pop(), reason="退回", actor_id=None, now=when)
            elif what == "expire":
                expiry.expire_account(person, now=when, months=MONTHS)
        for months in (0, 1, 6, 12, 24):
            cutoff = expiry.add_months(now, -months)
            found = expiry.expiring(person, cutoff)
            assert (found.by_source, found.last_lot_id) == reference_expiring(person, cutoff)
        assert verify()[0] == []
    finally:
        db.session.rollback()


def test_the_job_in_batches_expires_each_person_once(app, site):
    now, (p0, p1, p2) = site["now"], site["accounts"]
    old, recent = expiry.add_months(now, -14), expiry.add_months(now, -2)
    move(site["a"], p0, 10, old)
    move(site["b"], p0, 4, old)
    move(site["a"], p1, 7, old)
    move(site["a"], p1, 5, recent)
    move(p1, site["shop"], 9, recent, "redeem")  # the 7 old ones and 2 recent: 3 left, all recent
    move(site["b"], p2, 6, old)
    db.session.commit()
    assert expiry.expire_all(now=now, months=MONTHS, batch=2) == (10 + 4 + 6, 2)
    assert [ledger.available(account(p)) for p in (p0, p1, p2)] == [0, 3, 0]
    assert expiry.expire_all(now=now, months=MONTHS, batch=2) == (0, 0)
    back = dict(db.session.execute(sa.select(Transfer.credit_account_id, sa.func.sum(Transfer.amount))
                                   .where(Transfer.kind == expiry.EXPIRY).group_by(Transfer.credit_account_id)).all())
    assert back == {site["a"]: 10, site["b"]: 4 + 6}
    assert verify()[0] == []


def test_a_spend_between_the_look_and_the_lock_is_taken_into_account(site, monkeypatch):
    now, person = site["now"], site["accounts"][0]
    move(site["a"], person, 10, expiry.add_months(now, -14))
    move(site["b"], person, 5, expiry.add_months(now, -1))
    db.session.commit()
    real_lock = ledger.lock_accounts

    def spend_then_lock(account_ids):
        if person in account_ids and not getattr(spend_then_lock, "done", False):
            spend_then_lock.done = True  # another request got there first
            move(person, site["shop"], 8, now, "redeem")
        return real_lock(account_ids)

    monkeypatch.setattr(ledger, "lock_accounts", spend_then_lock)
    assert expiry.expire_account(person, now=now, months=MONTHS) == 2  # not the 10 it first saw
    assert ledger.available(account(person)) == 5
    assert verify()[0] == []


def test_transfer_many_posts_replays_and_refuses_as_single_transfers_do(site):
    now, (p0, p1, _p2) = site["now"], site["accounts"]
    move(site["a"], p0, 10, now)
    moves = [ledger.Move(p0, site["a"], 6, "m1", "first"), ledger.Move(p0, site["b"], 6, "m2", "too much"),
             ledger.Move(site["a"], p1, 3, "m3", "org to person"), ledger.Move(p0, site["b"], 4, "m4", "the rest")]
    results = ledger.transfer_many(moves=moves, kind="test", now=now)
    assert [replayed for _, replayed in results] == [False] * 4
    assert results[1][0] is None and None not in (results[0][0], results[2][0], results[3][0])
    assert (ledger.available(account(p0)), ledger.available(account(p1))) == (0, 3)
    again = ledger.transfer_many(moves=[moves[0], moves[2]], kind="test", now=now)
    assert again == [(results[0][0], True), (results[2][0], True)]
    with pytest.raises(Conflict) as conflict:
        ledger.transfer_many(moves=[ledger.Move(p1, site["a"], 1, "other", "another"),
                                    ledger.Move(p0, site["a"], 1, "m1", "first")], kind="test", now=now)
    assert conflict.value.code == "IDEMPOTENCY_CONFLICT"
    assert ledger.available(account(p1)) == 3  # nothing of the refused batch was written
    with pytest.raises(Invalid):
        ledger.transfer_many(moves=[ledger.Move(p0, p0, 1, "self", "to itself")], kind="test", now=now)
    posted = db.session.get(Transfer, results[0][0])
    assert posted.fingerprint == ledger.fingerprint_of({"debit": p0, "credit": site["a"], "amount": 6,
                                                        "kind": "test"})
    assert verify()[0] == []


# -- redemptions ---------------------------------------------------------------

@pytest.fixture
def shop(ctx, actors):
    tree = actors.tree()
    worker = db.session.get(User, actors.staff(tree["room_a"], "worker").id)
    people = [db.session.get(User, actors.resident().id) for _ in range(3)]
    now = clock.now()
    for person in people:
        ledger.transfer(debit=ledger.issuing_account(tree["room_a"], now=now),
                        credit=ledger.person_account(person.id, now=now), amount=100, kind="earn",
                        memo="志愿服务", idempotency_key=f"earn-{person.id}", now=now)
    benefit = benefits.create_benefit(actor=worker, org=get_org(tree["room_a"]), name="爱心理发券",
                                      cost=10, stock=10, now=now)
    db.session.commit()
    return {"worker": worker, "people": people, "benefit": benefit, "now": now}


def test_the_redemption_job_expires_overdue_reservations_in_batches(shop):
    now, benefit, (alice, bob, carol) = shop["now"], shop["benefit"], shop["people"]
    made = [redemption.redeem(actor=person, benefit=benefit, idempotency_key=None, now=now,
                               settings=current_settings())[0].id
            for person in (alice, alice, bob, carol, carol)]
    later = redemption.redeem(actor=bob, benefit=benefit, idempotency_key=None,
                              now=now + timedelta(days=3), settings=current_settings())[0].id
    db.session.commit()
    picked = db.session.get(Redemption, made[2])
    redemption.fulfil(actor=shop["worker"], code=picked.code, now=now + timedelta(days=1))
    redemption.cancel(actor=carol, redemption=db.session.get(Redemption, made[3]), now=now + timedelta(days=1))
    db.session.commit()
    due = now + timedelta(days=8)
    assert redemption.expire_overdue(now=due, batch=2) == 3  # alice's two and carol's other one
    assert redemption.expire_overdue(now=due, batch=2) == 0
    statuses = [db.session.get(Redemption, rid, populate_existing=True).status for rid in made + [later]]
    assert statuses == ["expired", "expired", "fulfilled", "cancelled", "expired", "reserved"]
    assert db.session.get(Benefit, benefit.id, populate_existing=True).stock_left == 10 - 2  # fulfilled, reserved
    held = {person.id: ledger.find_person_account(person.id) for person in (alice, bob, carol)}
    assert {user: (a.balance, a.held) for user, a in held.items()} == {
        alice.id: (100, 0), bob.id: (90, 10), carol.id: (100, 0)}
    assert verify()[0] == []


@pytest.mark.skipif(not ON_POSTGRES, reason="real concurrency needs PostgreSQL")
def test_the_redemption_job_run_twice_at_once_expires_each_once(app, shop):
    now, benefit = shop["now"], shop["benefit"]
    for person in shop["people"] * 2:
        redemption.redeem(actor=person, benefit=benefit, idempotency_key=None, now=now, settings=current_settings())
    db.session.commit()

    def run_job(_):
        with app.app_context():
            return redemption.expire_overdue(now=now + timedelta(days=8), batch=2)

    assert sum(race(4, run_job)) == 6
    db.session.rollback()
    assert db.session.get(Benefit, benefit.id, populate_existing=True).stock_left == 10
    assert verify()[0] == []


# -- verify across chunks ------------------------------------------------------

def test_verify_compares_accounts_chunk_by_chunk(site, monkeypatch):
    monkeypatch.setattr(verify_module, "CHUNK", 2)
    now = site["now"]
    for person in site["accounts"]:
        move(site["a"], person, 5, now)
        move(site["b"], person, 3, now)
    db.session.commit()
    assert verify() == ([], {"accounts": 6, "transfers": 6, "entries": 12, "holds": 0})
    middle = site["accounts"][1]
    db.session.execute(sa.update(Account).where(Account.id == middle).values(chain_head="f" * 64, balance=9))
    db.session.execute(sa.update(Account).where(Account.id == site["shop"]).values(chain_head="e" * 64, balance=1))
    problems = verify()[0]
    assert f"account {middle}: chain head does not match its newest entry " \
           "(an entry was deleted or the head edited)" in problems
    assert any(f"account {middle} (person:" in p and "caches balance 9 but its entries sum to 8" in p
               for p in problems)
    assert f"account {site['shop']}: chain head set but it has no entries" in problems
    assert any(f"account {site['shop']} (org_redemption:" in p and "caches balance 1 but its entries sum to 0" in p
               for p in problems)
    db.session.rollback()
