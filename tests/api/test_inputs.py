"""No input is a 500: text no column can store, JSON nested without end, instants
at the edge of the calendar, tampered cursors, ids past the columns, oversized
request heads. Each is refused with the envelope, naming what was wrong, and
writes nothing. (NUL is a 500 only on PostgreSQL: run these on both backends.)"""
import base64
import json

import pytest
import sqlalchemy as sa

from activities.models import Activity
from core.db import db
from orgs.models import Org
from points.models import Transfer
from tests.benefit_support import give_points, make_benefit, redeem
from tests.support import API, assert_error
from people.models import User

NUL, SURROGATE = "a\x00b", "\ud800"
TEXT_PROBLEM = "不能含空字符（\\u0000）或不成对的 UTF-16 代理项"

# A fixed, past schedule: creating one is allowed (back-entry of paper records).
ACTIVITY = {"title": "重阳节茶话会", "domain": "elderly_care", "location": "花园社区活动室",
            "starts_at": "2026-05-01T09:00:00+08:00", "ends_at": "2026-05-01T11:00:00+08:00",
            "capacity": 10, "volunteer_slots": 2, "points_per_hour": 10}


@pytest.fixture
def room(actors, client):
    tree = actors.tree()
    return {"tree": tree, "id": tree["room_a"], "admin": actors.staff(tree["room_a"], "admin"),
            "worker": actors.staff(tree["room_a"], "worker")}


def send(client, method, url, body, headers=None):
    """`body` as JSON the way a client would send it: a lone surrogate travels as
    the escape "\\ud800" (the stdlib's ensure_ascii), NUL as "\\u0000"."""
    return client.open(url, method=method, data=json.dumps(body), content_type="application/json",
                       headers=headers or {})


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# -- text: NUL and lone surrogates, anywhere, refused once for every field ---------------------

def _bodies(room, people):
    """(method, url, body, who, field path in details, model that must stay untouched)."""
    worker, admin = room["worker"], room["admin"]
    return {
        "activity title": ("POST", f"{API}/orgs/{room['id']}/activities",
                           lambda bad: {**ACTIVITY, "title": bad}, worker, ["title"], Activity),
        "org name": ("POST", f"{API}/orgs", lambda bad: {"name": bad, "kind": "room",
                                                        "parent_id": room["tree"]["station"]},
                     admin, ["name"], Org),
        "benefit sponsor name (nested)": (
            "POST", f"{API}/orgs/{room['id']}/benefits",
            lambda bad: {"name": "理发券", "cost": 1, "sponsor": {"name": bad, "kind": "merchant"}},
            worker, ["sponsor", "name"], None),
        "nickname": ("PATCH", f"{API}/me", lambda bad: {"nickname": bad}, people["resident"],
                     ["nickname"], None),
        "phone at login": ("POST", f"{API}/auth/login", lambda bad: {"phone": bad, "password": "x"},
                           None, ["phone"], None),
        "password at login": ("POST", f"{API}/auth/login",
                              lambda bad: {"phone": "13800000000", "password": bad}, None,
                              ["password"], None),
        "pickup code": ("POST", f"{API}/redemptions/fulfil", lambda bad: {"code": bad}, worker,
                        ["code"], None),
        "adjustment reason": ("POST", f"{API}/points/adjustments",
                              lambda bad: {"user_id": people["resident"].id, "amount": 5, "reason": bad,
                                           "idempotency_key": "k"}, admin, ["reason"], Transfer),
        "volunteer skill (in a list)": (
            "POST", f"{API}/me/volunteer",
            lambda bad: {"real_name": "张三", "phone": "13912345678", "skills": ["理发", bad]},
            people["resident"], ["skills", "1"], None),
        "a key, not a value": ("POST", f"{API}/orgs/{room['id']}/activities",
                               lambda bad: {**ACTIVITY, bad: 1}, worker, None, Activity),
    }


CASES = ["activity title", "org name", "benefit sponsor name (nested)", "nickname", "phone at login",
         "password at login", "pickup code", "adjustment reason", "volunteer skill (in a list)",
         "a key, not a value"]


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["NUL", "lone surrogate"])
@pytest.mark.parametrize("case", CASES)
def test_unstorable_text_in_a_body_is_422_naming_the_field(app, client, actors, room, case, bad):
    people = {"resident": actors.resident()}
    method, url, make_body, who, path, model = _bodies(room, people)[case]
    before = count(app, model) if model else None
    response = send(client, method, url, make_body(bad), who.headers if who else {})
    error = assert_error(response, 422, "VALIDATION_ERROR")
    if path is None:  # the key itself is named, escaped so the answer is valid UTF-8 JSON
        escaped = bad.encode("utf-8", "backslashreplace").decode().replace("\x00", "\\x00")
        assert error["details"][escaped] == [TEXT_PROBLEM]
    else:
        node = error["details"]
        for key in path:
            node = node[key]
        assert node == [TEXT_PROBLEM]
    if model:
        assert count(app, model) == before


