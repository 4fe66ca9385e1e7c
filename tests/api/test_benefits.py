"""Contract: the Benefits part of "Benefits and redemption" in API.md."""
from datetime import timedelta

import pytest

from points import benefits as benefit_service
from tests.activity_support import frozen  # noqa: F401  (fixture)
from tests.benefit_support import give_points, make_benefit, redeem
from tests.support import API, assert_error


@pytest.fixture
def room(actors, frozen):  # noqa: F811  every test here runs on the frozen clock
    tree = actors.tree()
    return {"tree": tree, "id": tree["room_a"], "worker": actors.staff(tree["room_a"], "worker")}


def test_staff_create_a_benefit_with_sponsor_and_limits(client, room):
    body = {"name": "米面油礼包", "description": "爱心企业捐赠", "cost": 200, "stock": 30,
            "per_user_limit": 1, "limit_period": "month", "min_star": 0,
            "image_url": "https://example.org/gift.png",
            "sponsor": {"name": "武汉爱心基金会", "kind": "charity", "quantity": 30, "value_fen": 300000}}
    response = client.post(f"{API}/orgs/{room['id']}/benefits", json=body, headers=room["worker"].headers)
    assert response.status_code == 201
    got = response.get_json()
    assert got["name"] == "米面油礼包" and got["cost"] == 200
    assert got["stock"] == 30 and got["stock_left"] == 30 and got["stock_received"] == 30
    assert got["per_user_limit"] == 1 and got["limit_period"] == "month"
    assert got["sponsor"] == {"name": "武汉爱心基金会", "kind": "charity", "quantity": 30, "value_fen": 300000}
    assert got["status"] == "active" and got["is_available"] is True
    assert got["org_id"] == room["id"]
    assert got["counts"] == {"reserved": 0, "fulfilled": 0, "cancelled": 0, "expired": 0}


def test_stock_null_or_absent_means_unlimited(client, room):
    for body in ({"name": "义剪", "cost": 5, "stock": None}, {"name": "义诊", "cost": 5}):
        response = client.post(f"{API}/orgs/{room['id']}/benefits", json=body, headers=room["worker"].headers)
        assert response.status_code == 201
        got = response.get_json()
        assert got["stock"] is None and got["stock_left"] is None and got["sponsor"] is None


def test_staff_above_may_create_others_may_not(client, actors, room):
    station_worker = actors.staff(room["tree"]["station"], "worker")
    make_benefit(client, station_worker, room["id"])
    url = f"{API}/orgs/{room['id']}/benefits"
    body = {"name": "x", "cost": 1, "stock": 1}
    assert_error(client.post(url, json=body), 401, "UNAUTHENTICATED")
    assert_error(client.post(f"{API}/orgs/999999/benefits", json=body, headers=room["worker"].headers),
                 404, "NOT_FOUND")
    other_room = actors.staff(room["tree"]["room_b"], "admin")
    assert_error(client.post(url, json=body, headers=other_room.headers), 403, "FORBIDDEN")
    assert_error(client.post(url, json=body, headers=actors.resident().headers), 403, "FORBIDDEN")
    # 403 comes before 422
    assert_error(client.post(url, json={"cost": "x"}, headers=other_room.headers), 403, "FORBIDDEN")


@pytest.mark.parametrize("body,field", [
    ({"cost": 10}, "name"),
    ({"name": "x"}, "cost"),
    ({"name": "x", "cost": 0}, "cost"),
    ({"name": "x", "cost": -5}, "cost"),
    ({"name": "x", "cost": "10"}, "cost"),
    ({"name": "x", "cost": 1.5}, "cost"),
    ({"name": "x", "cost": True}, "cost"),
    ({"name": "x", "cost": 1, "stock": -1}, "stock"),
    ({"name": "x", "cost": 1, "per_user_limit": 0}, "per_user_limit"),
    ({"name": "x", "cost": 1, "limit_period": "week"}, "limit_period"),
    ({"name": "x", "cost": 1, "sponsor": {"name": "某公司", "kind": "bank"}}, "sponsor"),
    ({"name": "x", "cost": 1, "sponsor": {"kind": "merchant"}}, "sponsor"),
    ({"name": "x", "cost": 1, "image_url": "javascript:alert(1)"}, "image_url"),
    ({"name": "x", "cost": 1, "available_from": "yesterday"}, "available_from"),
    ({"name": "x", "cost": 1, "available_from": "2026-12-02T00:00:00+08:00",
      "available_until": "2026-12-01T00:00:00+08:00"}, "available_until"),
    ({"name": "x", "cost": 1, "surprise": 1}, "surprise"),
])
def test_bad_benefits_are_validation_errors(client, room, body, field):
    error = assert_error(client.post(f"{API}/orgs/{room['id']}/benefits", json=body,
                                     headers=room["worker"].headers), 422, "VALIDATION_ERROR")
    assert field in error["details"], error


