"""Creating organisations and their staff."""
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from core.db import db
from core.errors import Code, Conflict, Forbidden, Invalid, NotFound
from core.paging import Page, keyset_page
from core.passwords import hash_password
from people import accounts
from people.credentials import end_sessions, personal_stakes, set_password
from people.models import User

from .models import KINDS, Org, StaffRole
from .scope import may_act_for, require

# What an admin may do to a person holding a role (see `check_staff_action`).
RESET_PASSWORD, END_SESSIONS, REMOVE_ROLE = "reset_password", "end_sessions", "remove_role"
STAFF_ACTIONS = (RESET_PASSWORD, END_SESSIONS, REMOVE_ROLE)


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
        raise Conflict(Code.CONFLICT, "同一上级下已有同名机构", name=org.name)
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
    """Gives the person with `phone` a role on `org`, creating the person if new
    (with `password` and `name`).

    Returns (staff_role, created). An existing role on the same org is returned
    unchanged. An existing person keeps their name and credentials: `password`
    is not used, and the role gives the adder no power over their account
    beyond what `check_staff_action` allows (so adding a district admin's or a
    resident's phone to a room never lets the room's admin sign in as them).
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


def get_staff(*, org: Org, user_id: int) -> StaffRole:
    """The role of person `user_id` on `org` itself; NOT_FOUND if they hold none there."""
    staff_role = db.session.scalar(
        sa.select(StaffRole).where(StaffRole.user_id == user_id, StaffRole.org_id == org.id))
    if staff_role is None:
        raise NotFound("staff", "该机构没有这名工作人员")
    return staff_role


def check_staff_action(*, actor, staff_role: StaffRole, action: str) -> None:
    """Who may act for whom (README, "Who may act for whom").

    An admin of the role's org or above may reset the password, end the
    sessions or remove the role of a person only if every role that person
    holds lies inside what the admin manages and none is at or above the
    admin's own level (`orgs.scope.may_act_for`); never their own account.
    A password is set by someone else only on a staff-only account: never on
    one the person signs in to with WeChat, or that holds a volunteer profile
    or points of their own (`people.credentials.personal_stakes`).
    Raises FORBIDDEN (details.reason: not_admin, self, outside_scope, personal_account).
    """
    if action not in STAFF_ACTIONS:
        raise ValueError(action)
    require(actor, "manage", staff_role.org)
    target = db.session.get(User, staff_role.user_id)
    if staff_role.id not in {role.id for role in target.roles}:
        # Removed since it was read (a concurrent removal): gone, not forbidden.
        raise NotFound("staff", "该机构没有这名工作人员")
    if target.id == actor.id:
        raise Forbidden("不能对自己的账号执行此操作（修改自己的密码请用“修改密码”）", reason="self")
    if not may_act_for(actor, target.roles):
        raise Forbidden("此人在您管辖范围之外也有职务，或职级不低于您：请由其上级机构的管理员操作",
                        reason="outside_scope")
    if action == RESET_PASSWORD:
        stakes = personal_stakes(target)
        if stakes:
            raise Forbidden("这是居民本人的账号（微信登录、志愿者或积分），不能由他人设置密码",
                            reason="personal_account", stakes=stakes)


def reset_staff_password(*, actor, org: Org, user_id: int, password: str, now) -> StaffRole:
    """An admin sets a new password for someone with a role on `org` (who forgot
    theirs, or left and must be shut out); every session of theirs ends, access
    tokens included. Raises NOT_FOUND for a person without a role on the org,
    FORBIDDEN as `check_staff_action` says."""
    staff_role = get_staff(org=org, user_id=user_id)
    check_staff_action(actor=actor, staff_role=staff_role, action=RESET_PASSWORD)
    set_password(user=db.session.get(User, user_id), password=password, now=now)
    return staff_role


def end_staff_sessions(*, actor, org: Org, user_id: int, now) -> StaffRole:
    """Signs a person holding a role on `org` out everywhere (a lost phone):
    refresh and access tokens alike. Raises NOT_FOUND for a person without a
    role on the org, FORBIDDEN as `check_staff_action` says."""
    staff_role = get_staff(org=org, user_id=user_id)
    check_staff_action(actor=actor, staff_role=staff_role, action=END_SESSIONS)
    end_sessions(user=db.session.get(User, user_id), now=now)
    return staff_role


def remove_staff(*, actor, org: Org, user_id: int, now) -> StaffRole:
    """Takes the person's role on `org` away and ends every session of theirs,
    so no token issued while they held it outlives it. Returns the removed role.
    Raises NOT_FOUND for a person without a role on the org (also when a
    concurrent removal got there first), FORBIDDEN as `check_staff_action` says."""
    staff_role = get_staff(org=org, user_id=user_id)
    check_staff_action(actor=actor, staff_role=staff_role, action=REMOVE_ROLE)
    removed = db.session.execute(sa.delete(StaffRole).where(StaffRole.id == staff_role.id))
    if removed.rowcount != 1:
        raise NotFound("staff", "该机构没有这名工作人员")
    user = db.session.get(User, user_id)
    end_sessions(user=user, now=now)
    db.session.expire(user, ["roles"])
    return staff_role


@dataclass(frozen=True)
class Person:
    """Who someone is, as staff views show them: the volunteer's real name when
    there is a profile, else the nickname; the phone in full (views mask it)."""
    user_id: int
    name: str
    phone: str | None


@dataclass(frozen=True)
class StaffMember:
    person: Person
    org_id: int
    role: str


def person_of(user: User) -> Person:
    return Person(user_id=user.id, name=user.volunteer.real_name if user.volunteer else user.nickname,
                  phone=user.phone)


def list_staff(*, actor, org: Org, subtree: bool, cursor: str | None, limit: int) -> Page:
    """The roles held on `org` (with `subtree`, on it and every org below), oldest first.
    Raises FORBIDDEN unless the actor administers the org or above."""
    require(actor, "manage", org)
    stmt = sa.select(StaffRole)
    if subtree:
        stmt = stmt.join(Org, Org.id == StaffRole.org_id).where(Org.under(org.path))
    else:
        stmt = stmt.where(StaffRole.org_id == org.id)
    page = keyset_page(stmt, order=[StaffRole.id], cursor=cursor, limit=limit)
    ids = {role.user_id for role in page.items}
    users = {user.id: user for user in db.session.scalars(
        sa.select(User).where(User.id.in_(ids)).options(selectinload(User.volunteer)))}
    return Page([StaffMember(person=person_of(users[role.user_id]), org_id=role.org_id, role=role.role)
                 for role in page.items], page.next)


def update_user_profile(*, user: User, nickname=None, phone=None, home_org_id=None) -> User:
    """The person's own nickname, phone or home org (`people.accounts.update_profile`),
    the org checked first. Raises NOT_FOUND for an unknown home org, and what
    `update_profile` raises."""
    home_org = get_org(home_org_id) if home_org_id is not None else None
    return accounts.update_profile(user=user, nickname=nickname, phone=phone,
                                   home_org_id=home_org.id if home_org is not None else None)
