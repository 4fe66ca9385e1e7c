"""A scratch PostgreSQL database for one benchmark run: created, migrated, dropped."""
import contextlib
import os
import sys
import uuid
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SERVER = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextlib.contextmanager
def scratch_database():
    """Yields the URL of a new, empty database on SERVER; drops it afterwards, even on error."""
    server = sa.make_url(SERVER)
    name = f"linli_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def migrated_app(url: str, **overrides):
    """The app on `url`, with the schema upgraded to the newest migration."""
    from flask_migrate import upgrade

    from api import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-" + uuid.uuid4().hex,
                      "DEV_LOGIN": False, "REDIS_URL": None, **overrides})
    with app.app_context():
        upgrade()
    return app
