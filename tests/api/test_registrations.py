"""Contract: the Registration section of API.md."""
from datetime import timedelta

from tests.activity_support import frozen, make_activity, register  # noqa: F401
from tests.support import API, assert_error


def setup(client, actors, frozen, **overrides):
    tree = actors.tree()
    staff = actors.staff(tree["room_a"], "worker")
    return tree, staff, make_activity(client, staff, tree["room_a"], frozen.current, **overrides)


def test_register_confirms_then_waitlists_per_role(client, actors, frozen):
    _, _, activity = setup(client, actors, frozen, capacity=2, volunteer_slots=1)
    residents = [actors.resident() for _ in range(3)]
    statuses = [register(client, r, activity["id"]).get_json()["status"] for r in residents]
    assert statuses == ["confirmed", "confirmed", "waitlisted"]
    # Volunteer places are counted apart from participant places.
    volunteers = [actors.resident(volunteer=True) for _ in range(2)]
    first = register(client, volunteers[0], activity["id"], "volunteer")
    assert first.status_code == 201
    body = first.get_json()
    assert body == {**body, "activity_id": activity["id"], "user_id": volunteers[0].id,
                    "role": "volunteer", "status": "confirmed"}
    assert register(client, volunteers[1], activity["id"], "volunteer").get_json()["status"] == "waitlisted"


def test_repeat_returns_the_same_registration_with_200(client, actors, frozen):
    _, _, activity = setup(client, actors, frozen)
    resident = actors.resident()
    first = register(client, resident, activity["id"])
    again = register(client, resident, activity["id"])
    assert first.status_code == 201 and again.status_code == 200
    assert again.get_json() == first.get_json()


def test_other_role_is_already_registered(client, actors, frozen):
    _, _, activity = setup(client, actors, frozen)
    volunteer = actors.resident(volunteer=True)
    assert register(client, volunteer, activity["id"]).status_code == 201
    assert_error(register(client, volunteer, activity["id"], "volunteer"), 409, "ALREADY_REGISTERED")


def test_volunteer_role_needs_an_active_profile(client, actors, frozen):
    _, _, activity = setup(client, actors, frozen)
    assert_error(register(client, actors.resident(), activity["id"], "volunteer"), 403, "NOT_A_VOLUNTEER")


def test_registration_closed_when_not_published_started_or_no_places(client, actors, frozen):
    tree, staff, activity = setup(client, actors, frozen, volunteer_slots=0)
    resident = actors.resident(volunteer=True)
    error = assert_error(register(client, resident, activity["id"], "volunteer"), 409, "REGISTRATION_CLOSED")
    draft = make_activity(client, staff, tree["room_a"], frozen.current, publish=False)
    # A draft is 404 to a resident, closed to its staff.
    assert_error(register(client, resident, draft["id"]), 404, "NOT_FOUND")
    assert_error(register(client, staff, draft["id"]), 409, "REGISTRATION_CLOSED")
    started = make_activity(client, staff, tree["room_a"], frozen.current - timedelta(minutes=20))
    assert_error(register(client, resident, started["id"]), 409, "REGISTRATION_CLOSED")
    cancelled = make_activity(client, staff, tree["room_a"], frozen.current)
    client.post(f"{API}/activities/{cancelled['id']}/cancel", headers=staff.headers)
    assert_error(register(client, resident, cancelled["id"]), 409, "REGISTRATION_CLOSED")
    assert error["details"] == {"role": "volunteer"}


def test_register_errors_in_order(client, actors, frozen):
    _, _, activity = setup(client, actors, frozen)
    url = f"{API}/activities/{activity['id']}/registrations"
    assert_error(client.post(url, json={"role": "participant"}), 401, "UNAUTHENTICATED")
    resident = actors.resident()
    assert_error(client.post(f"{API}/activities/99999/registrations", json={"role": "x"},
                             headers=resident.headers), 404, "NOT_FOUND")
    for body in [{}, {"role": "guest"}, {"role": "participant", "user_id": "5"}, {"role": 1},
                 {"role": "participant", "extra": True}]:
        assert_error(client.post(url, json=body, headers=resident.headers), 422, "VALIDATION_ERROR")
    assert_error(client.post(url, data="nope", headers={**resident.headers, "Content-Type": "text/plain"}),
                 400, "BAD_REQUEST")


