"""Contract: the Auth section of API.md."""
import jwt
import pytest

from core.keys import derive_key
from tests.support import API, assert_error


def login(client, phone, password="password-123"):
    return client.post(f"{API}/auth/login", json={"phone": phone, "password": password})


def test_staff_login_returns_a_token_pair_and_the_user(client, actors):
    tree = actors.tree()
    admin = actors.staff(tree["room_a"], "admin")
    response = login(client, admin.phone)
    assert response.status_code == 200
    body = response.get_json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 30 * 60
    assert body["user"]["id"] == admin.id
    assert body["user"]["phone"] == admin.phone[:3] + "****" + admin.phone[-4:]
    assert body["user"]["roles"] == [{"org_id": tree["room_a"], "role": "admin"}]
    me = client.get(f"{API}/me", headers={"Authorization": "Bearer " + body["access_token"]})
    assert me.status_code == 200 and me.get_json()["id"] == admin.id


@pytest.mark.parametrize("phone_known", [True, False])
def test_wrong_password_or_unknown_phone_is_bad_credentials(client, actors, phone_known):
    tree = actors.tree()
    admin = actors.staff(tree["city"])
    phone = admin.phone if phone_known else "13111111111"
    assert_error(login(client, phone, "wrong-password"), 401, "BAD_CREDENTIALS")


def test_login_is_rate_limited_per_phone_and_per_ip(app, client, actors, monkeypatch):
    admin = actors.staff(actors.tree()["city"])
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN", "3 per minute")
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN_PHONE", "5 per hour")
    for _ in range(3):
        assert_error(login(client, admin.phone, "nope"), 401, "BAD_CREDENTIALS")
    error = assert_error(login(client, admin.phone), 429, "RATE_LIMITED")
    assert error["message"]
    # The first IP is limited for any phone: one caller cannot spray phones.
    assert_error(login(client, "13122223333", "x"), 429, "RATE_LIMITED")
    # Another IP is not held by the first one's failures (tests/api/test_login_limits.py),
    # but the phone's ceiling counts failures from all of them: it cannot be sprayed from many IPs.
    for _ in range(2):
        assert_error(client.post(f"{API}/auth/login", json={"phone": admin.phone, "password": "x"},
                                 environ_base={"REMOTE_ADDR": "10.9.9.9"}), 401, "BAD_CREDENTIALS")
    assert_error(client.post(f"{API}/auth/login", json={"phone": admin.phone, "password": "x"},
                             environ_base={"REMOTE_ADDR": "10.9.9.10"}), 429, "RATE_LIMITED")


def test_wechat_login_creates_then_finds_the_resident(client, wechat):
    first = client.post(f"{API}/auth/wechat", json={"code": "ok:wx-openid-1"})
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert "session_key" not in first.get_data(as_text=True)
    again = client.post(f"{API}/auth/wechat", json={"code": "union:wx-openid-1"})
    assert again.status_code == 200
    assert again.get_json()["user"]["id"] == body["user"]["id"]
    sent = wechat.requests[-1]
    assert sent["js_code"] == "union:wx-openid-1"
    assert sent["grant_type"] == "authorization_code"
    assert sent["appid"] == wechat.appid


def test_wechat_code_used_twice_is_login_failed(client):
    assert client.post(f"{API}/auth/wechat", json={"code": "ok:wx-2"}).status_code == 200
    assert_error(client.post(f"{API}/auth/wechat", json={"code": "ok:wx-2"}),
                 401, "WECHAT_LOGIN_FAILED")


@pytest.mark.parametrize("code,status,error", [
    ("invalid", 401, "WECHAT_LOGIN_FAILED"),
    ("ratelimit", 503, "WECHAT_UNAVAILABLE"),
    ("busy", 503, "WECHAT_UNAVAILABLE"),
    ("garbage", 503, "WECHAT_UNAVAILABLE"),
])
def test_wechat_errors(client, code, status, error):
    assert_error(client.post(f"{API}/auth/wechat", json={"code": code}), status, error)


def test_wechat_too_slow_is_unavailable(app, client, wechat, monkeypatch):
    # A short wait here only: the fake answers "slow" after wechat.slow_seconds,
    # ten times longer, while every other answer may take a loaded machine's while.
    monkeypatch.setitem(app.config, "WECHAT_TIMEOUT_SECONDS", wechat.slow_seconds / 10)
    assert_error(client.post(f"{API}/auth/wechat", json={"code": "slow"}), 503, "WECHAT_UNAVAILABLE")


def test_wechat_unreachable_is_unavailable(app, client):
    saved = app.config["WECHAT_API_BASE"]
    app.config["WECHAT_API_BASE"] = "http://127.0.0.1:9"  # nothing listens on discard
    try:
        assert_error(client.post(f"{API}/auth/wechat", json={"code": "ok:x"}),
                     503, "WECHAT_UNAVAILABLE")
    finally:
        app.config["WECHAT_API_BASE"] = saved


def test_session_key_is_never_logged(client, caplog):
    caplog.set_level("DEBUG")
    client.post(f"{API}/auth/wechat", json={"code": "ok:wx-log"})
    client.post(f"{API}/auth/wechat", json={"code": "busy"})
    assert "SESSIONKEY" not in caplog.text