@pytest.mark.parametrize("query,field", [
    ("status=a%00b", "status"),
    ("from=2026-05-01T09:00:00%00", "from"),
    ("cursor=a%00b", "cursor"),
    ("limit=1%00", "limit"),
    ("a%00b=1", "a\\x00b"),  # even an argument the endpoint does not read
])
def test_nul_in_a_query_string_is_422_naming_the_argument(client, query, field):
    error = assert_error(client.get(f"{API}/activities?{query}"), 422, "VALIDATION_ERROR")
    assert error["details"][field] == [TEXT_PROBLEM]


def test_nul_in_a_path_segment_is_not_found(client):
    assert_error(client.get(f"{API}/certificates/AB%00CD"), 404, "NOT_FOUND")


def test_nul_in_a_header_is_400(client, actors, room):
    benefit = make_benefit(client, room["worker"], room["id"])
    resident = actors.resident()
    for headers in ({"Idempotency-Key": "k\x00"}, {"User-Agent": "phone\x00"}):
        response = client.post(f"{API}/benefits/{benefit['id']}/redemptions",
                               headers={**resident.headers, **headers})
        assert_error(response, 400, "BAD_REQUEST")


def test_text_is_checked_after_authentication_and_permission(client, actors, room):
    """API.md's order holds: 401, 404 and 403 come before the 422 for bad text."""
    url = f"{API}/orgs/{room['id']}/activities"
    assert_error(send(client, "POST", url, {**ACTIVITY, "title": NUL}), 401, "UNAUTHENTICATED")
    assert_error(send(client, "POST", f"{API}/orgs/999999/activities", {**ACTIVITY, "title": NUL},
                      room["worker"].headers), 404, "NOT_FOUND")
    other = actors.staff(room["tree"]["room_b"], "worker")
    assert_error(send(client, "POST", url, {**ACTIVITY, "title": NUL}, other.headers), 403, "FORBIDDEN")


def test_ordinary_text_still_goes_through(client, room):
    """Emoji (a surrogate *pair* in JSON), Chinese, tabs and newlines are text."""
    body = {**ACTIVITY, "title": "重阳节 \U0001F375 茶话会", "description": "第一行\n第二行\t完"}
    response = client.post(f"{API}/orgs/{room['id']}/activities", data=json.dumps(body),
                           content_type="application/json", headers=room["worker"].headers)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["title"] == "重阳节 \U0001F375 茶话会"


# -- JSON bounded in depth ---------------------------------------------------------------------

@pytest.mark.parametrize("data", [
    "[" * 10_000 + "]" * 10_000,
    '{"a":' * 10_000 + "1" + "}" * 10_000,
    '{"title":' + "[" * 10_000 + "]" * 10_000 + "}",
    '{"a":' * 33 + "1" + "}" * 33,
    '{"title": NaN}',
    '{"title": Infinity}',
])
def test_json_nested_too_deep_or_not_json_is_400(client, room, data):
    response = client.post(f"{API}/orgs/{room['id']}/activities", data=data,
                           content_type="application/json", headers=room["worker"].headers)
    assert_error(response, 400, "BAD_REQUEST")


def test_json_of_ordinary_depth_is_parsed(client, room):
    """32 levels is the limit; below it the schema answers (here: unknown field)."""
    data = '{"a":' * 31 + "1" + "}" * 31
    response = client.post(f"{API}/orgs/{room['id']}/activities", data=data,
                           content_type="application/json", headers=room["worker"].headers)
    assert "a" in assert_error(response, 422, "VALIDATION_ERROR")["details"]


# -- instants: 2000-2100, a time of day, a sane schedule ---------------------------------------

