"""Races for stock, points and limits, with real threads on PostgreSQL (SQLite hides lock bugs)."""
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
import threading

import pytest
import sqlalchemy as sa

from core import clock
from core.db import db
from orgs.services import get_org
from points import books, redemption as redemption_service
from points.benefits_models import Benefit, Redemption
from points.verify import verify
from tests.benefit_support import give_points, make_benefit, points_of
from tests.conftest import ON_POSTGRES
from tests.support import API
from people.models import User

pytestmark = pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL and real connections")


def race(app, calls):
    """Runs each call(client) in its own thread, all released at once; returns
    (status, code) pairs. A 500 re-raises in the thread (TESTING) and fails here."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        client = app.test_client()
        barrier.wait()
        response = call(client)
        body = response.get_json(silent=True) or {}
        return response.status_code, body.get("error", {}).get("code"), body

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return [future.result() for future in [pool.submit(run, call) for call in calls]]


def redeem_call(person, benefit_id, key=None):
    headers = dict(person.headers)
    if key:
        headers["Idempotency-Key"] = key
    return lambda client: client.post(f"{API}/benefits/{benefit_id}/redemptions", headers=headers)


def state(app, benefit_id):
    with app.app_context():
        benefit = db.session.get(Benefit, benefit_id)
        statuses = db.session.scalars(sa.select(Redemption.status).where(Redemption.benefit_id == benefit_id)).all()
        problems, _ = verify()
        return benefit.stock_left, sorted(statuses), problems


@pytest.fixture
def room(actors):
    tree = actors.tree()
    return {"tree": tree, "id": tree["room_a"], "worker": actors.staff(tree["room_a"], "worker")}


def test_fifty_volunteers_race_for_ten(app, client, actors, room):
    benefit = make_benefit(client, room["worker"], room["id"], cost=20, stock=10)
    volunteers = [actors.resident(volunteer=True) for _ in range(50)]
    for person in volunteers:
        give_points(app, person.id, room["id"], 50)
    results = race(app, [redeem_call(person, benefit["id"]) for person in volunteers])
    statuses = sorted((status, code) for status, code, _ in results)
    assert statuses.count((201, None)) == 10
    assert statuses.count((409, "OUT_OF_STOCK")) == 40
    stock_left, redemptions, problems = state(app, benefit["id"])
    assert stock_left == 0 and redemptions == ["reserved"] * 10 and problems == []
    held = sum(points_of(app, person.id)["held"] for person in volunteers)
    assert held == 10 * 20


def test_one_volunteer_with_points_for_three_fires_ten(app, client, actors, room):
    benefit = make_benefit(client, room["worker"], room["id"], cost=30, stock=100)
    person = actors.resident(volunteer=True)
    give_points(app, person.id, room["id"], 99)
    results = race(app, [redeem_call(person, benefit["id"]) for _ in range(10)])
    codes = sorted(str(code) for _, code, _ in results)
    assert codes == ["INSUFFICIENT_POINTS"] * 7 + ["None"] * 3
    assert points_of(app, person.id) == {"balance": 99, "held": 90, "available": 9}
    stock_left, redemptions, problems = state(app, benefit["id"])
    assert stock_left == 97 and len(redemptions) == 3 and problems == []


def test_the_per_user_limit_holds_under_concurrency(app, client, actors, room):
    # Unlimited stock: no benefit row lock to hide behind, only the person's lock.
    benefit = make_benefit(client, room["worker"], room["id"], cost=1, stock=None, per_user_limit=2)
    person = actors.resident()
    give_points(app, person.id, room["id"], 1000)
    results = race(app, [redeem_call(person, benefit["id"]) for _ in range(10)])
    codes = sorted(str(code) for _, code, _ in results)
    assert codes == ["LIMIT_REACHED"] * 8 + ["None"] * 2
    stock_left, redemptions, problems = state(app, benefit["id"])
    assert stock_left is None and redemptions == ["reserved"] * 2 and problems == []


def test_one_idempotency_key_fired_ten_times_reserves_once(app, client, actors, room):
    benefit = make_benefit(client, room["worker"], room["id"], cost=10, stock=100)
    person = actors.resident()
    give_points(app, person.id, room["id"], 1000)
    results = race(app, [redeem_call(person, benefit["id"], key="same-tap") for _ in range(10)])
    assert sorted(status for status, _, _ in results) == [200] * 9 + [201]
    assert len({body["id"] for _, _, body in results}) == 1
    stock_left, redemptions, problems = state(app, benefit["id"])
    assert stock_left == 99 and redemptions == ["reserved"] and problems == []
    assert points_of(app, person.id)["held"] == 10


def test_cancel_fulfil_and_expiry_race_one_wins(app, client, actors, room, monkeypatch):
    benefit = make_benefit(client, room["worker"], room["id"], cost=10, stock=20)
    people = [actors.resident() for _ in range(8)]
    made = []
    for person in people:
        give_points(app, person.id, room["id"], 10)
        made.append(client.post(f"{API}/benefits/{benefit['id']}/redemptions", headers=person.headers).get_json())
    # Every reservation is hit at once by its owner's cancel, two staff fulfils
    # and an expiry run; then by the owner's list (lazy expiry) too.
    real_now = clock.now
    calls = []
    for person, item in zip(people, made):
        calls.append(lambda c, i=item, p=person: c.post(f"{API}/redemptions/{i['id']}/cancel", headers=p.headers))
        for _ in range(2):
            calls.append(lambda c, i=item: c.post(f"{API}/redemptions/fulfil", json={"code": i["code"]},
                                                  headers=room["worker"].headers))

    def expire_all(client):
        with app.app_context():
            later = real_now() + timedelta(days=8)
            for redemption_id in redemption_service.overdue_ids(now=later):
                redemption_service.expire(redemption_id=redemption_id, now=later)
                db.session.commit()
        return client.get(f"{API}/health")

    results = race(app, calls + [expire_all])
    assert all(status < 500 for status, _, _ in results)
    stock_left, redemptions, problems = state(app, benefit["id"])
    assert problems == []
    fulfilled = redemptions.count("fulfilled")
    assert set(redemptions) <= {"cancelled", "expired", "fulfilled"}
    assert len(redemptions) == 8
    # each reservation ended exactly once: stock back for every non-fulfilled one
    assert stock_left == 20 - fulfilled
    with app.app_context():
        [line] = [l for l in books.summary(actor=room_admin(app, room), org=get_org(room["id"]),
                                           now=clock.now())["stock"]]
    assert line["balanced"] and line["received"] - line["fulfilled"] - line["reserved"] == line["left"]
    for person, item in zip(people, made):
        points = points_of(app, person.id)
        assert points["held"] == 0
        assert points["balance"] == (0 if redemption_status(app, item["id"]) == "fulfilled" else 10)


def room_admin(app, room):
    return db.session.get(User, room["worker"].id)


def redemption_status(app, redemption_id):
    with app.app_context():
        return db.session.get(Redemption, redemption_id).status
