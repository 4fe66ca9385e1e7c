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


def test_settling_several_activities_of_one_room_at_once_never_deadlocks(app, client, actors, frozen):  # noqa: F811
    """Each settlement's transfers reference the room's issuing account (a key-share
    lock) before it locks that account to post: a FOR UPDATE there waited on the
    other settlements' key-share locks while they waited on its own (a deadlock,
    500). The posting lock must not conflict with a foreign key's."""
    tree = actors.tree()
    worker = actors.staff(tree["room_a"], "worker")
    activities = []
    for _ in range(4):
        volunteers = [actors.resident(volunteer=True) for _ in range(20)]
        activity = make_activity(client, worker, tree["room_a"], frozen(), volunteer_slots=20, points_per_hour=60)
        registrations = [register(client, v, activity["id"], "volunteer").get_json()["id"] for v in volunteers]
        activities.append((activity["id"], registrations))
    frozen.advance(minutes=10)
    for action in ("in", "out"):
        for activity_id, registrations in activities:
            for registration_id in registrations:
                client.post(f"{API}/activities/{activity_id}/registrations/{registration_id}/checkin",
                            json={"action": action}, headers=worker.headers)
        frozen.advance(minutes=30)
    frozen.advance(minutes=1)

    for _ in range(5):  # a deadlock needs the statements to interleave: give it a few chances
        responses = run_together(len(activities), lambda i: app.test_client().post(
            f"{API}/activities/{activities[i][0]}/settle", json={}, headers=worker.headers))
        assert [r.status_code for r in responses] == [200] * len(activities)
    paid = [record for r in responses for record in r.get_json()["records"] if record["points"] > 0]
    assert paid  # the activities did pay someone, so their postings did meet
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Transfer)) == len(paid)
        assert verify()[0] == []
