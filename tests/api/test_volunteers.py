"""Contract: the Volunteers section of API.md, and the staff additions."""
from datetime import date, datetime, timedelta, timezone

import pytest

from core.db import db
from orgs.services import get_org
from volunteers import records
from tests.activity_support import frozen  # noqa: F401  (fixture)
from tests.support import API, assert_error, current_settings, make_id_number

BODY = {"real_name": "刘志远", "phone": "13912345678"}


def register(client, person, **body):
    return client.post(f"{API}/me/volunteer", json=body or BODY, headers=person.headers if person else {})


def test_register_then_repeat_returns_the_same_profile_unchanged(client, actors):
    person = actors.resident()
    number = make_id_number("19900215", "420102", "456")
    first = register(client, person, **BODY, id_number=number, skills=["急救", "心理陪伴"])
    assert first.status_code == 201, first.get_json()
    profile = first.get_json()
    assert profile["status"] == "active" and profile["real_name"] == "刘志远"
    assert profile["phone"] == "13912345678" and profile["skills"] == ["急救", "心理陪伴"]
    assert profile["id_number"] == "4201**********" + number[-4:]
    assert profile["birth_date"] == "1990-02-15"
    assert profile["volunteer_no"].startswith("LL") and number not in profile["volunteer_no"]
    assert profile["consent"] is None and profile["guardian"] is None
    again = register(client, person, real_name="别的名字", phone="13700000000")
    assert again.status_code == 200 and again.get_json() == profile
    assert client.get(f"{API}/me/volunteer", headers=person.headers).get_json() == profile
    # A repeat is still validated first: 422 comes before "already registered".
    assert_error(register(client, person, **BODY, id_number=number[:-1] + "Y"), 422, "VALIDATION_ERROR")
    assert_error(register(client, person, real_name="x", phone="1"), 422, "VALIDATION_ERROR")


def test_the_api_md_body_alone_is_enough(client, actors):
    response = register(client, actors.resident(), **BODY)
    assert response.status_code == 201
    body = response.get_json()
    assert body["id_number"] is None and body["birth_date"] is None and body["skills"] == []


def test_volunteer_numbers_are_unique(client, actors):
    numbers = {register(client, actors.resident(), **BODY).get_json()["volunteer_no"] for _ in range(3)}
    assert len(numbers) == 3


def test_consent_is_recorded_with_its_version_and_time(client, actors):
    response = register(client, actors.resident(), **BODY, consent={"version": "2026-11", "agreed": True})
    consent = response.get_json()["consent"]
    assert consent["version"] == "2026-11" and consent["agreed_at"].endswith("+08:00")


@pytest.mark.parametrize("body,field", [
    ({**BODY, "phone": "1391234567"}, "phone"),
    ({**BODY, "phone": "23912345678"}, "phone"),
    ({**BODY, "phone": 13912345678}, "phone"),
    ({**BODY, "id_number": make_id_number()[:-1] + "Y"}, "id_number"),
    ({"phone": "13912345678"}, "real_name"),
    ({**BODY, "real_name": ""}, "real_name"),
    ({**BODY, "skills": "急救"}, "skills"),
    ({**BODY, "skills": ["x" * 21]}, "skills"),
    ({**BODY, "consent": {"version": "1", "agreed": False}}, "consent"),
    ({**BODY, "consent": {"version": "1", "agreed": "yes"}}, "consent"),
    ({**BODY, "consent": {"agreed": True}}, "consent"),
    ({**BODY, "status": "suspended"}, "status"),
])
def test_register_validation(client, actors, body, field):
    error = assert_error(client.post(f"{API}/me/volunteer", json=body,
                                     headers=actors.resident().headers), 422, "VALIDATION_ERROR")
    assert field in error["details"], error


def test_a_wrong_check_digit_is_refused(client, actors):
    good = make_id_number()
    wrong = good[:-1] + ("1" if good[-1] != "1" else "2")
    error = assert_error(register(client, actors.resident(), **BODY, id_number=wrong), 422,
                         "VALIDATION_ERROR")
    assert "校验码" in error["details"]["id_number"][0]


def test_an_id_number_registers_one_profile_only(client, actors):
    number = make_id_number()
    assert register(client, actors.resident(), **BODY, id_number=number).status_code == 201
    assert_error(register(client, actors.resident(), **BODY, id_number=number.lower()), 409,
                 "ID_NUMBER_IN_USE")
    other = actors.resident()
    assert register(client, other, **BODY).status_code == 201
    assert_error(client.patch(f"{API}/me/volunteer", json={"id_number": number}, headers=other.headers),
                 409, "ID_NUMBER_IN_USE")


