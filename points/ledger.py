"""The ledger: the only writer of accounts, transfers, entries and holds.

Rules (DESIGN.md):
- A transfer moves a positive integer amount between two accounts and writes
  two entries carrying `balance_after`; nothing is ever updated or deleted.
- A person's `balance - held` never goes below zero. The guard is one
  conditional UPDATE (`... WHERE balance - held >= :amount`), atomic on SQLite
  and PostgreSQL alike; a CHECK constraint stands behind it.
- Every transfer and hold carries an idempotency key, unique in the database:
  the same key with the same body returns the original; with another body,
  IDEMPOTENCY_CONFLICT.
- Accounts are updated in id order, so two transfers over the same pair of
  accounts cannot deadlock on PostgreSQL.
- Entries are hash-chained per account (`chain_head` is the newest hash), so
  `verify` finds an edited or deleted row.
- One round trip per leg: the UPDATE that moves the balance also advances the
  chain head, hashing in SQL (`sha256_hex`), and returns both for the entry.
  A transfer is: claim the key (INSERT ... RETURNING), one UPDATE per
  account, one INSERT of both entries, inside a savepoint.
"""
import contextlib
import functools
import hashlib
import json
import sqlite3

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.functions import FunctionElement

from core.db import db
from core.errors import Conflict, DomainError, Invalid

from .models import (GENESIS_HASH, HOLD_OPEN, HOLD_POSTED, HOLD_VOIDED, ORG_ISSUING,
                     ORG_REDEMPTION, PERSON, Account, Entry, Hold, Transfer)


# -- accounts ---------------------------------------------------------------

def _insert_ignoring_conflict(model, values: dict, unique_column: str):
    """INSERT ... ON CONFLICT (unique_column) DO NOTHING, on either backend."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(model).values(**values).on_conflict_do_nothing(index_elements=[unique_column])
    return db.session.execute(stmt.returning(model.id)).scalar()


def _account(owner_key: str, kind: str, now, **owner) -> Account:
    account = db.session.scalar(sa.select(Account).where(Account.owner_key == owner_key))
    if account is None:
        _insert_ignoring_conflict(
            Account, {"owner_key": owner_key, "kind": kind, "balance": 0, "held": 0,
                      "chain_head": GENESIS_HASH, "created_at": now, **owner}, "owner_key")
        account = db.session.scalar(sa.select(Account).where(Account.owner_key == owner_key))
    return account


def person_account(user_id: int, *, now) -> Account:
    """The person's account, created on first use."""
    return _account(f"{PERSON}:{user_id}", PERSON, now, user_id=user_id)


def find_person_account(user_id: int) -> Account | None:
    """The person's account if it exists (reads never create accounts)."""
    return db.session.scalar(sa.select(Account).where(Account.owner_key == f"{PERSON}:{user_id}"))


def issuing_account(org_id: int, *, now) -> Account:
    return _account(f"{ORG_ISSUING}:{org_id}", ORG_ISSUING, now, org_id=org_id)


def redemption_account(org_id: int, *, now) -> Account:
    return _account(f"{ORG_REDEMPTION}:{org_id}", ORG_REDEMPTION, now, org_id=org_id)


def available(account: Account | None) -> int:
    return 0 if account is None else account.balance - account.held


def _fresh_available(account_id: int) -> int:
    return available(db.session.get(Account, account_id, populate_existing=True))


# -- hashing ----------------------------------------------------------------

def entry_hash(*, prev_hash: str, account_id: int, transfer_id: int, amount: int,
               balance_after: int) -> str:
    """The chain link of one entry: any edited field or missing row breaks it.
    `_next_head` computes the same in SQL; `verify` recomputes it here."""
    material = f"{prev_hash}|{account_id}|{transfer_id}|{amount}|{balance_after}"
    return _sha256_hex(material)


def _sha256_hex(text: str) -> str:
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
        dbapi_connection.create_function("linli_sha256_hex", 1, _sha256_hex, deterministic=True)


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


def fingerprint_of(body: dict) -> str:
    """A stable digest of a request body, to tell a replay from a different request."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


# -- transfers --------------------------------------------------------------

def _claim_key(model, key: str, values: dict):
    """Inserts the row unless `key` is taken; returns (new id or None, existing row or None)."""
    new_id = _insert_ignoring_conflict(model, {"idempotency_key": key, **values}, "idempotency_key")
    if new_id is not None:
        return new_id, None
    return None, db.session.scalar(sa.select(model).where(model.idempotency_key == key))


def _may_be_refused(debit: Account) -> bool:
    """Only a person's account refuses a debit; unknown (expired) counts as a person."""
    return sa.inspect(debit).dict.get("kind", PERSON) == PERSON


