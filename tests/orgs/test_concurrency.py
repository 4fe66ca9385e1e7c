"""Races SQLite hides: real threads and connections on PostgreSQL."""
import pytest
import sqlalchemy as sa

from core.db import db
from orgs.models import StaffRole
from tests.conftest import ON_POSTGRES
from tests.support import API, run_together

pytestmark = pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL for real concurrency")


def test_adding_the_same_new_staff_member_at_once_gives_one_person_and_role(app, actors):
    tree = actors.tree()
    admin = actors.staff(tree["city"])
    body = {"phone": "13755550000", "name": "周社工", "password": "s3cret-pass", "role": "worker"}

    def add(_):
        return app.test_client().post(f"{API}/orgs/{tree['room_a']}/staff", json=body,
                                      headers=admin.headers)

    responses = run_together(8, add)
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 1 and statuses.count(200) == 7, statuses
    assert len({r.get_json()["user_id"] for r in responses}) == 1
    with app.app_context():
        roles = db.session.scalar(sa.select(sa.func.count()).select_from(StaffRole)
                                  .where(StaffRole.org_id == tree["room_a"]))
        assert roles == 1


def test_removing_the_same_role_at_once_removes_it_once(app, actors):
    tree = actors.tree()
    admin = actors.staff(tree["station"])
    worker = actors.staff(tree["room_a"], "worker")

    def remove(_):
        return app.test_client().delete(f"{API}/orgs/{tree['room_a']}/staff/{worker.id}",
                                        headers=admin.headers)

    statuses = sorted(r.status_code for r in run_together(6, remove))
    assert statuses == [200] + [404] * 5, statuses
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffRole)
                                 .where(StaffRole.user_id == worker.id)) == 0


def test_signing_out_at_once_twice_raises_the_version_twice(app, actors):
    """Two sign-outs together both count: neither can reuse the version the other read."""
    from people.models import User

    tree = actors.tree()
    admin = actors.staff(tree["station"])
    worker = actors.staff(tree["room_a"], "worker")

    def sign_out(_):
        return app.test_client().delete(f"{API}/orgs/{tree['room_a']}/staff/{worker.id}/sessions",
                                        headers=admin.headers)

    assert [r.status_code for r in run_together(4, sign_out)] == [200] * 4
    with app.app_context():
        assert db.session.get(User, worker.id).token_version == 4
