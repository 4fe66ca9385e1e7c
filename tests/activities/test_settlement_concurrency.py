"""Ten workers settling one activity at once post its points once (PostgreSQL, real threads)."""
import pytest
import sqlalchemy as sa

from core.db import db
from points.models import Transfer
from points.verify import verify
from tests.activity_support import frozen, make_activity, register  # noqa: F401  (fixture)
from tests.conftest import ON_POSTGRES
from tests.support import API, run_together

pytestmark = pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL for real concurrency")


def test_concurrent_settlements_post_once(app, client, actors, frozen):  # noqa: F811
    tree = actors.tree()
    workers = [actors.staff(tree["room_a"], "worker") for _ in range(10)]
    volunteers = [actors.resident(volunteer=True) for _ in range(5)]
    activity = make_activity(client, workers[0], tree["room_a"], frozen(), volunteer_slots=5,
                             points_per_hour=60)
    registrations = [register(client, v, activity["id"], "volunteer").get_json()["id"] for v in volunteers]
    frozen.advance(minutes=10)
    for registration_id in registrations:
        client.post(f"{API}/activities/{activity['id']}/registrations/{registration_id}/checkin",
                    json={"action": "in"}, headers=workers[0].headers)
    frozen.advance(minutes=30)
    for registration_id in registrations:
        client.post(f"{API}/activities/{activity['id']}/registrations/{registration_id}/checkin",
                    json={"action": "out"}, headers=workers[0].headers)
    frozen.advance(minutes=31)

    responses = run_together(10, lambda i: app.test_client().post(
        f"{API}/activities/{activity['id']}/settle", json={}, headers=workers[i].headers))

    assert [r.status_code for r in responses] == [200] * 10
    bodies = [r.get_json() for r in responses]
    assert all(body == bodies[0] for body in bodies)
    assert bodies[0]["points_total"] == 5 * 30
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Transfer)) == 5
        assert verify()[0] == []
