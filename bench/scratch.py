"""A scratch PostgreSQL database for one benchmark run: created, migrated, dropped."""
import contextlib
import os
import sys
import uuid
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.scratch_db import create_database  # noqa: E402

SERVER = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def create_scratch_database(server_url: str = SERVER):
    """Creates a new, empty database on the server of `server_url` (127.0.0.1 only).
    Returns (its URL, a function that drops it)."""
    server = sa.make_url(server_url)
    if server.host not in ("127.0.0.1", "localhost"):
        raise SystemExit("benchmarks target 127.0.0.1 only")
    return create_database(server_url, f"linli_bench_{uuid.uuid4().hex[:8]}")


@contextlib.contextmanager
def scratch_database(server_url: str = SERVER):
    """Yields the URL of a new, empty database; drops it afterwards, even on error."""
    url, drop = create_scratch_database(server_url)
    try:
        yield url
    finally:
        drop()


def migrated_app(url: str, **overrides):
    """The app on `url`, with the schema upgraded to the newest migration."""
    from flask_migrate import upgrade

    from api import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-" + uuid.uuid4().hex,
                      "DEV_LOGIN": False, "REDIS_URL": None, **overrides})
    with app.app_context():
        upgrade()
    return app


def room_with_worker(round_no: int, now):
    """A new room under the city and a worker of it (inside an app context): (room, worker)."""
    from core.db import db
    from orgs.models import Org, StaffRole
    from orgs.services import _save_org, ensure_city
    from people.models import User

    city = ensure_city(name="武汉市", now=now)
    room = _save_org(Org(name=f"社工室{round_no}", kind="room", parent=city, created_at=now))
    worker = User(nickname="李社工", phone=f"1380000{round_no:04d}", created_at=now)
    db.session.add(worker)
    db.session.flush()
    db.session.add(StaffRole(user_id=worker.id, org_id=room.id, role="worker", created_at=now))
    return room, worker