def _id(account: Account) -> int:
    """The account's id without reloading an expired instance (one round trip less)."""
    identity = sa.inspect(account).identity
    return identity[0] if identity else account.id


def transfer(*, debit: Account, credit: Account, amount: int, kind: str, memo: str,
             idempotency_key: str, now, cause_key: str | None = None, actor_id: int | None = None,
             fingerprint: str | None = None, reverses_id: int | None = None,
             _release: int = 0) -> Transfer:
    """Moves `amount` from `debit` to `credit`, once per idempotency key.

    Raises VALIDATION_ERROR for a non-positive amount or a self-transfer;
    IDEMPOTENCY_CONFLICT when the key was used for another body;
    INSUFFICIENT_POINTS when a person's available balance is short.
    A replay returns the original transfer with `replayed = True`.
    """
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise Invalid({"amount": ["must be a positive integer"]})
    debit_id, credit_id = _id(debit), _id(credit)
    if debit_id == credit_id:
        raise Invalid({"account": ["cannot transfer to the same account"]})
    fingerprint = fingerprint or fingerprint_of(
        {"debit": debit_id, "credit": credit_id, "amount": amount, "kind": kind})
    # A savepoint where a refusal can follow a write (the key is claimed before
    # a person's debit is tried): it then leaves nothing behind even if the
    # caller carries on. Elsewhere every refusal comes before the first write,
    # and two round trips are saved.
    with db.session.begin_nested() if _may_be_refused(debit) else contextlib.nullcontext():
        created = _transfer(debit_id, credit_id, amount, kind, memo, idempotency_key, now, cause_key,
                            actor_id, fingerprint, reverses_id, _release)
    for account in (debit, credit):
        db.session.expire(account)
    return created


_INSERT_ENTRIES = sa.insert(Entry.__table__)
_TRANSFER_COLUMNS = [c.key for c in Transfer.__table__.c]


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
    return DomainError("INSUFFICIENT_POINTS", "积分余额不足",
                       available=_fresh_available(account_id), required=amount)


def _legs(debit_id, credit_id, amount, release):
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
    connection.execute(_INSERT_ENTRIES, entries)
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


def _transfer(debit_id, credit_id, amount, kind, memo, idempotency_key, now, cause_key, actor_id,
              fingerprint, reverses_id, release) -> Transfer:
    values = {f"new_{key}": value for key, value in {
        "idempotency_key": idempotency_key, "fingerprint": fingerprint, "debit_account_id": debit_id,
        "credit_account_id": credit_id, "amount": amount, "kind": kind, "memo": memo[:200],
        "cause_key": cause_key, "reverses_id": reverses_id, "actor_id": actor_id, "created_at": now,
    }.items()}
    legs = _legs(debit_id, credit_id, amount, release)
    postgres = db.session.get_bind().dialect.name == "postgresql"
    row = (_claim_and_move_postgresql if postgres else _claim_and_move)(values, legs, amount, now)
    if row is None:
        existing = db.session.scalar(sa.select(Transfer).where(Transfer.idempotency_key == idempotency_key))
        if existing.fingerprint != fingerprint:
            raise Conflict("IDEMPOTENCY_CONFLICT", "该幂等键已用于另一笔不同的操作",
                           idempotency_key=idempotency_key)
        existing.replayed = True
        return existing
    # The row joins the session as loaded, without a SELECT. merge, not add:
    # SQLite may reuse the id of a refused transfer the session still knows.
    created = Transfer(**{key: row[key] for key in _TRANSFER_COLUMNS})
    make_transient_to_detached(created)
    created = db.session.merge(created, load=False)
    created.replayed = False
    return created


def reverse(*, original: Transfer, reason: str, actor_id: int | None, now) -> Transfer:
    """Undoes `original` with a new, linked transfer the other way, at most once.

    Raises ALREADY_REVERSED if it was reversed before (or is itself a
    reversal); INSUFFICIENT_POINTS if the person has already spent the points.
    """
    if original.reverses_id is not None:
        raise Conflict("ALREADY_REVERSED", "冲正记录本身不能再冲正", transfer_id=original.id)
    debit = db.session.get(Account, original.credit_account_id)
    credit = db.session.get(Account, original.debit_account_id)
    result = transfer(debit=debit, credit=credit, amount=original.amount, kind="reversal",
                      memo=f"冲正：{reason}"[:200], idempotency_key=f"reversal:{original.id}",
                      now=now, cause_key=original.cause_key, actor_id=actor_id,
                      fingerprint=fingerprint_of({"reverses": original.id}),
                      reverses_id=original.id)
    if result.replayed:
        raise Conflict("ALREADY_REVERSED", "该笔积分已冲正", transfer_id=original.id,
                       reversal_id=result.id)
    return result


