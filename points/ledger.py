"""The ledger: the only writer of accounts, transfers, entries and holds.

Rules (DESIGN.md):
- A transfer moves a positive integer amount between two accounts and writes
  two entries carrying `balance_after`; nothing is ever updated or deleted.
- A person's `balance - held` never goes below zero. The guard is one
  conditional UPDATE (`... WHERE kind <> 'person' OR balance - held >= :amount`),
  atomic on SQLite and PostgreSQL alike; a CHECK constraint stands behind it.
- Every transfer and hold carries an idempotency key, unique in the database:
  the same key with the same body returns the original; with another body,
  IDEMPOTENCY_CONFLICT.
- Accounts are updated in id order, so two transfers over the same pair of
  accounts cannot deadlock on PostgreSQL.
- Entries are hash-chained per account (`chain_head` is the newest hash), so
  `verify` finds an edited or deleted row.
- How the rows are written, in as few round trips as possible: `posting`.
- A refusal leaves no trace: every refusal that can follow a write runs
  inside a savepoint.
"""
import contextlib
import hashlib
import json
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from core.db import db
from core.errors import Code, Conflict, DomainError, Invalid

from .models import (GENESIS_HASH, HOLD_OPEN, HOLD_POSTED, HOLD_VOIDED, ORG_ISSUING,
                     ORG_REDEMPTION, PERSON, Account, Hold, Transfer)
from .posting import TRANSFER_COLUMNS, claim_and_move, claim_many, legs_in_lock_order, move_many


# -- accounts ---------------------------------------------------------------

def _insert_ignoring_conflict(model, values: dict, unique_column: str):
    """INSERT ... ON CONFLICT (unique_column) DO NOTHING, on either backend."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(model).values(**values).on_conflict_do_nothing(index_elements=[unique_column])
    return db.session.execute(stmt.returning(model.id)).scalar()


# Built once: every transfer looks up its accounts by owner.
_BY_OWNER = sa.select(Account).where(Account.owner_key == sa.bindparam("owner_key"))


def _find(owner_key: str) -> Account | None:
    return db.session.scalar(_BY_OWNER, {"owner_key": owner_key})


def _account(owner_key: str, kind: str, now, **owner) -> Account:
    account = _find(owner_key)
    if account is None:
        _insert_ignoring_conflict(
            Account, {"owner_key": owner_key, "kind": kind, "balance": 0, "held": 0,
                      "chain_head": GENESIS_HASH, "created_at": now, **owner}, "owner_key")
        account = _find(owner_key)
    return account


def person_account(user_id: int, *, now) -> Account:
    """The person's account, created on first use."""
    return _account(f"{PERSON}:{user_id}", PERSON, now, user_id=user_id)


def person_accounts(user_ids, *, now) -> dict[int, Account]:
    """The accounts of many people at once (creating the missing ones), by user id:
    two statements however many people, for settlement's hundreds of volunteers."""
    user_ids = sorted(set(user_ids))
    if not user_ids:
        return {}
    keys = {f"{PERSON}:{user_id}": user_id for user_id in user_ids}
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(insert(Account).values([
        {"owner_key": key, "kind": PERSON, "user_id": user_id, "balance": 0, "held": 0,
         "chain_head": GENESIS_HASH, "created_at": now} for key, user_id in keys.items()
    ]).on_conflict_do_nothing(index_elements=["owner_key"]))
    found = db.session.scalars(sa.select(Account).where(Account.owner_key.in_(list(keys))))
    return {account.user_id: account for account in found}


def find_person_account(user_id: int) -> Account | None:
    """The person's account if it exists (reads never create accounts)."""
    return _find(f"{PERSON}:{user_id}")


def issuing_account(org_id: int, *, now) -> Account:
    return _account(f"{ORG_ISSUING}:{org_id}", ORG_ISSUING, now, org_id=org_id)


def redemption_account(org_id: int, *, now) -> Account:
    return _account(f"{ORG_REDEMPTION}:{org_id}", ORG_REDEMPTION, now, org_id=org_id)


