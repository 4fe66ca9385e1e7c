"""Command-line bootstrap: `flask --app wsgi create-admin`, `demo`, and the domain commands."""
import click
from flask.cli import AppGroup, with_appcontext
import sqlalchemy as sa

from core import clock
from core.db import db
from core.errors import DomainError
from core.phones import is_mainland_mobile
from core.passwords import hash_password
from orgs.models import StaffRole
from orgs.services import ensure_city
from volunteers.models import User


@click.command("create-admin")
@click.option("--phone", required=True)
@click.option("--password", required=True)
@click.option("--name", default="管理员")
@click.option("--city", default="武汉市")
@with_appcontext
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


@click.group("demo", cls=AppGroup)
def demo_group():
    """Demo data for the embedded server."""


@demo_group.command("load")
def demo_load():
    """Load the demo city (idempotent: does nothing if it is already there)."""
    from . import demo

    try:
        summary = demo.load(now=clock.now())
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(f"{exc.code}: {exc.message}")
    db.session.commit()
    click.echo(summary)


COMMANDS = [create_admin, demo_group]


def register(app) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)


@click.group("points", cls=AppGroup)
def points_group():
    """The points ledger."""


@points_group.command("verify")
def points_verify():
    """Check every ledger invariant; exit 1 and name each broken one."""
    from points.verify import verify

    if db.session.get_bind().dialect.name == "postgresql":
        # One snapshot for every query, so transfers posted meanwhile cannot
        # look like a broken invariant.
        db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    problems, counts = verify()
    for problem in problems:
        click.echo(f"BROKEN: {problem}")
    summary = ", ".join(f"{n} {name}" for name, n in counts.items())
    if problems:
        click.echo(f"{summary}: {len(problems)} problem(s)")
        raise SystemExit(1)
    click.echo(f"{summary}: ok")


@points_group.command("expire")
def points_expire():
    """Expire unspent points older than POINTS_EXPIRE_MONTHS (run daily)."""
    from points import expiry

    months = expiry.expire_months()
    if months is None:
        click.echo("points never expire (POINTS_EXPIRE_MONTHS is unset)")
        return
    points, people = expiry.expire_all(now=clock.now(), months=months)
    click.echo(f"{points} point(s) of {people} person(s) expired")


COMMANDS.append(points_group)


@click.group("redemptions", cls=AppGroup)
def redemptions_group():
    """Benefit redemptions."""


@redemptions_group.command("expire")
def redemptions_expire():
    """Expire reservations past their pickup period: restock and release the points."""
    from points import redemption

    click.echo(f"{redemption.expire_overdue(now=clock.now())} redemption(s) expired")


COMMANDS.append(redemptions_group)
