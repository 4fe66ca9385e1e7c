"""`flask points verify` finds tampering; the trigger refuses rewriting history."""
import contextlib

import pytest
import sqlalchemy as sa

from core import clock
from core.db import db
from points import ledger
from points.models import Account, Entry, Hold
from tests.conftest import ON_POSTGRES


@pytest.fixture
def books(app, actors):
    """A small, consistent ledger: alice earns 50, holds 20, 15 of it posted."""
    tree = actors.tree()
    alice = actors.resident("alice", home_org_id=tree["room_a"])
    with app.app_context():
        now = clock.now()
        person = ledger.person_account(alice.id, now=now)
        earned = ledger.transfer(debit=ledger.issuing_account(tree["room_a"], now=now), credit=person,
                                 amount=50, kind="earn", memo="敬老", idempotency_key="e1", now=now)
        held = ledger.hold(account=person, amount=20, idempotency_key="h1", memo="兑换", now=now)
        ledger.post_hold(hold_row=held, credit=ledger.redemption_account(tree["room_a"], now=now),
                         amount=15, now=now)
        ids = {"person": person.id, "earn": earned.id, "hold": held.id}
        db.session.commit()
    return ids


def run_verify(app):
    result = app.test_cli_runner().invoke(args=["points", "verify"])
    return result.exit_code, result.output.strip().splitlines()


@contextlib.contextmanager
def tampering(app):
    """A transaction that bypasses the append-only trigger (PostgreSQL) and commits."""
    with app.app_context():
        if ON_POSTGRES:
            # Transaction-scoped: the triggers work again for everyone else.
            db.session.execute(sa.text("SET LOCAL session_replication_role = replica"))
        yield db.session
        db.session.commit()


def test_consistent_books_verify_ok(app, books):
    code, lines = run_verify(app)
    assert code == 0, lines
    assert len(lines) == 1 and lines[0].endswith(": ok")
    assert "2 transfers" in lines[0] and "4 entries" in lines[0] and "1 holds" in lines[0]


def broken(lines):
    return [line for line in lines if line.startswith("BROKEN: ")]


def test_an_edited_entry_amount_is_found(app, books):
    with tampering(app) as session:
        session.execute(sa.update(Entry).where(Entry.account_id == books["person"],
                                               Entry.transfer_id == books["earn"])
                        .values(amount=51))
    code, lines = run_verify(app)
    assert code == 1
    found = broken(lines)
    assert any(f"transfer {books['earn']} does not balance" in line for line in found), found
    assert any(f"account {books['person']}: hash chain breaks" in line for line in found), found
    assert lines[-1].endswith(f"{len(found)} problem(s)")


def test_a_deleted_entry_is_found(app, books):
    with tampering(app) as session:
        newest = session.scalar(sa.select(sa.func.max(Entry.id)).where(Entry.account_id == books["person"]))
        session.execute(sa.delete(Entry).where(Entry.id == newest))
    code, lines = run_verify(app)
    assert code == 1
    found = broken(lines)
    assert any("does not balance: 1 entries" in line for line in found), found
    assert any(f"account {books['person']}: chain head does not match" in line for line in found), found


def test_a_cached_balance_off_by_one_is_found(app, books):
    with tampering(app) as session:
        session.execute(sa.update(Account).where(Account.id == books["person"])
                        .values(balance=Account.balance + 1))
    code, lines = run_verify(app)
    assert code == 1
    assert f"account {books['person']} (person:" in "\n".join(broken(lines))
    assert any("caches balance 36 but its entries sum to 35" in line for line in broken(lines))
    assert any("sum to 1, not 0" in line for line in broken(lines))


def test_a_cached_held_figure_off_is_found(app, books):
    with tampering(app) as session:
        session.execute(sa.update(Account).where(Account.id == books["person"]).values(held=1))
    code, lines = run_verify(app)
    assert code == 1
    assert any("holds 1 but its open holds sum to 0" in line for line in broken(lines))


def test_a_posted_hold_without_its_transfer_is_found(app, books):
    with tampering(app) as session:
        session.execute(sa.update(Hold).where(Hold.id == books["hold"]).values(transfer_id=None))
    code, lines = run_verify(app)
    assert code == 1
    assert broken(lines) == [f"BROKEN: hold {books['hold']} is posted but its transfer None is missing"]


def test_a_hold_whose_transfer_was_deleted_is_found(app, books):
    with tampering(app) as session:
        transfer_id = session.get(Hold, books["hold"]).transfer_id
        session.execute(sa.delete(Entry).where(Entry.transfer_id == transfer_id))
        session.execute(sa.text("DELETE FROM transfers WHERE id = :id"), {"id": transfer_id})
    code, lines = run_verify(app)
    assert code == 1
    assert f"BROKEN: hold {books['hold']} is posted but its transfer {transfer_id} is missing" in lines


def test_a_hold_posted_by_someone_elses_transfer_is_found(app, books):
    with tampering(app) as session:
        session.execute(sa.update(Hold).where(Hold.id == books["hold"]).values(transfer_id=books["earn"]))
    code, lines = run_verify(app)
    assert code == 1
    assert any(f"hold {books['hold']} on account {books['person']} was posted by transfer "
               f"{books['earn']}" in line for line in broken(lines))


@pytest.mark.skipif(not ON_POSTGRES, reason="the append-only trigger is PostgreSQL's")
@pytest.mark.parametrize("statement", [
    "UPDATE entries SET amount = amount + 1",
    "DELETE FROM entries",
    "UPDATE transfers SET amount = amount + 1",
    "DELETE FROM transfers",
])
def test_the_trigger_refuses_rewriting_history(app, books, statement):
    with app.app_context():
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            db.session.execute(sa.text(statement))
        db.session.rollback()
    assert run_verify(app)[0] == 0
