"""Pooled connections the server closed are replaced, not used again."""
import pytest
import sqlalchemy as sa

from core.db import autocommit_connection, db, ping_when_idle
from tests.conftest import ON_POSTGRES

pytestmark = pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (TEST_DATABASE_URL)")


def _engine_with_a_killed_idle_connection(app, idle_seconds):
    """An engine whose one pooled connection the server terminated (and waited 5 s at most for)."""
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"], pool_size=1, max_overflow=0)
    ping_when_idle(engine, idle_seconds)
    with engine.connect() as conn:
        pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
    with sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"]).connect() as admin:
        assert admin.execute(sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid}).scalar_one()
    return engine, pid


def test_an_idle_connection_closed_by_the_server_is_replaced(app):
    engine, killed = _engine_with_a_killed_idle_connection(app, idle_seconds=0)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one() != killed
    finally:
        engine.dispose()


def test_a_connection_in_steady_use_is_not_pinged(app):
    # Returned a moment ago: trusted as is, which is why the killed one fails here.
    engine, _ = _engine_with_a_killed_idle_connection(app, idle_seconds=3600)
    try:
        with pytest.raises(sa.exc.OperationalError):
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
    finally:
        engine.dispose()


def test_a_driver_connection_lost_mid_statement_is_not_returned_to_the_pool(app):
    import psycopg

    with app.app_context():
        with pytest.raises(psycopg.OperationalError):
            with autocommit_connection() as connection:
                lost = connection.info.backend_pid
                connection.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        for _ in range(3):  # whichever pooled connection comes next is a live one
            with autocommit_connection() as connection:
                assert connection.autocommit is True
                assert connection.execute("SELECT pg_backend_pid()").fetchone()[0] != lost
        with db.engine.connect() as conn:  # and the pool's own connections are not left in autocommit
            assert conn.connection.driver_connection.autocommit is False
