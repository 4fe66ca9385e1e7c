"""Redis holds only what may be lost: with it unreachable the app answers as
usual (DESIGN: "no 5xx if Redis goes down"). The app here is configured like
a production one whose REDIS_URL points where nothing listens, so both the
rate limiter (Flask-Limiter's storage) and core.kv's store try to reach it."""
import pytest

from api import create_app
from api.limits import limiter
from core.db import db
from tests.activity_support import checkin, code_of, frozen, make_activity, register  # noqa: F401
from tests.support import API

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture
def app_without_redis(app, limiter_restored):
    """The test app's configuration, the same database, REDIS_URL unreachable."""
    config = {key: value for key, value in app.config.items()
              if not key.startswith("RATELIMIT_STORAGE_URI")}
    config.update({"REDIS_URL": UNREACHABLE_REDIS,
                   # Small enough that every check-in asks the storage (no local allowance).
                   "RATELIMIT_CHECKIN": "1 per minute"})
    down = create_app(config)
    try:
        assert down.config["RATELIMIT_STORAGE_URI"] == UNREACHABLE_REDIS
        assert limiter.limiter.storage.check() is False  # the limiter really points there
        yield down
    finally:
        with down.app_context():
            db.session.remove()
            db.engine.dispose()


def test_health_says_redis_is_down_and_the_app_still_answers(app_without_redis):
    health = app_without_redis.test_client().get(f"{API}/health")
    assert health.status_code == 200 and health.get_json()["redis"] is False


def test_sign_in_and_check_in_work_with_redis_unreachable(app_without_redis, actors, frozen):
    client = app_without_redis.test_client()
    tree = actors.tree()
    admin = actors.staff(tree["room_a"], "admin")
    login = client.post(f"{API}/auth/login", json={"phone": admin.phone, "password": "password-123"})
    assert login.status_code == 200, login.get_json()
    staff = type(admin)(admin.id, login.get_json()["access_token"], admin.phone)
    assert client.get(f"{API}/me", headers=staff.headers).status_code == 200

    dev = client.post(f"{API}/auth/dev", json={"openid": "resident-without-redis"})
    assert dev.status_code == 200, dev.get_json()
    resident = type(admin)(dev.get_json()["user"]["id"], dev.get_json()["access_token"])

    activity = make_activity(client, staff, tree["room_a"], frozen.current)
    assert register(client, resident, activity["id"]).status_code == 201
    code = code_of(client, staff, activity["id"])
    first = checkin(client, resident, code)
    assert first.status_code == 200 and first.get_json()["first"] is True
    again = checkin(client, resident, code)
    assert again.status_code < 500, again.get_json()  # a duplicate, or refused by the fallback limit
