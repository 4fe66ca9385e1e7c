"""`flask points verify`: recompute every ledger invariant from the rows.

Each problem is one line naming the accounts, transfers or holds involved.

Memory stays flat whatever the size of the ledger: the database groups and
compares (only rows that break an invariant come back), and the one pass that
needs every entry in Python, to recompute the hash chains, reads them from a
server-side cursor account by account and keeps one account's state at a time.
That pass also adds up each account's entries for the cached-balance check, so
the entries are read once. The caller runs it in one snapshot (see api/cli.py).
"""
import contextlib
import itertools
import queue
import threading

import sqlalchemy as sa

from core.db import db

from .posting import entry_hash
from .models import GENESIS_HASH, HOLD_OPEN, HOLD_POSTED, PERSON, Account, Entry, Hold, Transfer

CHUNK = 5000


def _stream(stmt):
    """The rows of a Core statement, in chunks: a server-side cursor on PostgreSQL."""
    return db.session.execute(stmt.execution_options(yield_per=CHUNK))


def _transfers_balance() -> list[str]:
    # Two entries, -amount and +amount: the same as "two entries summing to 0 whose
    # debit is the amount" for a positive amount, without adding up 2 M numerics.
    count = sa.func.count(Entry.id)
    broken = (
        sa.select(Transfer.id).outerjoin(Entry, Entry.transfer_id == Transfer.id)
        .group_by(Transfer.id, Transfer.amount)
        .having(sa.or_(count != 2, sa.func.min(Entry.amount) != -Transfer.amount,
                       sa.func.max(Entry.amount) != Transfer.amount))
    )
    problems, ids = [], [tid for (tid,) in _stream(broken.order_by(Transfer.id))]
    for start in range(0, len(ids), CHUNK):  # the figures of the few that broke
        legs = (
            sa.select(Transfer.id, Transfer.amount, Transfer.debit_account_id, Transfer.credit_account_id,
                      count, sa.func.coalesce(sa.func.sum(Entry.amount), 0))
            .outerjoin(Entry, Entry.transfer_id == Transfer.id)
            .where(Transfer.id.in_(ids[start:start + CHUNK]))
            .group_by(Transfer.id, Transfer.amount, Transfer.debit_account_id, Transfer.credit_account_id)
            .order_by(Transfer.id)
        )
        problems += [f"transfer {tid} does not balance: {count} entries summing to {total} "
                     f"(amount {amount}, accounts {debit} → {credit})"
                     for tid, amount, debit, credit, count, total in db.session.execute(legs)]
    return problems


def _account_figures(balance_problems: dict[int, str]) -> list[str]:
    """Per account, in id order: the cached balance against its entries (found by
    `_chains`), held against open holds, a person's available balance."""
    problems = []
    total = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Account.balance), 0)))
    if total != 0:
        problems.append(f"balances of all accounts sum to {total}, not 0")
    open_holds = (sa.select(Hold.account_id, sa.func.sum(Hold.amount).label("held"))
                  .where(Hold.status == HOLD_OPEN).group_by(Hold.account_id).subquery())
    held = sa.func.coalesce(open_holds.c.held, 0)
    wrong = _stream(
        sa.select(Account.id, Account.owner_key, Account.kind, Account.balance, Account.held, held)
        .outerjoin(open_holds, open_holds.c.account_id == Account.id)
        .where(sa.or_(Account.held != held, sa.and_(Account.kind == PERSON, Account.balance - Account.held < 0)))
        .order_by(Account.id))
    others = {}
    for account_id, owner_key, kind, balance, cached_held, open_held in wrong:
        lines = others.setdefault(account_id, [])
        if cached_held != open_held:
            lines.append(f"account {account_id} ({owner_key}) holds {cached_held} "
                         f"but its open holds sum to {open_held}")
        if kind == PERSON and balance - cached_held < 0:
            lines.append(f"account {account_id} ({owner_key}) has a negative available "
                         f"balance {balance - cached_held}")
    for account_id in sorted(balance_problems.keys() | others.keys()):
        if account_id in balance_problems:
            problems.append(balance_problems[account_id])
        problems += others.get(account_id, [])
    return problems


def _read_ahead(cursor):
    """The cursor's rows; a thread fetches the next chunk while these are being
    used, so the database reads on while Python hashes (at most three chunks
    are held). The thread uses only this cursor; psycopg serialises it with
    the queries the caller makes on the same connection meanwhile."""
    chunks, stop = queue.Queue(maxsize=2), threading.Event()

    def fetch():
        try:
            while not stop.is_set():
                rows = cursor.fetchmany(CHUNK)
                chunks.put(rows)
                if not rows:
                    return
        except BaseException as error:  # noqa: BLE001 — raised again in the reader
            chunks.put(error)

    thread = threading.Thread(target=fetch, name="verify-read-ahead", daemon=True)
    thread.start()
    try:
        while rows := chunks.get():
            if isinstance(rows, BaseException):
                raise rows
            yield from rows
    finally:
        stop.set()
        while thread.is_alive():  # let a blocked put through, then the thread ends
            with contextlib.suppress(queue.Empty):
                chunks.get_nowait()
            thread.join(0.05)


