"""The served OpenAPI document tells the truth: security, errors, summaries, examples."""
import importlib.util
from pathlib import Path

import pytest

from api import examples
from api.openapi import code_table, errors_doc, meaning_of, split_docstring, status_of
from tests.activity_support import frozen, make_activity  # noqa: F401
from tests.benefit_support import give_points, make_benefit
from tests.support import API

ROOT = Path(__file__).resolve().parents[2]


def load_audit():
    spec = importlib.util.spec_from_file_location("openapi_audit", ROOT / "bench" / "openapi_audit.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def spec(client):
    return client.get(f"{API}/openapi.json").get_json()


def test_the_audit_counts_nothing_wrong(app, actors):
    audit = load_audit()
    found = audit.audit(app, token=actors.resident().token)
    assert {check: items for check, items in found.items() if items} == {}
    assert len(found) == 8  # every check ran


def test_the_audit_notices_what_is_missing(app, actors, spec, monkeypatch):
    """The counting itself works: a document stripped of what matters fails every check."""
    audit = load_audit()
    broken = {"paths": {}, "components": {"schemas": {"Thing": {"properties": {"x": {}}}}}}
    operation = spec["paths"][f"{API}/me/points"]["get"]
    broken["paths"][f"{API}/me/points"] = {"get": {
        "responses": {"200": operation["responses"]["200"],
                      "404": {"description": "x", "content": {"application/json": {"schema": {}}}}}}}
    broken["paths"][f"{API}/activities"] = {"get": {"summary": "x", "responses": {"200": {}}}}

    class Client:
        def __init__(self, real):
            self.real = real

        def get(self, url, **kwargs):
            if url.endswith("/openapi.json"):
                return FakeResponse(broken)
            return self.real.get(url, **kwargs)

        def __getattr__(self, name):
            return getattr(self.real, name)

    class FakeResponse:
        def __init__(self, body):
            self.body = body

        def get_json(self):
            return self.body

    real_client = app.test_client
    monkeypatch.setattr(app, "test_client", lambda: Client(real_client()))
    found = audit.audit(app, token=actors.resident().token)
    assert found["operations without a summary"] == [f"GET {API}/me/points"]
    assert found["operations without security that need a token"] == [f"GET {API}/me/points"]
    assert found["operations that read a token without declaring security"] == [
        f"GET {API}/me/points", f"GET {API}/activities"]
    assert found["operations without a documented error status"] == [f"GET {API}/activities"]
    assert found["error responses whose schema is not the envelope"] == [f"GET {API}/me/points 404"]
    assert found["properties without a type"] == ["Thing.x"]
    assert f"GET {API}/me/points with no token: 401 UNAUTHENTICATED" in \
        found["probe errors the operation does not document"]


def test_every_error_code_has_a_status_and_a_meaning():
    assert meaning_of("OUT_OF_STOCK") == "福利已兑完"
    assert "| 409 | `OUT_OF_STOCK` | 福利已兑完 |" in code_table()
    assert "| 405 | `METHOD_NOT_ALLOWED` |" in code_table()
    assert status_of("OUT_OF_STOCK") == 409 and status_of("INTERNAL_ERROR") == 500
    with pytest.raises(KeyError):
        errors_doc("NO_SUCH_CODE")


def test_errors_are_the_envelope(spec):
    envelope = spec["components"]["schemas"]["ErrorEnvelope"]
    assert envelope["properties"]["error"]["allOf"] == [{"$ref": "#/components/schemas/ErrorBody"}]
    assert set(spec["components"]["schemas"]["ErrorBody"]["properties"]) == {"code", "message", "details"}
    assert "Error" not in spec["components"]["schemas"]  # flask-smorest's own, unused
    for method, path, operation in all_operations(spec):
        assert "default" not in operation["responses"], (method, path)


def test_security_follows_the_token_decorators(spec):
    paths = spec["paths"]
    bearer = [{"bearerAuth": []}]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert paths[f"{API}/me"]["get"]["security"] == bearer  # login_required
    assert paths[f"{API}/checkins"]["post"]["security"] == bearer  # token_required
    assert paths[f"{API}/activities"]["get"]["security"] == [{}, {"bearerAuth": []}]  # optional
    assert "security" not in paths[f"{API}/orgs"]["get"]
    assert "security" not in paths[f"{API}/auth/refresh"]["post"]  # a refresh token in the body
    protected = [op for _, _, op in all_operations(spec) if op.get("security") == bearer]
    assert len(protected) > 50


def test_each_error_status_lists_its_codes(spec):
    redeem = spec["paths"][f"{API}/benefits/{{benefit_id}}/redemptions"]["post"]["responses"]
    assert redeem["409"]["x-error-codes"] == ["BENEFIT_UNAVAILABLE", "OUT_OF_STOCK", "LIMIT_REACHED",
                                              "INSUFFICIENT_POINTS", "IDEMPOTENCY_CONFLICT"]
    assert redeem["403"]["x-error-codes"] == ["NOT_ELIGIBLE"]
    assert redeem["401"]["x-error-codes"] == ["UNAUTHENTICATED"]
    assert redeem["404"]["x-error-codes"] == ["NOT_FOUND"]  # the benefit id in the path
    assert redeem["422"]["x-error-codes"] == ["VALIDATION_ERROR"]  # the Idempotency-Key header
    assert redeem["400"]["x-error-codes"] == ["BAD_REQUEST"]
    assert redeem["500"]["x-error-codes"] == ["INTERNAL_ERROR"]
    assert "429" not in redeem
    out_of_stock = redeem["409"]["content"]["application/json"]["examples"]["OUT_OF_STOCK"]["value"]
    assert out_of_stock["error"]["code"] == "OUT_OF_STOCK" and out_of_stock["error"]["message"] == "福利已兑完"
    assert "`OUT_OF_STOCK`：福利已兑完" in redeem["409"]["description"]

    checkin = spec["paths"][f"{API}/checkins"]["post"]["responses"]
    assert checkin["429"]["x-error-codes"] == ["RATE_LIMITED"]
    assert "Retry-After" in checkin["429"]["headers"]
    assert checkin["410"]["x-error-codes"] == ["CODE_EXPIRED"]
    assert checkin["403"]["x-error-codes"] == ["OUT_OF_AREA", "NOT_REGISTERED"]
    assert "404" not in checkin  # no id in the path, and the service answers CODE_INVALID instead

    login = spec["paths"][f"{API}/auth/login"]["post"]["responses"]
    assert login["401"]["x-error-codes"] == ["BAD_CREDENTIALS"]
    assert "429" in login  # Flask-Limiter's decorator
    staff_only = spec["paths"][f"{API}/activities/{{activity_id}}/attendance"]["get"]["responses"]
    assert staff_only["403"]["x-error-codes"] == ["FORBIDDEN"]  # load(..., action="operate")
    assert "422" not in staff_only  # neither a body nor a query


def test_summary_is_the_docstring_first_line(spec):
    register = spec["paths"][f"{API}/activities/{{activity_id}}/registrations"]["post"]
    assert register["summary"] == "Register for an activity, or (staff, with user_id) enrol someone"
    assert register["description"].startswith("A full role puts the caller on its waitlist")
    suspend = spec["paths"][f"{API}/volunteers/{{profile_id}}/suspend"]["post"]
    assert suspend["summary"] == "Staff: suspend a volunteer"  # a docstring set after decoration
    assert split_docstring("One line.") == ("One line", "")
    operation_ids = [op["operationId"] for _, _, op in all_operations(spec)]
    assert len(operation_ids) == len(set(operation_ids))


def test_every_property_of_the_main_calls_is_described(spec):
    schemas = spec["components"]["schemas"]
    for name in ("LoginIn", "WechatLoginIn", "TokenPairOut", "UserOut", "ActivityOut", "RegistrationIn",
                 "RegistrationOut", "CheckinIn", "CheckinOut", "PointsOut", "EntryOut", "BenefitOut",
                 "RedemptionOut", "VolunteerIn", "VolunteerOut", "ServiceRecordOut", "ErrorBody", "EnumsOut"):
        undescribed = [prop for prop, schema in schemas[name]["properties"].items()
                       if not schema.get("description")]
        assert undescribed == [], name


def shape_mismatches(example, real, where="") -> list[str]:
    """Where an example differs in shape from a real answer: keys, and JSON types (null fits any)."""
    if example is None or real is None:
        return []
    if isinstance(example, dict) and isinstance(real, dict):
        problems = [f"{where}: keys {sorted(set(example) ^ set(real))}"] if set(example) != set(real) else []
        for key in set(example) & set(real):
            problems += shape_mismatches(example[key], real[key], f"{where}.{key}")
        return problems
    if isinstance(example, list) and isinstance(real, list):
        return shape_mismatches(example[0], real[0], f"{where}[]") if example and real else []
    numbers = (int, float)
    same = (type(example) is type(real) or (isinstance(example, numbers) and isinstance(real, numbers)
                                            and not isinstance(example, bool) and not isinstance(real, bool)))
    return [] if same else [f"{where}: {type(example).__name__} vs {type(real).__name__}"]


def all_operations(spec):
    methods = {"get", "put", "post", "patch", "delete"}
    return [(method, path, operation) for path, item in spec["paths"].items()
            for method, operation in item.items() if method in methods]


def served_example(spec, path, method, status=None):
    operation = spec["paths"][f"{API}{path}"][method]
    if status is None:
        return operation["requestBody"]["content"]["application/json"]["example"]
    return operation["responses"][str(status)]["content"]["application/json"]["example"]


def test_examples_have_the_shape_of_real_answers(app, client, actors, spec, frozen):  # noqa: F811
    tree = actors.tree()
    staff = actors.staff(tree["room_a"], "admin", password="password-123")
    login_body = dict(served_example(spec, "/auth/login", "post"), phone=staff.phone, password="password-123")
    assert set(login_body) == set(examples.STAFF_LOGIN_IN)
    login = client.post(f"{API}/auth/login", json=login_body)
    assert login.status_code == 200, login.get_json()
    assert shape_mismatches(served_example(spec, "/auth/login", "post", 200), login.get_json()) == []
    wechat = client.post(f"{API}/auth/wechat", json={"code": "ok:openapi-example"})
    assert wechat.status_code == 200
    assert shape_mismatches(served_example(spec, "/auth/wechat", "post", 200), wechat.get_json()) == []

    activity = make_activity(client, staff, tree["room_a"], frozen.current)
    listed = client.get(f"{API}/activities?limit=1")
    assert shape_mismatches(served_example(spec, "/activities", "get", 200), listed.get_json()) == []
    assert listed.get_json()["items"][0]["id"] == activity["id"]

    volunteer = actors.resident(volunteer=True, home_org_id=tree["room_a"])
    url = f"/activities/{activity['id']}/registrations"
    registered = client.post(f"{API}{url}", json=served_example(spec, "/activities/{activity_id}/registrations",
                                                                 "post"), headers=volunteer.headers)
    assert registered.status_code == 201, registered.get_json()
    assert shape_mismatches(served_example(spec, "/activities/{activity_id}/registrations", "post", 201),
                            registered.get_json()) == []

    code = client.get(f"{API}/activities/{activity['id']}/checkin-code", headers=staff.headers).get_json()
    checkin_body = dict(served_example(spec, "/checkins", "post"), code=code["code"])
    checked = client.post(f"{API}/checkins", json=checkin_body, headers=volunteer.headers)
    assert checked.status_code == 200, checked.get_json()
    assert shape_mismatches(served_example(spec, "/checkins", "post", 200), checked.get_json()) == []

    give_points(app, volunteer.id, tree["room_a"], 50)
    points = client.get(f"{API}/me/points", headers=volunteer.headers)
    assert shape_mismatches(served_example(spec, "/me/points", "get", 200), points.get_json()) == []

    benefit = make_benefit(client, staff, tree["room_a"])
    redeemed = client.post(f"{API}/benefits/{benefit['id']}/redemptions", headers=volunteer.headers)
    assert redeemed.status_code == 201, redeemed.get_json()
    assert shape_mismatches(served_example(spec, "/benefits/{benefit_id}/redemptions", "post", 201),
                            redeemed.get_json()) == []


def test_the_shape_check_sees_a_difference():
    assert shape_mismatches({"a": 1, "b": None}, {"a": 2.5, "b": "x"}) == []
    assert shape_mismatches({"a": 1}, {"a": "1"}) == [".a: int vs str"]
    assert shape_mismatches({"a": [{"x": 1}]}, {"a": [{"y": 1}]}) == [".a[]: keys ['x', 'y']"]
    assert shape_mismatches({"a": True}, {"a": 1}) == [".a: bool vs int"]
