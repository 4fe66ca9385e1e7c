"""Helpers for tests: an org tree, staff and residents with tokens, error checks."""
import dataclasses
import itertools
from dataclasses import dataclass, field

import sqlalchemy as sa

from api.tokens import encode_access
from core import clock, settings
from core.db import db
from core.passwords import hash_password
from orgs.models import Org, StaffRole
from orgs.services import _save_org, ensure_city
from people.models import User
from volunteers.models import VolunteerProfile

API = "/api/v1"
_phones = itertools.count(13900000000)


@dataclass
class Person:
    id: int
    token: str
    phone: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def headers(self):
        return {"Authorization": f"Bearer {self.token}"}


def current_settings():
    """The settings of the app whose context is pushed."""
    from flask import current_app

    return settings.of(current_app)


def change_settings(app, monkeypatch, **changes):
    """The app's settings (core.settings) with `changes`, for this test only."""
    changed = dataclasses.replace(settings.of(app), **changes)
    monkeypatch.setitem(app.extensions, settings.EXTENSION, changed)
    return changed


def assert_error(response, status: int, code: str):
    """The response is the API's error envelope with this status and code."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    body = response.get_json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    return body["error"]


class Actors:
    def __init__(self, app, client):
        self.app, self.client = app, client

    def tree(self) -> dict:
        """city → district → station → room_a, room_b (ids)."""
        with self.app.app_context():
            now = clock.now()
            city = ensure_city(name="武汉市", now=now)
            district = _save_org(Org(name="江岸区", kind="district", parent=city, created_at=now))
            station = _save_org(Org(name="百步亭街道社工站", kind="station", parent=district, created_at=now))
            room_a = _save_org(Org(name="花园社区社工室", kind="room", parent=station, created_at=now))
            room_b = _save_org(Org(name="幸福社区社工室", kind="room", parent=station, created_at=now))
            ids = {"city": city.id, "district": district.id, "station": station.id,
                   "room_a": room_a.id, "room_b": room_b.id}
            db.session.commit()
        return ids

    def staff(self, org_id: int, role: str = "admin", password: str = "password-123") -> Person:
        with self.app.app_context():
            now = clock.now()
            phone = str(next(_phones))
            user = User(phone=phone, nickname=f"staff-{phone[-4:]}",
                        password_hash=hash_password(password), home_org_id=org_id, created_at=now)
            db.session.add(user)
            db.session.flush()
            db.session.add(StaffRole(user_id=user.id, org_id=org_id, role=role, created_at=now))
            db.session.commit()
            return Person(user.id, encode_access(user.id, now), phone)

    def resident(self, openid: str | None = None, *, home_org_id: int | None = None,
                 volunteer: bool = False) -> Person:
        with self.app.app_context():
            now = clock.now()
            openid = openid or f"openid-{next(_phones)}"
            user = db.session.scalar(sa.select(User).where(User.wechat_openid == openid))
            if user is None:
                user = User(wechat_openid=openid, nickname=openid, home_org_id=home_org_id,
                            created_at=now)
                db.session.add(user)
                db.session.flush()
            if volunteer:
                db.session.add(VolunteerProfile(user_id=user.id, real_name="志愿者",
                                                phone=str(next(_phones)), status="active",
                                                created_at=now))
            db.session.commit()
            return Person(user.id, encode_access(user.id, now))


def make_id_number(birth: str = "19900101", region: str = "420102", sequence: str = "123") -> str:
    """A resident ID number with a valid GB 11643 check digit (birth as YYYYMMDD).

    python-stdnum also checks the region code existed at the birth date
    (江岸区 420102: from 1983)."""
    from stdnum.cn import ric

    body = region + birth + sequence
    return body + ric.calc_check_digit(body + "0")  # it ignores the last character


def run_together(count: int, work):
    """Runs work(i) in `count` real threads released at once; returns their results
    (an exception in a thread is returned in its place)."""
    import threading

    barrier = threading.Barrier(count)
    results = [None] * count

    def run(i):
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:  # reported to the test, which asserts on it
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def real_clock_env(env=None) -> dict:
    """The environment without libfaketime (`make test-at`), for a process a test
    starts whose own clock is not under test (a browser, a gunicorn): on a faked
    clock a browser crawls and a server's timeouts misfire."""
    import os

    return {k: v for k, v in (os.environ if env is None else env).items()
            if k not in ("LD_PRELOAD", "FAKETIME", "FAKETIME_DONT_FAKE_MONOTONIC")}