# -- holds ------------------------------------------------------------------

def hold(*, account: Account, amount: int, idempotency_key: str, memo: str, now,
         cause_key: str | None = None) -> Hold:
    """Reserves `amount` of a person's available points.

    Raises INSUFFICIENT_POINTS, IDEMPOTENCY_CONFLICT; a replay returns the
    original hold with `replayed = True`.
    """
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise Invalid({"amount": ["must be a positive integer"]})
    with db.session.begin_nested():
        created = _hold(account, amount, idempotency_key, memo, now, cause_key)
    db.session.expire(account)
    return created


def _hold(account, amount, idempotency_key, memo, now, cause_key) -> Hold:
    new_id, existing = _claim_key(Hold, idempotency_key, {
        "account_id": account.id, "amount": amount, "status": HOLD_OPEN, "memo": memo[:200],
        "cause_key": cause_key, "created_at": now})
    if existing is not None:
        if existing.account_id != account.id or existing.amount != amount:
            raise Conflict("IDEMPOTENCY_CONFLICT", "该幂等键已用于另一笔不同的操作",
                           idempotency_key=idempotency_key)
        existing.replayed = True
        return existing
    reserved = db.session.execute(
        sa.update(Account)
        .where(Account.id == account.id, Account.balance - Account.held >= amount)
        .values(held=Account.held + amount)
        .returning(Account.id)
    ).first()
    if reserved is None:
        raise DomainError("INSUFFICIENT_POINTS", "积分余额不足",
                          available=_fresh_available(account.id), required=amount)
    created = db.session.get(Hold, new_id)
    created.replayed = False
    return created


def _close(hold_row: Hold, status: str, now) -> bool:
    """Marks an open hold `status`; False if it was no longer open (someone
    else closed it first). The caller releases the reservation."""
    closed = db.session.execute(
        sa.update(Hold.__table__).where(Hold.__table__.c.id == hold_row.id,
                                        Hold.__table__.c.status == HOLD_OPEN)
        .values(status=status, closed_at=now).returning(Hold.__table__.c.id)
    ).first()
    return closed is not None


def post_hold(*, hold_row: Hold, credit: Account, now, amount: int | None = None,
              kind: str = "redeem", memo: str | None = None, actor_id: int | None = None) -> Transfer:
    """Turns an open hold into a transfer to `credit`, exactly once. A partial
    `amount` releases the rest. Raises INVALID_STATE if the hold is not open."""
    amount = hold_row.amount if amount is None else amount
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= hold_row.amount:
        raise Invalid({"amount": ["must be positive and at most the amount held"]})
    with db.session.begin_nested():
        posted = _post(hold_row, credit, now, amount, kind, memo, actor_id)
    db.session.expire(hold_row)
    return posted


def _post(hold_row, credit, now, amount, kind, memo, actor_id) -> Transfer:
    if not _close(hold_row, HOLD_POSTED, now):
        raise Conflict("INVALID_STATE", "该冻结积分已处理", hold_id=hold_row.id)
    debit = db.session.get(Account, hold_row.account_id)
    # The reservation is released by the same UPDATE that debits the person, so
    # accounts are still locked in id order only (no deadlock with transfers).
    posted = transfer(debit=debit, credit=credit, amount=amount, kind=kind,
                      memo=memo or hold_row.memo, idempotency_key=f"hold:{hold_row.id}",
                      now=now, cause_key=hold_row.cause_key, actor_id=actor_id,
                      _release=hold_row.amount)
    db.session.execute(sa.update(Hold.__table__).where(Hold.__table__.c.id == hold_row.id)
                       .values(transfer_id=posted.id))
    return posted


def void_hold(*, hold_row: Hold, now) -> None:
    """Releases an open hold. Raises INVALID_STATE if it is not open."""
    if not _close(hold_row, HOLD_VOIDED, now):
        raise Conflict("INVALID_STATE", "该冻结积分已处理", hold_id=hold_row.id)
    account_id = hold_row.account_id
    db.session.execute(sa.update(Account.__table__).where(Account.__table__.c.id == account_id)
                       .values(held=Account.__table__.c.held - hold_row.amount))
    db.session.expire(hold_row)
    cached = db.session.identity_map.get(identity_key(Account, account_id))
    if cached is not None:
        db.session.expire(cached)
