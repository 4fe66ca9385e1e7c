"""The ledger's rules, called directly."""
import pytest
import sqlalchemy as sa

from core import clock
from core.db import db
from core.errors import DomainError
from points import ledger
from points.models import Account, Entry
from points.verify import verify


@pytest.fixture
def people(ctx, actors):
    tree = actors.tree()
    alice, bob = actors.resident("alice"), actors.resident("bob")
    now = clock.now()
    return {
        "now": now,
        "room": tree["room_a"],
        "alice": ledger.person_account(alice.id, now=now),
        "bob": ledger.person_account(bob.id, now=now),
        "issuing": ledger.issuing_account(tree["room_a"], now=now),
        "redemption": ledger.redemption_account(tree["room_a"], now=now),
    }


def earn(p, who, amount, key):
    return ledger.transfer(debit=p["issuing"], credit=p[who], amount=amount, kind="earn",
                           memo="志愿服务", idempotency_key=key, now=p["now"])


def test_transfer_writes_two_entries_and_balances(people):
    t = earn(people, "alice", 30, "k1")
    entries = db.session.scalars(sa.select(Entry).where(Entry.transfer_id == t.id).order_by(Entry.amount)).all()
    assert [(e.amount, e.balance_after) for e in entries] == [(-30, -30), (30, 30)]
    assert db.session.get(Account, people["alice"].id).balance == 30
    assert db.session.get(Account, people["issuing"].id).balance == -30
    assert verify()[0] == []


def test_same_key_same_body_is_a_replay_other_body_a_conflict(people):
    first = earn(people, "alice", 30, "k1")
    again = earn(people, "alice", 30, "k1")
    assert again.id == first.id and again.replayed
    assert db.session.get(Account, people["alice"].id).balance == 30
    with pytest.raises(DomainError) as error:
        earn(people, "alice", 31, "k1")
    assert error.value.code == "IDEMPOTENCY_CONFLICT"


def test_a_person_cannot_go_below_zero(people):
    earn(people, "alice", 10, "k1")
    with pytest.raises(DomainError) as error:
        ledger.transfer(debit=people["alice"], credit=people["bob"], amount=11, kind="gift",
                        memo="", idempotency_key="k2", now=people["now"])
    assert error.value.code == "INSUFFICIENT_POINTS"
    db.session.rollback()


def test_hold_post_partial_releases_the_rest(people):
    earn(people, "alice", 50, "k1")
    h = ledger.hold(account=people["alice"], amount=40, idempotency_key="h1", memo="兑换", now=people["now"])
    alice = db.session.get(Account, people["alice"].id)
    assert (alice.balance, alice.held) == (50, 40)
    with pytest.raises(DomainError):
        ledger.hold(account=people["alice"], amount=11, idempotency_key="h2", memo="", now=people["now"])
    ledger.post_hold(hold_row=h, credit=people["redemption"], amount=25, now=people["now"])
    db.session.expire_all()
    alice = db.session.get(Account, people["alice"].id)
    assert (alice.balance, alice.held) == (25, 0)
    with pytest.raises(DomainError) as error:
        ledger.void_hold(hold_row=h, now=people["now"])
    assert error.value.code == "INVALID_STATE"
    assert verify()[0] == []


def test_void_releases_and_reversal_happens_once(people):
    t = earn(people, "alice", 20, "k1")
    h = ledger.hold(account=people["alice"], amount=5, idempotency_key="h1", memo="", now=people["now"])
    ledger.void_hold(hold_row=h, now=people["now"])
    r = ledger.reverse(original=t, reason="录入错误", actor_id=None, now=people["now"])
    assert r.reverses_id == t.id and r.amount == 20
    with pytest.raises(DomainError) as error:
        ledger.reverse(original=t, reason="again", actor_id=None, now=people["now"])
    assert error.value.code == "ALREADY_REVERSED"
    db.session.expire_all()
    assert db.session.get(Account, people["alice"].id).balance == 0
    assert verify()[0] == []