def _entries_by_account():
    """(id, account_id, transfer_id, amount, balance_after, hash) of every entry,
    by account then id, as plain tuples: on PostgreSQL straight from a named
    cursor read ahead by a thread (this loop is most of the run)."""
    connection = db.session.connection()
    stmt = (sa.select(Entry.id, Entry.account_id, Entry.transfer_id, Entry.amount, Entry.balance_after,
                      Entry.hash).order_by(Entry.account_id, Entry.id))
    if connection.dialect.name != "postgresql":
        yield from _stream(stmt)
        return
    sql = str(stmt.compile(dialect=connection.dialect))
    with connection.connection.driver_connection.cursor(name="linli_verify_entries") as cursor:
        cursor.execute(sql)
        yield from _read_ahead(cursor)


_ACCOUNT_STATE = (sa.select(Account.id, Account.owner_key, Account.balance, Account.chain_head)
                  .where(Account.id.in_(sa.bindparam("ids", expanding=True))))


def _chains() -> tuple[list[str], dict[int, str], int]:
    """Recomputes every chain; returns (problems, cached-balance problems by
    account, number of entries). Accounts are compared with their cached head
    and balance a chunk at a time, so nothing grows with the ledger."""
    problems, balance_problems = [], {}
    closed = []  # (account id, newest hash, where the chain broke or None, sum of its entries)

    def compare():
        state = {row.id: row for row in db.session.execute(_ACCOUNT_STATE, {"ids": [c[0] for c in closed]})}
        for account_id, head, broken_at, total in closed:
            account = state.get(account_id)
            if broken_at is not None:
                problems.append(f"account {account_id}: hash chain breaks at entry {broken_at} "
                                "(edited, inserted or deleted entry)")
            elif account is None or account.chain_head != head:
                problems.append(f"account {account_id}: chain head does not match its newest entry "
                                "(an entry was deleted or the head edited)")
            if account is not None and account.balance != total:
                balance_problems[account_id] = (f"account {account_id} ({account.owner_key}) caches balance "
                                                f"{account.balance} but its entries sum to {total}")
        closed.clear()

    count = 0
    for account_id, rows in itertools.groupby(_entries_by_account(), key=lambda row: row[1]):
        prev, running, broken_at = GENESIS_HASH, 0, None
        for eid, _account, transfer_id, amount, balance_after, link in rows:
            count += 1
            running += amount
            if broken_at is not None:
                continue
            if link != entry_hash(prev_hash=prev, account_id=account_id, transfer_id=transfer_id,
                                  amount=amount, balance_after=balance_after) or balance_after != running:
                broken_at = eid
            prev = link
        closed.append((account_id, prev, broken_at, running))
        if len(closed) >= CHUNK:
            compare()
    if closed:
        compare()
    no_entries = ~sa.exists().where(Entry.account_id == Account.id)
    for account_id, owner_key, balance, head in _stream(
            sa.select(Account.id, Account.owner_key, Account.balance, Account.chain_head)
            .where(no_entries, sa.or_(Account.chain_head != GENESIS_HASH, Account.balance != 0))
            .order_by(Account.id)):
        if balance != 0:
            balance_problems[account_id] = (f"account {account_id} ({owner_key}) caches balance {balance} "
                                            "but its entries sum to 0")
        if head != GENESIS_HASH:
            problems.append(f"account {account_id}: chain head set but it has no entries")
    return problems, balance_problems, count


def _holds() -> list[str]:
    problems = []
    posted = _stream(
        sa.select(Hold.id, Hold.account_id, Hold.amount, Hold.transfer_id, Transfer.id,
                  Transfer.debit_account_id, Transfer.amount)
        .outerjoin(Transfer, Transfer.id == Hold.transfer_id)
        .where(Hold.status == HOLD_POSTED,
               sa.or_(Transfer.id.is_(None), Transfer.debit_account_id != Hold.account_id,
                      Transfer.amount > Hold.amount))
        .order_by(Hold.id))
    for hold_id, account_id, held, transfer_id, found, debited, posted_amount in posted:
        if found is None:
            problems.append(f"hold {hold_id} is posted but its transfer {transfer_id} is missing")
        elif debited != account_id:
            problems.append(f"hold {hold_id} on account {account_id} was posted by transfer "
                            f"{transfer_id}, which debits account {debited}")
        elif posted_amount > held:
            problems.append(f"hold {hold_id} of {held} was posted as {posted_amount}")
    unposted = _stream(
        sa.select(Hold.id, Hold.status, Hold.transfer_id)
        .where(Hold.status != HOLD_POSTED, Hold.transfer_id.is_not(None)).order_by(Hold.id))
    for hold_id, status, transfer_id in unposted:
        problems.append(f"hold {hold_id} is {status} but names transfer {transfer_id}")
    return problems


def verify() -> tuple[list[str], dict]:
    """Returns (problems, counts). No problems means every invariant holds."""
    transfers = _transfers_balance()
    chains, balance_problems, entries = _chains()
    problems = transfers + _account_figures(balance_problems) + chains + _holds()
    counts = {
        "accounts": db.session.scalar(sa.select(sa.func.count()).select_from(Account)),
        "transfers": db.session.scalar(sa.select(sa.func.count()).select_from(Transfer)),
        "entries": entries,
        "holds": db.session.scalar(sa.select(sa.func.count()).select_from(Hold)),
    }
    return problems, counts
