"""Every error the app can produce leaves in the API's envelope, never as a 500."""
import pytest

from tests.support import API, assert_error


def test_unknown_path_is_404(client):
    assert_error(client.get(f"{API}/no-such-thing"), 404, "NOT_FOUND")
    assert_error(client.get("/nowhere"), 404, "NOT_FOUND")


def test_wrong_method_is_405_with_allow(client):
    response = client.delete(f"{API}/orgs")
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in response.headers["Allow"]


@pytest.mark.parametrize("data,content_type", [
    ("{not json", "application/json"),
    ("[1, 2]", "application/json"),
    ('"a string"', "application/json"),
    ("null", "application/json"),
    ("\xff\xfe", "application/json"),
    ("phone=1", "application/x-www-form-urlencoded"),
    ('{"phone": "1"}', "text/plain"),
])
def test_body_that_is_not_a_json_object_is_400(client, data, content_type):
    response = client.post(f"{API}/auth/login", data=data, content_type=content_type)
    assert_error(response, 400, "BAD_REQUEST")


def test_huge_body_is_413(client):
    body = '{"phone": "' + "1" * (1024 * 1024 + 10) + '"}'
    assert_error(client.post(f"{API}/auth/login", data=body, content_type="application/json"),
                 413, "PAYLOAD_TOO_LARGE")


def test_missing_and_wrong_typed_fields_are_422_with_details(client):
    error = assert_error(client.post(f"{API}/auth/login", json={}), 422, "VALIDATION_ERROR")
    assert set(error["details"]) == {"phone", "password"}
    error = assert_error(client.post(f"{API}/auth/login", json={"phone": 138, "password": ["x"]}),
                         422, "VALIDATION_ERROR")
    assert set(error["details"]) == {"phone", "password"}


def test_empty_body_counts_as_empty_object(client):
    error = assert_error(client.post(f"{API}/auth/login"), 422, "VALIDATION_ERROR")
    assert "phone" in error["details"]


def test_chinese_is_returned_as_is(client):
    response = client.post(f"{API}/auth/login", json={"phone": "13100000000", "password": "x"})
    assert "手机号或密码错误" in response.get_data(as_text=True)


def test_unexpected_exception_is_500_envelope_with_request_id(app, client, monkeypatch):
    from people import accounts

    def explode(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(accounts, "login_with_password", explode)
    app.config["TEST_SHOW_500"] = True
    try:
        response = client.post(f"{API}/auth/login", json={"phone": "13100000000", "password": "x"},
                               headers={"X-Request-ID": "req-123"})
    finally:
        app.config["TEST_SHOW_500"] = False
    error = assert_error(response, 500, "INTERNAL_ERROR")
    assert error["details"] == {"request_id": "req-123"}
    assert "boom" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_in_tests_unexpected_exceptions_reraise(client, monkeypatch):
    from people import accounts

    def explode(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(accounts, "login_with_password", explode)
    with pytest.raises(RuntimeError):
        client.post(f"{API}/auth/login", json={"phone": "13100000000", "password": "x"})


def test_openapi_lists_the_auth_and_org_paths(client):
    spec = client.get(f"{API}/openapi.json").get_json()
    for path in ["/api/v1/auth/login", "/api/v1/auth/wechat", "/api/v1/auth/dev",
                 "/api/v1/auth/refresh", "/api/v1/me", "/api/v1/orgs", "/api/v1/orgs/{org_id}",
                 "/api/v1/orgs/{org_id}/staff"]:
        assert path in spec["paths"], path


def test_ids_past_the_columns_range_are_not_found_or_invalid(client, actors):
    """Found by fuzzing: a 30-digit id overflowed the database driver (a 500)."""
    tree = actors.tree()
    admin = actors.staff(tree["city"])
    huge = "7819225409452149059207823360"
    assert_error(client.get(f"{API}/orgs/{huge}"), 404, "NOT_FOUND")
    assert_error(client.get(f"{API}/orgs/{2**31}"), 404, "NOT_FOUND")
    assert_error(client.post(f"{API}/activities/{huge}/scan", json={"code": "x"}, headers=admin.headers),
                 404, "NOT_FOUND")
    error = assert_error(client.patch(f"{API}/me", json={"home_org_id": int(huge)}, headers=admin.headers),
                         422, "VALIDATION_ERROR")
    assert "home_org_id" in error["details"]
    error = assert_error(client.get(f"{API}/orgs?parent_id={huge}"), 422, "VALIDATION_ERROR")
    assert "parent_id" in error["details"]
    error = assert_error(client.post(f"{API}/orgs", json={"name": "x", "kind": "district",
                                                          "parent_id": 2**31}, headers=admin.headers),
                         422, "VALIDATION_ERROR")
    assert "parent_id" in error["details"]
