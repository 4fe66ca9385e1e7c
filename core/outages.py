"""What counts as the database being down, as opposed to a bug.

A request that fails because PostgreSQL is restarting, unreachable or out of
connections, or because the SQLite file is locked or cannot be opened, is
worth retrying a little later (HTTP 503 with Retry-After); a syntax error, a
missing table or a violated constraint is not, and stays a 500 (and fails
the test). SQLAlchemy's OperationalError covers both kinds (SQLite reports a
missing table with one), so the driver's own error decides.
"""
import sqlite3
import sys

import sqlalchemy as sa

from .errors import Code, DomainError

# Primary result codes (the low byte of the extended code) of a file that
# cannot be used now: BUSY, LOCKED, NOMEM, READONLY, IOERR, FULL, CANTOPEN, PROTOCOL.
SQLITE_UNAVAILABLE = {5, 6, 7, 8, 10, 13, 14, 15}

# SQLSTATE classes and codes of a server that cannot serve now: connection
# exception (08), insufficient resources (53: too many connections, disk full),
# system error (58), operator intervention (57P0x: shut down, starting up),
# and a read-only transaction (25006: a standby after a failover).
# Not 57014 (a statement timed out: a slow query is a bug to see).
PG_UNAVAILABLE_CLASSES = {"08", "53", "58"}
PG_UNAVAILABLE_CODES = {"57P01", "57P02", "57P03", "57P04", "57P05", "25006"}


def unavailable_dependency(exc: BaseException) -> str | None:
    """"database" when `exc` (or what it was raised from) says the database
    cannot be reached or cannot serve now; None for anything else."""
    seen = 0
    while exc is not None and seen < 5:
        if _database_unavailable(exc):
            return "database"
        exc, seen = exc.__cause__, seen + 1
    return None


def _database_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, (sa.exc.DisconnectionError, sa.exc.TimeoutError)):
        return True  # the pool found the connection dead, or waited in vain for a free one
    if isinstance(exc, sa.exc.DBAPIError):
        # SQLAlchemy recognised a lost connection and discarded the pool's connections.
        return exc.connection_invalidated or _driver_error_unavailable(exc.orig)
    return _driver_error_unavailable(exc)


def _driver_error_unavailable(error) -> bool:
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        return code is not None and (code & 0xFF) in SQLITE_UNAVAILABLE
    psycopg = sys.modules.get("psycopg")  # not imported: not the driver in use
    if psycopg is not None and isinstance(error, psycopg.Error):
        if isinstance(error, psycopg.InterfaceError):
            return True  # the connection is closed
        sqlstate = error.sqlstate
        if sqlstate is None:  # raised by the client: connection refused, lost, timed out
            return isinstance(error, psycopg.OperationalError)
        return sqlstate[:2] in PG_UNAVAILABLE_CLASSES or sqlstate in PG_UNAVAILABLE_CODES
    return False


def database_answers(engine: sa.Engine) -> bool:
    """Whether the database answers a trivial query now. An error that is not
    an outage (a bug) is raised."""
    # SQLite answers `SELECT 1` without reading the file (nor waiting for its lock).
    query = "SELECT count(*) FROM sqlite_master" if engine.dialect.name == "sqlite" else "SELECT 1"
    try:
        with engine.connect() as connection:
            connection.execute(sa.text(query))
        return True
    except Exception as exc:
        if unavailable_dependency(exc) is None:
            raise
        return False


def health(*, engine: sa.Engine, store, now) -> dict:
    """Which dependency answers. Redis down is `degraded` (the app works
    without it); the database down raises SERVICE_UNAVAILABLE naming what is down."""
    answers = {"database": database_answers(engine), "redis": store.ping()}
    down = [name for name, up in answers.items() if not up]
    if not answers["database"]:
        raise DomainError(Code.SERVICE_UNAVAILABLE, "服务暂时不可用，请稍后重试", down=down)
    return {"status": "degraded" if down else "ok", "time": now, **answers, "down": down}
