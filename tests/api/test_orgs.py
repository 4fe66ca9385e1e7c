"""Contract: the Organisations section of API.md, and the scope rule."""
import pytest

from tests.support import API, assert_error


def create(client, person, **body):
    return client.post(f"{API}/orgs", json=body, headers=person.headers if person else {})


def test_admin_builds_the_tree_level_by_level(client, actors):
    tree = actors.tree()
    admin = actors.staff(tree["city"], "admin")
    district = create(client, admin, name="江汉区", kind="district", parent_id=tree["city"])
    assert district.status_code == 201
    body = district.get_json()
    assert body == {"id": body["id"], "name": "江汉区", "kind": "district", "parent_id": tree["city"]}
    station = create(client, admin, name="民族街社工站", kind="station", parent_id=body["id"])
    room = create(client, admin, name="民族社区社工室", kind="room",
                  parent_id=station.get_json()["id"])
    assert station.status_code == 201 and room.status_code == 201
    got = client.get(f"{API}/orgs/{room.get_json()['id']}")
    assert got.status_code == 200 and got.get_json()["name"] == "民族社区社工室"


@pytest.mark.parametrize("kind,parent", [
    ("room", "district"), ("station", "city"), ("district", "station"), ("room", "room"),
    ("city", "city"),
])
def test_kind_must_be_exactly_one_level_below(client, actors, kind, parent):
    tree = actors.tree()
    admin = actors.staff(tree["city"])
    error = assert_error(create(client, admin, name="新机构", kind=kind,
                                parent_id=tree[parent if parent != "room" else "room_a"]),
                         422, "VALIDATION_ERROR")
    assert "kind" in error["details"]


def test_unknown_kind_and_bad_types_are_validation_errors(client, actors):
    tree = actors.tree()
    admin = actors.staff(tree["city"])
    for body, field in [
        ({"name": "x", "kind": "village", "parent_id": tree["city"]}, "kind"),
        ({"name": "x", "kind": "district", "parent_id": "1"}, "parent_id"),
        ({"name": "x", "kind": "district", "parent_id": True}, "parent_id"),
        ({"name": "", "kind": "district", "parent_id": tree["city"]}, "name"),
        ({"name": "x" * 101, "kind": "district", "parent_id": tree["city"]}, "name"),
        ({"name": 5, "kind": "district", "parent_id": tree["city"]}, "name"),
        ({"kind": "district", "parent_id": tree["city"]}, "name"),
        ({"name": "x", "kind": "district", "parent_id": tree["city"], "extra": 1}, "extra"),
    ]:
        error = assert_error(create(client, admin, **body), 422, "VALIDATION_ERROR")
        assert field in error["details"], (body, error)


def test_only_admins_of_the_parent_or_above_create(client, actors):
    tree = actors.tree()
    worker = actors.staff(tree["city"], "worker")
    room_admin = actors.staff(tree["room_a"], "admin")
    station_admin = actors.staff(tree["station"], "admin")
    resident = actors.resident()
    body = {"name": "新社区社工室", "kind": "room", "parent_id": tree["station"]}
    assert_error(create(client, None, **body), 401, "UNAUTHENTICATED")
    assert_error(create(client, worker, **body), 403, "FORBIDDEN")
    assert_error(create(client, room_admin, **body), 403, "FORBIDDEN")
    assert_error(create(client, resident, **body), 403, "FORBIDDEN")
    assert create(client, station_admin, **body).status_code == 201


def test_error_order_existence_before_permission_before_validation(client, actors):
    tree = actors.tree()
    outsider = actors.staff(tree["room_b"], "admin")
    assert_error(create(client, outsider, name="x", kind="station", parent_id=99999), 404, "NOT_FOUND")
    assert_error(create(client, outsider, name="x", kind="room", parent_id=tree["district"]),
                 403, "FORBIDDEN")
    staff = {"phone": "bad", "name": "x", "password": "short", "role": "boss"}
    assert_error(client.post(f"{API}/orgs/99999/staff", json=staff, headers=outsider.headers),
                 404, "NOT_FOUND")
    assert_error(client.post(f"{API}/orgs/{tree['room_a']}/staff", json=staff,
                             headers=outsider.headers), 403, "FORBIDDEN")
    assert_error(client.post(f"{API}/orgs/{tree['room_b']}/staff", json=staff,
                             headers=outsider.headers), 422, "VALIDATION_ERROR")


