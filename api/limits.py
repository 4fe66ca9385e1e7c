"""Rate limits (Flask-Limiter), counted in Redis when configured.

Limits read their figures from config at request time, so tests and
deployments tune them without code changes.
"""
import functools
import logging
import time

from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse as parse_limit
from werkzeug.exceptions import TooManyRequests

log = logging.getLogger(__name__)

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
    # Linli has no default limits: every limit is a decorator on its view, and a
    # decorator checks its own limits when the view runs. Flask-Limiter's
    # before-request check then only finds nothing to do, at a quarter of a
    # trivial request's CPU (90 µs), on every request; it is taken off.
    hooks = app.before_request_funcs.get(None, [])
    hooks[:] = [hook for hook in hooks if getattr(hook, "__func__", None) is not Limiter._check_request_limit]


@functools.lru_cache(maxsize=16)
def _parsed(limit: str):
    return parse_limit(limit)


def _signed_in_user() -> str:
    from core.errors import DomainError

    from .auth import claimed_user_id

    try:
        return f"user:{claimed_user_id()}"
    except DomainError:  # the view answers 401; count the attempt against the address
        return f"ip:{get_remote_address()}"


def _hit_user_limit(name: str) -> None:
    if not limiter.enabled:
        return
    item = _parsed(current_app.config[name])
    key = (current_app.config["RATELIMIT_KEY_PREFIX"], _signed_in_user(), name)
    try:
        strategy = limiter.limiter
        if strategy.hit(item, *key):
            return
        reset_at = strategy.get_window_stats(item, *key).reset_time
    except Exception:  # storage unreachable: let the scan through, it is logged anyway
        log.warning("check-in rate limit storage unavailable", exc_info=True)
        return
    raise TooManyRequests(retry_after=max(1, int(reset_at - time.time()) + 1))


def per_user_limit(config_name: str):
    """Requests per signed-in user, the figure read from config `config_name`
    (e.g. RATELIMIT_CHECKIN).

    Check-in is the hot path of the door-side rush, so the limit is taken
    straight from Flask-Limiter's own storage and strategy (one Redis round
    trip) instead of its per-request bookkeeping and X-RateLimit headers,
    which measured a quarter of a check-in's CPU (bench/bench_checkin.py).
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            _hit_user_limit(config_name)
            return view(*args, **kwargs)

        return wrapper

    return decorator


checkin_limits = per_user_limit("RATELIMIT_CHECKIN")
staff_scan_limits = per_user_limit("RATELIMIT_STAFF_SCAN")
