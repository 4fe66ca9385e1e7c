"""The room's books: GET /orgs/{id}/points/summary, and goods that match them (账物相符)."""
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from api import demo
from core import settings as core_settings
from core.db import db
from points.benefits_models import Benefit
from points.verify import verify
from tests.activity_support import frozen  # noqa: F401  (fixture)
from tests.benefit_support import give_points, make_benefit, redeem
from tests.support import API, assert_error


@pytest.fixture
def room(actors, frozen):  # noqa: F811  every test here runs on the frozen clock
    tree = actors.tree()
    return {"tree": tree, "id": tree["room_a"], "worker": actors.staff(tree["room_a"], "worker")}


def summary(client, staff, org_id, query=""):
    response = client.get(f"{API}/orgs/{org_id}/points/summary{query}", headers=staff.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_points_and_stock_add_up(client, app, actors, room, frozen):
    worker = room["worker"]
    station_staff, room_b_staff = actors.staff(room["tree"]["station"]), actors.staff(room["tree"]["room_b"])
    benefit = make_benefit(client, worker, room["id"], cost=30, stock=5)
    people = [actors.resident() for _ in range(4)]
    for person in people:
        give_points(app, person.id, room["id"], 100)
    give_points(app, people[0].id, room["tree"]["room_b"], 7)  # another room's points
    made = [redeem(client, person, benefit["id"]).get_json() for person in people]
    client.post(f"{API}/redemptions/fulfil", json={"code": made[0]["code"]}, headers=worker.headers)
    client.post(f"{API}/redemptions/fulfil", json={"code": made[1]["code"]}, headers=worker.headers)
    client.post(f"{API}/redemptions/{made[2]['id']}/cancel", headers=people[2].headers)
    client.post(f"{API}/benefits/{benefit['id']}/restock", json={"quantity": 3, "note": "再捐"},
                headers=worker.headers)
    client.post(f"{API}/redemptions/{made[1]['id']}/correct", json={"reason": "重复扫码"},
                headers=worker.headers)

    books = summary(client, worker, room["id"])
    assert books["points"] == {"issued": 400, "returned": 0, "expired": 0, "redeemed": 60, "corrected": 30,
                               "held": 30, "outstanding": 400 - 60 + 30}
    [line] = books["stock"]
    assert line == {"benefit_id": benefit["id"], "name": "爱心理发券", "org_id": room["id"],
                    "status": "active", "sponsor_name": None, "sponsor_value_fen": None,
                    "received": 8, "reserved": 1, "fulfilled": 2, "expired": 0, "cancelled": 1,
                    "left": 5, "balanced": True}
    assert line["received"] - line["fulfilled"] - line["reserved"] == line["left"]

    # the reservation still open expires: held goes to 0, stock comes back
    frozen.advance(days=8)
    app.test_cli_runner().invoke(args=["redemptions", "expire"])
    books = summary(client, worker, room["id"])
    assert books["points"]["held"] == 0
    assert (books["stock"][0]["expired"], books["stock"][0]["left"], books["stock"][0]["balanced"]) == (1, 6, True)

    # the station sees both rooms; room_b's books are its own
    assert summary(client, station_staff, room["tree"]["station"])["points"]["issued"] == 407
    assert summary(client, room_b_staff, room["tree"]["room_b"])["points"]["issued"] == 7
    with app.app_context():
        assert verify()[0] == []


def test_a_date_range_bounds_the_flows_not_the_outstanding(client, app, actors, room, frozen):
    person = actors.resident()
    give_points(app, person.id, room["id"], 50)
    tomorrow = (frozen.current + timedelta(days=1)).isoformat().replace("+", "%2B")
    # `to` defaults to now, so a range starting tomorrow is empty: refused
    assert_error(client.get(f"{API}/orgs/{room['id']}/points/summary?from={tomorrow}",
                            headers=room["worker"].headers), 422, "VALIDATION_ERROR")
    later = (frozen.current + timedelta(days=2)).isoformat().replace("+", "%2B")
    ahead = summary(client, room["worker"], room["id"], f"?from={tomorrow}&to={later}")
    assert ahead["points"]["issued"] == 0 and ahead["points"]["outstanding"] == 50
    past = (frozen.current - timedelta(days=1)).isoformat().replace("+", "%2B")
    window = summary(client, room["worker"], room["id"], f"?from={past}&to={later}")
    assert window["points"]["issued"] == 50 and window["from"] and window["to"]
    # Without `to` the books run to now, including what was posted at this very instant.
    books = summary(client, room["worker"], room["id"])
    assert books["points"]["issued"] == books["points"]["outstanding"] == 50
    assert datetime.fromisoformat(books["to"]) == frozen.current


def test_summary_errors(client, actors, room):
    url = f"{API}/orgs/{room['id']}/points/summary"
    assert_error(client.get(url), 401, "UNAUTHENTICATED")
    assert_error(client.get(f"{API}/orgs/999999/points/summary", headers=room["worker"].headers), 404, "NOT_FOUND")
    assert_error(client.get(url, headers=actors.resident().headers), 403, "FORBIDDEN")
    assert_error(client.get(url, headers=actors.staff(room["tree"]["room_b"]).headers), 403, "FORBIDDEN")
    assert_error(client.get(url + "?from=garbage", headers=room["worker"].headers), 422, "VALIDATION_ERROR")
    assert_error(client.get(url + "?from=2026-12-02T00:00:00&to=2026-12-01T00:00:00",
                            headers=room["worker"].headers), 422, "VALIDATION_ERROR")


def test_demo_benefits_load_once(app, client, frozen):
    for _ in range(2):
        with app.app_context():
            demo.load(now=frozen.current, settings=core_settings.of(app))
            db.session.commit()
    with app.app_context():
        names = sorted(db.session.scalars(sa.select(Benefit.name)))
        assert names == sorted(["爱心理发券", "米面油礼包", "社区食堂爱心餐券"])
        assert verify()[0] == []
    listed = client.get(f"{API}/benefits").get_json()["items"]
    assert {b["sponsor"]["kind"] for b in listed} == {"merchant", "charity", "government"}


def test_goods_that_do_not_match_the_books_show(client, app, room):
    benefit = make_benefit(client, room["worker"], room["id"], stock=5)
    assert summary(client, room["worker"], room["id"])["stock"][0]["balanced"] is True
    with app.app_context():  # a unit walks out of the store room unrecorded
        db.session.execute(sa.update(Benefit).where(Benefit.id == benefit["id"]).values(stock_left=4))
        db.session.commit()
    assert summary(client, room["worker"], room["id"])["stock"][0]["balanced"] is False
