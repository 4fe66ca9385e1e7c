"""Ledger tables. Only `points.ledger` writes them (house rule 4)."""
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db
from people.credentials import register_personal_stake

PERSON = "person"
ORG_ISSUING = "org_issuing"        # may go negative: the org's outstanding liability
ORG_REDEMPTION = "org_redemption"  # receives points spent on the org's benefits
ACCOUNT_KINDS = (PERSON, ORG_ISSUING, ORG_REDEMPTION)
GENESIS_HASH = "0" * 64


class Account(db.Model):
    __tablename__ = "accounts"
    __table_args__ = (
        # The last line of defence behind the conditional updates in ledger.py.
        sa.CheckConstraint(f"kind <> '{PERSON}' OR balance - held >= 0", name="person_not_negative"),
        sa.CheckConstraint("held >= 0", name="held_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # "person:12", "org_issuing:3": one account per owner and kind.
    owner_key: Mapped[str] = mapped_column(sa.String(40), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orgs.id"), index=True)
    balance: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    held: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    # Hash of this account's newest entry: the head of its chain.
    chain_head: Mapped[str] = mapped_column(sa.String(64), default=GENESIS_HASH)
    created_at: Mapped[object] = mapped_column(UTCDateTime)


class Transfer(db.Model):
    """A positive amount moved from one account to another; never changed."""

    __tablename__ = "transfers"
    __table_args__ = (sa.CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    debit_account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    credit_account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    kind: Mapped[str] = mapped_column(sa.String(24))
    memo: Mapped[str] = mapped_column(sa.String(200), default="")
    # What caused it, by key, e.g. "settlement:42" (points never imports its causes).
    cause_key: Mapped[str | None] = mapped_column(sa.String(80), index=True)
    reverses_id: Mapped[int | None] = mapped_column(sa.ForeignKey("transfers.id"), unique=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime)


class Entry(db.Model):
    """One side of a transfer on one account. Append-only: a trigger on
    PostgreSQL refuses UPDATE and DELETE, and the hash chain exposes edits."""

    __tablename__ = "entries"
    __table_args__ = (sa.Index("ix_entries_account_id_id", "account_id", "id"),)

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"))
    transfer_id: Mapped[int] = mapped_column(sa.ForeignKey("transfers.id"), index=True)
    amount: Mapped[int] = mapped_column(sa.BigInteger)  # signed
    balance_after: Mapped[int] = mapped_column(sa.BigInteger)
    # sha256(previous entry's hash | account | transfer | amount | balance_after);
    # the first entry of an account chains from GENESIS_HASH.
    hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[object] = mapped_column(UTCDateTime)

    # Read-only: statements show the transfer's kind, memo and cause.
    transfer = relationship(Transfer, viewonly=True)


HOLD_OPEN, HOLD_POSTED, HOLD_VOIDED = "open", "posted", "voided"


class Hold(db.Model):
    """Points reserved on a person's account (a redemption awaiting pickup),
    later posted (a transfer) or voided, exactly once."""

    __tablename__ = "holds"
    __table_args__ = (sa.CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    status: Mapped[str] = mapped_column(sa.String(8), default=HOLD_OPEN)
    memo: Mapped[str] = mapped_column(sa.String(200), default="")
    cause_key: Mapped[str | None] = mapped_column(sa.String(80), index=True)
    transfer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("transfers.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime)
    closed_at: Mapped[object | None] = mapped_column(UTCDateTime)


@register_personal_stake(order=20)
def _holds_points(user_id: int) -> str | None:
    """Points are the person's own: an account that ever had an entry makes a
    password set by someone else a way to spend them (people.credentials)."""
    has_history = db.session.scalar(sa.select(Account.id).where(
        Account.user_id == user_id, Account.kind == PERSON, Account.chain_head != GENESIS_HASH))
    return "points" if has_history is not None else None
