"""A dependency that is down: the database answers 503 SERVICE_UNAVAILABLE
with Retry-After (a client retries), never a 500 (a bug); Redis down costs
nothing but what Redis holds. Every outage here is real: the app talks to
PostgreSQL or Redis through a proxy the test cuts, or to a SQLite file that
is locked or cannot be opened; when the dependency is back, the same app
answers again without a restart.
"""
import contextlib
import shutil
import sqlite3

import pytest
import sqlalchemy as sa

from api.limits import rate_limits
from core.db import db
from tests.activity_support import code_of, frozen, make_activity, register  # noqa: F401
from tests.app_support import another_app, closed_port
from tests.conftest import ON_POSTGRES, TEST_REDIS_URL
from tests.fakes.tcp_proxy import SilentServer, TcpProxy
from tests.support import API, assert_error


def assert_unavailable(response, down=("database",)):
    error = assert_error(response, 503, "SERVICE_UNAVAILABLE")
    assert int(response.headers["Retry-After"]) > 0
    assert error["details"]["down"] == list(down)
    return error


def _via(proxy: TcpProxy, url: str) -> str:
    return sa.make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)


@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (TEST_DATABASE_URL)")
def test_postgres_down_is_503_and_the_app_recovers_by_itself(app, client, actors, frozen):
    tree = actors.tree()
    staff = actors.staff(tree["room_a"], "worker")
    activity = make_activity(client, staff, tree["room_a"], frozen.current)
    early, late = actors.resident(), actors.resident()
    for person in (early, late):
        assert register(client, person, activity["id"]).status_code == 201
    code = code_of(client, staff, activity["id"])
    target = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"])

    with TcpProxy(target.host or "127.0.0.1", target.port or 5432) as proxy, \
            another_app(app, SQLALCHEMY_DATABASE_URI=_via(proxy, app.config["SQLALCHEMY_DATABASE_URI"]),
                        # never ping an idle connection: a cut one is used and fails mid-request
                        DB_IDLE_PING_SECONDS=3600) as other:
        http = other.test_client()
        assert http.get(f"{API}/orgs/{tree['room_a']}").status_code == 200
        first = http.post(f"{API}/checkins", json={"code": code}, headers=early.headers)
        assert first.status_code == 200 and first.get_json()["first"] is True
        assert http.get(f"{API}/health").get_json()["database"] is True

        proxy.stop()
        # The door-side fast path's own driver connection breaks mid-statement (psycopg's error) ...
        assert_unavailable(http.post(f"{API}/checkins", json={"code": code}, headers=late.headers))
        # ... then every new connection is refused (SQLAlchemy's error at connect).
        assert_unavailable(http.get(f"{API}/orgs/{tree['room_a']}"))
        assert_unavailable(http.post(f"{API}/auth/login", json={"phone": staff.phone, "password": "password-123"}))
        health = http.get(f"{API}/health")
        assert_unavailable(health)

        proxy.start()
        assert http.get(f"{API}/orgs/{tree['room_a']}").status_code == 200
        again = http.post(f"{API}/checkins", json={"code": code}, headers=late.headers)
        assert again.status_code == 200 and again.get_json()["first"] is True
        assert http.get(f"{API}/health").status_code == 200

        proxy.stop()  # a pooled connection of SQLAlchemy's own, cut between two requests
        assert_unavailable(http.get(f"{API}/orgs/{tree['room_a']}"))
        proxy.start()
        assert http.get(f"{API}/orgs/{tree['room_a']}").status_code == 200


@pytest.mark.skipif(ON_POSTGRES, reason="the SQLite file of the run")
def test_sqlite_locked_is_503_until_the_lock_is_released(app, client, actors):
    tree = actors.tree()
    path = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
    with another_app(app, SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"timeout": 0.05}}) as other:
        http = other.test_client()
        assert http.get(f"{API}/orgs/{tree['room_a']}").status_code == 200
        holder = sqlite3.connect(path, isolation_level=None)  # e.g. a long job on the same file
        try:
            holder.execute("BEGIN EXCLUSIVE")
            assert_unavailable(http.get(f"{API}/orgs/{tree['room_a']}"))
            assert_unavailable(http.get(f"{API}/health"))
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert http.get(f"{API}/orgs/{tree['room_a']}").status_code == 200
        assert http.get(f"{API}/health").get_json()["database"] is True