def test_under_fourteen_needs_a_guardian(client, actors, frozen):
    today = frozen.current.date()
    child = make_id_number(f"{today.year - 10}0101", "420102", "111")
    error = assert_error(register(client, actors.resident(), **BODY, id_number=child), 422,
                         "VALIDATION_ERROR")
    assert "guardian" in error["details"]
    guardian = {"name": "刘大伟", "phone": "13911112222", "relation": "父亲", "consent": True}
    error = assert_error(register(client, actors.resident(), **BODY, id_number=child,
                                  guardian={**guardian, "consent": False}), 422, "VALIDATION_ERROR")
    assert "guardian" in error["details"]
    ok = register(client, actors.resident(), **BODY, id_number=child, guardian=guardian)
    assert ok.status_code == 201
    assert ok.get_json()["guardian"]["relation"] == "父亲"
    assert ok.get_json()["guardian"]["phone"] == "139****2222"
    # An adult who later gives a child's number needs the guardian too.
    adult = actors.resident()
    register(client, adult, **BODY)
    assert_error(client.patch(f"{API}/me/volunteer", json={"id_number": make_id_number(
        f"{today.year - 10}0101", "420102", "222")}, headers=adult.headers), 422, "VALIDATION_ERROR")
    fixed = client.patch(f"{API}/me/volunteer", headers=adult.headers, json={
        "id_number": make_id_number(f"{today.year - 10}0101", "420102", "222"), "guardian": guardian})
    assert fixed.status_code == 200 and fixed.get_json()["guardian"]["name"] == "刘大伟"


def test_unauthenticated(client):
    assert_error(client.post(f"{API}/me/volunteer", json=BODY), 401, "UNAUTHENTICATED")
    assert_error(client.patch(f"{API}/me/volunteer", json=BODY), 401, "UNAUTHENTICATED")
    assert_error(client.get(f"{API}/me/volunteer"), 401, "UNAUTHENTICATED")
    assert_error(client.get(f"{API}/me/service-records"), 401, "UNAUTHENTICATED")
    assert_error(client.get(f"{API}/me/service-records/certificate"), 401, "UNAUTHENTICATED")
    assert_error(client.get(f"{API}/volunteers"), 401, "UNAUTHENTICATED")
    assert_error(client.post(f"{API}/volunteers/1/suspend", json={"reason": "x"}), 401, "UNAUTHENTICATED")


def test_patch_needs_a_profile(client, actors):
    person = actors.resident()
    assert_error(client.patch(f"{API}/me/volunteer", json={"real_name": "新名字"}, headers=person.headers),
                 404, "NOT_FOUND")
    assert_error(client.get(f"{API}/me/volunteer", headers=person.headers), 404, "NOT_FOUND")
    # Existence before validation (API.md's error order).
    assert_error(client.patch(f"{API}/me/volunteer", json={"phone": "1"}, headers=person.headers),
                 404, "NOT_FOUND")


def test_patch_changes_the_given_fields(client, actors):
    person = actors.resident()
    created = register(client, person, **BODY).get_json()
    number = make_id_number("19850505", "420102", "222")
    response = client.patch(f"{API}/me/volunteer", headers=person.headers,
                            json={"phone": "13811112222", "skills": ["理发"], "id_number": number})
    assert response.status_code == 200
    body = response.get_json()
    assert body["phone"] == "13811112222" and body["skills"] == ["理发"]
    assert body["real_name"] == created["real_name"] and body["volunteer_no"] == created["volunteer_no"]
    assert body["id_number"].endswith(number[-4:]) and body["birth_date"] == "1985-05-05"
    cleared = client.patch(f"{API}/me/volunteer", json={"id_number": None}, headers=person.headers)
    assert cleared.get_json()["id_number"] is None and cleared.get_json()["birth_date"] is None
    for bad, field in [({"phone": "123"}, "phone"), ({"id_number": "420102199001011234"}, "id_number"),
                       ({"real_name": ""}, "real_name"), ({"status": "active"}, "status")]:
        error = assert_error(client.patch(f"{API}/me/volunteer", json=bad, headers=person.headers),
                             422, "VALIDATION_ERROR")
        assert field in error["details"]


def test_get_me_shows_the_volunteer_brief(client, actors):
    person = actors.resident()
    assert client.get(f"{API}/me", headers=person.headers).get_json()["volunteer"] is None
    profile = register(client, person, **BODY).get_json()
    brief = client.get(f"{API}/me", headers=person.headers).get_json()["volunteer"]
    assert brief == {"id": profile["id"], "status": "active", "real_name": "刘志远",
                     "volunteer_no": profile["volunteer_no"]}


# --- staff: list, suspend, reactivate ---------------------------------------------------------

def _volunteer_in(client, actors, org_id):
    person = actors.resident(home_org_id=org_id)
    return person, register(client, person, **BODY).get_json()


