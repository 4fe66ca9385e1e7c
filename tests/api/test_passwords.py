"""Changing one's own password, and an admin resetting a worker's."""
from tests.support import API, assert_error


def login(client, phone, password):
    return client.post(f"{API}/auth/login", json={"phone": phone, "password": password})


def refresh(client, pair):
    return client.post(f"{API}/auth/refresh", json={"refresh_token": pair["refresh_token"]})


def test_changing_ones_password_ends_every_other_session(client, actors):
    worker = actors.staff(actors.tree()["room_a"], "worker", password="old-password-1")
    phone_session = login(client, worker.phone, "old-password-1").get_json()
    console_session = login(client, worker.phone, "old-password-1").get_json()
    changed = client.post(f"{API}/me/password", headers=worker.headers,
                          json={"current_password": "old-password-1", "new_password": "new-password-2"})
    assert changed.status_code == 200
    new_session = changed.get_json()
    assert new_session["user"]["id"] == worker.id and new_session["token_type"] == "Bearer"
    for old in (phone_session, console_session):
        assert_error(refresh(client, old), 401, "UNAUTHENTICATED")
        assert_error(client.get(f"{API}/me", headers={"Authorization": f"Bearer {old['access_token']}"}),
                     401, "UNAUTHENTICATED")
    assert client.get(f"{API}/me", headers={
        "Authorization": f"Bearer {new_session['access_token']}"}).status_code == 200
    assert refresh(client, new_session).status_code == 200
    assert_error(login(client, worker.phone, "old-password-1"), 401, "BAD_CREDENTIALS")
    assert login(client, worker.phone, "new-password-2").status_code == 200


def test_password_change_errors(app, client, actors, monkeypatch):
    worker = actors.staff(actors.tree()["room_a"], "worker", password="old-password-1")
    url = f"{API}/me/password"
    assert_error(client.post(url, json={"current_password": "old-password-1", "new_password": "x" * 8}),
                 401, "UNAUTHENTICATED")
    assert_error(client.post(url, headers=worker.headers,
                             json={"current_password": "wrong-password", "new_password": "new-password-2"}),
                 403, "WRONG_PASSWORD")
    resident = actors.resident()  # signs in with WeChat: there is no password to change
    assert_error(client.post(url, headers=resident.headers,
                             json={"current_password": "anything", "new_password": "new-password-2"}),
                 403, "WRONG_PASSWORD")
    for body in [{}, {"current_password": "old-password-1"}, {"current_password": "old-password-1",
                 "new_password": "short"}, {"current_password": "old-password-1", "new_password": "x" * 129},
                 {"current_password": 1, "new_password": "new-password-2"}]:
        assert_error(client.post(url, headers=worker.headers, json=body), 422, "VALIDATION_ERROR")
    assert login(client, worker.phone, "old-password-1").status_code == 200  # nothing changed
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN", "2 per minute")
    for _ in range(2):
        client.post(url, headers=worker.headers, json={"current_password": "guess", "new_password": "x" * 8})
    assert_error(client.post(url, headers=worker.headers,
                             json={"current_password": "old-password-1", "new_password": "new-password-2"}),
                 429, "RATE_LIMITED")


def test_an_admin_resets_a_workers_password(client, actors):
    tree = actors.tree()
    worker = actors.staff(tree["room_a"], "worker", password="forgotten-1")
    session = login(client, worker.phone, "forgotten-1").get_json()
    station_admin = actors.staff(tree["station"], "admin")
    reset = client.post(f"{API}/orgs/{tree['room_a']}/staff/{worker.id}/password",
                        headers=station_admin.headers, json={"new_password": "given-by-admin-1"})
    assert reset.status_code == 200
    assert reset.get_json() == {"user_id": worker.id, "org_id": tree["room_a"], "role": "worker"}
    assert_error(refresh(client, session), 401, "UNAUTHENTICATED")
    assert_error(login(client, worker.phone, "forgotten-1"), 401, "BAD_CREDENTIALS")
    assert login(client, worker.phone, "given-by-admin-1").status_code == 200


def test_password_reset_errors(client, actors):
    tree = actors.tree()
    worker = actors.staff(tree["room_a"], "worker", password="kept-password-1")
    url = f"{API}/orgs/{tree['room_a']}/staff/{worker.id}/password"
    body = {"new_password": "taken-over-1"}
    assert_error(client.post(url, json=body), 401, "UNAUTHENTICATED")
    for not_admin in (actors.staff(tree["room_a"], "worker"), actors.staff(tree["room_b"], "admin")):
        assert_error(client.post(url, headers=not_admin.headers, json=body), 403, "FORBIDDEN")
    admin = actors.staff(tree["room_a"], "admin")
    assert_error(client.post(f"{API}/orgs/{tree['room_b']}/staff/{worker.id}/password",
                             headers=actors.staff(tree["room_b"], "admin").headers, json=body),
                 404, "NOT_FOUND")  # not a worker of room B, whatever else they are
    assert_error(client.post(f"{API}/orgs/{tree['room_a']}/staff/{actors.resident().id}/password",
                             headers=admin.headers, json=body), 404, "NOT_FOUND")
    assert_error(client.post(f"{API}/orgs/99999/staff/{worker.id}/password", headers=admin.headers,
                             json=body), 404, "NOT_FOUND")
    assert_error(client.post(url, headers=admin.headers, json={"new_password": "short"}),
                 422, "VALIDATION_ERROR")
    assert login(client, worker.phone, "kept-password-1").status_code == 200
