"""Volunteer profiles: registering, editing, suspending, listing for staff."""
from datetime import date

import sqlalchemy as sa

from core.db import db
from core.errors import Code, Conflict, Invalid, NotFound
from core.paging import Page, keyset_page
from core.settings import Settings
from orgs.models import Org
from orgs.scope import require, scope_paths
from orgs.services import get_org

from . import id_numbers
from .models import User, VolunteerProfile

GUARDIAN_AGE = 14  # below this a guardian must consent (未满十四周岁)


def get_profile(profile_id: int) -> VolunteerProfile:
    profile = db.session.get(VolunteerProfile, profile_id)
    if profile is None:
        raise NotFound("volunteer", "志愿者不存在")
    return profile


def my_profile(*, user: User) -> VolunteerProfile:
    """Raises NOT_FOUND when the user has not registered as a volunteer."""
    profile = db.session.scalar(sa.select(VolunteerProfile).where(VolunteerProfile.user_id == user.id))
    if profile is None:
        raise NotFound("volunteer", "尚未登记为志愿者")
    return profile


def home_org_of(profile: VolunteerProfile) -> Org:
    """The organisation whose staff look after this volunteer: the user's home
    org, or the city root for a user without one (as for points, API.md)."""
    home_org_id = profile.user.home_org_id
    if home_org_id is not None:
        return get_org(home_org_id)
    return db.session.scalar(sa.select(Org).where(Org.parent_id.is_(None)).order_by(Org.id))


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def register(*, user: User, real_name: str, phone: str, id_number: str | None = None,
             skills: list[str] | None = None, consent: dict | None = None,
             guardian: dict | None = None, now, settings: Settings) -> tuple[VolunteerProfile, bool]:
    """Registers `user` as an active volunteer; returns (profile, created).

    A user who already has a profile gets it back unchanged (created False),
    whatever the body. `consent` ({version, agreed: true}) is optional, as
    API.md's body lists none, and is recorded when given. A volunteer under
    14 by the ID number's birth date needs `guardian` ({name, phone,
    relation, consent: true}).
    Raises VALIDATION_ERROR (`id_number`, `consent`, `guardian`),
    ID_NUMBER_IN_USE when another profile has the same ID number.
    """
    existing = db.session.scalar(sa.select(VolunteerProfile).where(VolunteerProfile.user_id == user.id))
    if existing is not None:
        return existing, False
    profile = VolunteerProfile(user_id=user.id, real_name=real_name, phone=phone, status="active",
                               skills=list(skills or []), created_at=now)
    if id_number is not None:
        _set_id_number(profile, id_number, settings)
    _set_guardian(profile, guardian, now)
    _require_guardian_for_a_child(profile, now, settings)
    _apply_consent(profile, consent, now)
    try:
        # Added inside the savepoint, so a failed insert leaves nothing pending to retry on autoflush.
        with db.session.begin_nested():
            db.session.add(profile)
            db.session.flush()
    except sa.exc.IntegrityError:
        # Either this user registered twice at once, or the ID number raced another profile.
        existing = db.session.scalar(sa.select(VolunteerProfile).where(VolunteerProfile.user_id == user.id))
        if existing is not None:
            return existing, False
        raise Conflict(Code.ID_NUMBER_IN_USE, "该身份证号码已登记过志愿者")
    db.session.refresh(user, ["volunteer"])
    return profile, True


_UNSET = object()


def update(*, profile: VolunteerProfile, real_name: str | None = None, phone: str | None = None,
           id_number=_UNSET, skills: list[str] | None = None, consent: dict | None = None,
           guardian: dict | None = None, now, settings: Settings) -> VolunteerProfile:
    """Changes the given fields of a volunteer's own profile (see `my_profile`);
    `id_number: null` removes the number. The status is staff's to change, never the volunteer's.

    Raises VALIDATION_ERROR and ID_NUMBER_IN_USE as `register`.
    """
    if real_name is not None:
        profile.real_name = real_name
    if phone is not None:
        profile.phone = phone
    if skills is not None:
        profile.skills = list(skills)
    if id_number is not _UNSET:
        _set_id_number(profile, id_number, settings)
    _set_guardian(profile, guardian, now)
    _require_guardian_for_a_child(profile, now, settings)
    _apply_consent(profile, consent, now)
    profile.updated_at = now
    try:
        with db.session.begin_nested():
            db.session.flush()
    except sa.exc.IntegrityError:
        raise Conflict(Code.ID_NUMBER_IN_USE, "该身份证号码已登记过志愿者")
    return profile


