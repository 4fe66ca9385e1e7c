"""Signing in: password, WeChat and demo logins, and single-use refresh tokens."""
import secrets
from datetime import timedelta

import sqlalchemy as sa

from core.db import db
from core.errors import Code, Conflict, DomainError, Invalid
from core.passwords import verify_password
from core.phones import is_mainland_mobile

from .credentials import set_password
from .models import RefreshToken, User


def get_user(user_id: int) -> User | None:
    user = db.session.get(User, user_id)
    return user if user is not None and user.is_active else None


def login_with_password(*, phone: str, password: str) -> User:
    """Raises BAD_CREDENTIALS for an unknown phone or a wrong password alike."""
    user = db.session.scalar(sa.select(User).where(User.phone == phone))
    if not verify_password(user.password_hash if user else None, password) or not user.is_active:
        raise DomainError(Code.BAD_CREDENTIALS, "手机号或密码错误")
    return user


def change_password(*, user: User, current_password: str, new_password: str, now) -> User:
    """The person's own change; signs every session out (the caller gets a new one).
    Raises WRONG_PASSWORD for a wrong current password or an account without one
    (residents who sign in with WeChat)."""
    if not verify_password(user.password_hash, current_password):
        raise DomainError(Code.WRONG_PASSWORD, "当前密码不正确")
    set_password(user=user, password=new_password, now=now)
    return user


def _find_or_create(column, value: str, *, nickname: str, now, **extra) -> User:
    user = db.session.scalar(sa.select(User).where(column == value))
    if user is not None:
        return user
    user = User(nickname=nickname, created_at=now, **{column.key: value}, **extra)
    try:
        # Added inside the savepoint: a lost race leaves nothing pending for autoflush to retry.
        with db.session.begin_nested():
            db.session.add(user)
            db.session.flush()
    except sa.exc.IntegrityError:
        # Two first logins of the same person raced; the other one created it.
        user = db.session.scalar(sa.select(User).where(column == value))
    return user


def login_with_wechat(*, openid: str, unionid: str | None, now) -> User:
    """Finds or creates the resident behind a WeChat openid."""
    user = _find_or_create(User.wechat_openid, openid, nickname="微信用户", now=now,
                           wechat_unionid=unionid)
    if not user.is_active:
        raise DomainError(Code.BAD_CREDENTIALS, "该账号已停用")
    return user


def login_dev(*, openid: str, nickname: str | None = None, now) -> User:
    """Demo sign-in without WeChat; the API only exposes it with DEV_LOGIN on."""
    user = _find_or_create(User.wechat_openid, openid, nickname=nickname or openid, now=now)
    if nickname and user.nickname != nickname:
        user.nickname = nickname
    return user


def start_refresh_family(*, user: User, now, ttl: timedelta) -> RefreshToken:
    return _new_refresh(user.id, secrets.token_hex(16), now, ttl)


def _new_refresh(user_id: int, family: str, now, ttl: timedelta) -> RefreshToken:
    token = RefreshToken(jti=secrets.token_hex(16), family=family, user_id=user_id,
                         expires_at=now + ttl, created_at=now)
    db.session.add(token)
    db.session.flush()
    return token


def rotate_refresh(*, jti: str, now, ttl: timedelta) -> RefreshToken:
    """Uses refresh token `jti` up and issues its successor in the same family.

    The use is one conditional UPDATE, so two concurrent refreshes with the
    same token cannot both succeed. Reuse of a used token revokes the family.
    Raises UNAUTHENTICATED for an unknown, expired, used or revoked token.
    """
    used = db.session.execute(
        sa.update(RefreshToken)
        .where(RefreshToken.jti == jti, RefreshToken.used_at.is_(None),
               RefreshToken.revoked_at.is_(None), RefreshToken.expires_at > now)
        .values(used_at=now)
        .returning(RefreshToken.user_id, RefreshToken.family)
    ).first()
    if used is None:
        stale = db.session.get(RefreshToken, jti)
        reused = stale is not None and stale.used_at is not None
        if reused:
            revoke_family(family=stale.family, now=now)
        raise DomainError(Code.UNAUTHENTICATED, "登录已失效，请重新登录", keep_changes=reused)
    if get_user(used.user_id) is None:
        raise DomainError(Code.UNAUTHENTICATED, "该账号已停用")
    return _new_refresh(used.user_id, used.family, now, ttl)


def revoke_family(*, family: str, now) -> None:
    db.session.execute(
        sa.update(RefreshToken)
        .where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def update_profile(*, user: User, nickname=None, phone=None, home_org_id=None) -> User:
    """Raises VALIDATION_ERROR for a malformed phone, PHONE_IN_USE if another
    user has the phone. `home_org_id` must name an org: the caller checks it
    (`orgs.services.update_user_profile`), as people knows no orgs."""
    if nickname is not None:
        user.nickname = nickname
    if phone is not None and phone != user.phone:
        if not is_mainland_mobile(phone):
            raise Invalid({"phone": ["不是有效的手机号码"]})
        taken = db.session.scalar(sa.select(User.id).where(User.phone == phone, User.id != user.id))
        if taken is not None:
            raise Conflict(Code.PHONE_IN_USE, "该手机号已被其他账号使用")
        user.phone = phone
    if home_org_id is not None:
        user.home_org_id = home_org_id
    db.session.flush()
    return user
