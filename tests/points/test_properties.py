"""Random sequences of ledger operations against a simple model.

After every step the database's balances and held figures equal the model's,
the number of transfers is what the model expects (a refused operation leaves
no trace), and `verify()` finds nothing. Each example runs in one transaction
rolled back at its end, so examples never see each other.
"""
import itertools

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from core import clock
from core.db import db
from core.errors import DomainError
from orgs.models import Org, StaffRole
from orgs.services import _save_org
from points import adjustments, ledger
from points.models import Account, Entry, Transfer
from points.verify import verify
from people.models import User

_examples = itertools.count()
PEOPLE = st.sampled_from([0, 1])
AMOUNTS = st.integers(min_value=1, max_value=60)
PICK = st.integers(min_value=0, max_value=10_000)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.now = clock.now()
        self.keys = itertools.count()
        org = _save_org(Org(name=f"社区-{next(_examples)}", kind="city", parent=None, created_at=self.now))
        self.admin = User(nickname="admin", home_org_id=org.id, created_at=self.now)
        people = [User(nickname=f"p{i}", home_org_id=org.id, created_at=self.now) for i in range(2)]
        db.session.add_all([self.admin, *people])
        db.session.flush()
        db.session.add(StaffRole(user_id=self.admin.id, org_id=org.id, role="admin", created_at=self.now))
        db.session.flush()
        db.session.refresh(self.admin)
        self.people = [p.id for p in people]
        self.accounts = {i: ledger.person_account(p.id, now=self.now) for i, p in enumerate(people)}
        self.accounts["issuing"] = ledger.issuing_account(org.id, now=self.now)
        self.accounts["redemption"] = ledger.redemption_account(org.id, now=self.now)
        self.balance = {name: 0 for name in self.accounts}
        self.held = {0: 0, 1: 0}
        self.transfers = []  # {id, row, debit, credit, amount, reversal, reversed}
        self.holds = []      # {row, person, amount, open}
        self.adjusted = []   # (key, person, amount, transfer id)

    def teardown(self):
        db.session.rollback()

    # -- helpers ---------------------------------------------------------------

    def available(self, person):
        return self.balance[person] - self.held[person]

    def move(self, debit, credit, amount, row, reversal=False):
        self.balance[debit] -= amount
        self.balance[credit] += amount
        self.transfers.append({"row": row, "debit": debit, "credit": credit, "amount": amount,
                               "reversal": reversal, "reversed": False})

    def refused(self, code, operation):
        with pytest.raises(DomainError) as error:
            operation()
        assert error.value.code == code

    # -- rules -------------------------------------------------------------------

    @rule(person=PEOPLE, amount=AMOUNTS)
    def earn(self, person, amount):
        row = ledger.transfer(debit=self.accounts["issuing"], credit=self.accounts[person], amount=amount,
                              kind="earn", memo="志愿服务", idempotency_key=f"earn:{next(self.keys)}",
                              now=self.now, cause_key="settlement:1")
        self.move("issuing", person, amount, row)

    @rule(amounts=st.lists(AMOUNTS, min_size=1, max_size=2))
    def issue_many(self, amounts):
        keys = [f"batch:{next(self.keys)}" for _ in amounts]

        def credits(changed=0, extra=()):
            return [ledger.Credit(self.accounts[i], amount + (changed if i == 0 else 0), key, "志愿服务",
                                  cause_key="settlement:2") for i, (amount, key) in enumerate(zip(amounts, keys))
                    ] + list(extra)

        ids = ledger.issue_many(debit=self.accounts["issuing"], credits=credits(), kind="earn", now=self.now)
        # A replay posts nothing; a changed body is refused and leaves nothing, not even a new key.
        assert ledger.issue_many(debit=self.accounts["issuing"], credits=credits(), kind="earn",
                                 now=self.now) == ids
        fresh = ledger.Credit(self.accounts[1], 5, f"batch:{next(self.keys)}", "志愿服务")
        self.refused("IDEMPOTENCY_CONFLICT", lambda: ledger.issue_many(
            debit=self.accounts["issuing"], credits=credits(changed=1, extra=[fresh]), kind="earn",
            now=self.now))
        for person, (amount, transfer_id) in enumerate(zip(amounts, ids)):
            self.move("issuing", person, amount, db.session.get(Transfer, transfer_id))

    @rule(person=PEOPLE, amount=st.integers(min_value=-60, max_value=60).filter(bool))
    def adjust(self, person, amount):
        key = f"adj-{next(self.keys)}"

        def call():
            return adjustments.adjust(actor=self.admin, user_id=self.people[person], amount=amount,
                                      reason="更正", idempotency_key=key, now=self.now)
        if amount < 0 and self.available(person) < -amount:
            return self.refused("INSUFFICIENT_POINTS", call)
        made = call()
        assert made.created
        if amount > 0:
            self.move("issuing", person, amount, made.transfer)
        else:
            self.move(person, "issuing", -amount, made.transfer)
        self.adjusted.append((key, person, amount, made.transfer.id))

    @precondition(lambda self: self.adjusted)
    @rule(pick=PICK)
    def replay_adjustment(self, pick):
        key, person, amount, transfer_id = self.adjusted[pick % len(self.adjusted)]
        again = adjustments.adjust(actor=self.admin, user_id=self.people[person], amount=amount,
                                   reason="更正", idempotency_key=key, now=self.now)
        assert (again.created, again.transfer.id) == (False, transfer_id)
        self.refused("IDEMPOTENCY_CONFLICT", lambda: adjustments.adjust(
            actor=self.admin, user_id=self.people[person], amount=amount + 1000, reason="更正",
            idempotency_key=key, now=self.now))

    @rule(person=PEOPLE, amount=AMOUNTS)
    def hold(self, person, amount):
        def call():
            return ledger.hold(account=self.accounts[person], amount=amount,
                               idempotency_key=f"hold:{next(self.keys)}", memo="兑换", now=self.now)
        if self.available(person) < amount:
            return self.refused("INSUFFICIENT_POINTS", call)
        self.holds.append({"row": call(), "person": person, "amount": amount, "open": True})
        self.held[person] += amount

    @precondition(lambda self: self.holds)
    @rule(pick=PICK, full=st.booleans(), percent=st.integers(min_value=1, max_value=100))
    def post(self, pick, full, percent):
        held = self.holds[pick % len(self.holds)]
        amount = held["amount"] if full else max(1, held["amount"] * percent // 100)

        def call():
            return ledger.post_hold(hold_row=held["row"], credit=self.accounts["redemption"],
                                    amount=amount, now=self.now)
        if not held["open"]:
            return self.refused("INVALID_STATE", call)
        row = call()
        held["open"] = False
        self.held[held["person"]] -= held["amount"]
        self.move(held["person"], "redemption", amount, row)

    @precondition(lambda self: self.holds)
    @rule(pick=PICK)
    def void(self, pick):
        held = self.holds[pick % len(self.holds)]

        def call():
            ledger.void_hold(hold_row=held["row"], now=self.now)
        if not held["open"]:
            return self.refused("INVALID_STATE", call)
        call()
        held["open"] = False
        self.held[held["person"]] -= held["amount"]

    @precondition(lambda self: self.transfers)
    @rule(pick=PICK)
    def reverse(self, pick):
        original = self.transfers[pick % len(self.transfers)]

        def call():
            return ledger.reverse(original=original["row"], reason="录入错误", actor_id=self.admin.id,
                                  now=self.now)
        if original["reversal"] or original["reversed"]:
            return self.refused("ALREADY_REVERSED", call)
        payer = original["credit"]
        if payer in self.held and self.available(payer) < original["amount"]:
            return self.refused("INSUFFICIENT_POINTS", call)
        row = call()
        assert row.reverses_id == original["row"].id
        original["reversed"] = True
        self.move(payer, original["debit"], original["amount"], row, reversal=True)

    # -- what must hold after every step ------------------------------------------

    @invariant()
    def books_match_the_model(self):
        ids = {name: account.id for name, account in self.accounts.items()}
        rows = dict((r.id, (r.balance, r.held)) for r in db.session.execute(
            sa.select(Account.id, Account.balance, Account.held).where(Account.id.in_(ids.values()))))
        for name, account_id in ids.items():
            assert rows[account_id] == (self.balance[name], self.held.get(name, 0)), name
            if name in self.held:
                assert rows[account_id][0] - rows[account_id][1] >= 0
        transfers = db.session.scalar(sa.select(sa.func.count()).select_from(Transfer))
        entries = db.session.scalar(sa.select(sa.func.count()).select_from(Entry))
        assert (transfers, entries) == (len(self.transfers), 2 * len(self.transfers))
        assert verify()[0] == []


def test_random_operation_sequences_keep_the_books(ctx):
    run_state_machine_as_test(LedgerMachine, settings=settings(
        max_examples=40, stateful_step_count=20, deadline=None, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
