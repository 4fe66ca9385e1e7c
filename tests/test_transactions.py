"""A savepoint is part of the transaction around it, on every backend.

Python's sqlite3 driver opens a transaction only before INSERT, UPDATE or
DELETE, so a SAVEPOINT as the first write ran in autocommit mode and its
RELEASE committed at once: a request refused later kept what the savepoint
wrote. core.db makes SQLAlchemy begin every transaction itself.
"""
import sqlalchemy as sa

from core import clock
from core.db import db
from orgs.models import Org


def count_orgs() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Org))


def test_a_first_write_in_a_savepoint_is_rolled_back_with_the_transaction(ctx):
    before = count_orgs()
    with db.session.begin_nested():
        db.session.add(Org(name="临时", kind="city", parent=None, path="/x/", created_at=clock.now()))
    db.session.rollback()
    assert count_orgs() == before


def test_a_released_savepoint_commits_with_the_transaction(ctx):
    before = count_orgs()
    with db.session.begin_nested():
        db.session.add(Org(name="保留", kind="city", parent=None, path="/y/", created_at=clock.now()))
    db.session.commit()
    assert count_orgs() == before + 1