def available(account: Account | None) -> int:
    return 0 if account is None else account.balance - account.held


def _fresh_available(account_id: int) -> int:
    return available(db.session.get(Account, account_id, populate_existing=True))


# -- hashing ----------------------------------------------------------------

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
        raise Invalid({"amount": ["须为正整数"]})
    debit_id, credit_id = _id(debit), _id(credit)
    if debit_id == credit_id:
        raise Invalid({"account": ["不能转入同一账户"]})
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


def _transfer(debit_id, credit_id, amount, kind, memo, idempotency_key, now, cause_key, actor_id,
              fingerprint, reverses_id, release) -> Transfer:
    fields = {"idempotency_key": idempotency_key, "fingerprint": fingerprint, "debit_account_id": debit_id,
              "credit_account_id": credit_id, "amount": amount, "kind": kind, "memo": memo[:200],
              "cause_key": cause_key, "reverses_id": reverses_id, "actor_id": actor_id, "created_at": now}
    row = claim_and_move(fields, legs_in_lock_order(debit_id, credit_id, amount, release), amount, now)
    if row is None:
        existing = db.session.scalar(sa.select(Transfer).where(Transfer.idempotency_key == idempotency_key))
        if existing.fingerprint != fingerprint:
            raise Conflict(Code.IDEMPOTENCY_CONFLICT, "该幂等键已用于另一笔不同的操作",
                           idempotency_key=idempotency_key)
        existing.replayed = True
        return existing
    # The row joins the session as loaded, without a SELECT. merge, not add:
    # SQLite may reuse the id of a refused transfer the session still knows.
    created = Transfer(**{key: row[key] for key in TRANSFER_COLUMNS})
    make_transient_to_detached(created)
    created = db.session.merge(created, load=False)
    created.replayed = False
    return created


@dataclass(frozen=True)
class Credit:
    """One credit of `issue_many`."""

    account: Account
    amount: int
    idempotency_key: str
    memo: str
    cause_key: str | None = None


def issue_many(*, debit: Account, credits: list[Credit], kind: str, now, actor_id: int | None = None) -> list[int]:
    """`transfer` from one org account to many, as settlement pays hundreds of
    volunteers: the same rows, keys, fingerprints and chains as one `transfer`
    per credit, in a handful of statements whatever their number. Returns the
    transfer ids in order (a key used before gives its transfer, as a replay).

    Raises VALIDATION_ERROR for a non-positive amount, a self-transfer or a
    person's account as the debit (it could refuse; use `transfer`);
    IDEMPOTENCY_CONFLICT when a key was used for another body.
    """
    debit_id = _id(debit)
    if db.session.get(Account, debit_id).kind == PERSON:
        raise Invalid({"account": ["批量发放只能从机构账户扣出"]})
    if len({credit.idempotency_key for credit in credits}) != len(credits):
        raise Invalid({"idempotency_key": ["每笔入账须有各自的幂等键"]})
    rows = []
    for credit in credits:
        credit_id, amount = _id(credit.account), credit.amount
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise Invalid({"amount": ["须为正整数"]})
        if credit_id == debit_id:
            raise Invalid({"account": ["不能转入同一账户"]})
        rows.append({"idempotency_key": credit.idempotency_key, "debit_account_id": debit_id,
                     "credit_account_id": credit_id, "amount": amount, "kind": kind,
                     "memo": credit.memo[:200], "cause_key": credit.cause_key, "reverses_id": None,
                     "actor_id": actor_id, "created_at": now, "fingerprint": fingerprint_of(
                         {"debit": debit_id, "credit": credit_id, "amount": amount, "kind": kind})})
    if not rows:
        return []
    with db.session.begin_nested():  # an IDEMPOTENCY_CONFLICT leaves no claimed key behind
        claimed = claim_many(rows)
        taken = [row for row in rows if row["idempotency_key"] not in claimed]
        existing = {t.idempotency_key: t for t in db.session.scalars(sa.select(Transfer).where(
            Transfer.idempotency_key.in_([row["idempotency_key"] for row in taken])))} if taken else {}
        for row in taken:
            if existing[row["idempotency_key"]].fingerprint != row["fingerprint"]:
                raise Conflict(Code.IDEMPOTENCY_CONFLICT, "该幂等键已用于另一笔不同的操作",
                               idempotency_key=row["idempotency_key"])
        move_many([(claimed[row["idempotency_key"]], debit_id, row["credit_account_id"], row["amount"])
                   for row in rows if row["idempotency_key"] in claimed], now)
    for account in [debit, *(credit.account for credit in credits)]:
        db.session.expire(account)
    return [claimed.get(row["idempotency_key"]) or existing[row["idempotency_key"]].id for row in rows]


