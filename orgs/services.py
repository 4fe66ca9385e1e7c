"""Creating organisations and their staff."""
import sqlalchemy as sa

from core.db import db
from core.errors import Conflict, Invalid, NotFound
from core.paging import Page, keyset_page
from core.passwords import hash_password
from volunteers.credentials import set_password
from volunteers.models import User

from .models import KINDS, Org, StaffRole
from .scope import require


def get_org(org_id: int) -> Org:
    org = db.session.get(Org, org_id)
    if org is None:
        raise NotFound("organisation", "机构不存在")
    return org


def _save_org(org: Org) -> Org:
    try:
        with db.session.begin_nested():
            db.session.add(org)
            db.session.flush()
    except sa.exc.IntegrityError:
        raise Conflict("CONFLICT", "同一上级下已有同名机构", name=org.name)
    org.path = (org.parent.path if org.parent else "/") + f"{org.id}/"
    db.session.flush()
    return org


def create_org(*, actor, name: str, kind: str, parent_id: int, now) -> Org:
    """A child organisation one level below the parent.

    Raises NOT_FOUND for an unknown parent, FORBIDDEN unless the actor administers the parent or above;
    VALIDATION_ERROR when `kind` is not exactly one level below the parent's.
    """
    parent = get_org(parent_id)
    require(actor, "manage", parent)
    if kind not in KINDS:
        raise Invalid({"kind": [f"须为以下之一：{', '.join(KINDS)}"]})
    expected = KINDS.index(parent.kind) + 1
    if KINDS.index(kind) != expected:
        below = KINDS[expected] if expected < len(KINDS) else None
        message = f"{parent.kind} 的下级只能是 {below}" if below else "社区社工室（room）没有下级机构"
        raise Invalid({"kind": [message]})
    return _save_org(Org(name=name, kind=kind, parent=parent, created_at=now))


def ensure_city(*, name: str, now) -> Org:
    """The root organisation, created once (bootstrap only)."""
    city = db.session.scalar(sa.select(Org).where(Org.parent_id.is_(None)).order_by(Org.id))
    return city or _save_org(Org(name=name, kind="city", parent=None, created_at=now))


def list_orgs(*, parent_id: int | None, kind: str | None, cursor: str | None, limit: int) -> Page:
    stmt = sa.select(Org)
    if parent_id is not None:
        stmt = stmt.where(Org.parent_id == parent_id)
    if kind is not None:
        stmt = stmt.where(Org.kind == kind)
    return keyset_page(stmt, order=[Org.id], cursor=cursor, limit=limit)


def add_staff(*, actor, org: Org, phone: str, name: str, password: str, role: str, now):
    """Gives the person with `phone` a role on `org`, creating the person if new.

    Returns (staff_role, created). An existing role on the same org is returned
    unchanged; an existing person's password and name are never touched, so an
    admin cannot take over someone's account by adding them.
    Raises FORBIDDEN unless the actor administers the org or above.
    """
    require(actor, "manage", org)
    user = db.session.scalar(sa.select(User).where(User.phone == phone))
    if user is None:
        try:
            with db.session.begin_nested():
                user = User(phone=phone, nickname=name, password_hash=hash_password(password),
                            home_org_id=org.id, created_at=now)
                db.session.add(user)
                db.session.flush()
        except sa.exc.IntegrityError:
            # A concurrent add of the same phone created the person first.
            user = db.session.scalar(sa.select(User).where(User.phone == phone))
    existing = db.session.scalar(
        sa.select(StaffRole).where(StaffRole.user_id == user.id, StaffRole.org_id == org.id)
    )
    if existing is not None:
        return existing, False
    try:
        with db.session.begin_nested():
            staff_role = StaffRole(user_id=user.id, org_id=org.id, role=role, created_at=now)
            db.session.add(staff_role)
            db.session.flush()
    except sa.exc.IntegrityError:
        # A concurrent add of the same person won the race: return theirs.
        existing = db.session.scalar(
            sa.select(StaffRole).where(StaffRole.user_id == user.id, StaffRole.org_id == org.id)
        )
        return existing, False
    db.session.refresh(user, ["roles"])
    return staff_role, True


def reset_staff_password(*, actor, org: Org, user_id: int, password: str, now) -> StaffRole:
    """An admin sets a new password for someone with a role on `org` (who forgot
    theirs, or left and must be shut out); every session of theirs ends.
    Raises FORBIDDEN unless the actor administers the org or above, NOT_FOUND
    for a person without a role on the org."""
    require(actor, "manage", org)
    staff_role = db.session.scalar(
        sa.select(StaffRole).where(StaffRole.user_id == user_id, StaffRole.org_id == org.id))
    if staff_role is None:
        raise NotFound("staff", "该机构没有这名工作人员")
    set_password(user=db.session.get(User, user_id), password=password, now=now)
    return staff_role
