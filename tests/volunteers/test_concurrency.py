"""Races that SQLite hides: real threads and connections on PostgreSQL."""
import threading
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from core import clock
from core.db import db
from orgs.models import Org
from orgs.services import ensure_city
from volunteers import records
from volunteers.models import ServiceRecord, VolunteerProfile
from tests.conftest import ON_POSTGRES
from tests.support import API, current_settings, make_id_number

pytestmark = pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL for real concurrency")
THREADS = 8


def _together(work):
    """Runs work(i) in THREADS threads released at once; returns their results."""
    barrier = threading.Barrier(THREADS)
    results = [None] * THREADS

    def run(i):
        barrier.wait()
        results[i] = work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_the_same_user_registering_at_once_gets_one_profile(app, actors):
    person = actors.resident()
    body = {"real_name": "刘志远", "phone": "13912345678", "id_number": make_id_number()}

    def register(_):
        response = app.test_client().post(f"{API}/me/volunteer", json=body, headers=person.headers)
        return response.status_code, response.get_json()["id"]

    results = _together(register)
    assert sorted(status for status, _ in results) == [200] * (THREADS - 1) + [201]
    assert len({profile_id for _, profile_id in results}) == 1
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(VolunteerProfile.id))) == 1


def test_one_id_number_registers_once_whoever_races(app, actors):
    people = [actors.resident() for _ in range(THREADS)]
    number = make_id_number()

    def register(i):
        return app.test_client().post(f"{API}/me/volunteer", headers=people[i].headers, json={
            "real_name": "刘志远", "phone": "13912345678", "id_number": number}).status_code

    assert sorted(_together(register)) == [201] + [409] * (THREADS - 1)


def test_one_cause_writes_one_record(app, actors):
    person = actors.resident()
    with app.app_context():
        city_id = ensure_city(name="武汉市", now=clock.now()).id
        db.session.commit()
    start = datetime(2026, 11, 27, 1, 0, tzinfo=timezone.utc)

    def settle(_):
        with app.app_context():
            record = records.record_service(
                user_id=person.id, activity_id=1, title="活动", org=db.session.get(Org, city_id),
                place="社区", content="服务", started_at=start, ended_at=start + timedelta(hours=2),
                minutes=120, points=20, responsible_person="李社工", recorded_by=None,
                cause_key="settlement:42", now=start + timedelta(hours=3),
                settings=current_settings())
            db.session.commit()
            return record.id

    ids = _together(settle)
    assert len(set(ids)) == 1
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ServiceRecord.id))) == 1


def test_first_logins_of_one_person_at_once_make_one_user(app):
    def sign_in(_):
        response = app.test_client().post(f"{API}/auth/dev", json={"openid": "same-person"})
        return response.status_code, response.get_json()["user"]["id"]

    results = _together(sign_in)
    assert {status for status, _ in results} == {200}
    assert len({user_id for _, user_id in results}) == 1
