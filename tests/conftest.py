"""Test setup: a fresh database per run (SQLite file, or a new PostgreSQL
database when TEST_DATABASE_URL is set), migrated with Alembic; Redis when
TEST_REDIS_URL is set, under a prefix of this run's own; a fake WeChat server.

Tables are emptied after each test, so tests never see each other's rows.
"""
import os
import threading
import uuid

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from werkzeug.serving import make_server

from api import create_app
from api.limits import rate_limits
from core import settings as core_settings
from core.db import db
from tests.fakes.wechat import FakeWechat
from tests.scratch_db import create_database
from tests.support import Actors

RUN_ID = uuid.uuid4().hex[:10]
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")
ON_POSTGRES = bool(TEST_DATABASE_URL)


def _postgres_database():
    """Creates `linli_test_<run>` on the server of TEST_DATABASE_URL; returns (url, drop)."""
    return create_database(TEST_DATABASE_URL, f"linli_test_{RUN_ID}")


@pytest.fixture(scope="session")
def wechat():
    with FakeWechat() as fake:
        yield fake


@pytest.fixture(scope="session")
def app(tmp_path_factory, wechat):
    if ON_POSTGRES:
        url, drop = _postgres_database()
    else:
        url, drop = f"sqlite:///{tmp_path_factory.mktemp('db') / 'linli.db'}", (lambda: None)
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        # Enough connections for the concurrency tests' threads.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 20, "max_overflow": 60} if ON_POSTGRES else {},
        "REDIS_URL": TEST_REDIS_URL,
        "REDIS_PREFIX": f"linli-test-{RUN_ID}:",
        "SECRET_KEY": "test-secret-key-" + RUN_ID + "-" + uuid.uuid4().hex,
        "DEV_LOGIN": True,
        "PASSWORD_HASH_FAST": True,
        "WECHAT_API_BASE": wechat.base_url,
        "WECHAT_APPID": wechat.appid,
        "WECHAT_SECRET": wechat.secret,
        # The fake WeChat is local, but a loaded machine can keep it waiting:
        # the one test of a WeChat too slow sets a short wait of its own.
        "WECHAT_TIMEOUT_SECONDS": 5,
        "RATELIMIT_LOGIN": "10000 per minute",
        "RATELIMIT_CHECKIN": "10000 per minute",
    })
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()
    _forget_redis_keys(app)
    drop()


def _forget_redis_keys(app):
    if TEST_REDIS_URL:
        store = app.extensions["linli.kv"]
        keys = list(store.client.scan_iter(match=app.config["REDIS_PREFIX"] + "*"))
        if keys:
            store.client.delete(*keys)


def _empty_tables():
    tables = [t for t in db.metadata.sorted_tables if t.name != "alembic_version"]
    if ON_POSTGRES:
        # DELETE is much faster than TRUNCATE on small tables; replica mode skips
        # the ledger's append-only triggers for this cleanup transaction only.
        db.session.execute(sa.text("SET LOCAL session_replication_role = replica"))
    for table in reversed(tables):
        db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture(autouse=True)
def _clean(app):
    yield
    with app.app_context():
        db.session.rollback()
        _empty_tables()
    store = app.extensions["linli.kv"]
    if TEST_REDIS_URL:
        _forget_redis_keys(app)
    else:
        store.__init__()
    rate_limits(app).reset()  # this run's own counters only: the store's keys are under its prefix


@pytest.fixture
def live_server(app):
    """The app on a real port of 127.0.0.1, for a browser to load pages from."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def ctx(app):
    """An app context for calling services directly."""
    with app.app_context():
        yield


@pytest.fixture
def settings(app):
    """The settings the app factory built, for calling services directly."""
    return core_settings.of(app)


@pytest.fixture
def actors(app, client):
    """Builds orgs, staff and residents and signs them in; see tests/support.py."""
    return Actors(app, client)


def pytest_report_header(config):
    return [f"linli backend: {'PostgreSQL' if ON_POSTGRES else 'SQLite'}"
            f" + {'Redis' if TEST_REDIS_URL else 'in-process store'}"]
