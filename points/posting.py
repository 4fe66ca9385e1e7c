"""How a transfer is written: the statements behind `ledger.transfer`, built
once per shape with bound parameters only (so each compiles once).

Each leg is one UPDATE that moves the balance (and releases held points when
a hold is posted), refuses a person's debit beyond `balance - held`, and
advances the account's chain head to the new entry's hash, computed in SQL
(`sha256_hex`) over the current head; it returns the new balance and head for
the entry. Accounts are updated in id order, so transfers never deadlock.

On PostgreSQL a transfer is two statements: (claim the key + first leg),
(second leg + both entries), using data-modifying CTEs. Elsewhere it is four:
claim, leg, leg, entries. Both return the new transfer's row, or None when the
key was already taken, and raise INSUFFICIENT_POINTS when a leg is refused
(the caller's savepoint then takes back what was written).
"""
import functools
import hashlib
import sqlite3

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from core.db import db
from core.errors import Code, DomainError

from .models import PERSON, Account, Entry, Transfer


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class sha256_hex(FunctionElement):
    """Lowercase hex SHA-256 of a text, in SQL."""

    type = sa.String()
    inherit_cache = True


@compiles(sha256_hex, "postgresql")
def _sha256_hex_postgresql(element, compiler, **kw):
    return f"encode(sha256(convert_to({compiler.process(element.clauses, **kw)}, 'UTF8')), 'hex')"


@compiles(sha256_hex)
def _sha256_hex_sqlite(element, compiler, **kw):
    return f"linli_sha256_hex({compiler.process(element.clauses, **kw)})"


@sa.event.listens_for(sa.engine.Engine, "connect")
def _teach_sqlite_sha256(dbapi_connection, _record):
    """SQLite has no SHA-256; every new connection gets ours."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_function("linli_sha256_hex", 1, sha256_text, deterministic=True)


def _leg_update(transfer_id, *, debiting: bool, releasing: bool):
    """The one UPDATE of a transfer leg. It adds `:delta` to the balance,
    releases `:release` held points, and advances the chain head to
    `entry_hash` of the new entry, computed in SQL over the row's current
    head. A debit of a person's account only happens if it can afford it (the
    kind is checked in SQL, so the caller needs nothing but the account's id);
    otherwise no row is updated. `transfer_id` is a SQL expression."""
    accounts = Account.__table__.c
    delta = sa.bindparam("delta", type_=sa.BigInteger)
    release = sa.bindparam("release", type_=sa.BigInteger)
    text = lambda value: sa.cast(value, sa.String)  # noqa: E731
    new_balance = accounts.balance + delta
    link = sha256_hex(accounts.chain_head + "|" + text(accounts.id) + "|" + text(transfer_id) + "|"
                      + sa.bindparam("delta_text", type_=sa.String) + "|" + text(new_balance))
    values = {"balance": new_balance, "chain_head": link}
    if releasing:
        values["held"] = accounts.held - release
    stmt = sa.update(Account.__table__).where(accounts.id == sa.bindparam("account_id", type_=sa.Integer))
    if debiting:
        stmt = stmt.where(sa.or_(accounts.kind != PERSON, accounts.balance - accounts.held + release >= -delta))
    return stmt.values(values)


@functools.cache
def _leg_statement(debiting: bool, releasing: bool):
    """One leg, built once per shape (bound parameters only, so it compiles
    once); returns the balance and the new head, or no row when refused."""
    accounts = Account.__table__.c
    transfer_id = sa.bindparam("transfer_id", type_=sa.Integer)
    return (_leg_update(transfer_id, debiting=debiting, releasing=releasing)
            .returning(accounts.balance, accounts.chain_head))



INSERT_ENTRIES = sa.insert(Entry.__table__)
TRANSFER_COLUMNS = [c.key for c in Transfer.__table__.c]


def _claim_values():
    # Prefixed names: an UPDATE in the same statement would take a parameter
    # named like one of its own columns (kind, created_at) as a SET value.
    return {c.key: sa.bindparam(f"new_{c.key}", type_=c.type) for c in Transfer.__table__.c if c.key != "id"}


@functools.cache
def _claim_statement(dialect: str):
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = Transfer.__table__
    return (insert(table).values(_claim_values())
            .on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(*table.c))


def _insufficient(account_id: int, amount: int):
    account = db.session.get(Account, account_id, populate_existing=True)
    return DomainError(Code.INSUFFICIENT_POINTS, "积分余额不足",
                       available=account.balance - account.held, required=amount)


def legs_in_lock_order(debit_id, credit_id, amount, release):
    """(account id, delta, release) per leg, in id order: accounts are always
    locked in the same order, so two transfers cannot deadlock."""
    return sorted([(debit_id, -amount, release), (credit_id, amount, 0)])


def _leg_params(account_id, delta, release):
    return {"account_id": account_id, "delta": delta, "release": release, "delta_text": str(delta)}


def _claim_and_move(values: dict, legs, amount: int, now):
    """Portable: claim the key, one UPDATE per leg, one INSERT of both entries.
    Returns the new transfer's row, or None if the key was taken."""
    connection = db.session.connection()
    row = connection.execute(_claim_statement(connection.dialect.name), values).mappings().first()
    if row is None:
        return None
    entries = []
    for account_id, delta, release in legs:
        moved = connection.execute(_leg_statement(delta < 0, bool(release)),
                                   {**_leg_params(account_id, delta, release), "transfer_id": row["id"]}).first()
        if moved is None:
            raise _insufficient(account_id, amount)
        entries.append({"account_id": account_id, "transfer_id": row["id"], "amount": delta,
                        "balance_after": moved.balance, "hash": moved.chain_head, "created_at": now})
    connection.execute(INSERT_ENTRIES, entries)
    return row


