"""Settlements: one per activity, one record per person settled."""
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db


class Settlement(db.Model):
    __tablename__ = "settlements"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(sa.ForeignKey("activities.id"), unique=True)
    # Digest of the request body: the same body again is a replay, another is a conflict.
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    rounding: Mapped[str] = mapped_column(sa.String(16))
    minutes_total: Mapped[int] = mapped_column()
    points_total: Mapped[int] = mapped_column(sa.BigInteger)
    settled_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    settled_at: Mapped[object] = mapped_column(UTCDateTime)

    records = relationship("SettlementRecord", order_by="SettlementRecord.registration_id",
                           lazy="selectin")

    status = "settled"


class SettlementRecord(db.Model):
    __tablename__ = "settlement_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    settlement_id: Mapped[int] = mapped_column(sa.ForeignKey("settlements.id"), index=True)
    registration_id: Mapped[int] = mapped_column(sa.ForeignKey("registrations.id"), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(sa.String(16))
    # Minutes measured from the check-in log (clipped to the schedule), before rounding.
    measured_minutes: Mapped[int] = mapped_column()
    minutes: Mapped[int] = mapped_column()
    points: Mapped[int] = mapped_column(sa.BigInteger)
    is_adjusted: Mapped[bool] = mapped_column(default=False)
    is_unverified: Mapped[bool] = mapped_column(default=False)
    is_capped: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    transfer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("transfers.id"))
    service_record_id: Mapped[int | None] = mapped_column()
