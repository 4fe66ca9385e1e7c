"""Service certificates (志愿服务证明): totals frozen at issue, verifiable by a random code."""
import secrets

import sqlalchemy as sa

from core.db import db
from core.errors import NotFound

from .models import ServiceCertificate, User
from .profiles import my_profile
from .records import star_for_minutes, totals_for

CODE_BYTES = 12  # 96 random bits, 16 characters of base64url


def issue(*, user: User, now) -> ServiceCertificate:
    """The user's current certificate: the latest one while the totals are
    unchanged (so repeating the request issues nothing), else a new one.

    Raises NOT_FOUND when the user is not a volunteer.
    """
    profile = my_profile(user=user)
    totals = totals_for(user.id)
    latest = db.session.scalar(sa.select(ServiceCertificate)
                               .where(ServiceCertificate.user_id == user.id)
                               .order_by(ServiceCertificate.id.desc()).limit(1))
    if latest is not None and (latest.record_count, latest.minutes, latest.points, latest.real_name) == (
            totals.records, totals.minutes, totals.points, profile.real_name):
        return latest
    certificate = ServiceCertificate(
        user_id=user.id, code=secrets.token_urlsafe(CODE_BYTES), real_name=profile.real_name,
        volunteer_no=profile.volunteer_no, record_count=totals.records, minutes=totals.minutes,
        points=totals.points, star=star_for_minutes(totals.minutes), first_date=totals.first_date,
        last_date=totals.last_date, issued_at=now)
    db.session.add(certificate)
    db.session.flush()
    return certificate


def verify(code: str) -> ServiceCertificate:
    """Raises NOT_FOUND for a code never issued."""
    certificate = db.session.scalar(sa.select(ServiceCertificate).where(ServiceCertificate.code == code))
    if certificate is None:
        raise NotFound("certificate", "证明编号不存在")
    return certificate
