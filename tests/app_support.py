"""Another app beside the session's, for tests that change how the app is built."""
import contextlib
import socket

from api import create_app
from core.db import db

# What the session app was made with that another app must share to see its data and tokens.
SHARED = ["TESTING", "SQLALCHEMY_DATABASE_URI", "REDIS_URL", "REDIS_PREFIX", "SECRET_KEY", "DEV_LOGIN",
          "PASSWORD_HASH_FAST", "RATELIMIT_LOGIN", "RATELIMIT_CHECKIN"]


@contextlib.contextmanager
def another_app(app, **changes):
    """An app like the session's but for `changes`, with its own engine, store and rate limits."""
    other = create_app({**{key: app.config[key] for key in SHARED}, **changes})
    try:
        yield other
    finally:
        with other.app_context():
            db.engine.dispose()


def closed_port() -> int:
    """A local port where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