def test_get_one_and_unknown(client, room):
    created = make_benefit(client, room["worker"], room["id"])
    got = client.get(f"{API}/benefits/{created['id']}")
    assert got.status_code == 200
    assert got.get_json()["stock_left"] == 5 and "counts" not in got.get_json()
    assert_error(client.get(f"{API}/benefits/999999"), 404, "NOT_FOUND")


def test_list_hides_withdrawn_and_out_of_window_from_residents(client, actors, room, frozen):
    worker = room["worker"]
    now = frozen.current
    on_offer = make_benefit(client, worker, room["id"], name="在售")
    withdrawn = make_benefit(client, worker, room["id"], name="已下架")
    client.post(f"{API}/benefits/{withdrawn['id']}/withdraw", headers=worker.headers)
    later = make_benefit(client, worker, room["id"], name="未开始",
                         available_from=(now + timedelta(days=3)).isoformat())
    over = make_benefit(client, worker, room["id"], name="已结束",
                        available_until=(now - timedelta(seconds=1)).isoformat())
    elsewhere = make_benefit(client, actors.staff(room["tree"]["room_b"]), room["tree"]["room_b"], name="别处")

    resident = actors.resident()
    listed = client.get(f"{API}/benefits?org_id={room['id']}", headers=resident.headers).get_json()
    assert [b["id"] for b in listed["items"]] == [on_offer["id"]]
    assert listed["items"][0]["stock_left"] == 5 and "counts" not in listed["items"][0]
    assert listed["next"] is None

    staff_view = client.get(f"{API}/benefits?org_id={room['id']}", headers=worker.headers).get_json()
    assert [b["id"] for b in staff_view["items"]] == [over["id"], later["id"], withdrawn["id"], on_offer["id"]]
    assert all("counts" in b for b in staff_view["items"])

    station = client.get(f"{API}/benefits?org_id={room['tree']['station']}").get_json()
    assert {b["id"] for b in station["items"]} == {on_offer["id"], elsewhere["id"]}
    assert_error(client.get(f"{API}/benefits?org_id=999999"), 404, "NOT_FOUND")
    assert_error(client.get(f"{API}/benefits?org_id=abc"), 422, "VALIDATION_ERROR")


def test_list_pages(client, room):
    ids = [make_benefit(client, room["worker"], room["id"], name=f"福利{i}")["id"] for i in range(3)]
    first = client.get(f"{API}/benefits?org_id={room['id']}&limit=2").get_json()
    second = client.get(f"{API}/benefits?org_id={room['id']}&limit=2&cursor={first['next']}").get_json()
    assert [b["id"] for b in first["items"] + second["items"]] == ids[::-1]
    assert second["next"] is None


def test_staff_see_redemption_counts(client, app, actors, room):
    created = make_benefit(client, room["worker"], room["id"])
    volunteer = actors.resident(volunteer=True)
    give_points(app, volunteer.id, room["id"], 100)
    assert redeem(client, volunteer, created["id"]).status_code == 201
    got = client.get(f"{API}/benefits/{created['id']}", headers=room["worker"].headers).get_json()
    assert got["counts"] == {"reserved": 1, "fulfilled": 0, "cancelled": 0, "expired": 0}
    assert got["stock_left"] == 4


