"""Contract: GET /orgs/{id}/staff, DELETE /orgs/{id}/staff/{user_id} (and .../sessions),
and the error order 401 → 404 → 403 → 422 on every staff route that names a person."""
import pytest

from tests.support import API, assert_error


def login(client, phone, password="password-123"):
    return client.post(f"{API}/auth/login", json={"phone": phone, "password": password})


def masked(phone):
    return phone[:3] + "****" + phone[-4:]


def test_list_staff_shows_people_with_masked_phones(client, actors):
    tree = actors.tree()
    station_admin = actors.staff(tree["station"], "admin")
    room_worker = actors.staff(tree["room_a"], "worker")
    station_worker = actors.staff(tree["station"], "worker")
    # A volunteer added as staff shows their real name, not their nickname.
    volunteer = actors.resident(volunteer=True)
    patched = client.patch(f"{API}/me", headers=volunteer.headers, json={"phone": "13612340000"})
    assert patched.status_code == 200
    assert client.post(f"{API}/orgs/{tree['room_a']}/staff", headers=station_admin.headers,
                       json={"phone": "13612340000", "name": "x", "password": "password-1",
                             "role": "worker"}).status_code == 201

    own = client.get(f"{API}/orgs/{tree['station']}/staff", headers=station_admin.headers)
    assert own.status_code == 200
    assert own.get_json() == {"items": [
        {"person": {"user_id": station_admin.id, "name": f"staff-{station_admin.phone[-4:]}",
                    "phone": masked(station_admin.phone)}, "org_id": tree["station"], "role": "admin"},
        {"person": {"user_id": station_worker.id, "name": f"staff-{station_worker.phone[-4:]}",
                    "phone": masked(station_worker.phone)}, "org_id": tree["station"], "role": "worker"},
    ], "next": None}

    room = client.get(f"{API}/orgs/{tree['room_a']}/staff", headers=station_admin.headers).get_json()
    assert [(item["person"]["user_id"], item["person"]["name"], item["person"]["phone"], item["role"])
            for item in room["items"]] == [
        (room_worker.id, f"staff-{room_worker.phone[-4:]}", masked(room_worker.phone), "worker"),
        (volunteer.id, "志愿者", "136****0000", "worker")]

    whole = client.get(f"{API}/orgs/{tree['station']}/staff?subtree=true&limit=3",
                       headers=station_admin.headers).get_json()
    rest = client.get(f"{API}/orgs/{tree['station']}/staff?subtree=true&limit=3&cursor={whole['next']}",
                      headers=station_admin.headers).get_json()
    assert rest["next"] is None
    assert [(i["person"]["user_id"], i["org_id"]) for i in whole["items"] + rest["items"]] == [
        (station_admin.id, tree["station"]), (room_worker.id, tree["room_a"]),
        (station_worker.id, tree["station"]), (volunteer.id, tree["room_a"])]


def test_list_staff_errors(client, actors):
    tree = actors.tree()
    url = f"{API}/orgs/{tree['room_a']}/staff"
    assert_error(client.get(url), 401, "UNAUTHENTICATED")
    admin = actors.staff(tree["room_a"], "admin")
    assert_error(client.get(f"{API}/orgs/424242/staff", headers=admin.headers), 404, "NOT_FOUND")
    for outsider in (actors.staff(tree["room_a"], "worker"), actors.staff(tree["station"], "worker"),
                     actors.staff(tree["room_b"], "admin"), actors.resident()):
        assert_error(client.get(url, headers=outsider.headers), 403, "FORBIDDEN")
        assert_error(client.get(f"{url}?limit=0", headers=outsider.headers), 403, "FORBIDDEN")
    for query in ("limit=0", "limit=101", "subtree=maybe", "cursor=garbage!!"):
        assert_error(client.get(f"{url}?{query}", headers=admin.headers), 422, "VALIDATION_ERROR")
    assert client.get(url, headers=admin.headers).status_code == 200


