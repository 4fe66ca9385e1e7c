import pytest
import sqlalchemy as sa

from api import create_app
from api.config import DEV_SECRET_KEY
from core.db import db
from orgs.models import Org, StaffRole
from tests.support import API


def test_create_admin_creates_city_and_admin_once(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["create-admin", "--phone", "13500000000", "--password", "admin-pass-1",
                                "--city", "武汉市"])
    assert first.exit_code == 0, first.output
    user_id = int(first.output.strip())
    again = runner.invoke(args=["create-admin", "--phone", "13500000000", "--password", "other-pass-2"])
    assert again.exit_code == 0 and int(again.output.strip()) == user_id
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Org)) == 1
        roles = db.session.scalars(sa.select(StaffRole)).all()
        assert [(r.user_id, r.role, r.org.kind) for r in roles] == [(user_id, "admin", "city")]
    login = app.test_client().post(f"{API}/auth/login",
                                   json={"phone": "13500000000", "password": "admin-pass-1"})
    assert login.status_code == 200


def test_create_admin_refuses_a_bad_phone(app):
    result = app.test_cli_runner().invoke(args=["create-admin", "--phone", "12", "--password", "x" * 8])
    assert result.exit_code != 0 and "phone" in result.output


def test_demo_load_is_repeatable(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    with app.app_context():
        count = db.session.scalar(sa.select(sa.func.count()).select_from(Org))
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Org)) == count == 5


def test_refuses_to_start_in_production_with_the_dev_secret(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"DEV_LOGIN": False, "SECRET_KEY": DEV_SECRET_KEY})
    assert create_app({"DEV_LOGIN": False, "SECRET_KEY": "a-real-production-secret-0123456789"})
