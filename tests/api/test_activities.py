"""Contract: the Activities section of API.md."""
from datetime import timedelta

import pytest

from tests.activity_support import activity_body, frozen, make_activity  # noqa: F401
from tests.support import API, assert_error


def test_staff_create_draft_then_publish_and_cancel(client, actors, frozen):
    tree = actors.tree()
    worker = actors.staff(tree["station"], "worker")
    created = client.post(f"{API}/orgs/{tree['room_a']}/activities",
                          json=activity_body(frozen.current, geofence={"lat": 30.6, "lng": 114.3,
                                                                        "radius_m": 200}),
                          headers=worker.headers)
    assert created.status_code == 201
    body = created.get_json()
    assert body["status"] == "draft" and body["org_id"] == tree["room_a"]
    assert body["domain"] == "elderly_care" and body["category"] == "关怀服务"
    assert body["allow_walk_in"] is False and body["attendance_points"] == 0
    assert body["checkin_opens_before_min"] == 30 and body["checkin_closes_after_min"] == 30
    assert body["geofence"] == {"lat": 30.6, "lng": 114.3, "radius_m": 200}
    assert body["starts_at"].endswith("+08:00")
    published = client.post(f"{API}/activities/{body['id']}/publish", headers=worker.headers)
    assert published.status_code == 200 and published.get_json()["status"] == "published"
    cancelled = client.post(f"{API}/activities/{body['id']}/cancel", headers=worker.headers)
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert_error(client.post(f"{API}/activities/{body['id']}/publish", headers=worker.headers),
                 409, "CONFLICT")


def test_past_times_are_allowed(client, actors, frozen):
    tree = actors.tree()
    staff = actors.staff(tree["room_a"])
    past = frozen.current - timedelta(days=3)
    assert make_activity(client, staff, tree["room_a"], past)["status"] == "published"


def test_create_needs_staff_of_the_org_or_above(client, actors, frozen):
    tree = actors.tree()
    body = activity_body(frozen.current)
    url = f"{API}/orgs/{tree['room_a']}/activities"
    assert_error(client.post(url, json=body), 401, "UNAUTHENTICATED")
    assert_error(client.post(f"{API}/orgs/99999/activities", json=body,
                             headers=actors.staff(tree["room_a"]).headers), 404, "NOT_FOUND")
    for person in [actors.resident(), actors.staff(tree["room_b"], "admin")]:
        assert_error(client.post(url, json=body, headers=person.headers), 403, "FORBIDDEN")
    # Permission is checked before the body.
    assert_error(client.post(url, json={"title": ""}, headers=actors.resident().headers), 403, "FORBIDDEN")


@pytest.mark.parametrize("change,field", [
    ({"domain": "sports"}, "domain"),
    ({"title": ""}, "title"),
    ({"capacity": -1}, "capacity"),
    ({"volunteer_slots": -1}, "volunteer_slots"),
    ({"points_per_hour": -5}, "points_per_hour"),
    ({"capacity": "10"}, "capacity"),
    ({"capacity": True}, "capacity"),
    ({"starts_at": "tomorrow"}, "starts_at"),
    ({"ends_at": None}, "ends_at"),
    ({"geofence": {"lat": 91, "lng": 114, "radius_m": 100}}, "geofence"),
    ({"geofence": {"lat": 30, "lng": 181, "radius_m": 100}}, "geofence"),
    ({"geofence": {"lat": 30, "lng": 114, "radius_m": 0}}, "geofence"),
    ({"geofence": {"lat": "30", "lng": 114, "radius_m": 10}}, "geofence"),
    ({"allow_walk_in": "yes"}, "allow_walk_in"),
    ({"unexpected": 1}, "unexpected"),
])
def test_create_validation(client, actors, frozen, change, field):
    tree = actors.tree()
    staff = actors.staff(tree["room_a"])
    error = assert_error(client.post(f"{API}/orgs/{tree['room_a']}/activities",
                                     json=activity_body(frozen.current, **change), headers=staff.headers),
                         422, "VALIDATION_ERROR")
    assert field in error["details"], error


def test_ends_must_be_after_start(client, actors, frozen):
    tree = actors.tree()
    staff = actors.staff(tree["room_a"])
    now = frozen.current
    error = assert_error(client.post(f"{API}/orgs/{tree['room_a']}/activities",
                                     json=activity_body(now, ends_at=now.isoformat(),
                                                        starts_at=(now + timedelta(hours=1)).isoformat()),
                                     headers=staff.headers), 422, "VALIDATION_ERROR")
    assert "ends_at" in error["details"]