_LOCK_STATE = (sa.select(Account.id, Account.kind, Account.balance, Account.held, Account.chain_head)
               .where(Account.id.in_(sa.bindparam("ids", expanding=True))).order_by(Account.id))


def lock_accounts(account_ids) -> dict:
    """Row-locks the accounts until commit, in id order as every transfer locks
    them (on PostgreSQL; SQLite lets one writer in at a time anyway), and
    returns {id: row of (id, kind, balance, held, chain_head)} as they are once locked."""
    stmt = _LOCK_STATE.with_for_update() if db.session.get_bind().dialect.name == "postgresql" else _LOCK_STATE
    return {row.id: row for row in db.session.execute(stmt, {"ids": sorted(set(account_ids))})}


@dataclass(frozen=True)
class Move:
    """One transfer of `transfer_many`, between accounts given by id."""

    debit_id: int
    credit_id: int
    amount: int
    idempotency_key: str
    memo: str
    cause_key: str | None = None


def transfer_many(*, moves: list[Move], kind: str, now, actor_id: int | None = None) -> list[tuple[int | None, bool]]:
    """`transfer` for many moves at once, as a nightly job posts thousands: the
    same rows, keys, fingerprints and chains as one `transfer` per move, in a
    handful of statements whatever their number. Per move, in order:
    (transfer id, False) when posted; (the original's id, True) when its key was
    used before for the same body (a replay); (None, False) when refused
    because a person's `balance - held`, after the moves before it, cannot
    cover it (nothing of it is written, as `transfer` refuses).

    Every account is locked in id order before anything is written (the
    caller may hold some of those locks already). Raises VALIDATION_ERROR for a
    non-positive amount, a self-transfer or a key given twice;
    IDEMPOTENCY_CONFLICT when a key was used for another body (nothing posted).
    """
    if len({move.idempotency_key for move in moves}) != len(moves):
        raise Invalid({"idempotency_key": ["each move needs a key of its own"]})
    rows = []
    for move in moves:
        amount = move.amount
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise Invalid({"amount": ["must be a positive integer"]})
        if move.debit_id == move.credit_id:
            raise Invalid({"account": ["cannot transfer to the same account"]})
        rows.append({"idempotency_key": move.idempotency_key, "debit_account_id": move.debit_id,
                     "credit_account_id": move.credit_id, "amount": amount, "kind": kind,
                     "memo": move.memo[:200], "cause_key": move.cause_key, "reverses_id": None,
                     "actor_id": actor_id, "created_at": now, "fingerprint": fingerprint_of(
                         {"debit": move.debit_id, "credit": move.credit_id, "amount": amount, "kind": kind})})
    if not rows:
        return []
    with db.session.begin_nested():  # an IDEMPOTENCY_CONFLICT leaves nothing behind
        state = lock_accounts([account for move in moves for account in (move.debit_id, move.credit_id)])
        keys = [row["idempotency_key"] for row in rows]
        existing = {t.idempotency_key: (t.id, t.fingerprint) for t in db.session.execute(
            sa.select(Transfer.idempotency_key, Transfer.id, Transfer.fingerprint)
            .where(Transfer.idempotency_key.in_(keys)))}
        available = {account_id: row.balance - row.held for account_id, row in state.items()}
        results, postable = {}, []
        for row in rows:
            key, debit, amount = row["idempotency_key"], row["debit_account_id"], row["amount"]
            if key in existing:
                if existing[key][1] != row["fingerprint"]:
                    raise Conflict(Code.IDEMPOTENCY_CONFLICT, "该幂等键已用于另一笔不同的操作", idempotency_key=key)
                results[key] = (existing[key][0], True)
            elif state[debit].kind == PERSON and available[debit] < amount:
                results[key] = (None, False)
            else:
                available[debit] -= amount
                available[row["credit_account_id"]] += amount
                postable.append(row)
        claimed = claim_many(postable) if postable else {}
        if len(claimed) != len(postable):
            # Only an insert that skipped these locks can have taken a key meanwhile.
            raise Conflict(Code.IDEMPOTENCY_CONFLICT, "该幂等键已用于另一笔不同的操作",
                           idempotency_key=next(row["idempotency_key"] for row in postable
                                                if row["idempotency_key"] not in claimed))
        move_many([(claimed[row["idempotency_key"]], row["debit_account_id"], row["credit_account_id"],
                    row["amount"]) for row in postable], now)
        results.update({key: (transfer_id, False) for key, transfer_id in claimed.items()})
    for account_id in state:
        cached = db.session.identity_map.get(identity_key(Account, account_id))
        if cached is not None:
            db.session.expire(cached)
    return [results[row["idempotency_key"]] for row in rows]