@pytest.mark.skipif(ON_POSTGRES, reason="the SQLite file of the run")
def test_sqlite_file_that_cannot_be_opened_is_503_until_it_can(app, actors, tmp_path):
    tree = actors.tree()
    moved = tmp_path / "mounted-later" / "linli.db"  # a volume not mounted yet
    with another_app(app, SQLALCHEMY_DATABASE_URI=f"sqlite:///{moved}") as other:
        http = other.test_client()
        assert_unavailable(http.get(f"{API}/orgs/{tree['room_a']}"))
        assert_unavailable(http.get(f"{API}/health"))
        moved.parent.mkdir()
        shutil.copyfile(sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database, moved)
        assert http.get(f"{API}/orgs/{tree['room_a']}").get_json()["id"] == tree["room_a"]


def test_a_database_error_that_is_a_bug_still_reraises_in_tests(app, client, monkeypatch):
    """Not every OperationalError is an outage: SQLite reports a missing
    table with one. A bug must fail the test (house rule 6), not hide in a 503."""
    from people import accounts

    def broken(**kwargs):
        db.session.execute(sa.text("SELECT * FROM no_such_table"))

    monkeypatch.setattr(accounts, "login_with_password", broken)
    with pytest.raises(sa.exc.DBAPIError):
        client.post(f"{API}/auth/login", json={"phone": "13100000000", "password": "x"})


def test_the_outage_answer_outside_tests_names_the_request(app, monkeypatch):
    """In production too, the answer is the envelope; the request id ties it to the log line."""
    from people import accounts

    def unreachable(**kwargs):
        raise sa.exc.OperationalError("SELECT 1", {}, _connection_refused())

    monkeypatch.setattr(accounts, "login_with_password", unreachable)
    monkeypatch.setitem(app.config, "TEST_SHOW_500", True)
    response = app.test_client().post(f"{API}/auth/login", json={"phone": "13100000000", "password": "x"},
                                      headers={"X-Request-ID": "req-db-down"})
    error = assert_unavailable(response)
    assert error["details"]["request_id"] == "req-db-down"
    assert "refused" not in response.get_data(as_text=True)


def _connection_refused():
    """The driver error of a database that is not listening, raised for real."""
    if ON_POSTGRES:
        import psycopg

        try:
            psycopg.connect(host="127.0.0.1", port=closed_port(), connect_timeout=2)
        except psycopg.OperationalError as exc:
            return exc
    try:
        sqlite3.connect("file:/nonexistent-dir/x.db?mode=rw", uri=True)
    except sqlite3.OperationalError as exc:
        return exc
    raise AssertionError("connected to nothing")


# -- what counts as an outage ------------------------------------------------


