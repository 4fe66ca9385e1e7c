"""The database handle and the column types every package shares."""
import contextlib
import time
from datetime import datetime, timezone

import sqlalchemy as sa
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names, so Alembic can alter and drop them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


class UTCDateTime(sa.types.TypeDecorator):
    """An aware UTC datetime on every backend.

    SQLite keeps no offset, so values are stored as naive UTC and made aware
    again on the way out; PostgreSQL stores `timestamptz`. Naive input is a bug
    in the caller and is refused rather than guessed at.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def savepoints_inside_transactions(engine: sa.Engine) -> None:
    """Python's sqlite3 opens a transaction only before INSERT, UPDATE or DELETE,
    so a SAVEPOINT as a request's first write ran outside any transaction and
    its RELEASE committed at once: a request refused later kept that write.
    On SQLite the transaction is begun first, as the driver does before a
    write. (Only there: an engine-wide listener costs every statement a little.)"""
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "savepoint")
    def _begin_first(connection, _name):
        driver = connection.connection.driver_connection
        if not driver.in_transaction:
            driver.execute("BEGIN")


def is_postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def utc(value: datetime) -> datetime:
    return value.astimezone(timezone.utc)


def ping_when_idle(engine: sa.Engine, idle_seconds: float) -> None:
    """Checks a pooled connection before use only if it sat idle `idle_seconds`.

    `pool_pre_ping` pings before every checkout: a round trip of its own on
    every request, a fifth of a check-in's database time. A connection just
    returned by another request is known good; one that waited in the pool
    is where a database restart or a firewall could have cut it unnoticed.
    (A connection that breaks mid-request is still caught: SQLAlchemy sees
    the disconnect and invalidates the pool, as with pre-ping.)
    """

    @sa.event.listens_for(engine, "checkin")
    def _returned(dbapi_connection, record):
        record.info["returned_at"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, proxy):
        returned_at = record.info.get("returned_at")
        if returned_at is None or time.monotonic() - returned_at < idle_seconds:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            if not engine.dialect.is_disconnect(error, dbapi_connection, None):
                raise
            alive = False
        if not alive:  # the pool discards this connection and checks out another
            raise sa.exc.DisconnectionError("idle pooled connection was closed by the server")


@contextlib.contextmanager
def autocommit_connection():
    """A pooled driver (psycopg) connection in autocommit mode, each statement
    its own transaction, for a hot path of single statements: it skips
    SQLAlchemy's per-statement work (result metadata, switching the isolation
    level), which was 40% of a self check-in's database CPU."""
    pooled = db.engine.raw_connection()
    driver = pooled.driver_connection
    try:
        driver.autocommit = True
        yield driver
    finally:
        if driver.closed:  # the server went away mid-statement
            pooled.invalidate()
        else:
            driver.autocommit = False
        pooled.close()