@functools.cache
def _claim_and_first_leg_postgresql(debiting: bool, releasing: bool):
    """Claims the key and moves the first leg in one statement; no leg moves
    when the key was taken (the UPDATE joins the empty insert result)."""
    table, accounts = Transfer.__table__, Account.__table__.c
    claimed = (postgresql.insert(table).values(_claim_values())
               .on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(*table.c).cte("claimed"))
    leg = (_leg_update(claimed.c.id, debiting=debiting, releasing=releasing)
           .where(sa.or_(accounts.id == claimed.c.debit_account_id, accounts.id == claimed.c.credit_account_id))
           .returning(accounts.balance, accounts.chain_head).cte("leg"))
    return sa.select(claimed, leg.c.balance, leg.c.chain_head).select_from(claimed.outerjoin(leg, sa.true()))


@functools.cache
def _second_leg_and_entries_postgresql(debiting: bool, releasing: bool):
    """Moves the second leg and writes both entries in one statement; only the
    first entry is written when the second leg is refused."""
    accounts, entries = Account.__table__.c, Entry.__table__
    transfer_id = sa.bindparam("transfer_id", type_=sa.Integer)
    now = sa.bindparam("now", type_=entries.c.created_at.type)
    leg = (_leg_update(transfer_id, debiting=debiting, releasing=releasing)
           .returning(accounts.id, accounts.balance, accounts.chain_head).cte("leg"))
    first = sa.select(sa.bindparam("first_account_id", type_=sa.Integer), transfer_id,
                      sa.bindparam("first_delta", type_=sa.BigInteger),
                      sa.bindparam("first_balance", type_=sa.BigInteger),
                      sa.bindparam("first_hash", type_=sa.String), now)
    second = sa.select(leg.c.id, transfer_id, sa.bindparam("delta", type_=sa.BigInteger), leg.c.balance,
                       leg.c.chain_head, now)
    columns = ["account_id", "transfer_id", "amount", "balance_after", "hash", "created_at"]
    return (sa.insert(entries).from_select(columns, sa.union_all(first, second))
            .returning(entries.c.account_id).add_cte(leg))


def _claim_and_move_postgresql(values: dict, legs, amount: int, now):
    """The same as `_claim_and_move` in two round trips instead of four."""
    connection = db.session.connection()
    (first_id, first_delta, first_release), (second_id, second_delta, second_release) = legs
    row = connection.execute(_claim_and_first_leg_postgresql(first_delta < 0, bool(first_release)),
                             {**values, **_leg_params(first_id, first_delta, first_release)}).mappings().first()
    if row is None:
        return None
    if row["balance"] is None:
        raise _insufficient(first_id, amount)
    written = connection.execute(
        _second_leg_and_entries_postgresql(second_delta < 0, bool(second_release)),
        {**_leg_params(second_id, second_delta, second_release), "transfer_id": row["id"], "now": now,
         "first_account_id": first_id, "first_delta": first_delta, "first_balance": row["balance"],
         "first_hash": row["chain_head"]}).all()
    if len(written) < 2:
        raise _insufficient(second_id, amount)
    return row




