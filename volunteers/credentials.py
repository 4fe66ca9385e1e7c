"""Setting a password, which signs the person out everywhere else."""
import sqlalchemy as sa

from core.db import db
from core.passwords import hash_password

from .models import RefreshToken, User


def set_password(*, user: User, password: str, now) -> None:
    """New hash; every refresh token of the person is revoked, so a device that
    knew the old password (or a stolen session) cannot stay signed in past its
    access token's few minutes."""
    user.password_hash = hash_password(password)
    db.session.execute(
        sa.update(RefreshToken)
        .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    db.session.flush()