def test_dev_login_only_when_enabled(app, client):
    response = client.post(f"{API}/auth/dev", json={"openid": "dev-1", "nickname": "陈阿姨"})
    assert response.status_code == 200
    assert response.get_json()["user"]["nickname"] == "陈阿姨"
    app.config["DEV_LOGIN"] = False
    try:
        assert_error(client.post(f"{API}/auth/dev", json={"openid": "dev-1"}), 404, "NOT_FOUND")
    finally:
        app.config["DEV_LOGIN"] = True


def test_refresh_gives_a_new_pair_and_is_single_use(client):
    pair = client.post(f"{API}/auth/dev", json={"openid": "dev-r"}).get_json()
    fresh = client.post(f"{API}/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert fresh.status_code == 200
    new_pair = fresh.get_json()
    assert new_pair["refresh_token"] != pair["refresh_token"]
    assert new_pair["user"]["id"] == pair["user"]["id"]
    # Reusing the old token fails and revokes the family, so the new one dies too.
    assert_error(client.post(f"{API}/auth/refresh", json={"refresh_token": pair["refresh_token"]}),
                 401, "UNAUTHENTICATED")
    assert_error(client.post(f"{API}/auth/refresh", json={"refresh_token": new_pair["refresh_token"]}),
                 401, "UNAUTHENTICATED")


def test_refresh_rejects_access_tokens_forgeries_and_expired(app, client):
    pair = client.post(f"{API}/auth/dev", json={"openid": "dev-x"}).get_json()
    for token in [pair["access_token"], pair["refresh_token"] + "x", "not-a-jwt"]:
        assert_error(client.post(f"{API}/auth/refresh", json={"refresh_token": token}),
                     401, "UNAUTHENTICATED")
    claims = jwt.decode(pair["refresh_token"], options={"verify_signature": False})
    claims["exp"] = claims["iat"] - 1  # expired before it was issued, whatever the clock says
    expired = jwt.encode(claims, derive_key(app.config["SECRET_KEY"], "jwt"), algorithm="HS256")
    assert_error(client.post(f"{API}/auth/refresh", json={"refresh_token": expired}),
                 401, "UNAUTHENTICATED")


def _me(client, token):
    return client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"})


def test_me_requires_a_valid_access_token(app, client):
    pair = client.post(f"{API}/auth/dev", json={"openid": "dev-me"}).get_json()
    assert _me(client, pair["access_token"]).status_code == 200
    assert_error(client.get(f"{API}/me"), 401, "UNAUTHENTICATED")
    assert_error(client.get(f"{API}/me", headers={"Authorization": "Basic abc"}), 401, "UNAUTHENTICATED")
    claims = jwt.decode(pair["access_token"], options={"verify_signature": False})
    key = derive_key(app.config["SECRET_KEY"], "jwt")
    # The right key really signs usable tokens: the refusals below are about the claims.
    assert _me(client, jwt.encode(claims, key, algorithm="HS256")).status_code == 200
    forged = {
        "refresh token as access": pair["refresh_token"],
        "other key": jwt.encode(claims, b"another-secret-another-secret-123", algorithm="HS256"),
        "alg none": jwt.encode(claims, None, algorithm="none"),
        "HS512": jwt.encode(claims, key + key, algorithm="HS512"),
        "expired": jwt.encode({**claims, "exp": claims["iat"] - 60},
                              key, algorithm="HS256"),
        "no typ": jwt.encode({k: v for k, v in claims.items() if k != "typ"},
                             key, algorithm="HS256"),
        "unknown user": jwt.encode({**claims, "sub": "999999"},
                                   key, algorithm="HS256"),
    }
    for name, token in forged.items():
        assert _me(client, token).status_code == 401, name
        assert_error(_me(client, token), 401, "UNAUTHENTICATED")


def test_patch_me_updates_nickname_phone_and_home(client, actors):
    tree = actors.tree()
    resident = actors.resident()
    response = client.patch(f"{API}/me", headers=resident.headers,
                            json={"nickname": "王大爷", "phone": "13612345678",
                                  "home_org_id": tree["room_a"]})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["nickname"] == "王大爷"
    assert body["phone"] == "136****5678"
    assert body["home_org_id"] == tree["room_a"]
    assert _me(client, resident.token).get_json()["nickname"] == "王大爷"


def test_patch_me_errors(client, actors):
    resident, other = actors.resident(), actors.resident()
    client.patch(f"{API}/me", headers=other.headers, json={"phone": "13612345678"})
    assert_error(client.patch(f"{API}/me", headers=resident.headers, json={"phone": "13612345678"}),
                 409, "PHONE_IN_USE")
    error = assert_error(client.patch(f"{API}/me", headers=resident.headers, json={"phone": "12345"}),
                         422, "VALIDATION_ERROR")
    assert "phone" in error["details"]
    assert_error(client.patch(f"{API}/me", headers=resident.headers, json={"home_org_id": 424242}),
                 404, "NOT_FOUND")
    assert_error(client.patch(f"{API}/me", headers=resident.headers, json={"colour": "red"}),
                 422, "VALIDATION_ERROR")
    assert_error(client.patch(f"{API}/me", json={"nickname": "x"}), 401, "UNAUTHENTICATED")
