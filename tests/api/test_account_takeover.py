"""Repro of the account takeover: an admin attaches someone else's phone to their own
room as staff, sets that person's password and signs in as them."""
import pytest

from tests.support import API, assert_error


def login(client, phone, password):
    return client.post(f"{API}/auth/login", json={"phone": phone, "password": password})


def add_staff(client, admin, org_id, phone, password="attacker-pass-1", role="worker"):
    return client.post(f"{API}/orgs/{org_id}/staff", headers=admin.headers,
                       json={"phone": phone, "name": "新同事", "password": password, "role": role})


def reset(client, admin, org_id, user_id, password="attacker-pass-2"):
    return client.post(f"{API}/orgs/{org_id}/staff/{user_id}/password", headers=admin.headers,
                       json={"new_password": password})


@pytest.mark.parametrize("victim_org", ["city", "district", "room_b"])
def test_a_room_admin_cannot_take_over_staff_elsewhere_by_adding_their_phone(client, actors, victim_org):
    tree = actors.tree()
    victim = actors.staff(tree[victim_org], "admin", password="victims-own-1")
    room_admin = actors.staff(tree["room_a"], "admin")
    added = add_staff(client, room_admin, tree["room_a"], victim.phone)
    assert added.status_code == 201 and added.get_json()["user_id"] == victim.id
    assert_error(reset(client, room_admin, tree["room_a"], victim.id), 403, "FORBIDDEN")
    assert_error(login(client, victim.phone, "attacker-pass-1"), 401, "BAD_CREDENTIALS")
    assert_error(login(client, victim.phone, "attacker-pass-2"), 401, "BAD_CREDENTIALS")
    assert login(client, victim.phone, "victims-own-1").status_code == 200


def test_a_room_admin_cannot_sign_in_as_a_resident_by_adding_their_phone(client, actors):
    tree = actors.tree()
    resident = actors.resident(home_org_id=tree["room_a"], volunteer=True)
    phone = "13655550000"
    assert client.patch(f"{API}/me", headers=resident.headers, json={"phone": phone}).status_code == 200
    room_admin = actors.staff(tree["room_a"], "admin")
    added = add_staff(client, room_admin, tree["room_a"], phone)
    assert added.status_code == 201 and added.get_json()["user_id"] == resident.id
    assert_error(reset(client, room_admin, tree["room_a"], resident.id), 403, "FORBIDDEN")
    for password in ("attacker-pass-1", "attacker-pass-2"):
        assert_error(login(client, phone, password), 401, "BAD_CREDENTIALS")


def test_a_reset_ends_the_old_access_tokens(client, actors):
    tree = actors.tree()
    worker = actors.staff(tree["room_a"], "worker", password="leaving-soon-1")
    session = login(client, worker.phone, "leaving-soon-1").get_json()
    old = {"Authorization": f"Bearer {session['access_token']}"}
    assert client.get(f"{API}/me", headers=old).status_code == 200
    room_admin = actors.staff(tree["room_a"], "admin")
    assert reset(client, room_admin, tree["room_a"], worker.id).status_code == 200
    assert_error(client.get(f"{API}/me", headers=old), 401, "UNAUTHENTICATED")
