"""Password sign-in limits: per address, per phone from one address, and a ceiling
per phone that an address the phone signed in from before is not held by; and the
client's address behind TRUSTED_PROXIES proxies."""
import pytest
from werkzeug.middleware.proxy_fix import ProxyFix

from api import create_app, trust_proxies
from tests.support import API, assert_error

OWNER_IP, STRANGER_IP = "10.0.0.1", "10.6.6.6"


def login(client, phone, password, ip, headers=None):
    return client.post(f"{API}/auth/login", json={"phone": phone, "password": password},
                       environ_base={"REMOTE_ADDR": ip}, headers=headers or {})


@pytest.fixture
def tight(app, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN", "3 per minute")
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN_PHONE", "8 per hour")


def test_a_strangers_failures_do_not_lock_the_owner_out(client, actors, tight):
    worker = actors.staff(actors.tree()["room_a"], "worker", password="owners-pass-1")
    for _ in range(3):
        assert_error(login(client, worker.phone, "guess", STRANGER_IP), 401, "BAD_CREDENTIALS")
    assert_error(login(client, worker.phone, "guess", STRANGER_IP), 429, "RATE_LIMITED")
    assert login(client, worker.phone, "owners-pass-1", OWNER_IP).status_code == 200


def test_the_owners_own_failures_from_one_address_stop_there(client, actors, tight):
    worker = actors.staff(actors.tree()["room_a"], "worker", password="owners-pass-1")
    for _ in range(3):
        assert_error(login(client, worker.phone, "typo", OWNER_IP), 401, "BAD_CREDENTIALS")
    assert_error(login(client, worker.phone, "owners-pass-1", OWNER_IP), 429, "RATE_LIMITED")


def test_refused_attempts_count_against_nothing(client, actors, tight):
    """A stranger hammering past the limit of their address adds nothing to the phone's ceiling."""
    worker = actors.staff(actors.tree()["room_a"], "worker", password="owners-pass-1")
    statuses = [login(client, worker.phone, "guess", STRANGER_IP).status_code for _ in range(20)]
    assert statuses == [401] * 3 + [429] * 17
    # 3 failures counted of the ceiling's 8: four more addresses with one failure each stay below it.
    for i in range(4):
        assert_error(login(client, worker.phone, "guess", f"10.7.0.{i}"), 401, "BAD_CREDENTIALS")
    assert login(client, worker.phone, "owners-pass-1", OWNER_IP).status_code == 200


def test_the_ceiling_holds_new_addresses_but_not_the_owners_known_one(client, actors, tight):
    tree = actors.tree()
    worker = actors.staff(tree["room_a"], "worker", password="owners-pass-1")
    assert login(client, worker.phone, "owners-pass-1", OWNER_IP).status_code == 200  # remembered
    for i in range(8):  # many addresses, a few failures each: the ceiling is reached
        assert_error(login(client, worker.phone, "guess", f"10.8.0.{i}"), 401, "BAD_CREDENTIALS")
    for ip in (STRANGER_IP, "10.8.0.1"):  # even with the right password, from anywhere new
        assert_error(login(client, worker.phone, "owners-pass-1", ip), 429, "RATE_LIMITED")
    assert login(client, worker.phone, "owners-pass-1", OWNER_IP).status_code == 200
    # Other phones are not held by this one's ceiling.
    other = actors.staff(tree["room_b"], "worker", password="others-pass-1")
    assert login(client, other.phone, "others-pass-1", STRANGER_IP).status_code == 200


def test_behind_a_trusted_proxy_each_client_has_its_own_address(app, client, actors, monkeypatch, tight):
    """With TRUSTED_PROXIES=1 (nginx in front) the limits key on the address nginx
    appended to X-Forwarded-For, not on nginx's own; what a client wrote there itself is ignored."""
    monkeypatch.setitem(app.config, "TRUSTED_PROXIES", 1)
    monkeypatch.setattr(app, "wsgi_app", app.wsgi_app)  # restored after the test
    trust_proxies(app)
    worker = actors.staff(actors.tree()["room_a"], "worker", password="owners-pass-1")
    nginx = "127.0.0.1"

    def via_nginx(password, client_ip, forged=None):
        chain = f"{forged}, {client_ip}" if forged else client_ip
        return login(client, worker.phone, password, nginx, headers={"X-Forwarded-For": chain})

    for _ in range(3):
        assert_error(via_nginx("guess", STRANGER_IP), 401, "BAD_CREDENTIALS")
    assert_error(via_nginx("guess", STRANGER_IP, forged="1.2.3.4"), 429, "RATE_LIMITED")
    assert via_nginx("owners-pass-1", OWNER_IP).status_code == 200


def test_without_trusted_proxies_forwarded_headers_are_ignored(app, client, actors, tight):
    assert app.config["TRUSTED_PROXIES"] == 0
    worker = actors.staff(actors.tree()["room_a"], "worker", password="owners-pass-1")
    for i in range(3):
        assert_error(login(client, worker.phone, "guess", STRANGER_IP,
                           headers={"X-Forwarded-For": f"10.1.1.{i}"}), 401, "BAD_CREDENTIALS")
    assert_error(login(client, worker.phone, "guess", STRANGER_IP, headers={"X-Forwarded-For": "10.1.1.9"}),
                 429, "RATE_LIMITED")


def test_the_setting_wraps_the_app_in_proxy_fix(app):
    assert not isinstance(app.wsgi_app, ProxyFix)
    config = {key: app.config[key] for key in ("SQLALCHEMY_DATABASE_URI", "SECRET_KEY", "REDIS_URL",
                                               "REDIS_PREFIX")}
    behind_two = create_app({**config, "TRUSTED_PROXIES": 2})
    assert isinstance(behind_two.wsgi_app, ProxyFix)
    assert (behind_two.wsgi_app.x_for, behind_two.wsgi_app.x_proto, behind_two.wsgi_app.x_host) == (2, 2, 0)
