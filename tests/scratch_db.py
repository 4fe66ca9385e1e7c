"""A throwaway PostgreSQL database, for a test run or a benchmark run."""
import sqlalchemy as sa


def create_database(server_url: str, name: str):
    """Creates database `name` on the server of `server_url`; returns (its URL, a function that drops it)."""
    server = sa.make_url(server_url)
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return server.set(database=name).render_as_string(hide_password=False), drop