def test_patch_changes_fields_and_checks_scope(client, actors, room):
    created = make_benefit(client, room["worker"], room["id"])
    url = f"{API}/benefits/{created['id']}"
    response = client.patch(url, json={"cost": 12, "name": "理发券", "per_user_limit": 2,
                                       "sponsor": {"name": "张师傅理发店", "kind": "merchant"}},
                            headers=room["worker"].headers)
    assert response.status_code == 200
    got = response.get_json()
    assert (got["cost"], got["name"], got["per_user_limit"]) == (12, "理发券", 2)
    assert got["sponsor"]["kind"] == "merchant" and got["stock_left"] == 5
    assert client.patch(url, json={"sponsor": None}, headers=room["worker"].headers).get_json()["sponsor"] is None
    assert_error(client.patch(url, json={"cost": 1}), 401, "UNAUTHENTICATED")
    assert_error(client.patch(f"{API}/benefits/999999", json={"cost": 1}, headers=room["worker"].headers),
                 404, "NOT_FOUND")
    assert_error(client.patch(url, json={"cost": 1}, headers=actors.resident().headers), 403, "FORBIDDEN")
    assert_error(client.patch(url, json={"cost": 0}, headers=room["worker"].headers), 422, "VALIDATION_ERROR")
    assert_error(client.patch(url, json={"stock": 9}, headers=room["worker"].headers), 422, "VALIDATION_ERROR")


def test_withdraw_stops_new_redemptions(client, app, actors, room):
    created = make_benefit(client, room["worker"], room["id"])
    url = f"{API}/benefits/{created['id']}/withdraw"
    assert_error(client.post(url, headers=actors.resident().headers), 403, "FORBIDDEN")
    response = client.post(url, headers=room["worker"].headers)
    assert response.status_code == 200 and response.get_json()["status"] == "withdrawn"
    assert client.post(url, headers=room["worker"].headers).get_json()["status"] == "withdrawn"
    volunteer = actors.resident(volunteer=True)
    give_points(app, volunteer.id, room["id"], 100)
    assert_error(redeem(client, volunteer, created["id"]), 409, "BENEFIT_UNAVAILABLE")


def test_outside_the_window_is_unavailable(client, app, actors, room, frozen):
    now = frozen.current
    later = make_benefit(client, room["worker"], room["id"],
                         available_from=(now + timedelta(days=1)).isoformat())
    volunteer = actors.resident()
    give_points(app, volunteer.id, room["id"], 100)
    assert_error(redeem(client, volunteer, later["id"]), 409, "BENEFIT_UNAVAILABLE")


def test_restock_records_a_donation(client, actors, room):
    created = make_benefit(client, room["worker"], room["id"], stock=1)
    url = f"{API}/benefits/{created['id']}/restock"
    response = client.post(url, json={"quantity": 20, "note": "爱心商家再捐20份"}, headers=room["worker"].headers)
    assert response.status_code == 200
    assert (response.get_json()["stock_left"], response.get_json()["stock_received"]) == (21, 21)
    assert_error(client.post(url, json={"quantity": 0}, headers=room["worker"].headers), 422, "VALIDATION_ERROR")
    assert_error(client.post(url, json={"quantity": 1}, headers=actors.resident().headers), 403, "FORBIDDEN")
    unlimited = make_benefit(client, room["worker"], room["id"], stock=None)
    assert_error(client.post(f"{API}/benefits/{unlimited['id']}/restock", json={"quantity": 1},
                             headers=room["worker"].headers), 422, "VALIDATION_ERROR")


def test_min_star_and_residents_only_eligibility(client, app, actors, room, monkeypatch):
    starred = make_benefit(client, room["worker"], room["id"], min_star=2)
    local = make_benefit(client, room["worker"], room["id"], residents_only=True)
    neighbour = actors.resident(home_org_id=room["id"])
    stranger = actors.resident(home_org_id=room["tree"]["room_b"])
    homeless = actors.resident()
    for person in (neighbour, stranger, homeless):
        give_points(app, person.id, room["id"], 100)

    error = assert_error(redeem(client, neighbour, starred["id"]), 403, "NOT_ELIGIBLE")
    assert error["details"]["min_star"] == 2
    assert_error(redeem(client, stranger, local["id"]), 403, "NOT_ELIGIBLE")
    assert_error(redeem(client, homeless, local["id"]), 403, "NOT_ELIGIBLE")
    assert redeem(client, neighbour, local["id"]).status_code == 201

    monkeypatch.setattr(benefit_service, "star_level", lambda user_id: 2)
    assert redeem(client, neighbour, starred["id"]).status_code == 201


def test_station_benefit_is_for_residents_of_every_room_below(client, app, actors, room):
    station_admin = actors.staff(room["tree"]["station"])
    benefit = make_benefit(client, station_admin, room["tree"]["station"], residents_only=True)
    person = actors.resident(home_org_id=room["tree"]["room_b"])
    give_points(app, person.id, room["id"], 100)
    assert redeem(client, person, benefit["id"]).status_code == 201