def _set_id_number(profile, id_number: str | None, settings: Settings) -> None:
    if id_number is None:
        profile.id_number_cipher = profile.id_number_fingerprint = profile.id_number_masked = None
        profile.birth_date = None
        return
    number = id_numbers.normalise(id_number)
    fingerprint = id_numbers.fingerprint(number, settings=settings)
    taken = db.session.scalar(sa.select(VolunteerProfile.id).where(
        VolunteerProfile.id_number_fingerprint == fingerprint,
        VolunteerProfile.user_id != profile.user_id))
    if taken is not None:
        raise Conflict(Code.ID_NUMBER_IN_USE, "该身份证号码已登记过志愿者")
    # Sealed for this user: the ciphertext does not decrypt on another row.
    profile.id_number_cipher = id_numbers.encrypt(number, owner=f"user:{profile.user_id}", settings=settings)
    profile.id_number_fingerprint = fingerprint
    profile.id_number_masked = id_numbers.mask(number)
    profile.birth_date = id_numbers.birth_date(number)


def _set_guardian(profile, guardian: dict | None, now) -> None:
    if guardian is None:
        return
    if guardian.get("consent") is not True:
        raise Invalid({"guardian": ["监护人须同意（consent: true）"]})
    profile.guardian_name = guardian["name"]
    profile.guardian_phone = guardian["phone"]
    profile.guardian_relation = guardian["relation"]
    profile.guardian_consented_at = now


def _require_guardian_for_a_child(profile, now, settings: Settings) -> None:
    if profile.birth_date is None or profile.guardian_consented_at is not None:
        return
    if age_on(profile.birth_date, settings.local(now).date()) < GUARDIAN_AGE:
        raise Invalid({"guardian": ["未满十四周岁的志愿者须由监护人同意"]})


def _apply_consent(profile, consent: dict | None, now) -> None:
    if consent is None:
        return
    if consent.get("agreed") is not True:
        raise Invalid({"consent": ["须同意隐私政策（agreed: true）"]})
    profile.consent_version = consent["version"]
    profile.consented_at = now


def set_status(*, actor, profile: VolunteerProfile, status: str, reason: str, now) -> VolunteerProfile:
    """Suspends or reactivates a volunteer; a suspended one takes no volunteer places.

    Setting the status it already has changes nothing (a repeat is safe).
    Raises FORBIDDEN unless the actor is staff over the volunteer's home org.
    """
    require(actor, "operate", home_org_of(profile))
    if profile.status != status:
        profile.status = status
        profile.status_reason = reason
        profile.status_changed_at = now
        profile.status_changed_by = actor.id
        db.session.flush()
    return profile


def list_for_staff(*, actor, org_id: int | None, status: str | None, cursor: str | None,
                   limit: int) -> Page:
    """Volunteers whose home org is in `org_id`'s subtree (default: every subtree
    the actor is staff of). A user without a home org counts as under the city root.

    Raises NOT_FOUND for an unknown org, FORBIDDEN unless the actor is staff over it.
    """
    if org_id is not None:
        org = get_org(org_id)
        require(actor, "operate", org)
        paths = [org.path]
    else:
        paths = scope_paths(actor, "operate")
        if not paths:
            require(actor, "operate", None)
    root_path = db.session.scalar(sa.select(Org.path).where(Org.parent_id.is_(None)).order_by(Org.id))
    in_subtree = [Org.under(path) for path in paths]
    stmt = (sa.select(VolunteerProfile)
            .join(User, User.id == VolunteerProfile.user_id)
            .outerjoin(Org, Org.id == User.home_org_id))
    homeless = User.home_org_id.is_(None) if root_path in paths else sa.false()
    stmt = stmt.where(sa.or_(*in_subtree, homeless))
    if status is not None:
        stmt = stmt.where(VolunteerProfile.status == status)
    return keyset_page(stmt, order=[VolunteerProfile.id], cursor=cursor, limit=limit)
