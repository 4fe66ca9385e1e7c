import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db

# Top down; each kind sits exactly one level below the previous one.
KINDS = ("city", "district", "station", "room")
ROLES = ("admin", "worker")


class Org(db.Model):
    __tablename__ = "orgs"
    __table_args__ = (sa.UniqueConstraint("parent_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(16))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orgs.id"), index=True)
    # Materialised path of ids, "/1/4/9/": a subtree is one prefix match.
    path: Mapped[str] = mapped_column(sa.String(255), index=True, default="")
    created_at: Mapped[object] = mapped_column(UTCDateTime)

    parent = relationship("Org", remote_side=[id])

    def contains(self, other: "Org") -> bool:
        return other.path.startswith(self.path)

    @staticmethod
    def under(path: str):
        """SQL: the org whose path is `path` and every org below it."""
        return Org.path.startswith(path, autoescape=True)


class StaffRole(db.Model):
    __tablename__ = "staff_roles"
    __table_args__ = (sa.UniqueConstraint("user_id", "org_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"), index=True)
    role: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[object] = mapped_column(UTCDateTime)

    org = relationship(Org, lazy="joined")