def test_removing_a_role_ends_every_session_of_the_person(client, actors):
    tree = actors.tree()
    worker = actors.staff(tree["room_a"], "worker")
    session = login(client, worker.phone).get_json()
    access = {"Authorization": f"Bearer {session['access_token']}"}
    admin = actors.staff(tree["room_a"], "admin")
    removed = client.delete(f"{API}/orgs/{tree['room_a']}/staff/{worker.id}", headers=admin.headers)
    assert removed.status_code == 200
    assert removed.get_json() == {"user_id": worker.id, "org_id": tree["room_a"], "role": "worker"}
    for headers in (access, worker.headers):
        assert_error(client.get(f"{API}/me", headers=headers), 401, "UNAUTHENTICATED")
    assert_error(client.post(f"{API}/auth/refresh", json={"refresh_token": session["refresh_token"]}),
                 401, "UNAUTHENTICATED")
    # They can still sign in (the account is theirs), now with no role.
    again = login(client, worker.phone)
    assert again.status_code == 200 and again.get_json()["user"]["roles"] == []
    assert_error(client.get(f"{API}/orgs/{tree['room_a']}/staff", headers={
        "Authorization": f"Bearer {again.get_json()['access_token']}"}), 403, "FORBIDDEN")
    listed = client.get(f"{API}/orgs/{tree['room_a']}/staff", headers=admin.headers).get_json()
    assert [item["person"]["user_id"] for item in listed["items"]] == [admin.id]


def test_ending_sessions_keeps_the_role_and_the_password(client, actors):
    tree = actors.tree()
    worker = actors.staff(tree["room_a"], "worker")
    session = login(client, worker.phone).get_json()
    admin = actors.staff(tree["station"], "admin")
    ended = client.delete(f"{API}/orgs/{tree['room_a']}/staff/{worker.id}/sessions", headers=admin.headers)
    assert ended.status_code == 200
    assert ended.get_json() == {"user_id": worker.id, "org_id": tree["room_a"], "role": "worker"}
    assert_error(client.get(f"{API}/me", headers={"Authorization": f"Bearer {session['access_token']}"}),
                 401, "UNAUTHENTICATED")
    assert_error(client.post(f"{API}/auth/refresh", json={"refresh_token": session["refresh_token"]}),
                 401, "UNAUTHENTICATED")
    fresh = login(client, worker.phone)
    assert fresh.status_code == 200
    assert fresh.get_json()["user"]["roles"] == [{"org_id": tree["room_a"], "role": "worker"}]
    # The new session is untouched by the old sign-out.
    assert client.get(f"{API}/me", headers={
        "Authorization": f"Bearer {fresh.get_json()['access_token']}"}).status_code == 200


def _call(client, method, url, person, body=None):
    headers = person.headers if person else {}
    if method == "POST":
        return client.post(url, headers=headers, json=body)
    return client.delete(url, headers=headers)


ROUTES = [("POST", "/password", {"new_password": "short"}), ("DELETE", "", None),
          ("DELETE", "/sessions", None)]


@pytest.mark.parametrize("method,suffix,bad_body", ROUTES, ids=["reset", "remove", "sessions"])
def test_error_order_on_routes_that_name_a_person(client, actors, method, suffix, bad_body):
    tree = actors.tree()
    worker = actors.staff(tree["room_a"], "worker")
    fellow_admin = actors.staff(tree["room_a"], "admin")
    admin = actors.staff(tree["room_a"], "admin")
    not_admin = actors.staff(tree["room_b"], "admin")
    resident = actors.resident()

    def url(org_id, user_id):
        return f"{API}/orgs/{org_id}/staff/{user_id}{suffix}"

    # 401 before anything else, even for an org or a person that does not exist.
    assert_error(_call(client, method, url(424242, 424242), None, bad_body), 401, "UNAUTHENTICATED")
    # 404: unknown org, or a person without a role on it; before the caller's own permission.
    for caller in (admin, not_admin):
        assert_error(_call(client, method, url(424242, worker.id), caller, bad_body), 404, "NOT_FOUND")
        assert_error(_call(client, method, url(tree["room_a"], 424242), caller, bad_body), 404, "NOT_FOUND")
        assert_error(_call(client, method, url(tree["room_a"], resident.id), caller, bad_body),
                     404, "NOT_FOUND")
        assert_error(_call(client, method, url(tree["room_b"], worker.id), caller, bad_body),
                     404, "NOT_FOUND")
    # 403 before the body: not an admin of the org, or not one who may act for this person.
    for caller, target in ((not_admin, worker), (worker, fellow_admin), (admin, fellow_admin)):
        assert_error(_call(client, method, url(tree["room_a"], target.id), caller, bad_body),
                     403, "FORBIDDEN")
    if bad_body is not None:
        error = assert_error(_call(client, method, url(tree["room_a"], worker.id), admin, bad_body),
                             422, "VALIDATION_ERROR")
        assert "new_password" in error["details"]
    assert client.get(f"{API}/me", headers=worker.headers).status_code == 200  # nothing happened
    assert client.get(f"{API}/me", headers=fellow_admin.headers).status_code == 200