def test_staff_list_volunteers_in_their_subtree(client, actors):
    tree = actors.tree()
    _, in_a = _volunteer_in(client, actors, tree["room_a"])
    _, in_b = _volunteer_in(client, actors, tree["room_b"])
    _, homeless = _volunteer_in(client, actors, None)
    station = actors.staff(tree["station"], "worker")
    listed = client.get(f"{API}/volunteers?org_id={tree['room_a']}", headers=station.headers).get_json()
    assert [v["id"] for v in listed["items"]] == [in_a["id"]]
    assert listed["items"][0]["phone"] == "139****5678"
    everything = client.get(f"{API}/volunteers?org_id={tree['city']}",
                            headers=actors.staff(tree["city"]).headers).get_json()
    assert {v["id"] for v in everything["items"]} == {in_a["id"], in_b["id"], homeless["id"]}
    mine = client.get(f"{API}/volunteers?limit=1", headers=station.headers).get_json()
    rest = client.get(f"{API}/volunteers?limit=1&cursor={mine['next']}", headers=station.headers).get_json()
    assert [v["id"] for v in mine["items"] + rest["items"]] == [in_a["id"], in_b["id"]]
    assert rest["next"] is None


def test_staff_list_errors(client, actors):
    tree = actors.tree()
    room_b = actors.staff(tree["room_b"], "admin")
    assert_error(client.get(f"{API}/volunteers?org_id={tree['room_a']}", headers=room_b.headers),
                 403, "FORBIDDEN")
    assert_error(client.get(f"{API}/volunteers", headers=actors.resident().headers), 403, "FORBIDDEN")
    assert_error(client.get(f"{API}/volunteers?org_id=99999", headers=room_b.headers), 404, "NOT_FOUND")
    assert_error(client.get(f"{API}/volunteers?status=gone", headers=room_b.headers), 422,
                 "VALIDATION_ERROR")


def test_suspend_and_reactivate(client, actors):
    tree = actors.tree()
    person, profile = _volunteer_in(client, actors, tree["room_a"])
    worker = actors.staff(tree["room_a"], "worker")
    url = f"{API}/volunteers/{profile['id']}"
    suspended = client.post(f"{url}/suspend", json={"reason": "多次无故缺席"}, headers=worker.headers)
    assert suspended.status_code == 200
    assert suspended.get_json()["status"] == "suspended"
    assert suspended.get_json()["status_reason"] == "多次无故缺席"
    assert client.get(f"{API}/me", headers=person.headers).get_json()["volunteer"]["status"] == "suspended"
    # A repeat changes nothing; the volunteer cannot reactivate themselves by registering again.
    assert client.post(f"{url}/suspend", json={"reason": "再次"}, headers=worker.headers) \
        .get_json()["status_reason"] == "多次无故缺席"
    assert register(client, person, **BODY).get_json()["status"] == "suspended"
    back = client.post(f"{url}/reactivate", json={"reason": "已沟通"}, headers=worker.headers)
    assert back.status_code == 200 and back.get_json()["status"] == "active"
    assert client.get(url, headers=worker.headers).get_json()["status"] == "active"


def test_suspend_errors_in_order(client, actors):
    tree = actors.tree()
    _, profile = _volunteer_in(client, actors, tree["room_a"])
    outsider = actors.staff(tree["room_b"], "admin")
    url = f"{API}/volunteers/{profile['id']}/suspend"
    assert_error(client.post(f"{API}/volunteers/99999/suspend", json={}, headers=outsider.headers),
                 404, "NOT_FOUND")
    assert_error(client.post(url, json={}, headers=outsider.headers), 403, "FORBIDDEN")
    assert_error(client.post(url, json={"reason": "x"}, headers=actors.resident().headers), 403, "FORBIDDEN")
    assert_error(client.get(f"{API}/volunteers/{profile['id']}", headers=outsider.headers), 403, "FORBIDDEN")
    worker = actors.staff(tree["station"], "worker")
    error = assert_error(client.post(url, json={}, headers=worker.headers), 422, "VALIDATION_ERROR")
    assert "reason" in error["details"]


def test_a_volunteer_without_home_org_is_under_the_city_root(client, actors):
    tree = actors.tree()
    _, profile = _volunteer_in(client, actors, None)
    url = f"{API}/volunteers/{profile['id']}/suspend"
    assert_error(client.post(url, json={"reason": "x"}, headers=actors.staff(tree["station"]).headers),
                 403, "FORBIDDEN")
    assert client.post(url, json={"reason": "x"}, headers=actors.staff(tree["city"], "worker").headers) \
        .status_code == 200


# --- service records ----------------------------------------------------------------------------