def test_drafts_are_404_to_everyone_but_their_staff(client, actors, frozen):
    tree = actors.tree()
    staff = actors.staff(tree["room_a"], "worker")
    draft = make_activity(client, staff, tree["room_a"], frozen.current, publish=False)
    url = f"{API}/activities/{draft['id']}"
    assert client.get(url, headers=staff.headers).status_code == 200
    assert client.get(url, headers=actors.staff(tree["city"]).headers).status_code == 200
    for headers in [{}, actors.resident().headers, actors.staff(tree["room_b"]).headers]:
        assert_error(client.get(url, headers=headers), 404, "NOT_FOUND")
    resident = actors.resident()
    assert_error(client.post(f"{url}/publish", headers=resident.headers), 404, "NOT_FOUND")
    assert_error(client.post(f"{url}/publish"), 401, "UNAUTHENTICATED")
    assert_error(client.get(f"{API}/activities/424242"), 404, "NOT_FOUND")


def test_publish_and_cancel_need_staff(client, actors, frozen):
    tree = actors.tree()
    staff = actors.staff(tree["room_a"])
    activity = make_activity(client, staff, tree["room_a"], frozen.current)
    for action in ["publish", "cancel"]:
        for person in [actors.resident(), actors.staff(tree["room_b"])]:
            assert_error(client.post(f"{API}/activities/{activity['id']}/{action}",
                                     headers=person.headers), 403, "FORBIDDEN")
        assert_error(client.post(f"{API}/activities/99999/{action}", headers=staff.headers),
                     404, "NOT_FOUND")


def test_get_has_counts(client, actors, frozen):
    tree = actors.tree()
    staff = actors.staff(tree["room_a"])
    activity = make_activity(client, staff, tree["room_a"], frozen.current, capacity=1)
    for _ in range(2):
        client.post(f"{API}/activities/{activity['id']}/registrations", json={"role": "participant"},
                    headers=actors.resident().headers)
    client.post(f"{API}/activities/{activity['id']}/registrations", json={"role": "volunteer"},
                headers=actors.resident(volunteer=True).headers)
    got = client.get(f"{API}/activities/{activity['id']}").get_json()
    assert got["counts"] == {"participants": 1, "volunteers": 1, "waitlisted": 1}


def test_list_filters_subtree_domain_status_and_time_and_pages(client, actors, frozen):
    tree = actors.tree()
    city_admin = actors.staff(tree["city"])
    now = frozen.current
    a = make_activity(client, city_admin, tree["room_a"], now, title="A")
    b = make_activity(client, city_admin, tree["room_b"], now + timedelta(days=1), title="B",
                      domain="child_welfare")
    c = make_activity(client, city_admin, tree["station"], now + timedelta(days=2), title="C")
    draft = make_activity(client, city_admin, tree["room_a"], now + timedelta(days=3), publish=False)

    def ids(query, headers=None):
        response = client.get(f"{API}/activities{query}", headers=headers or {})
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    assert ids("") == [a["id"], b["id"], c["id"]]
    assert ids("", city_admin.headers) == [a["id"], b["id"], c["id"], draft["id"]]
    assert ids(f"?org_id={tree['station']}") == [a["id"], b["id"], c["id"]]
    assert ids(f"?org_id={tree['room_a']}") == [a["id"]]
    assert ids("?domain=child_welfare") == [b["id"]]
    assert ids("?status=draft") == []
    assert ids("?status=draft", actors.staff(tree["room_a"], "worker").headers) == [draft["id"]]
    assert ids("?status=draft", actors.staff(tree["room_b"], "worker").headers) == []
    start_b = b["starts_at"].replace("+", "%2B")
    start_c = c["starts_at"].replace("+", "%2B")
    assert ids(f"?from={start_b}&to={start_c}") == [b["id"]]  # [from, to)
    first = client.get(f"{API}/activities?limit=2").get_json()
    rest = client.get(f"{API}/activities?limit=2&cursor={first['next']}").get_json()
    assert [i["id"] for i in first["items"] + rest["items"]] == [a["id"], b["id"], c["id"]]
    assert rest["next"] is None
    for bad in ["?domain=sports", "?status=done", "?from=notatime", "?limit=0", "?cursor=zz!"]:
        assert_error(client.get(f"{API}/activities{bad}"), 422, "VALIDATION_ERROR")
    assert_error(client.get(f"{API}/activities?org_id=99999"), 404, "NOT_FOUND")


def test_cancel_cancels_every_registration(client, actors, frozen):
    tree = actors.tree()
    staff = actors.staff(tree["room_a"])
    activity = make_activity(client, staff, tree["room_a"], frozen.current, capacity=1)
    people = [actors.resident() for _ in range(2)]
    for person in people:
        client.post(f"{API}/activities/{activity['id']}/registrations", json={"role": "participant"},
                    headers=person.headers)
    assert client.post(f"{API}/activities/{activity['id']}/cancel", headers=staff.headers).status_code == 200
    registrations = client.get(f"{API}/activities/{activity['id']}/registrations",
                               headers=staff.headers).get_json()["items"]
    assert [r["status"] for r in registrations] == ["cancelled", "cancelled"]
    # Cancelling again changes nothing.
    assert client.post(f"{API}/activities/{activity['id']}/cancel", headers=staff.headers).status_code == 200
