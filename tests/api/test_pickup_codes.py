"""A pickup code is the redeemer's alone: whoever holds it can have the unit handed
over and the points spent, so staff never read one from the API. They fulfil
with the code the resident shows on their own screen at the counter."""
import json

import pytest

from tests.benefit_support import give_points, make_benefit, points_of, redeem
from tests.support import API, assert_error


@pytest.fixture
def counter(app, actors, client):
    tree = actors.tree()
    worker = actors.staff(tree["room_a"], "worker")
    resident = actors.resident(home_org_id=tree["room_a"])
    give_points(app, resident.id, tree["room_a"], 100)
    benefit = make_benefit(client, worker, tree["room_a"], cost=30)
    made = redeem(client, resident, benefit["id"]).get_json()
    staff = [worker, actors.staff(tree["room_a"], "admin"), actors.staff(tree["station"], "admin"),
             actors.staff(tree["city"], "admin")]
    return {"resident": resident, "staff": staff, "benefit": benefit, "made": made}


def staff_reads(client, counter, person) -> list[dict]:
    """Everything a member of staff can read about the redemption."""
    listed = client.get(f"{API}/benefits/{counter['benefit']['id']}/redemptions", headers=person.headers)
    one = client.get(f"{API}/redemptions/{counter['made']['id']}", headers=person.headers)
    reserved = client.get(f"{API}/benefits/{counter['benefit']['id']}/redemptions?status=reserved",
                          headers=person.headers)
    assert listed.status_code == one.status_code == reserved.status_code == 200
    return [*listed.get_json()["items"], one.get_json(), *reserved.get_json()["items"]]


def strings_in(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def test_the_redeemer_sees_the_code(client, counter):
    resident, made = counter["resident"], counter["made"]
    assert made["code"]
    mine = client.get(f"{API}/me/redemptions", headers=resident.headers).get_json()["items"]
    assert [r["code"] for r in mine] == [made["code"]]
    assert client.get(f"{API}/redemptions/{made['id']}", headers=resident.headers).get_json()["code"] == made["code"]
    png = client.get(f"{API}/redemptions/{made['id']}/code.png", headers=resident.headers)
    assert png.status_code == 200 and png.mimetype == "image/png"


def test_staff_never_read_a_code_in_a_list_or_a_detail(client, counter):
    code = counter["made"]["code"]
    for person in counter["staff"]:
        seen = staff_reads(client, counter, person)
        assert seen and all("code" not in item for item in seen)
        assert code not in json.dumps(seen)
        assert all(item["id"] == counter["made"]["id"] and item["status"] == "reserved" for item in seen)
        assert_error(client.get(f"{API}/redemptions/{counter['made']['id']}/code.png", headers=person.headers),
                     403, "FORBIDDEN")


def test_what_staff_read_does_not_fulfil_only_the_residents_screen_does(app, client, counter):
    worker, resident, made = counter["staff"][0], counter["resident"], counter["made"]
    for value in set(strings_in(staff_reads(client, counter, worker))):
        response = client.post(f"{API}/redemptions/fulfil", json={"code": value}, headers=worker.headers)
        assert response.status_code in (404, 422), (value, response.get_json())
    assert points_of(app, resident.id) == {"balance": 100, "held": 30, "available": 70}
    # At the counter: the code read off the resident's own screen.
    shown = client.get(f"{API}/redemptions/{made['id']}", headers=resident.headers).get_json()["code"]
    done = client.post(f"{API}/redemptions/fulfil", json={"code": shown}, headers=worker.headers)
    assert done.status_code == 200 and done.get_json()["status"] == "fulfilled"
    assert "code" not in done.get_json()
    assert points_of(app, resident.id) == {"balance": 70, "held": 0, "available": 70}


def test_staff_answers_about_a_redemption_carry_no_code(client, counter, actors):
    worker, resident = counter["staff"][0], counter["resident"]
    cancelled = client.post(f"{API}/redemptions/{counter['made']['id']}/cancel", headers=worker.headers)
    assert cancelled.status_code == 200 and "code" not in cancelled.get_json()
    # the resident's own cancel shows their code as before
    again = redeem(client, resident, counter["benefit"]["id"]).get_json()
    mine = client.post(f"{API}/redemptions/{again['id']}/cancel", headers=resident.headers).get_json()
    assert mine["code"] == again["code"]
