"""Benefits that rooms offer and the redemptions that spend points on them.

Balances never live here: points move only through `points.ledger` (a hold
when a benefit is reserved, posted on pickup, voided on cancel or expiry).
"""
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db

BENEFIT_ACTIVE, BENEFIT_WITHDRAWN = "active", "withdrawn"
LIMIT_TOTAL, LIMIT_MONTH = "total", "month"
LIMIT_PERIODS = (LIMIT_TOTAL, LIMIT_MONTH)
SPONSOR_KINDS = ("merchant", "charity", "government")

RESERVED, FULFILLED, CANCELLED, EXPIRED = "reserved", "fulfilled", "cancelled", "expired"
REDEMPTION_STATUSES = (RESERVED, FULFILLED, CANCELLED, EXPIRED)


class Benefit(db.Model):
    __tablename__ = "benefits"
    __table_args__ = (
        # Behind the conditional UPDATE in redemption.py: stock can never go negative.
        sa.CheckConstraint("stock_left IS NULL OR stock_left >= 0", name="stock_not_negative"),
        sa.CheckConstraint("cost > 0", name="cost_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    description: Mapped[str] = mapped_column(sa.String(2000), default="")
    image_url: Mapped[str | None] = mapped_column(sa.String(500))
    cost: Mapped[int] = mapped_column(sa.Integer)
    # All three NULL = unlimited. `stock_received` = initial stock + restocks.
    stock_initial: Mapped[int | None] = mapped_column(sa.Integer)
    stock_received: Mapped[int | None] = mapped_column(sa.Integer)
    stock_left: Mapped[int | None] = mapped_column(sa.Integer)
    per_user_limit: Mapped[int | None] = mapped_column(sa.Integer)
    limit_period: Mapped[str] = mapped_column(sa.String(8), default=LIMIT_TOTAL)
    available_from: Mapped[object | None] = mapped_column(UTCDateTime)
    available_until: Mapped[object | None] = mapped_column(UTCDateTime)
    min_star: Mapped[int] = mapped_column(sa.Integer, default=0)
    # Only residents whose home org lies in this benefit's org subtree.
    is_residents_only: Mapped[bool] = mapped_column(default=False)
    sponsor_name: Mapped[str | None] = mapped_column(sa.String(100))
    sponsor_kind: Mapped[str | None] = mapped_column(sa.String(16))
    sponsor_quantity: Mapped[int | None] = mapped_column(sa.Integer)
    sponsor_value_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    status: Mapped[str] = mapped_column(sa.String(12), default=BENEFIT_ACTIVE)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime)
    updated_at: Mapped[object] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[object | None] = mapped_column(UTCDateTime)

    org = relationship("Org", lazy="joined")


class BenefitRestock(db.Model):
    """Goods received after creation (a donation): the stock side of the books."""

    __tablename__ = "benefit_restocks"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    benefit_id: Mapped[int] = mapped_column(sa.ForeignKey("benefits.id"), index=True)
    quantity: Mapped[int] = mapped_column(sa.Integer)
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime)


class Redemption(db.Model):
    """One unit of a benefit reserved by a person: reserved → fulfilled, or
    reserved → cancelled / expired (stock and points released), exactly once."""

    __tablename__ = "redemptions"
    __table_args__ = (
        # Idempotency keys are scoped per user: two people may pick the same key.
        sa.UniqueConstraint("user_id", "idempotency_key"),
        sa.Index("ix_redemptions_user_id_benefit_id", "user_id", "benefit_id"),
        sa.Index("ix_redemptions_status_expires_at", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    benefit_id: Mapped[int] = mapped_column(sa.ForeignKey("benefits.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    status: Mapped[str] = mapped_column(sa.String(12), default=RESERVED)
    cost: Mapped[int] = mapped_column(sa.Integer)
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(200))
    hold_id: Mapped[int | None] = mapped_column(sa.ForeignKey("holds.id"))
    transfer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("transfers.id"))
    expires_at: Mapped[object] = mapped_column(UTCDateTime)
    created_at: Mapped[object] = mapped_column(UTCDateTime)
    fulfilled_at: Mapped[object | None] = mapped_column(UTCDateTime)
    fulfilled_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    cancelled_at: Mapped[object | None] = mapped_column(UTCDateTime)
    cancelled_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    expired_at: Mapped[object | None] = mapped_column(UTCDateTime)
    # A staff correction after fulfilment: a ledger reversal, never an edit.
    correction_transfer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("transfers.id"))
    correction_reason: Mapped[str | None] = mapped_column(sa.String(200))
    corrected_at: Mapped[object | None] = mapped_column(UTCDateTime)

    benefit = relationship(Benefit, lazy="joined")