@pytest.mark.parametrize("starts_at", [
    "0001-01-01T00:00:00+14:00",  # overflowed converting to UTC
    "9999-12-31T23:59:59-14:00",
    "0149-05-01T09:00:00+08:00",
    "1999-12-31T23:59:59+08:00",
    "2101-01-01T00:00:00+08:00",
    "2026-05-01",  # a date alone would silently mean midnight
    "20260501",
])
def test_activity_start_out_of_range_or_without_a_time_is_422(app, client, room, starts_at):
    body = {**ACTIVITY, "starts_at": starts_at}
    error = assert_error(client.post(f"{API}/orgs/{room['id']}/activities", json=body,
                                     headers=room["worker"].headers), 422, "VALIDATION_ERROR")
    assert "starts_at" in error["details"]
    assert count(app, Activity) == 0


@pytest.mark.parametrize("ends_at", [
    "2026-05-01T09:00:00+08:00",  # == starts_at
    "2026-05-01T01:00:00Z",  # the same instant in another offset
    "2026-05-01T08:59:59+08:00",
    "2036-05-01T09:00:00+08:00",  # ten years
    "2027-05-03T09:00:00+08:00",  # 367 days
])
def test_activity_that_does_not_end_after_its_start_or_lasts_over_a_year_is_422(app, client, room, ends_at):
    body = {**ACTIVITY, "ends_at": ends_at}
    error = assert_error(client.post(f"{API}/orgs/{room['id']}/activities", json=body,
                                     headers=room["worker"].headers), 422, "VALIDATION_ERROR")
    assert "ends_at" in error["details"]
    assert count(app, Activity) == 0


@pytest.mark.parametrize("ends_at", ["2026-05-04T17:00:00+08:00", "2027-05-02T09:00:00+08:00"])
def test_multi_day_activities_up_to_a_year_are_fine(client, room, ends_at):
    body = {**ACTIVITY, "ends_at": ends_at}
    response = client.post(f"{API}/orgs/{room['id']}/activities", json=body, headers=room["worker"].headers)
    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize("query,field", [
    ("from=9999-12-31T23:59:59-14:00", "from"),
    ("from=0001-01-01T00:00:00%2B14:00", "from"),
    ("to=9999-12-31T23:59:59-14:00", "to"),
    ("from=2026-05-01", "from"),
])
def test_activity_filters_out_of_range_are_422(client, query, field):
    error = assert_error(client.get(f"{API}/activities?{query}"), 422, "VALIDATION_ERROR")
    assert field in error["details"]


@pytest.mark.parametrize("path", ["report", "points/summary"])
@pytest.mark.parametrize("query,field", [
    ("from=0001-01-01T00:00:00%2B14:00", "from"),
    ("from=2026-01-01T00:00:00Z&to=9999-12-31T23:59:59-14:00", "to"),
])
def test_period_queries_out_of_range_are_422(client, room, path, query, field):
    response = client.get(f"{API}/orgs/{room['id']}/{path}?{query}", headers=room["worker"].headers)
    assert field in assert_error(response, 422, "VALIDATION_ERROR")["details"]


def test_benefit_window_out_of_range_is_422(client, room):
    body = {"name": "理发券", "cost": 1, "available_until": "9999-12-31T23:59:59-14:00"}
    response = client.post(f"{API}/orgs/{room['id']}/benefits", json=body, headers=room["worker"].headers)
    assert "available_until" in assert_error(response, 422, "VALIDATION_ERROR")["details"]


def test_offline_scan_time_out_of_range_is_422_naming_the_scan(client, room):
    activity = client.post(f"{API}/orgs/{room['id']}/activities", json=ACTIVITY,
                           headers=room["worker"].headers).get_json()
    body = {"scans": [{"client_ref": "1", "scanned_at": "0001-01-01T00:00:00+14:00", "registration_id": 1}]}
    response = client.post(f"{API}/activities/{activity['id']}/scans/offline", json=body,
                           headers=room["worker"].headers)
    error = assert_error(response, 422, "VALIDATION_ERROR")
    assert "scanned_at" in error["details"]["scans"]["0"]


# -- cursors are input too ---------------------------------------------------------------------

