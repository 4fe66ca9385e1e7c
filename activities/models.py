"""Activities, registrations, the check-in log, kiosk links and pass secrets."""
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db
from orgs.models import Org

# The service directory's "1+4+N" directions.
DOMAINS = ("party_building", "social_assistance", "child_welfare", "community_governance",
           "elderly_care", "specialty")
# draft → published → (cancelled | settled); settlement adds the last step.
STATUSES = ("draft", "published", "cancelled", "settled")
ROLES = ("participant", "volunteer")
REGISTRATION_STATUSES = ("confirmed", "waitlisted", "cancelled")
ACTIONS = ("in", "out")
METHODS = ("self", "staff", "manual", "walk_in")
# Settlement rounding of measured minutes: whole minutes, or completed half hours / hours.
ROUNDING_RULES = ("minute", "half_hour", "hour")


class Activity(db.Model):
    __tablename__ = "activities"
    __table_args__ = (sa.Index("ix_activities_org_id_starts_at", "org_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"))
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    domain: Mapped[str] = mapped_column(sa.String(32))
    category: Mapped[str] = mapped_column(sa.String(64), default="")
    location: Mapped[str] = mapped_column(sa.String(200))
    starts_at: Mapped[object] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[object] = mapped_column(UTCDateTime)
    capacity: Mapped[int] = mapped_column()
    volunteer_slots: Mapped[int] = mapped_column()
    points_per_hour: Mapped[int] = mapped_column()
    attendance_points: Mapped[int] = mapped_column(default=0)
    is_walk_in_allowed: Mapped[bool] = mapped_column(default=False)
    checkin_opens_before_min: Mapped[int] = mapped_column(default=30)
    checkin_closes_after_min: Mapped[int] = mapped_column(default=30)
    geofence_lat: Mapped[float | None] = mapped_column(sa.Float)
    geofence_lng: Mapped[float | None] = mapped_column(sa.Float)
    geofence_radius_m: Mapped[int | None] = mapped_column()
    status: Mapped[str] = mapped_column(sa.String(16), default="draft", index=True)
    # Signs this activity's check-in codes; replacing it revokes them all.
    code_secret: Mapped[str] = mapped_column(sa.String(64))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime)
    published_at: Mapped[object | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[object | None] = mapped_column(UTCDateTime)
    # How settlement rounds measured minutes: minute, half_hour or hour (completed steps).
    rounding: Mapped[str] = mapped_column(sa.String(16), default="minute", server_default="minute")
    settled_at: Mapped[object | None] = mapped_column(UTCDateTime)

    org = relationship(Org, lazy="joined")

    @property
    def geofence(self):
        if self.geofence_radius_m is None:
            return None
        return {"lat": self.geofence_lat, "lng": self.geofence_lng, "radius_m": self.geofence_radius_m}

    def places_for(self, role: str) -> int:
        return self.capacity if role == "participant" else self.volunteer_slots


class Registration(db.Model):
    """One person's place at one activity; `checked_in_at`/`checked_out_at`
    are derived from the check-in log (the first accepted, not annulled, scans)."""

    __tablename__ = "registrations"
    __table_args__ = (
        sa.UniqueConstraint("activity_id", "user_id"),
        # The waitlist is served oldest first, per role.
        sa.Index("ix_registrations_activity_role_status", "activity_id", "role", "status",
                 "registered_at"),
        # Room on each page, so a check-in or check-out (no indexed column changes)
        # is a HOT update on PostgreSQL: none of the four indexes is written.
        {"postgresql_with": {"fillfactor": 80}},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(sa.ForeignKey("activities.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16))
    method: Mapped[str] = mapped_column(sa.String(16), default="self")  # self, staff, walk_in
    # When the current place (or waitlist position) was taken; a re-registration resets it.
    registered_at: Mapped[object] = mapped_column(UTCDateTime)
    created_at: Mapped[object] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[object | None] = mapped_column(UTCDateTime)
    checked_in_at: Mapped[object | None] = mapped_column(UTCDateTime)
    checked_out_at: Mapped[object | None] = mapped_column(UTCDateTime)


class CheckinLog(db.Model):
    """Every scan, accepted or refused: rows are only ever inserted.

    `result` is `accepted` (changed the registration), `repeat` (nothing to
    change), `refused` (see `reason`) or, for action `annul`, `accepted` with
    `annuls_id` naming the row it cancels. `occurred_at` is when the scan
    happened: `created_at` (the server's time) for a live scan, the device's
    scan time for one a staff device kept offline and uploaded later, whose
    `client_ref` (the device's id for it, unique per worker) makes re-uploads
    harmless.
    """

    __tablename__ = "checkin_log"
    __table_args__ = (
        sa.Index("ix_checkin_log_activity_id_id", "activity_id", "id"),
        # A scan is annulled at most once; partial, as almost no row annuls another.
        sa.Index("uq_checkin_log_annuls_id", "annuls_id", unique=True,
                 postgresql_where=sa.text("annuls_id IS NOT NULL"),
                 sqlite_where=sa.text("annuls_id IS NOT NULL")),
        # Partial: live scans (no client_ref) are most rows and need no entry here.
        sa.Index("uq_checkin_log_actor_id_client_ref", "actor_id", "client_ref", unique=True,
                 postgresql_where=sa.text("client_ref IS NOT NULL"),
                 sqlite_where=sa.text("client_ref IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int | None] = mapped_column(sa.ForeignKey("activities.id"))
    registration_id: Mapped[int | None] = mapped_column(sa.ForeignKey("registrations.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))  # who scanned
    action: Mapped[str] = mapped_column(sa.String(8))  # in, out, annul
    method: Mapped[str] = mapped_column(sa.String(16))
    result: Mapped[str] = mapped_column(sa.String(16))
    reason: Mapped[str | None] = mapped_column(sa.String(32))
    annuls_id: Mapped[int | None] = mapped_column(sa.ForeignKey("checkin_log.id"))
    device: Mapped[str | None] = mapped_column(sa.String(200))
    client_at: Mapped[object | None] = mapped_column(UTCDateTime)
    lat: Mapped[float | None] = mapped_column(sa.Float)
    lng: Mapped[float | None] = mapped_column(sa.Float)
    occurred_at: Mapped[object] = mapped_column(UTCDateTime)
    client_ref: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[object] = mapped_column(UTCDateTime)


class KioskLink(db.Model):
    """A revocable link for the door screen; only the token's SHA-256 is kept."""

    __tablename__ = "kiosk_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(sa.ForeignKey("activities.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime)
    revoked_at: Mapped[object | None] = mapped_column(UTCDateTime)


class PassSecret(db.Model):
    """Signs a person's passes; replacing it revokes every pass they were shown."""

    __tablename__ = "pass_secrets"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    secret: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[object] = mapped_column(UTCDateTime)
