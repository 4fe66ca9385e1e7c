import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db


class User(db.Model):
    """Anyone who signs in: a resident through WeChat, staff with a phone and password."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    nickname: Mapped[str] = mapped_column(sa.String(64), default="")
    phone: Mapped[str | None] = mapped_column(sa.String(20), unique=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    wechat_openid: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    wechat_unionid: Mapped[str | None] = mapped_column(sa.String(64))
    home_org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orgs.id"), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime)

    roles = relationship("StaffRole", lazy="selectin", order_by="StaffRole.id")
    volunteer = relationship("VolunteerProfile", uselist=False, lazy="selectin", back_populates="user")


class RefreshToken(db.Model):
    """One row per issued refresh token; each is used at most once.

    Tokens from one sign-in form a family: presenting an already used token
    means it was copied, so the whole family is revoked.
    """

    __tablename__ = "refresh_tokens"

    jti: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    family: Mapped[str] = mapped_column(sa.String(32), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    expires_at: Mapped[object] = mapped_column(UTCDateTime)
    used_at: Mapped[object | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[object | None] = mapped_column(UTCDateTime)
    created_at: Mapped[object] = mapped_column(UTCDateTime)


class VolunteerProfile(db.Model):
    """A registered volunteer (志愿者). Only `active` profiles take volunteer places."""

    __tablename__ = "volunteer_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), unique=True)
    real_name: Mapped[str] = mapped_column(sa.String(64))
    phone: Mapped[str] = mapped_column(sa.String(20))
    status: Mapped[str] = mapped_column(sa.String(16), default="active")
    created_at: Mapped[object] = mapped_column(UTCDateTime)

    user = relationship(User, back_populates="volunteer")