def _cursor(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize("values", [
    ["9999-12-31T23:59:59-14:00", 1],
    ["0001-01-01T00:00:00+14:00", 1],
    ["2026-05-01T09:00:00", 1],  # no offset
    ["2026-05-01T09:00:00+08:00", 10**30],
    ["2026-05-01T09:00:00+08:00", 2**31],
])
def test_a_tampered_activity_cursor_is_422(client, values):
    error = assert_error(client.get(f"{API}/activities?cursor={_cursor(values)}"), 422, "VALIDATION_ERROR")
    assert "cursor" in error["details"]


def test_a_cursor_nested_without_end_is_422(client):
    cursor = base64.urlsafe_b64encode(("[" * 1400 + "]" * 1400).encode()).decode()  # within 4 KiB
    assert "cursor" in assert_error(client.get(f"{API}/activities?cursor={cursor}"), 422,
                                    "VALIDATION_ERROR")["details"]


def test_a_tampered_org_cursor_with_nul_is_422(client):
    assert_error(client.get(f"{API}/orgs?cursor={_cursor(['a' + chr(0)])}"), 422, "VALIDATION_ERROR")


# -- ids past the 32-bit columns ---------------------------------------------------------------

@pytest.mark.parametrize("url,status", [
    (f"{API}/activities?org_id=99999999999999999999", 422),
    (f"{API}/orgs?parent_id=-99999999999", 422),
    (f"{API}/benefits?org_id=2147483648", 422),
    (f"{API}/activities/99999999999999999999", 404),
    (f"{API}/orgs/2147483648", 404),
])
def test_ids_out_of_range_are_404_or_422(client, url, status):
    assert_error(client.get(url), status, "NOT_FOUND" if status == 404 else "VALIDATION_ERROR")


def test_calendar_year_out_of_range_is_not_a_500(client, room):
    response = client.get(f"{API}/calendar/2147483647", headers=room["worker"].headers)
    assert response.status_code in (404, 422)


# -- the request head --------------------------------------------------------------------------

def test_a_long_url_is_414_in_the_envelope(client):
    assert_error(client.get(f"{API}/activities?x=" + "a" * 5000), 414, "URI_TOO_LONG")


def test_a_long_header_is_431_in_the_envelope(client):
    assert_error(client.get(f"{API}/activities", headers={"X-Note": "a" * 9000}), 431, "HEADERS_TOO_LARGE")


def test_ordinary_urls_and_headers_pass(client):
    response = client.get(f"{API}/activities?x=" + "a" * 3000, headers={"X-Note": "a" * 7000})
    assert response.status_code == 200


# -- PATCH needs a body; blank names are not names ---------------------------------------------

def test_patch_without_a_body_is_400(client, actors, room):
    resident = actors.resident()
    assert_error(client.patch(f"{API}/me", headers=resident.headers), 400, "BAD_REQUEST")
    benefit = make_benefit(client, room["worker"], room["id"])
    assert_error(client.patch(f"{API}/benefits/{benefit['id']}", headers=room["worker"].headers),
                 400, "BAD_REQUEST")
    volunteer = actors.resident(volunteer=True)
    assert_error(client.patch(f"{API}/me/volunteer", headers=volunteer.headers), 400, "BAD_REQUEST")
    # an empty object is an explicit "change nothing"
    assert client.patch(f"{API}/me", json={}, headers=resident.headers).status_code == 200


def test_patch_without_a_body_still_authenticates_first(client):
    assert_error(client.patch(f"{API}/me"), 401, "UNAUTHENTICATED")


@pytest.mark.parametrize("nickname", ["", "   ", "\t\n"])
def test_a_blank_nickname_is_422_not_stored_empty(app, client, actors, nickname):
    resident = actors.resident("openid-blank")
    error = assert_error(client.patch(f"{API}/me", json={"nickname": nickname}, headers=resident.headers),
                         422, "VALIDATION_ERROR")
    assert "nickname" in error["details"]
    assert_error(client.post(f"{API}/auth/dev", json={"openid": "x", "nickname": nickname}),
                 422, "VALIDATION_ERROR")
    with app.app_context():
        assert db.session.get(User, resident.id).nickname == "openid-blank"


def test_a_blank_benefit_name_is_422(client, room):
    benefit = make_benefit(client, room["worker"], room["id"])
    response = client.patch(f"{API}/benefits/{benefit['id']}", json={"name": "  "}, headers=room["worker"].headers)
    assert "name" in assert_error(response, 422, "VALIDATION_ERROR")["details"]
    # a description may be cleared
    cleared = client.patch(f"{API}/benefits/{benefit['id']}", json={"description": ""},
                           headers=room["worker"].headers)
    assert cleared.status_code == 200 and cleared.get_json()["description"] == ""


def test_redeeming_still_works_with_all_this(app, client, actors, room):
    """The body parsed once is the one the schema reads (headers included)."""
    resident = actors.resident(home_org_id=room["id"])
    give_points(app, resident.id, room["id"], 100)
    benefit = make_benefit(client, room["worker"], room["id"])
    first = redeem(client, resident, benefit["id"], key="k-1")
    assert first.status_code == 201
    assert redeem(client, resident, benefit["id"], key="k-1").get_json()["id"] == first.get_json()["id"]
