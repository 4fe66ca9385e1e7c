"""Every message a person can see is Chinese: validation messages included."""
import pytest
from marshmallow import Schema, class_registry, fields, validate

from api.schemas.messages import FIELD_MESSAGES
from tests.support import API, assert_error


def chinese(text) -> bool:
    return isinstance(text, str) and any("\u4e00" <= ch <= "\u9fff" for ch in text)


def validator_texts(validator) -> list[str]:
    if getattr(validator, "error", None):
        return [validator.error]
    return [getattr(validator, name) for name in ("message_min", "message_max", "message_all", "message_equal")
            if hasattr(validator, name)]


def field_problems(field, where) -> list[str]:
    problems = [f"{where}: {key} = {text!r}" for key, text in field.error_messages.items() if not chinese(text)]
    for validator in field.validators:
        if isinstance(validator, validate.Validator):
            problems += [f"{where}: {type(validator).__name__} {text!r}" for text in validator_texts(validator)
                         if not chinese(text)]
    if isinstance(field, fields.Nested) and isinstance(field.schema, Schema):
        problems += schema_problems(field.schema, where)
    if isinstance(field, fields.List):
        problems += field_problems(field.inner, f"{where}[]")
    return problems


def schema_problems(schema: Schema, where: str) -> list[str]:
    problems = [f"{where}: schema {key} = {text!r}" for key, text in schema.error_messages.items()
                if not chinese(text)]
    for name, field in schema.fields.items():
        problems += field_problems(field, f"{where}.{name}")
    return problems


def api_schemas():
    classes = {cls for found in class_registry._registry.values() for cls in found}
    return sorted((cls for cls in classes if cls.__module__.startswith("api.")), key=lambda c: c.__name__)


def test_every_message_of_every_schema_is_chinese(app):
    schemas = api_schemas()
    assert len(schemas) > 60  # the registry holds the app's schemas
    problems = [problem for cls in schemas for problem in schema_problems(cls(), cls.__name__)]
    assert problems == []


def test_every_field_class_with_messages_is_covered():
    """A marshmallow field class with messages of its own has them in Chinese."""
    missing = []
    for name in dir(fields):
        cls = getattr(fields, name)
        if isinstance(cls, type) and issubclass(cls, fields.Field) and not name.startswith("_"):
            own = cls.__dict__.get("default_error_messages", {})
            missing += [f"{name}.{key}" for key, text in own.items() if not chinese(text)]
    assert missing == []
    assert fields.Integer in FIELD_MESSAGES


def texts(value):
    if isinstance(value, dict):
        return [text for inner in value.values() for text in texts(inner)]
    if isinstance(value, list):
        return [text for inner in value for text in texts(inner)]
    return [value]


def details(response):
    error = assert_error(response, 422, "VALIDATION_ERROR")
    assert error["message"] == "请求参数有误"
    assert [text for text in texts(error["details"]) if not chinese(text)] == []
    return error["details"]


def test_required_null_type_length_unknown(client):
    assert details(client.post(f"{API}/auth/login", json={})) == {
        "phone": ["缺少必填字段"], "password": ["缺少必填字段"]}
    assert details(client.post(f"{API}/auth/login", json={"phone": None, "password": "x"})) == {
        "phone": ["不能为 null"]}
    assert details(client.post(f"{API}/auth/login", json={"phone": 5, "password": ""})) == {
        "phone": ["需要字符串"], "password": ["长度须在 1 到 128 之间"]}
    assert details(client.post(f"{API}/auth/login", json={"phone": "1", "password": "x", "pin": 1})) == {
        "pin": ["未知字段"]}


def test_range_oneof_and_query_types(client):
    assert details(client.get(f"{API}/activities?limit=0")) == {"limit": ["须大于等于 1 且小于等于 100"]}
    assert details(client.get(f"{API}/activities?limit=x")) == {"limit": ["需要整数"]}
    domain = details(client.get(f"{API}/activities?domain=x"))["domain"]
    assert domain == ["须为以下之一：party_building, social_assistance, child_welfare, community_governance, "
                      "elderly_care, specialty"]


def test_nested_list_boolean_date_integer(client, actors):
    resident = actors.resident()
    body = {"real_name": "刘思远", "phone": "13912345678", "consent": "yes", "skills": "理发"}
    assert details(client.post(f"{API}/me/volunteer", json=body, headers=resident.headers)) == {
        "consent": {"_schema": ["类型错误：需要 JSON 对象"]}, "skills": ["需要数组"]}
    assert details(client.patch(f"{API}/me", json={"home_org_id": "3"}, headers=resident.headers)) == {
        "home_org_id": ["需要整数"]}
    days = {"days": [{"day": "十月一日", "is_workday": "yes", "name": "国庆节"}]}
    assert details(client.put(f"{API}/calendar/2026", json=days, headers=resident.headers)) == {
        "days": {"0": {"day": ["不是有效的日期（YYYY-MM-DD）"], "is_workday": ["需要 true 或 false"]}}}


def test_url_and_regexp(client, actors):
    tree = actors.tree()
    staff = actors.staff(tree["room_a"])
    body = {"name": "爱心理发券", "cost": 10, "image_url": "not a url"}
    assert details(client.post(f"{API}/orgs/{tree['room_a']}/benefits", json=body, headers=staff.headers)) == {
        "image_url": ["不是有效的网址"]}
    body = {"phone": "12345", "name": "王", "password": "password-1", "role": "worker"}
    assert details(client.post(f"{API}/orgs/{tree['room_a']}/staff", json=body, headers=staff.headers)) == {
        "phone": ["不是有效的手机号码"]}


@pytest.mark.parametrize("method, path, status, message", [
    ("get", "/api/v1/no-such-thing", 404, "请求的地址不存在"),
    ("delete", "/api/v1/orgs", 405, "不支持该请求方法"),
])
def test_http_errors_are_chinese(client, method, path, status, message):
    response = getattr(client, method)(path)
    assert response.status_code == status
    assert response.get_json()["error"]["message"] == message


def test_a_body_too_large_is_chinese(client):
    response = client.post(f"{API}/auth/login", data=b"{" + b" " * (1024 * 1024 + 1) + b"}",
                           content_type="application/json")
    assert assert_error(response, 413, "PAYLOAD_TOO_LARGE")["message"] == "请求体过大（上限 1 MiB）"


def test_domain_refusals_without_their_own_message_are_chinese(client, actors):
    tree = actors.tree()
    staff = actors.staff(tree["room_a"])
    response = client.get(f"{API}/orgs/{tree['room_a']}/report?from=2026-03-01T00:00:00&to=2026-02-01T00:00:00",
                          headers=staff.headers)
    assert details(response) == {"to": ["须晚于 from"]}
    assert details(client.get(f"{API}/orgs?cursor=bogus")) == {"cursor": ["不是本列表的翻页游标"]}
