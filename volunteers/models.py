from datetime import date
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.orm.attributes import set_committed_value

from core.db import UTCDateTime, db
from core.settings import zone_of_engine
from people.credentials import register_personal_stake
from people.models import User


PROFILE_STATUSES = ("active", "suspended")


class VolunteerProfile(db.Model):
    """A registered volunteer (志愿者). Only `active` profiles take volunteer places.

    The ID number is never stored in the clear: `id_number_cipher` holds it
    sealed (volunteers.id_numbers), `id_number_fingerprint` a keyed hash that
    keeps one profile per number, `id_number_masked` what may be shown.
    """

    __tablename__ = "volunteer_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), unique=True)
    real_name: Mapped[str] = mapped_column(sa.String(64))
    phone: Mapped[str] = mapped_column(sa.String(20))
    status: Mapped[str] = mapped_column(sa.String(16), default="active")
    created_at: Mapped[object] = mapped_column(UTCDateTime)

    # 志愿者编号, "LL" + year + the row id (set on insert, see _number_new_profile).
    volunteer_no: Mapped[str | None] = mapped_column(sa.String(20), unique=True)
    id_number_cipher: Mapped[str | None] = mapped_column(sa.String(120))
    id_number_fingerprint: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    id_number_masked: Mapped[str | None] = mapped_column(sa.String(18))
    birth_date: Mapped[date | None] = mapped_column(sa.Date)
    skills: Mapped[list] = mapped_column(sa.JSON, default=list, server_default=sa.text("'[]'"))
    consent_version: Mapped[str | None] = mapped_column(sa.String(32))
    consented_at: Mapped[object | None] = mapped_column(UTCDateTime)
    # A volunteer under 14 needs a guardian's consent (监护人同意).
    guardian_name: Mapped[str | None] = mapped_column(sa.String(64))
    guardian_phone: Mapped[str | None] = mapped_column(sa.String(20))
    guardian_relation: Mapped[str | None] = mapped_column(sa.String(32))
    guardian_consented_at: Mapped[object | None] = mapped_column(UTCDateTime)
    status_reason: Mapped[str | None] = mapped_column(sa.String(200))
    status_changed_at: Mapped[object | None] = mapped_column(UTCDateTime)
    status_changed_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    updated_at: Mapped[object | None] = mapped_column(UTCDateTime)

    user = relationship(User, back_populates="volunteer", foreign_keys=[user_id])


@sa.event.listens_for(VolunteerProfile, "after_insert")
def _number_new_profile(mapper, connection, profile):
    """Every profile gets its number, whoever creates the row.

    The row id is the sequence: unique without a counter to race on. The
    year is local, in the zone of the app whose engine writes the row.
    """
    if profile.volunteer_no is None:
        year = profile.created_at.astimezone(zone_of_engine(connection.engine)).year
        number = f"LL{year}{profile.id:08d}"
        connection.execute(sa.update(VolunteerProfile.__table__)
                           .where(VolunteerProfile.__table__.c.id == profile.id)
                           .values(volunteer_no=number))
        set_committed_value(profile, "volunteer_no", number)


@register_personal_stake(order=10)
def _has_profile(user_id: int) -> str | None:
    """A volunteer profile is the person's own (people.credentials.personal_stakes)."""
    found = db.session.scalar(sa.select(VolunteerProfile.id).where(VolunteerProfile.user_id == user_id))
    return "volunteer" if found is not None else None


class ServiceRecord(db.Model):
    """One volunteer's service in one activity (志愿服务记录). Kept forever:
    spending or expiring points never touches hours.

    Names everything 志愿服务记录与证明出具办法 asks for: activity, date, place,
    content, minutes, organising unit and responsible person; `is_late` marks a
    record made more than 10 working days after the activity ended.
    """

    __tablename__ = "service_records"
    __table_args__ = (sa.Index("ix_service_records_user_date", "user_id", "service_date", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    # No foreign key: activities refer to volunteers, never the other way (DESIGN.md).
    activity_id: Mapped[int] = mapped_column(index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"), index=True)
    org_name: Mapped[str] = mapped_column(sa.String(100))
    place: Mapped[str] = mapped_column(sa.String(200))
    content: Mapped[str] = mapped_column(sa.Text)
    service_date: Mapped[date] = mapped_column(sa.Date)
    started_at: Mapped[object | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[object | None] = mapped_column(UTCDateTime)
    minutes: Mapped[int]
    points: Mapped[int]
    responsible_person: Mapped[str] = mapped_column(sa.String(64))
    recorded_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[object] = mapped_column(UTCDateTime)
    is_late: Mapped[bool] = mapped_column(default=False)
    # What caused the record, e.g. "settlement:{registration_id}": writing it twice is a no-op.
    cause_key: Mapped[str] = mapped_column(sa.String(100), unique=True)


class ServiceCertificate(db.Model):
    """A 志愿服务证明 as issued: the totals frozen at issue time, checkable by its code."""

    __tablename__ = "service_certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    real_name: Mapped[str] = mapped_column(sa.String(64))
    volunteer_no: Mapped[str | None] = mapped_column(sa.String(20))
    record_count: Mapped[int]
    minutes: Mapped[int]
    points: Mapped[int]
    star: Mapped[int]
    first_date: Mapped[date | None] = mapped_column(sa.Date)
    last_date: Mapped[date | None] = mapped_column(sa.Date)
    issued_at: Mapped[object] = mapped_column(UTCDateTime)


class CalendarDay(db.Model):
    """An exception to Monday-to-Friday working days, from the State Council's
    yearly holiday arrangement: a weekday off (a public holiday) or a weekend
    day worked in its place (调休). Used to count the 10 working days in which
    a service record is due."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    is_workday: Mapped[bool]
    name: Mapped[str] = mapped_column(sa.String(32))
    set_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime)
