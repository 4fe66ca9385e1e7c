"""Features register themselves (house rule 13, api/features.py): a package's own
`feature` module is found by walking the top-level packages."""
import sys

import click

from api import features
from core.db import db


def test_a_new_package_is_found_without_editing_a_list(tmp_path, monkeypatch):
    package = tmp_path / "newfeature"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "feature.py").write_text(
        "import click\n\nORDER = 5\nMODELS = ('newfeature.models',)\n\n"
        "@click.command('hello')\ndef hello(settings):\n    click.echo(settings.timezone)\n\n"
        "COMMANDS = (hello,)\n")
    (tmp_path / "tests").mkdir()  # not a package: never imported
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        found = features.feature_modules(tmp_path)
        assert [module.__name__ for module in found] == ["newfeature.feature"]
        assert found[0].MODELS == ("newfeature.models",)
    finally:
        sys.modules.pop("newfeature.feature", None)
        sys.modules.pop("newfeature", None)


def test_the_project_features_bring_their_models_commands_and_demo(app):
    names = [module.__name__ for module in features.feature_modules()]
    assert names[:2] == ["people.feature", "orgs.feature"]  # lower packages first
    assert {"volunteers.feature", "points.feature", "activities.feature"} <= set(names)
    assert {"users", "orgs", "volunteer_profiles", "activities", "transfers", "benefits"} <= set(db.metadata.tables)
    assert {"create-admin", "points", "redemptions", "demo"} <= set(app.cli.list_commands(None))
    assert len(features.demo_loaders()) >= 4


def test_a_command_asking_for_settings_gets_the_apps(app, monkeypatch):
    @click.command("zone")
    def zone(settings):
        click.echo(settings.timezone)

    command = features._bound(zone)
    assert features._bound(command) is command  # bound once, however many apps are made
    monkeypatch.setitem(app.cli.commands, "zone", command)
    result = app.test_cli_runner().invoke(args=["zone"])
    assert result.exit_code == 0 and result.output.strip() == "Asia/Shanghai"
