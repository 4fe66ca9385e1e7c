"""Kiosk links: a revocable URL that lets a door screen show the rotating code
without anyone signing in on it. Only the token's SHA-256 is stored."""
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from core import codes
from core.db import db
from core.errors import NotFound
from core.settings import Settings
from orgs.scope import require

from .attendance import attendance_figures
from .models import Activity, KioskLink


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_link(*, actor, activity: Activity, now) -> tuple[KioskLink, str]:
    """A new link for `activity`; returns (link, token). The token (256 bits) is
    shown once. Raises FORBIDDEN unless staff."""
    require(actor, "operate", activity.org)
    token = secrets.token_urlsafe(32)
    link = KioskLink(activity_id=activity.id, token_hash=_hash(token), created_by_id=actor.id,
                     created_at=now)
    db.session.add(link)
    db.session.flush()
    return link, token


def revoke_link(*, actor, activity: Activity, link_id: int, now) -> KioskLink:
    """Revokes a link at once (again: unchanged). Raises FORBIDDEN unless staff,
    NOT_FOUND for a link of another activity."""
    require(actor, "operate", activity.org)
    link = db.session.get(KioskLink, link_id)
    if link is None or link.activity_id != activity.id:
        raise NotFound("kiosk link", "展示链接不存在")
    if link.revoked_at is None:
        link.revoked_at = now
    db.session.flush()
    return link


def activity_of_token(token: str) -> Activity:
    """Raises NOT_FOUND for an unknown or revoked token."""
    activity = db.session.scalar(
        sa.select(Activity).join(KioskLink, KioskLink.activity_id == Activity.id)
        .where(KioskLink.token_hash == _hash(token), KioskLink.revoked_at.is_(None))
    )
    if activity is None:
        raise NotFound("kiosk link", "展示链接无效或已撤销")
    return activity


@dataclass(frozen=True)
class KioskState:
    """What the door screen shows: the activity, its current code (with when the
    next is out), the server's time and the attendance figures."""

    activity: Activity
    issued: codes.IssuedCode
    now: datetime
    attendance: dict


def kiosk_state(*, token: str, now, settings: Settings) -> KioskState:
    """The door screen's state for a kiosk link; NOT_FOUND for an unknown or revoked token."""
    activity = activity_of_token(token)
    issued = codes.issue("checkin", activity.id, activity.code_secret, now=now, settings=settings)
    return KioskState(activity, issued, now, attendance_figures(activity.id))