def reverse(*, original: Transfer, reason: str, actor_id: int | None, now) -> Transfer:
    """Undoes `original` with a new, linked transfer the other way, at most once.

    Raises ALREADY_REVERSED if it was reversed before (or is itself a
    reversal); INSUFFICIENT_POINTS if the person has already spent the points.
    """
    if original.reverses_id is not None:
        raise Conflict(Code.ALREADY_REVERSED, "冲正记录本身不能再冲正", transfer_id=original.id)
    debit = db.session.get(Account, original.credit_account_id)
    credit = db.session.get(Account, original.debit_account_id)
    result = transfer(debit=debit, credit=credit, amount=original.amount, kind="reversal",
                      memo=f"冲正：{reason}"[:200], idempotency_key=f"reversal:{original.id}",
                      now=now, cause_key=original.cause_key, actor_id=actor_id,
                      fingerprint=fingerprint_of({"reverses": original.id}),
                      reverses_id=original.id)
    if result.replayed:
        raise Conflict(Code.ALREADY_REVERSED, "该笔积分已冲正", transfer_id=original.id,
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
        raise Invalid({"amount": ["须为正整数"]})
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
            raise Conflict(Code.IDEMPOTENCY_CONFLICT, "该幂等键已用于另一笔不同的操作",
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
        raise DomainError(Code.INSUFFICIENT_POINTS, "积分余额不足",
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
        raise Invalid({"amount": ["须为正数且不超过冻结数额"]})
    with db.session.begin_nested():
        posted = _post(hold_row, credit, now, amount, kind, memo, actor_id)
    db.session.expire(hold_row)
    return posted


def _post(hold_row, credit, now, amount, kind, memo, actor_id) -> Transfer:
    if not _close(hold_row, HOLD_POSTED, now):
        raise Conflict(Code.INVALID_STATE, "该冻结积分已处理", hold_id=hold_row.id)
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
        raise Conflict(Code.INVALID_STATE, "该冻结积分已处理", hold_id=hold_row.id)
    account_id = hold_row.account_id
    db.session.execute(sa.update(Account.__table__).where(Account.__table__.c.id == account_id)
                       .values(held=Account.__table__.c.held - hold_row.amount))
    db.session.expire(hold_row)
    cached = db.session.identity_map.get(identity_key(Account, account_id))
    if cached is not None:
        db.session.expire(cached)
