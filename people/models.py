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
    # The org is named by its table only: people sits below orgs and imports none of it.
    home_org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orgs.id"), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    # Every access token carries the version it was issued under; raising it
    # (a password reset, a removed role, "sign out everywhere") ends them all at once.
    token_version: Mapped[int] = mapped_column(default=0, server_default=sa.text("0"))
    created_at: Mapped[object] = mapped_column(UTCDateTime)

    # Loaded when first used: most requests of a resident never look at either. Named
    # by string: the packages above (orgs, volunteers) define the classes.
    roles = relationship("StaffRole", lazy="select", order_by="StaffRole.id")
    volunteer = relationship("VolunteerProfile", uselist=False, lazy="select", back_populates="user",
                             foreign_keys="VolunteerProfile.user_id")


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
