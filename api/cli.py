"""Command-line bootstrap: `flask --app wsgi demo load`, and every feature's commands
(the COMMANDS of its `feature` module, see api/features.py)."""
import click
from flask import current_app
from flask.cli import AppGroup

from core import clock
from core import settings as core_settings
from core.db import db
from core.errors import DomainError

from . import features


@click.group("demo", cls=AppGroup)
def demo_group():
    """Demo data for the embedded server."""


@demo_group.command("load")
def demo_load():
    """Load the demo city (idempotent: does nothing if it is already there)."""
    from . import demo

    try:
        summary = demo.load(now=clock.now(), settings=core_settings.of(current_app))
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(f"{exc.code}: {exc.message}")
    db.session.commit()
    click.echo(summary)


def register(app) -> None:
    app.cli.add_command(demo_group)
    for command in features.commands():
        app.cli.add_command(command)
