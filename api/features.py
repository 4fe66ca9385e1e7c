"""Features register themselves (house rule 13): the app factory walks the top-level
packages and asks each one's `feature` module what it brings. Adding a package never
means editing a list elsewhere.

A `<package>/feature.py` may define, all optional:

    ORDER         int: its place among the features; a package builds on those below it,
                  so it takes a larger number (demo data loads in this order)
    MODELS        names of the modules that define its models (imported so SQLAlchemy and
                  Alembic know every table, whatever was imported first)
    COMMANDS      click commands or groups for `flask --app wsgi ...`; they run inside the app
                  context, and a callback with a `settings` parameter gets the app's settings
    DEMO_LOADERS  callables (orgs, people, now, settings) run by `flask demo load` after the
                  demo city, staff and residents exist; each is idempotent
    BLUEPRINTS    Flask blueprints of an HTML front door (console), registered on the app

The JSON API's own blueprints are its `api/views` modules, found the same way (`blp`).
"""
import functools
import importlib
import inspect
import pkgutil
from pathlib import Path
from types import ModuleType

import click
from flask import current_app
from flask.cli import with_appcontext

from core import settings as core_settings

ROOT = Path(__file__).resolve().parent.parent


def feature_modules(root: Path = ROOT) -> list[ModuleType]:
    """Every top-level package's `feature` module, by ORDER then name."""
    names = sorted(path.parent.name for path in root.glob("*/feature.py")
                   if (path.parent / "__init__.py").exists())
    modules = [importlib.import_module(f"{name}.feature") for name in names]
    return sorted(modules, key=lambda module: (getattr(module, "ORDER", 100), module.__name__))


def _gathered(name: str) -> list:
    return [item for module in feature_modules() for item in getattr(module, name, ())]


def import_models() -> None:
    for name in _gathered("MODELS"):
        importlib.import_module(name)


def demo_loaders() -> list:
    return _gathered("DEMO_LOADERS")


def html_blueprints() -> list:
    return _gathered("BLUEPRINTS")


def api_blueprints() -> list:
    """The `blp` of every module of api.views, by its POSITION (the order of the
    reference's sections), then name."""
    from . import views

    modules = [importlib.import_module(f"{views.__name__}.{info.name}")
               for info in pkgutil.iter_modules(views.__path__)]
    modules = [module for module in modules if hasattr(module, "blp")]
    modules.sort(key=lambda module: (getattr(module, "POSITION", 100), module.__name__))
    return [module.blp for module in modules]


def _in_app(callback):
    """The callback inside the app context, handed the app's settings if it asks for them."""
    wants_settings = "settings" in inspect.signature(callback).parameters

    @functools.wraps(callback)
    def run(*args, **kwargs):
        if wants_settings:
            kwargs["settings"] = core_settings.of(current_app)
        return callback(*args, **kwargs)

    return with_appcontext(run)


def _bound(command: click.Command) -> click.Command:
    """Each command's callback wrapped once per process (commands are module-level objects
    that every app of the process shares; the wrapper finds the app through the CLI context)."""
    if not getattr(command, "_linli_bound", False):
        if isinstance(command, click.Group):
            for sub in command.commands.values():
                _bound(sub)
        if command.callback is not None:
            command.callback = _in_app(command.callback)
        command._linli_bound = True
    return command


def commands() -> list[click.Command]:
    return [_bound(command) for command in _gathered("COMMANDS")]
