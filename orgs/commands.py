"""`flask --app wsgi create-admin`: the first sign-in of a new deployment."""
import click
import sqlalchemy as sa

from core import clock
from core.db import db
from core.passwords import hash_password
from core.phones import is_mainland_mobile
from people.models import User

from .models import StaffRole
from .services import ensure_city


@click.command("create-admin")
@click.option("--phone", required=True)
@click.option("--password", required=True)
@click.option("--name", default="管理员")
@click.option("--city", default="武汉市")
def create_admin(phone, password, name, city):
    """Create the city root (if absent) and an admin of it; prints the user id."""
    if not is_mainland_mobile(phone):
        raise click.BadParameter("not a mainland mobile number", param_hint="--phone")
    if len(password) < 8:
        raise click.BadParameter("at least 8 characters", param_hint="--password")
    now = clock.now()
    root = ensure_city(name=city, now=now)
    user = db.session.scalar(sa.select(User).where(User.phone == phone))
    if user is None:
        user = User(phone=phone, nickname=name, password_hash=hash_password(password),
                    home_org_id=root.id, created_at=now)
        db.session.add(user)
        db.session.flush()
    has_role = db.session.scalar(
        sa.select(StaffRole.id).where(StaffRole.user_id == user.id, StaffRole.org_id == root.id))
    if has_role is None:
        db.session.add(StaffRole(user_id=user.id, org_id=root.id, role="admin", created_at=now))
    db.session.commit()
    click.echo(user.id)
