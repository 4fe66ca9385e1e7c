"""`flask points verify`: recompute every ledger invariant from the rows.

Each problem is one line naming the accounts, transfers or holds involved.
Streams entries account by account, so it runs in constant memory.
"""
import sqlalchemy as sa

from core.db import db

from .posting import entry_hash
from .models import GENESIS_HASH, HOLD_OPEN, HOLD_POSTED, PERSON, Account, Entry, Hold, Transfer


def _transfers_balance() -> list[str]:
    problems = []
    legs = (
        sa.select(Transfer.id, Transfer.amount, Transfer.debit_account_id, Transfer.credit_account_id,
                  sa.func.count(Entry.id), sa.func.coalesce(sa.func.sum(Entry.amount), 0),
                  sa.func.coalesce(sa.func.sum(sa.case((Entry.amount < 0, Entry.amount), else_=0)), 0))
        .outerjoin(Entry, Entry.transfer_id == Transfer.id)
        .group_by(Transfer.id)
    )
    for tid, amount, debit, credit, count, total, debited in db.session.execute(legs):
        if count != 2 or total != 0 or debited != -amount:
            problems.append(f"transfer {tid} does not balance: {count} entries summing to {total} "
                            f"(amount {amount}, accounts {debit} → {credit})")
    return problems


def _accounts() -> list[str]:
    problems = []
    total = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Account.balance), 0)))
    if total != 0:
        problems.append(f"balances of all accounts sum to {total}, not 0")
    sums = dict(db.session.execute(
        sa.select(Entry.account_id, sa.func.sum(Entry.amount)).group_by(Entry.account_id)).all())
    open_holds = dict(db.session.execute(
        sa.select(Hold.account_id, sa.func.sum(Hold.amount)).where(Hold.status == HOLD_OPEN)
        .group_by(Hold.account_id)).all())
    for account in db.session.scalars(sa.select(Account).order_by(Account.id)):
        entries_total = sums.get(account.id, 0)
        if account.balance != entries_total:
            problems.append(f"account {account.id} ({account.owner_key}) caches balance "
                            f"{account.balance} but its entries sum to {entries_total}")
        held = open_holds.get(account.id, 0)
        if account.held != held:
            problems.append(f"account {account.id} ({account.owner_key}) holds {account.held} "
                            f"but its open holds sum to {held}")
        if account.kind == PERSON and account.balance - account.held < 0:
            problems.append(f"account {account.id} ({account.owner_key}) has a negative available "
                            f"balance {account.balance - account.held}")
    return problems


def _chains() -> list[str]:
    problems = []
    heads = dict(db.session.execute(sa.select(Account.id, Account.chain_head)).all())
    rows = db.session.execute(
        sa.select(Entry.id, Entry.account_id, Entry.transfer_id, Entry.amount, Entry.balance_after,
                  Entry.hash).order_by(Entry.account_id, Entry.id)
        .execution_options(yield_per=5000))
    current, prev, running, broken = None, GENESIS_HASH, 0, False
    seen = set()

    def close(account_id):
        if account_id is not None and not broken and heads.get(account_id) != prev:
            problems.append(f"account {account_id}: chain head does not match its newest entry "
                            "(an entry was deleted or the head edited)")

    for eid, account_id, transfer_id, amount, balance_after, link in rows:
        if account_id != current:
            close(current)
            current, prev, running, broken = account_id, GENESIS_HASH, 0, False
            seen.add(account_id)
        if broken:
            continue
        running += amount
        expected = entry_hash(prev_hash=prev, account_id=account_id, transfer_id=transfer_id,
                              amount=amount, balance_after=balance_after)
        if link != expected or balance_after != running:
            problems.append(f"account {account_id}: hash chain breaks at entry {eid} "
                            "(edited, inserted or deleted entry)")
            broken = True
        prev = link
    close(current)
    for account_id, head in heads.items():
        if head != GENESIS_HASH and account_id not in seen:
            problems.append(f"account {account_id}: chain head set but it has no entries")
    return problems


def _holds() -> list[str]:
    problems = []
    posted = db.session.execute(
        sa.select(Hold.id, Hold.account_id, Hold.amount, Hold.transfer_id, Transfer.id,
                  Transfer.debit_account_id, Transfer.amount)
        .outerjoin(Transfer, Transfer.id == Hold.transfer_id)
        .where(Hold.status == HOLD_POSTED))
    for hold_id, account_id, held, transfer_id, found, debited, posted_amount in posted:
        if found is None:
            problems.append(f"hold {hold_id} is posted but its transfer {transfer_id} is missing")
        elif debited != account_id:
            problems.append(f"hold {hold_id} on account {account_id} was posted by transfer "
                            f"{transfer_id}, which debits account {debited}")
        elif posted_amount > held:
            problems.append(f"hold {hold_id} of {held} was posted as {posted_amount}")
    unposted = db.session.execute(
        sa.select(Hold.id, Hold.status, Hold.transfer_id)
        .where(Hold.status != HOLD_POSTED, Hold.transfer_id.is_not(None)))
    for hold_id, status, transfer_id in unposted:
        problems.append(f"hold {hold_id} is {status} but names transfer {transfer_id}")
    return problems


def verify() -> tuple[list[str], dict]:
    """Returns (problems, counts). No problems means every invariant holds."""
    problems = _transfers_balance() + _accounts() + _chains() + _holds()
    counts = {
        "accounts": db.session.scalar(sa.select(sa.func.count()).select_from(Account)),
        "transfers": db.session.scalar(sa.select(sa.func.count()).select_from(Transfer)),
        "entries": db.session.scalar(sa.select(sa.func.count()).select_from(Entry)),
        "holds": db.session.scalar(sa.select(sa.func.count()).select_from(Hold)),
    }
    return problems, counts