def test_duplicate_sibling_name_is_a_conflict(client, actors):
    tree = actors.tree()
    admin = actors.staff(tree["city"])
    body = {"name": "同名社工室", "kind": "room", "parent_id": tree["station"]}
    assert create(client, admin, **body).status_code == 201
    assert_error(create(client, admin, **body), 409, "CONFLICT")


def test_list_filters_by_parent_and_kind_and_pages(client, actors):
    tree = actors.tree()
    rooms = client.get(f"{API}/orgs?parent_id={tree['station']}").get_json()
    assert [o["id"] for o in rooms["items"]] == [tree["room_a"], tree["room_b"]]
    assert rooms["next"] is None
    by_kind = client.get(f"{API}/orgs?kind=room").get_json()
    assert {o["kind"] for o in by_kind["items"]} == {"room"}
    first = client.get(f"{API}/orgs?limit=2").get_json()
    assert len(first["items"]) == 2 and first["next"]
    rest = client.get(f"{API}/orgs?limit=2&cursor={first['next']}").get_json()
    seen = [o["id"] for o in first["items"] + rest["items"]]
    assert seen == sorted(seen) and len(set(seen)) == 4
    assert_error(client.get(f"{API}/orgs?kind=village"), 422, "VALIDATION_ERROR")
    assert_error(client.get(f"{API}/orgs?limit=101"), 422, "VALIDATION_ERROR")
    assert_error(client.get(f"{API}/orgs?cursor=garbage!!"), 422, "VALIDATION_ERROR")
    assert_error(client.get(f"{API}/orgs/424242"), 404, "NOT_FOUND")


def test_add_staff_creates_the_person_and_is_repeatable(client, actors):
    tree = actors.tree()
    admin = actors.staff(tree["station"], "admin")
    body = {"phone": "13712345678", "name": "周社工", "password": "s3cret-pass", "role": "worker"}
    first = client.post(f"{API}/orgs/{tree['room_a']}/staff", json=body, headers=admin.headers)
    assert first.status_code == 201
    added = first.get_json()
    assert added["org_id"] == tree["room_a"] and added["role"] == "worker"
    again = client.post(f"{API}/orgs/{tree['room_a']}/staff",
                        json={**body, "password": "other-pass", "role": "admin"}, headers=admin.headers)
    assert again.status_code == 200
    assert again.get_json() == added
    # The existing password was not replaced by the second call.
    login = client.post(f"{API}/auth/login", json={"phone": body["phone"], "password": "s3cret-pass"})
    assert login.status_code == 200
    assert login.get_json()["user"]["roles"] == [{"org_id": tree["room_a"], "role": "worker"}]
    # The same person can hold a role on another org.
    other = client.post(f"{API}/orgs/{tree['room_b']}/staff", json=body, headers=admin.headers)
    assert other.status_code == 201 and other.get_json()["user_id"] == added["user_id"]


def test_add_staff_needs_an_admin_of_the_org_or_above(client, actors):
    tree = actors.tree()
    body = {"phone": "13712345679", "name": "x", "password": "password-1", "role": "worker"}
    for person in [actors.staff(tree["room_b"], "admin"), actors.staff(tree["station"], "worker")]:
        assert_error(client.post(f"{API}/orgs/{tree['room_a']}/staff", json=body,
                                 headers=person.headers), 403, "FORBIDDEN")
    assert_error(client.post(f"{API}/orgs/{tree['room_a']}/staff", json=body), 401, "UNAUTHENTICATED")


@pytest.mark.parametrize("body,field", [
    ({"phone": "1371234567", "name": "x", "password": "password-1", "role": "worker"}, "phone"),
    ({"phone": "13712345678", "name": "x", "password": "short", "role": "worker"}, "password"),
    ({"phone": "13712345678", "name": "x", "password": "password-1", "role": "boss"}, "role"),
    ({"phone": "13712345678", "password": "password-1", "role": "worker"}, "name"),
])
def test_add_staff_validation(client, actors, body, field):
    tree = actors.tree()
    admin = actors.staff(tree["city"])
    error = assert_error(client.post(f"{API}/orgs/{tree['room_a']}/staff", json=body,
                                     headers=admin.headers), 422, "VALIDATION_ERROR")
    assert field in error["details"]
