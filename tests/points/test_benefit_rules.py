"""Redemption rules called directly: codes, the stock guard, expiry exactly once."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from core import clock
from core.db import db
from core.errors import DomainError
from orgs.models import Org
from orgs.services import get_org
from points import benefits, ledger, redemption
from points.benefits_models import Benefit, Redemption
from points.models import Account
from points.verify import verify
from people.models import User
from tests.support import current_settings


@pytest.fixture
def world(ctx, actors):
    tree = actors.tree()
    worker = db.session.get(User, actors.staff(tree["room_a"], "worker").id)
    person = db.session.get(User, actors.resident().id)
    now = clock.now()
    ledger.transfer(debit=ledger.issuing_account(tree["room_a"], now=now),
                    credit=ledger.person_account(person.id, now=now), amount=100, kind="earn",
                    memo="志愿服务", idempotency_key="earn-1", now=now)
    benefit = benefits.create_benefit(actor=worker, org=get_org(tree["room_a"]), name="爱心理发券",
                                      cost=10, stock=2, now=now)
    db.session.commit()
    return {"worker": worker, "person": person, "benefit": benefit, "now": now}


def test_codes_are_13_crockford_characters_with_65_bits():
    codes = {redemption.new_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(len(c) == 13 and set(c) <= set(redemption.CODE_ALPHABET) for c in codes)
    assert len(redemption.CODE_ALPHABET) ** redemption.CODE_LENGTH >= 2 ** 65
    assert redemption.normalise_code(" abcd-efgh-oil1 ") == "ABCDEFGH0111"


def test_star_level_follows_the_volunteers_service_hours(world):
    from volunteers.records import record_service

    user_id, now = world["person"].id, world["now"]
    assert benefits.star_level(user_id) == 0
    org = db.session.get(Org, world["benefit"].org_id)
    for index, minutes in enumerate([100 * 60 - 1, 1]):  # 100 h in all: the first star
        record_service(user_id=user_id, activity_id=index + 1, title="敬老院陪伴", org=org,
                       place="社区", content="陪伴老人", started_at=now, ended_at=now, minutes=minutes,
                       points=0, responsible_person="李社工", recorded_by=None,
                       cause_key=f"test:{index}", now=now, settings=current_settings())
        assert benefits.star_level(user_id) == index


def test_the_database_refuses_negative_stock(world):
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.update(Benefit).where(Benefit.id == world["benefit"].id).values(stock_left=-1))
        db.session.flush()
    db.session.rollback()


def test_out_of_stock_leaves_stock_at_zero(world):
    person, benefit, now = world["person"], world["benefit"], world["now"]
    for _ in range(2):
        redemption.redeem(actor=person, benefit=benefit, idempotency_key=None, now=now,
                          settings=current_settings())
    db.session.commit()
    with pytest.raises(DomainError) as refused:
        redemption.redeem(actor=person, benefit=benefit, idempotency_key=None, now=now,
                          settings=current_settings())
    assert refused.value.code == "OUT_OF_STOCK"
    db.session.rollback()
    assert db.session.get(Benefit, benefit.id, populate_existing=True).stock_left == 0


def test_expiry_releases_exactly_once(world):
    person, benefit, now = world["person"], world["benefit"], world["now"]
    made, created = redemption.redeem(actor=person, benefit=benefit, idempotency_key=None, now=now,
                          settings=current_settings())
    db.session.commit()
    assert created
    later = now + timedelta(days=7, seconds=1)
    assert redemption.overdue_ids(now=now) == []
    assert redemption.overdue_ids(now=later) == [made.id]
    assert redemption.expire(redemption_id=made.id, now=later) is True
    assert redemption.expire(redemption_id=made.id, now=later) is False
    db.session.commit()
    assert db.session.get(Benefit, benefit.id, populate_existing=True).stock_left == 2
    account = db.session.scalar(sa.select(Account).where(Account.user_id == person.id))
    assert (account.balance, account.held) == (100, 0)
    assert db.session.get(Redemption, made.id).status == "expired"
    assert verify()[0] == []


def test_a_reservation_not_yet_due_is_not_expired(world):
    made, _ = redemption.redeem(actor=world["person"], benefit=world["benefit"], idempotency_key=None,
                                now=world["now"], settings=current_settings())
    assert redemption.expire(redemption_id=made.id, now=world["now"] + timedelta(days=6)) is False
    assert db.session.get(Redemption, made.id).status == "reserved"
