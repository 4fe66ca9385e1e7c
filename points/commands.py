"""`flask --app wsgi points verify|expire` and `redemptions expire` (run by the scheduler)."""
import click

from core import clock
from core.db import db
from core.settings import Settings


@click.group("points")
def points_group():
    """The points ledger."""


@points_group.command("verify")
def points_verify():
    """Check every ledger invariant; exit 1 and name each broken one."""
    from .verify import verify

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
def points_expire(settings: Settings):
    """Expire unspent points older than POINTS_EXPIRE_MONTHS (run daily)."""
    from . import expiry

    months = settings.points_expire_months
    if months is None:
        click.echo("points never expire (POINTS_EXPIRE_MONTHS is unset)")
        return
    points, people = expiry.expire_all(now=clock.now(), months=months)
    click.echo(f"{points} point(s) of {people} person(s) expired")


@click.group("redemptions")
def redemptions_group():
    """Benefit redemptions."""


@redemptions_group.command("expire")
def redemptions_expire():
    """Expire reservations past their pickup period: restock and release the points."""
    from . import redemption

    click.echo(f"{redemption.expire_overdue(now=clock.now())} redemption(s) expired")
