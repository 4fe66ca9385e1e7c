"""Rate limits (Flask-Limiter), counted in Redis when configured.

Limits read their figures from config at request time, so tests and
deployments tune them without code changes.
"""
from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address, default_limits=[])


def _login_phone() -> str:
    body = request.get_json(silent=True)
    phone = body.get("phone") if isinstance(body, dict) else None
    return f"phone:{phone}" if isinstance(phone, str) else f"ip:{get_remote_address()}"


def _login_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


def login_limits(view):
    """Per IP and per phone: one caller cannot spray phones, nor many callers one phone."""
    view = limiter.limit(_login_limit, key_func=_login_phone)(view)
    return limiter.limit(_login_limit)(view)


def init_app(app) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"] or "memory://")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", app.config["REDIS_PREFIX"] + "rl")
    limiter.init_app(app)


def _checkin_limit() -> str:
    return current_app.config["RATELIMIT_CHECKIN"]


def _signed_in_user() -> str:
    from core.errors import DomainError

    from .auth import claimed_user_id

    try:
        return f"user:{claimed_user_id()}"
    except DomainError:  # the view answers 401; count the attempt against the address
        return f"ip:{get_remote_address()}"


def checkin_limits(view):
    """Check-in attempts per signed-in user (RATELIMIT_CHECKIN)."""
    return limiter.limit(_checkin_limit, key_func=_signed_in_user, scope="checkin")(view)
