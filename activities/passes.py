"""Check-in codes and personal passes: short signed codes (core/codes.py)
under the activity's or the person's own secret."""
import secrets

import sqlalchemy as sa

from core import codes
from core.db import db
from core.settings import Settings
from orgs.scope import require
from people.models import User

from .models import Activity, PassSecret
from .services import new_secret


def checkin_code(*, actor, activity: Activity, now, settings: Settings) -> codes.IssuedCode:
    """The activity's current check-in code. Raises FORBIDDEN unless staff."""
    require(actor, "operate", activity.org)
    return codes.issue("checkin", activity.id, activity.code_secret, now=now, settings=settings)


def checkin_link(code: str, *, settings: Settings) -> str | None:
    """The URL a door QR carries when CHECKIN_LINK_BASE is set, else None.

    With the mini-program's "scan an ordinary link to open the mini-program"
    rule set for that prefix, WeChat's own camera opens the mini-program on the
    link, which posts it to /checkins: residents need not find the scan button
    first. Other cameras open the link as a page that says to use WeChat."""
    base = settings.checkin_link_base
    return base + code if base else None


def checkin_qr_text(code: str, *, settings: Settings) -> str:
    """What the door QR encodes: the link when configured, else the bare code."""
    return checkin_link(code, settings=settings) or code


def rotate_checkin_code(*, actor, activity: Activity, now, settings: Settings) -> codes.IssuedCode:
    """A new code secret for the activity: every code issued before, including
    the previous window's, is refused at once (a photo of the door QR went
    round a chat group). Door screens pick the new code up on their next poll.
    Raises FORBIDDEN unless staff."""
    require(actor, "operate", activity.org)
    activity.code_secret = new_secret()
    db.session.flush()
    return codes.issue("checkin", activity.id, activity.code_secret, now=now, settings=settings)


def _pass_secret(user_id: int, now) -> str:
    secret = db.session.scalar(sa.select(PassSecret.secret).where(PassSecret.user_id == user_id))
    if secret is not None:
        return secret
    row = PassSecret(user_id=user_id, secret=secrets.token_hex(16), created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except sa.exc.IntegrityError:  # two first passes at once: keep the one stored
        return db.session.scalar(sa.select(PassSecret.secret).where(PassSecret.user_id == user_id))
    return row.secret


def my_pass(*, actor, now, settings: Settings) -> codes.IssuedCode:
    """The actor's current personal pass (created on first use)."""
    return codes.issue("pass", actor.id, _pass_secret(actor.id, now), now=now, settings=settings)


def rotate_pass(*, actor, now, settings: Settings) -> codes.IssuedCode:
    """A new pass secret: every pass shown before stops working at once."""
    _pass_secret(actor.id, now)
    db.session.execute(sa.update(PassSecret).where(PassSecret.user_id == actor.id)
                       .values(secret=secrets.token_hex(16), created_at=now))
    return my_pass(actor=actor, now=now, settings=settings)


def user_of_pass(code, now, *, settings: Settings) -> int:
    """The owner of a pass. Raises CODE_INVALID (garbled, forged, another kind,
    revoked by a new secret, deactivated account), CODE_EXPIRED."""
    parsed = codes.parse(code, "pass")
    secret = db.session.scalar(
        sa.select(PassSecret.secret).join(User, User.id == PassSecret.user_id)
        .where(PassSecret.user_id == parsed.subject_id, User.is_active)
    )
    if secret is None:
        raise codes.invalid()
    codes.verify(parsed, secret, now=now, settings=settings)
    return parsed.subject_id
