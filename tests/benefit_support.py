"""Helpers for the benefit and redemption tests: points for people, benefits, redemptions."""
import itertools

import sqlalchemy as sa

from core import clock
from core.db import db
from points import ledger
from points.models import Account
from tests.support import API

_keys = itertools.count(1)


def give_points(app, user_id: int, org_id: int, amount: int) -> None:
    """Earn `amount` points for the person from the org's issuing account."""
    with app.app_context():
        now = clock.now()
        ledger.transfer(debit=ledger.issuing_account(org_id, now=now),
                        credit=ledger.person_account(user_id, now=now), amount=amount,
                        kind="earn", memo="志愿服务", idempotency_key=f"test-earn:{next(_keys)}", now=now)
        db.session.commit()


def points_of(app, user_id: int) -> dict:
    """{balance, held, available} straight from the ledger."""
    with app.app_context():
        account = db.session.scalar(sa.select(Account).where(Account.owner_key == f"person:{user_id}"))
        if account is None:
            return {"balance": 0, "held": 0, "available": 0}
        return {"balance": account.balance, "held": account.held,
                "available": account.balance - account.held}


def make_benefit(client, staff, org_id: int, **fields) -> dict:
    body = {"name": "爱心理发券", "cost": 10, "stock": 5, **fields}
    response = client.post(f"{API}/orgs/{org_id}/benefits", json=body, headers=staff.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def redeem(client, person, benefit_id: int, key: str | None = None):
    headers = dict(person.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(f"{API}/benefits/{benefit_id}/redemptions", headers=headers)
