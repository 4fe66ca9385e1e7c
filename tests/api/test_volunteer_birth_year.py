"""Staff see a volunteer's year of birth, not the date: enough for an age group
(and the guardian rule is the service's, from the full date it keeps)."""
import json

import pytest

from tests.support import API, make_id_number


@pytest.fixture
def room(actors):
    tree = actors.tree()
    return {"id": tree["room_a"], "worker": actors.staff(tree["room_a"], "worker")}


def test_staff_see_only_the_birth_year(client, actors, room):
    person = actors.resident(home_org_id=room["id"])
    body = {"real_name": "李四", "phone": "13912345670", "id_number": make_id_number("19900215")}
    own = client.post(f"{API}/me/volunteer", json=body, headers=person.headers).get_json()
    assert own["birth_date"] == "1990-02-15"  # the volunteer sees their own
    listed = client.get(f"{API}/volunteers?org_id={room['id']}", headers=room["worker"].headers).get_json()
    one = client.get(f"{API}/volunteers/{own['id']}", headers=room["worker"].headers).get_json()
    suspended = client.post(f"{API}/volunteers/{own['id']}/suspend", json={"reason": "核实中"},
                            headers=room["worker"].headers).get_json()
    for seen in (listed["items"][0], one, suspended):
        assert "birth_date" not in seen and seen["birth_year"] == 1990
        assert "1990-02-15" not in json.dumps(seen)