def test_a_refused_transfer_leaves_no_ghost_in_the_session(people):
    # SQLite reuses the rolled-back id: the next transfer must not come back
    # as the refused one from the session's identity map.
    earn(people, "alice", 10, "k1")
    with pytest.raises(DomainError) as refusal:  # its traceback keeps the refused row alive
        ledger.transfer(debit=people["alice"], credit=people["bob"], amount=11, kind="gift",
                        memo="", idempotency_key="k2", now=people["now"])
    later = earn(people, "bob", 5, "k3")
    assert refusal.value.code == "INSUFFICIENT_POINTS"
    assert (later.amount, later.kind, later.idempotency_key) == (5, "earn", "k3")
    assert verify()[0] == []


def test_posting_a_hold_releases_it_in_the_same_update(people):
    earn(people, "alice", 30, "k1")
    h = ledger.hold(account=people["alice"], amount=30, idempotency_key="h1", memo="", now=people["now"])
    posted = ledger.post_hold(hold_row=h, credit=people["redemption"], now=people["now"])
    alice = db.session.get(Account, people["alice"].id)
    assert (alice.balance, alice.held, posted.amount) == (0, 0, 30)
    assert verify()[0] == []


def test_issue_many_writes_what_one_transfer_each_would(people):
    now = people["now"]
    one_by_one = earn(people, "alice", 7, "single-1")
    credits = [ledger.Credit(people["alice"], 30, "many-1", "志愿服务", cause_key="settlement:1"),
               ledger.Credit(people["bob"], 12, "many-2", "志愿服务", cause_key="settlement:2")]
    ids = ledger.issue_many(debit=people["issuing"], credits=credits, kind="earn", now=now, actor_id=None)
    after = earn(people, "bob", 5, "single-2")  # the chains carry on from the batch
    assert len(ids) == 2 and one_by_one.id < ids[0] < ids[1] < after.id
    assert verify()[0] == []
    balances = {name: db.session.get(Account, people[name].id, populate_existing=True).balance
                for name in ("alice", "bob", "issuing")}
    assert balances == {"alice": 37, "bob": 17, "issuing": -54}
    # The same keys again: the same transfers, nothing new; as single transfers, a replay too.
    assert ledger.issue_many(debit=people["issuing"], credits=credits, kind="earn", now=now) == ids
    assert earn(people, "alice", 30, "many-1").id == ids[0]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Entry)) == 8


def test_issue_many_refuses_what_could_go_wrong_and_leaves_nothing(people):
    now = people["now"]
    ledger.issue_many(debit=people["issuing"], kind="earn", now=now,
                      credits=[ledger.Credit(people["alice"], 10, "k1", "志愿服务")])
    cases = [
        (dict(debit=people["alice"], credits=[ledger.Credit(people["bob"], 1, "k2", "")]), "VALIDATION_ERROR"),
        (dict(debit=people["issuing"], credits=[ledger.Credit(people["bob"], 1, "k2", ""),
                                                ledger.Credit(people["alice"], 1, "k2", "")]), "VALIDATION_ERROR"),
        (dict(debit=people["issuing"], credits=[ledger.Credit(people["bob"], 0, "k2", "")]), "VALIDATION_ERROR"),
        (dict(debit=people["issuing"], credits=[ledger.Credit(people["issuing"], 1, "k2", "")]), "VALIDATION_ERROR"),
        (dict(debit=people["issuing"], credits=[ledger.Credit(people["bob"], 3, "k2", ""),
                                                ledger.Credit(people["alice"], 11, "k1", "")]),
         "IDEMPOTENCY_CONFLICT"),
    ]
    for arguments, code in cases:
        with pytest.raises(DomainError) as error:
            ledger.issue_many(kind="earn", now=now, **arguments)
        assert error.value.code == code
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Entry)) == 2
    assert ledger.issue_many(debit=people["issuing"], kind="earn", now=now, credits=[]) == []
    assert verify()[0] == []
