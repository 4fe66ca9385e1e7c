"""Passwords and sessions: setting a password signs the person out everywhere,
and whose password someone else may set at all."""
from collections.abc import Callable

import sqlalchemy as sa

from core.db import db
from core.passwords import hash_password

from .models import RefreshToken, User

# Checks "does this person hold something of their own here?" that packages
# above this one add (volunteers: a profile; points: a ledger account), with
# the place each takes in the answer. See `personal_stakes`.
_STAKE_CHECKS: list[tuple[int, Callable[[int], str | None]]] = []


def register_personal_stake(*, order: int):
    """A decorator: adds `check(user_id)`, which names what of the person's own
    it found (e.g. "points") or returns None; `order` places its name in the
    answer whatever the order the packages were imported in. The package that
    keeps the thing registers it, so this package imports none of them."""
    def add(check: Callable[[int], str | None]):
        _STAKE_CHECKS.append((order, check))
        _STAKE_CHECKS.sort(key=lambda entry: entry[0])
        return check

    return add


def personal_stakes(user: User) -> list[str]:
    """What makes the account the person's own rather than a work login: a
    WeChat sign-in ("wechat"), and whatever registered checks find ("volunteer"
    for a volunteer profile, "points"). Empty for a staff-only account."""
    found = []
    if user.wechat_openid is not None:
        found.append("wechat")
    found.extend(stake for _, check in _STAKE_CHECKS if (stake := check(user.id)) is not None)
    return found


def end_sessions(*, user: User, now) -> None:
    """Every refresh token of the person is revoked and every access token
    issued so far stops working (the token version goes up, in one UPDATE so
    two concurrent calls both count)."""
    db.session.execute(
        sa.update(RefreshToken)
        .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    user.token_version = User.token_version + 1
    db.session.flush()


def set_password(*, user: User, password: str, now) -> None:
    """New hash; every session of the person ends (see `end_sessions`), so a
    device that knew the old password, or a stolen token, is shut out at once."""
    user.password_hash = hash_password(password)
    end_sessions(user=user, now=now)
