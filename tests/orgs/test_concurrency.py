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