def claim_and_move(fields: dict, legs, amount: int, now):
    """Writes the transfer with these column values (see the module docstring)."""
    values = {f"new_{key}": value for key, value in fields.items()}
    postgres = db.session.get_bind().dialect.name == "postgresql"
    return (_claim_and_move_postgresql if postgres else _claim_and_move)(values, legs, amount, now)


# -- many credits from one org account (settlement) ----------------------------

_ACCOUNT_STATE = (sa.select(Account.id, Account.balance, Account.chain_head)
                  .where(Account.id.in_(sa.bindparam("ids", expanding=True))).order_by(Account.id))
_SET_ACCOUNT_STATE = (sa.update(Account.__table__)
                      .where(Account.__table__.c.id == sa.bindparam("account_id"))
                      .values(balance=sa.bindparam("new_balance"), chain_head=sa.bindparam("new_head")))


@functools.cache
def _claim_many_statement(dialect: str):
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = Transfer.__table__
    return (insert(table).on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(table.c.idempotency_key, table.c.id))


def claim_many(rows: list[dict]) -> dict[str, int]:
    """Inserts the transfers whose idempotency key is free; {key: new id} for
    those inserted (a taken key is simply absent). One statement built once,
    sent as multi-row INSERTs (compiling a new VALUES list for every batch cost
    more than the insert)."""
    statement = _claim_many_statement(db.session.get_bind().dialect.name)
    return dict(db.session.execute(statement, rows).all())


def entry_hash(*, prev_hash: str, account_id: int, transfer_id: int, amount: int,
               balance_after: int) -> str:
    """The chain link of one entry (its one definition): any edited field or
    missing row breaks it. `_next_head` computes the same in SQL; `move_many`
    and `verify` compute it here."""
    material = f"{prev_hash}|{account_id}|{transfer_id}|{amount}|{balance_after}"
    return sha256_text(material)


def move_many(transfers: list[tuple[int, int, int, int]], now) -> None:
    """Writes the legs and entries of (transfer id, debit, credit, amount), in
    that order, in three statements: the accounts locked in id order (as one
    transfer locks them), the entries with balances and chain links computed
    here exactly as `_leg_update` computes them in SQL, then each account's
    new balance and head. For debits that cannot be refused (org accounts)."""
    if not transfers:  # (an empty executemany would insert one row of defaults)
        return
    ids = sorted({account for _, debit, credit, _ in transfers for account in (debit, credit)})
    # FOR NO KEY UPDATE, not FOR UPDATE: the transfers just inserted hold key-share
    # locks on these accounts (their foreign keys), and so do other settlements'
    # of the same org; a FOR UPDATE would wait on theirs while they wait on ours.
    locked = _ACCOUNT_STATE.with_for_update(key_share=True) if db.session.get_bind().dialect.name == "postgresql" \
        else _ACCOUNT_STATE
    state = {row.id: [row.balance, row.chain_head] for row in db.session.execute(locked, {"ids": ids})}
    entries = []
    for transfer_id, debit, credit, amount in transfers:
        for account_id, delta in ((debit, -amount), (credit, amount)):
            balance, head = state[account_id]
            balance += delta
            head = entry_hash(prev_hash=head, account_id=account_id, transfer_id=transfer_id, amount=delta,
                              balance_after=balance)
            state[account_id] = [balance, head]
            entries.append({"account_id": account_id, "transfer_id": transfer_id, "amount": delta,
                            "balance_after": balance, "hash": head, "created_at": now})
    connection = db.session.connection()
    connection.execute(INSERT_ENTRIES, entries)  # in chain order: ids rise along each chain
    connection.execute(_SET_ACCOUNT_STATE, [{"account_id": account_id, "new_balance": balance, "new_head": head}
                                            for account_id, (balance, head) in sorted(state.items())])
