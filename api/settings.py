"""The settings of the app serving the request (built once by the app factory)."""
from flask import current_app

from core import settings as core_settings


def current_settings() -> core_settings.Settings:
    return core_settings.of(current_app)