def test_cancel_promotes_the_oldest_waitlisted_of_the_same_role(client, actors, frozen):
    _, staff, activity = setup(client, actors, frozen, capacity=1, volunteer_slots=1)
    holder, second, third = (actors.resident() for _ in range(3))
    waiting_volunteer = actors.resident(volunteer=True)
    volunteer = actors.resident(volunteer=True)
    register(client, holder, activity["id"])
    register(client, volunteer, activity["id"], "volunteer")
    register(client, waiting_volunteer, activity["id"], "volunteer")
    frozen.advance(seconds=1)
    register(client, second, activity["id"])
    frozen.advance(seconds=1)
    register(client, third, activity["id"])
    cancelled = client.delete(f"{API}/activities/{activity['id']}/registrations/me", headers=holder.headers)
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    listed = client.get(f"{API}/activities/{activity['id']}/registrations", headers=staff.headers).get_json()
    by_user = {r["user_id"]: r["status"] for r in listed["items"]}
    assert by_user == {holder.id: "cancelled", second.id: "confirmed", third.id: "waitlisted",
                       volunteer.id: "confirmed", waiting_volunteer.id: "waitlisted"}
    # Again: still cancelled, nobody else promoted.
    again = client.delete(f"{API}/activities/{activity['id']}/registrations/me", headers=holder.headers)
    assert again.status_code == 200 and again.get_json()["status"] == "cancelled"
    # A waitlisted person leaving frees nothing.
    client.delete(f"{API}/activities/{activity['id']}/registrations/me", headers=third.headers)
    assert client.get(f"{API}/activities/{activity['id']}").get_json()["counts"] == \
        {"participants": 1, "volunteers": 1, "waitlisted": 1}
    # Registering again after cancelling puts you at the back.
    assert register(client, holder, activity["id"]).get_json()["status"] == "waitlisted"


def test_cancel_errors(client, actors, frozen):
    tree, staff, activity = setup(client, actors, frozen)
    resident = actors.resident()
    url = f"{API}/activities/{activity['id']}/registrations/me"
    assert_error(client.delete(url), 401, "UNAUTHENTICATED")
    assert_error(client.delete(url, headers=resident.headers), 404, "NOT_FOUND")
    assert_error(client.delete(f"{API}/activities/99999/registrations/me", headers=resident.headers),
                 404, "NOT_FOUND")
    register(client, resident, activity["id"])
    frozen.advance(minutes=10)  # the activity starts
    assert_error(client.delete(url, headers=resident.headers), 409, "REGISTRATION_CLOSED")


def test_staff_enrol_is_confirmed_past_capacity_and_after_start(client, actors, frozen):
    tree, staff, activity = setup(client, actors, frozen, capacity=1)
    register(client, actors.resident(), activity["id"])
    waiting = actors.resident()
    assert register(client, waiting, activity["id"]).get_json()["status"] == "waitlisted"
    newcomer = actors.resident()
    url = f"{API}/activities/{activity['id']}/registrations"
    enrolled = client.post(url, json={"role": "participant", "user_id": newcomer.id}, headers=staff.headers)
    assert enrolled.status_code == 201
    assert enrolled.get_json()["status"] == "confirmed" and enrolled.get_json()["user_id"] == newcomer.id
    # A waitlisted person enrolled by staff is confirmed (200: same registration).
    promoted = client.post(url, json={"role": "participant", "user_id": waiting.id}, headers=staff.headers)
    assert promoted.status_code == 200 and promoted.get_json()["status"] == "confirmed"
    # Back-entry after the end.
    past = make_activity(client, staff, tree["room_a"], frozen.current - timedelta(days=2))
    late = client.post(f"{API}/activities/{past['id']}/registrations",
                       json={"role": "participant", "user_id": actors.resident().id}, headers=staff.headers)
    assert late.status_code == 201 and late.get_json()["status"] == "confirmed"
    # Volunteer role still needs a profile; unknown people are a validation error.
    assert_error(client.post(url, json={"role": "volunteer", "user_id": newcomer.id}, headers=staff.headers),
                 409, "ALREADY_REGISTERED")
    assert_error(client.post(url, json={"role": "volunteer", "user_id": actors.resident().id},
                             headers=staff.headers), 403, "NOT_A_VOLUNTEER")
    assert_error(client.post(url, json={"role": "participant", "user_id": 99999}, headers=staff.headers),
                 422, "VALIDATION_ERROR")
    # Only staff enrol others.
    for person in [actors.resident(), actors.staff(tree["room_b"])]:
        assert_error(client.post(url, json={"role": "participant", "user_id": newcomer.id},
                                 headers=person.headers), 403, "FORBIDDEN")


def test_registration_lists(client, actors, frozen):
    tree, staff, activity = setup(client, actors, frozen)
    other = make_activity(client, staff, tree["room_a"], frozen.current)
    resident = actors.resident()
    register(client, resident, activity["id"])
    register(client, resident, other["id"])
    mine = client.get(f"{API}/me/registrations", headers=resident.headers)
    assert mine.status_code == 200
    assert [r["activity_id"] for r in mine.get_json()["items"]] == [other["id"], activity["id"]]
    listed = client.get(f"{API}/activities/{activity['id']}/registrations", headers=staff.headers).get_json()
    assert listed["items"][0]["checked_in_at"] is None and listed["items"][0]["checked_out_at"] is None
    assert_error(client.get(f"{API}/me/registrations"), 401, "UNAUTHENTICATED")
    assert_error(client.get(f"{API}/activities/{activity['id']}/registrations", headers=resident.headers),
                 403, "FORBIDDEN")
    assert_error(client.get(f"{API}/activities/{activity['id']}/registrations?limit=500",
                            headers=staff.headers), 422, "VALIDATION_ERROR")