def test_sqlite_errors_that_say_the_file_is_unusable_are_outages(tmp_path):
    from core.outages import unavailable_dependency

    assert unavailable_dependency(_sqlite_error_of(lambda: sqlite3.connect(
        f"file:{tmp_path}/missing/x.db?mode=rw", uri=True))) == "database"
    locked = tmp_path / "locked.db"
    holder = sqlite3.connect(locked, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        other = sqlite3.connect(locked, timeout=0)
        assert unavailable_dependency(_sqlite_error_of(lambda: other.execute("SELECT * FROM t"))) == "database"
        other.close()
    finally:
        holder.close()
    bug = sqlite3.connect(":memory:")
    assert unavailable_dependency(_sqlite_error_of(lambda: bug.execute("SELECT * FROM nowhere"))) is None
    assert unavailable_dependency(_sqlite_error_of(lambda: bug.execute("SELEC 1"))) is None
    assert unavailable_dependency(RuntimeError("boom")) is None


def _sqlite_error_of(action):
    try:
        action()
    except sqlite3.Error as exc:
        return exc
    raise AssertionError("no error")


@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (TEST_DATABASE_URL)")
def test_psycopg_errors_that_say_the_server_is_gone_are_outages(app):
    import psycopg

    from core.outages import unavailable_dependency

    assert unavailable_dependency(_connection_refused()) == "database"
    url = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    params = dict(host=url.host, port=url.port or 5432, user=url.username, password=url.password,
                  dbname=url.database)
    with psycopg.connect(**params, autocommit=True) as admin, psycopg.connect(**params) as victim:
        pid = victim.info.backend_pid
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
        with pytest.raises(psycopg.OperationalError) as terminated:
            victim.execute("SELECT 1")
        assert unavailable_dependency(terminated.value) == "database"
        with pytest.raises(psycopg.Error) as closed:
            victim.execute("SELECT 1")
        assert unavailable_dependency(closed.value) == "database"
        with pytest.raises(psycopg.errors.SyntaxError) as bug:
            admin.execute("SELEC 1")
        assert unavailable_dependency(bug.value) is None
        with pytest.raises(psycopg.errors.UniqueViolation) as duplicate:
            admin.execute("CREATE TEMP TABLE t (x int UNIQUE); INSERT INTO t VALUES (1), (1)")
        assert unavailable_dependency(duplicate.value) is None


def test_sqlalchemy_wraps_are_judged_by_the_driver_error():
    from core.outages import unavailable_dependency

    refused = _connection_refused()
    assert unavailable_dependency(sa.exc.OperationalError("SELECT 1", {}, refused)) == "database"
    assert unavailable_dependency(sa.exc.DisconnectionError("gone")) == "database"
    assert unavailable_dependency(sa.exc.TimeoutError("QueuePool limit reached")) == "database"
    bug = sa.exc.InterfaceError("SELECT ?", (object(),), sqlite3.InterfaceError("bad parameter"))
    assert unavailable_dependency(bug) is None
    invalidated = sa.exc.OperationalError("SELECT 1", {}, Exception("whatever"),
                                          connection_invalidated=True)
    assert unavailable_dependency(invalidated) == "database"


# -- Redis ----------------------------------------------------------------------


@contextlib.contextmanager
def _redis_that_goes_down():
    """A URL whose Redis is up and then down (yields the URL and a function that cuts it).

    With TEST_REDIS_URL: the real Redis, through a proxy the test cuts. Without:
    a port where nothing listens (down from the start)."""
    if TEST_REDIS_URL:
        target = sa.make_url(TEST_REDIS_URL)
        with TcpProxy(target.host or "127.0.0.1", target.port or 6379) as proxy:
            yield f"redis://127.0.0.1:{proxy.port}/{target.database or 0}", proxy.stop
    else:
        yield f"redis://127.0.0.1:{closed_port()}/0", lambda: None


def test_redis_down_costs_no_request_a_5xx(app, client, actors, frozen):
    tree = actors.tree()
    staff = actors.staff(tree["room_a"], "worker")
    activity = make_activity(client, staff, tree["room_a"], frozen.current)
    resident = actors.resident()
    assert register(client, resident, activity["id"]).status_code == 201
    code = code_of(client, staff, activity["id"])
    with _redis_that_goes_down() as (url, cut), \
            another_app(app, REDIS_URL=url,
                        # a small limit: every attempt is counted in the shared store
                        RATELIMIT_CHECKIN="5 per minute", RATELIMIT_LOGIN="5 per minute") as other:
        http = other.test_client()
        cut()
        health = http.get(f"{API}/health")
        assert health.status_code == 200
        body = health.get_json()
        assert body["redis"] is False and body["database"] is True and body["down"] == ["redis"]
        assert body["status"] == "degraded"
        login = http.post(f"{API}/auth/login", json={"phone": staff.phone, "password": "password-123"})
        assert login.status_code == 200
        scanned = http.post(f"{API}/checkins", json={"code": code}, headers=resident.headers)
        assert scanned.status_code == 200 and scanned.get_json()["first"] is True


def test_a_redis_that_hangs_costs_no_request_a_5xx(app, actors):
    """A Redis that accepts and never answers: every call gives up after its
    socket timeout (the rate limiter's too) instead of holding the request."""
    tree = actors.tree()
    staff = actors.staff(tree["room_a"], "worker")
    with SilentServer() as silent, \
            another_app(app, REDIS_URL=f"redis://127.0.0.1:{silent.port}/0") as other:
        pool = rate_limits(other).storage.get_connection().connection_pool.connection_kwargs
        assert pool["socket_timeout"] and pool["socket_connect_timeout"]
        http = other.test_client()
        assert http.get(f"{API}/health").get_json()["redis"] is False
        login = http.post(f"{API}/auth/login", json={"phone": staff.phone, "password": "password-123"})
        assert login.status_code == 200
        assert silent.accepted >= 2  # both the store and the limiter really asked


@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (TEST_DATABASE_URL)")
def test_a_database_that_never_answers_is_503_after_the_connect_timeout(app, actors):
    """A server that accepts and never answers (a firewall dropping replies):
    the request gives up on its own after DB_CONNECT_TIMEOUT_SECONDS, not when
    the other side finally closes, which may be never."""
    tree = actors.tree()
    with SilentServer(hold_seconds=60) as silent, \
            another_app(app, SQLALCHEMY_DATABASE_URI=_via(silent, app.config["SQLALCHEMY_DATABASE_URI"]),
                        DB_CONNECT_TIMEOUT_SECONDS=2) as other:
        assert_unavailable(other.test_client().get(f"{API}/orgs/{tree['room_a']}"))
        assert silent.accepted >= 1 and silent.closed == 0  # the client gave up first


def test_health_gives_its_time_in_the_configured_zone(client):
    """Every time the API returns is in the configured zone (API.md, second part)."""
    body = client.get("/api/v1/health").get_json()
    assert body["time"].endswith("+08:00")
