"""The settings object (core/settings.py): defaults once, read from config and environment."""
import dataclasses

import pytest

from core import settings
from core.settings import Settings


def test_defaults_hold_for_what_the_config_leaves_out():
    built = Settings.from_config({"SECRET_KEY": "k", "CODE_PERIOD_SECONDS": 10, "UNRELATED": 1})
    assert built == Settings(secret_key="k", code_period_seconds=10)
    assert (built.timezone, built.redemption_pickup_days, built.points_daily_cap) == ("Asia/Shanghai", 7, None)
    assert str(built.zone) == "Asia/Shanghai"


def test_the_environment_sets_only_what_it_names():
    found = settings.from_environment({"TIMEZONE": "Asia/Urumqi", "POINTS_DAILY_CAP": "40",
                                       "OFFLINE_SCAN_MAX_HOURS": "", "SECRET_KEY": "not-here",
                                       "CHECKIN_LINK_BASE": "https://x.cn/c/"})
    assert found == {"TIMEZONE": "Asia/Urumqi", "POINTS_DAILY_CAP": 40, "CHECKIN_LINK_BASE": "https://x.cn/c/"}
    built = Settings.from_config({"SECRET_KEY": "k", **found})
    assert (str(built.zone), built.points_daily_cap, built.offline_scan_max_hours) == ("Asia/Urumqi", 40, 72)


def test_settings_are_frozen_and_a_bad_zone_stops_the_start():
    built = Settings(secret_key="k")
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.timezone = "UTC"
    with pytest.raises(Exception):
        Settings(secret_key="k", timezone="Nowhere/Atlantis")


def test_the_id_number_key_falls_back_to_the_secret_key():
    assert Settings(secret_key="k").id_number_secret == "k"
    assert Settings(secret_key="k", id_number_key="i").id_number_secret == "i"


def test_the_app_builds_them_once_from_its_config(app):
    built = settings.of(app)
    assert built.secret_key == app.config["SECRET_KEY"] and built.timezone == "Asia/Shanghai"
