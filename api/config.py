"""Configuration from the environment (see the README for every variable)."""
import os
from pathlib import Path

from core import settings

DEV_SECRET_KEY = "linli-dev-secret-do-not-use-in-production"
ROOT = Path(__file__).resolve().parent.parent


def env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def from_environment() -> dict:
    """The app's own settings here; those the services read (TIMEZONE, CODE_PERIOD_SECONDS...)
    only when set, their defaults being core.settings.Settings's."""
    env = os.environ
    instance = ROOT / "instance"
    return {
        **settings.from_environment(env),
        "SQLALCHEMY_DATABASE_URI": env.get("DATABASE_URL") or f"sqlite:///{instance / 'linli.db'}",
        "REDIS_URL": env.get("REDIS_URL") or None,
        "REDIS_PREFIX": env.get("REDIS_PREFIX", "linli:"),
        "SECRET_KEY": env.get("SECRET_KEY") or DEV_SECRET_KEY,
        "DEV_LOGIN": env_flag("DEV_LOGIN"),
        "WECHAT_APPID": env.get("WECHAT_APPID", ""),
        "WECHAT_SECRET": env.get("WECHAT_SECRET", ""),
        "WECHAT_API_BASE": env.get("WECHAT_API_BASE", "https://api.weixin.qq.com"),
        "WECHAT_TIMEOUT_SECONDS": float(env.get("WECHAT_TIMEOUT_SECONDS", "5")),
        "ACCESS_TOKEN_MINUTES": int(env.get("ACCESS_TOKEN_MINUTES", "30")),
        "REFRESH_TOKEN_DAYS": int(env.get("REFRESH_TOKEN_DAYS", "30")),
        "RATELIMIT_LOGIN": env.get("RATELIMIT_LOGIN", "10 per minute"),
        # Failed password sign-ins for one phone from all addresses together (api/limits.py).
        "RATELIMIT_LOGIN_PHONE": env.get("RATELIMIT_LOGIN_PHONE", "50 per hour"),
        # How many proxies in front of the app set X-Forwarded-For / -Proto (nginx: 1). 0: none,
        # the peer address is the client's.
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES", "0")),
        "RATELIMIT_CHECKIN": env.get("RATELIMIT_CHECKIN", "60 per minute"),
        # Per worker: a pass or manual check-in takes a few seconds, so this is never reached by hand.
        "RATELIMIT_STAFF_SCAN": env.get("RATELIMIT_STAFF_SCAN", "120 per minute"),
        # A pooled database connection idle this long is pinged before use (core.db.ping_when_idle).
        "DB_IDLE_PING_SECONDS": float(env.get("DB_IDLE_PING_SECONDS", "10")),
        # How long a new PostgreSQL connection may take before the request answers 503 (at least 2).
        "DB_CONNECT_TIMEOUT_SECONDS": int(env.get("DB_CONNECT_TIMEOUT_SECONDS", "5")),
    }


# Fixed for every deployment.
STATIC = {
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    "API_TITLE": "Linli 邻里",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
    # /api/v1/docs is api/docs.py (Swagger UI from a package, no CDN), not flask-smorest's page.
    "RATELIMIT_HEADERS_ENABLED": True,
    # A rate limiter that cannot reach Redis lets requests through rather than fail them.
    "RATELIMIT_SWALLOW_ERRORS": True,
    "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
    # A Redis that hangs must not hold requests either (as core.kv's own client).
    "RATELIMIT_STORAGE_OPTIONS": {"socket_timeout": 0.5, "socket_connect_timeout": 0.5},
}


# Every signing key (tokens, check-in codes, passes) is derived from SECRET_KEY:
# it must be long and random, e.g. `python -c "import secrets; print(secrets.token_urlsafe(48))"`.
SECRET_KEY_MIN_LENGTH = 32
SECRET_KEY_MIN_DISTINCT = 10


def secret_key_problem(key: str) -> str | None:
    """Why `key` may not sign anything for real users, or None."""
    if key == DEV_SECRET_KEY:
        return "SECRET_KEY is the development default"
    if len(key) < SECRET_KEY_MIN_LENGTH:
        return f"SECRET_KEY is shorter than {SECRET_KEY_MIN_LENGTH} characters"
    if len(set(key)) < SECRET_KEY_MIN_DISTINCT:
        return f"SECRET_KEY has fewer than {SECRET_KEY_MIN_DISTINCT} distinct characters"
    return None


def engine_options(config: dict) -> dict:
    """The database engine's options: those configured, and always
    `hide_parameters`, so that the message of a failed statement (which is
    logged) names the statement but never its values (phones, code secrets);
    on PostgreSQL a connect timeout, so that a server that does not answer
    is a 503 after that long rather than a request held until the OS gives up."""
    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    options["hide_parameters"] = True
    if config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        timeout = config.get("DB_CONNECT_TIMEOUT_SECONDS", 5)
        options["connect_args"] = {"connect_timeout": timeout, **options.get("connect_args", {})}
    return options


def check_safe(config: dict) -> None:
    """Refuse to serve real users with the published development secret or a weak one
    (the embedded demo and the tests run with DEV_LOGIN on, and may use any)."""
    problem = None if config["DEV_LOGIN"] else secret_key_problem(config["SECRET_KEY"])
    if problem:
        raise RuntimeError(
            f"{problem}; set a long random SECRET_KEY (or DEV_LOGIN=1 for the demo)"
        )