def _serve(app, user_id, org_id, n, day, minutes=120, points=20):
    start = datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=1)
    with app.app_context():
        records.record_service(
            user_id=user_id, activity_id=100 + n, title=f"活动{n}", org=get_org(org_id),
            place="社区活动室", content="为老服务", started_at=start,
            ended_at=start + timedelta(minutes=minutes), minutes=minutes, points=points,
            responsible_person="李社工", recorded_by=None, cause_key=f"settlement:{n}",
            now=start + timedelta(hours=5), settings=current_settings())
        db.session.commit()


def test_service_records_newest_first_with_totals_over_all(app, client, actors):
    tree = actors.tree()
    person, _ = _volunteer_in(client, actors, tree["room_a"])
    days = [date(2026, 3, 1), date(2026, 5, 1), date(2026, 4, 1)]
    for n, day in enumerate(days):
        _serve(app, person.id, tree["room_a"], n, day, minutes=40 * 60, points=100)
    first = client.get(f"{API}/me/service-records?limit=2", headers=person.headers).get_json()
    assert [item["date"] for item in first["items"]] == ["2026-05-01", "2026-04-01"]
    item = first["items"][0]
    assert {k: item[k] for k in ("activity_id", "title", "org_name", "minutes", "points")} == {
        "activity_id": 101, "title": "活动1", "org_name": "花园社区社工室", "minutes": 2400, "points": 100}
    assert first["totals"] == {"records": 3, "minutes": 7200, "hours": 120.0, "points": 300, "star": 1}
    rest = client.get(f"{API}/me/service-records?limit=2&cursor={first['next']}",
                      headers=person.headers).get_json()
    assert [item["date"] for item in rest["items"]] == ["2026-03-01"] and rest["next"] is None
    assert rest["totals"] == first["totals"]


def test_service_records_of_someone_without_any(client, actors):
    body = client.get(f"{API}/me/service-records", headers=actors.resident().headers).get_json()
    assert body == {"items": [], "next": None,
                    "totals": {"records": 0, "minutes": 0, "hours": 0.0, "points": 0, "star": 0}}


def test_service_records_bad_paging(client, actors):
    person = actors.resident()
    for query in ["limit=0", "limit=101", "cursor=garbage!!", "cursor=WyJ4IiwgMV0"]:
        assert_error(client.get(f"{API}/me/service-records?{query}", headers=person.headers),
                     422, "VALIDATION_ERROR")


# --- certificates -------------------------------------------------------------------------------

def test_certificate_is_stable_until_the_totals_change_and_verifiable(app, client, actors):
    tree = actors.tree()
    person, profile = _volunteer_in(client, actors, tree["room_a"])
    _serve(app, person.id, tree["room_a"], 1, date(2026, 6, 1))
    first = client.get(f"{API}/me/service-records/certificate", headers=person.headers)
    assert first.status_code == 200
    certificate = first.get_json()
    assert len(certificate["code"]) >= 16 and certificate["minutes"] == 120
    assert certificate["volunteer_no"] == profile["volunteer_no"]
    again = client.get(f"{API}/me/service-records/certificate", headers=person.headers).get_json()
    assert again["code"] == certificate["code"]
    public = client.get(f"{API}/certificates/{certificate['code']}").get_json()
    assert public["real_name"] == "刘*远" and public["minutes"] == 120
    _serve(app, person.id, tree["room_a"], 2, date(2026, 6, 2))
    newer = client.get(f"{API}/me/service-records/certificate", headers=person.headers).get_json()
    assert newer["code"] != certificate["code"] and newer["minutes"] == 240
    # The old certificate still verifies, with what it said when issued.
    assert client.get(f"{API}/certificates/{certificate['code']}").get_json()["minutes"] == 120


def test_certificate_errors(client, actors):
    assert_error(client.get(f"{API}/me/service-records/certificate", headers=actors.resident().headers),
                 404, "NOT_FOUND")
    assert_error(client.get(f"{API}/certificates/not-a-real-code"), 404, "NOT_FOUND")


def test_staff_see_a_volunteers_records_in_scope_only(app, client, actors):
    tree = actors.tree()
    person, profile = _volunteer_in(client, actors, tree["room_a"])
    _serve(app, person.id, tree["room_a"], 1, date(2026, 6, 1))
    url = f"{API}/volunteers/{profile['id']}/service-records"
    seen = client.get(url, headers=actors.staff(tree["station"], "worker").headers).get_json()
    assert seen == client.get(f"{API}/me/service-records", headers=person.headers).get_json()
    assert seen["totals"]["minutes"] == 120
    assert_error(client.get(url, headers=actors.staff(tree["room_b"]).headers), 403, "FORBIDDEN")
    assert_error(client.get(url, headers=person.headers), 403, "FORBIDDEN")
    assert_error(client.get(f"{API}/volunteers/99999/service-records",
                            headers=actors.staff(tree["city"]).headers), 404, "NOT_FOUND")
