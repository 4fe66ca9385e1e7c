"""Points expire oldest first, back to the org they came from; hours never do."""
import itertools
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.db import db
from orgs.models import Org
from points import books, expiry, ledger
from points.models import Account
from points.verify import verify
from tests.activity_support import frozen  # noqa: F401  (fixture)
from tests.support import API, change_settings

MONTHS = 12
# The 31st of a month after February: a month back clamps to 28 February.
NOW = datetime(2027, 3, 31, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai
_keys = itertools.count()


@pytest.mark.parametrize("moment,months,expected", [
    (datetime(2026, 3, 31), -1, datetime(2026, 2, 28)),
    (datetime(2024, 2, 29), 12, datetime(2025, 2, 28)),
    (datetime(2026, 1, 15, 8, 30), -13, datetime(2024, 12, 15, 8, 30)),
    (datetime(2026, 11, 29), 0, datetime(2026, 11, 29)),
])
def test_add_months_clamps_to_the_months_end(moment, months, expected):
    assert expiry.add_months(moment, months) == expected


@pytest.fixture
def site(ctx, actors):
    tree = actors.tree()
    person = actors.resident()
    now = NOW
    found = {"now": now, "tree": tree, "person_id": person.id, "person": person,
             "person_account": ledger.person_account(person.id, now=now),
             "a": ledger.issuing_account(tree["room_a"], now=now),
             "b": ledger.issuing_account(tree["room_b"], now=now),
             "shop": ledger.redemption_account(tree["room_a"], now=now)}
    db.session.commit()  # the accounts outlive each example's rollback
    return found


def months_ago(site, months):
    return expiry.add_months(site["now"], -months)


def earn(site, org, amount, when):
    return ledger.transfer(debit=site[org], credit=site["person_account"], amount=amount, kind="earn",
                           memo="志愿服务", idempotency_key=f"earn:{next(_keys)}", now=when)


def spend(site, amount, when):
    return ledger.transfer(debit=site["person_account"], credit=site["shop"], amount=amount, kind="redeem",
                           memo="兑换", idempotency_key=f"spend:{next(_keys)}", now=when)


def available(site):
    return ledger.available(db.session.get(Account, site["person_account"].id, populate_existing=True))


def test_the_oldest_points_are_spent_first_and_the_rest_expire_to_their_org(site):
    earn(site, "a", 10, months_ago(site, 14))
    earn(site, "b", 6, months_ago(site, 13))
    earn(site, "a", 5, months_ago(site, 2))
    spend(site, 12, months_ago(site, 1))  # uses the 10 from A and 2 of the 6 from B
    db.session.commit()
    assert expiry.expire_all(now=site["now"], months=MONTHS) == (4, 1)
    assert available(site) == 5
    assert expiry.expire_all(now=site["now"], months=MONTHS) == (0, 0)
    assert verify()[0] == []
    room_b = db.session.get(Org, site["tree"]["room_b"])
    flows = books.flows(room_b, None, site["now"] + timedelta(seconds=1))
    assert (flows["issued"], flows["expired"], flows["returned"]) == (6, 4, 0)


def test_held_points_do_not_expire_until_the_hold_is_voided(site):
    earn(site, "a", 10, months_ago(site, 14))
    hold = ledger.hold(account=site["person_account"], amount=8, idempotency_key="hold:1", memo="待领取",
                       now=site["now"])
    assert expiry.expire_account(site["person_account"].id, now=site["now"], months=MONTHS) == 2
    ledger.void_hold(hold_row=hold, now=site["now"])
    assert expiry.expire_account(site["person_account"].id, now=site["now"], months=MONTHS) == 8
    assert available(site) == 0 and verify()[0] == []


def test_a_reversed_credit_is_no_lot_and_its_reversal_spends_nothing(site):
    earn(site, "a", 10, months_ago(site, 14))
    wrong = earn(site, "b", 7, months_ago(site, 13))
    ledger.reverse(original=wrong, reason="录错了", actor_id=None, now=months_ago(site, 1))
    earn(site, "b", 3, months_ago(site, 1))
    assert expiry.expire_account(site["person_account"].id, now=site["now"], months=MONTHS) == 10
    assert available(site) == 3


def test_nothing_expires_inside_the_period_or_when_expiry_is_off(app, client, site, monkeypatch, frozen):
    frozen.current = site["now"]  # the views and the command see the test's now
    # Earned so that the points fall due in 15 days: inside the 30-day warning
    # window and not yet expired, whatever the month lengths around today.
    earned_at = expiry.add_months(site["now"] + timedelta(days=15), -MONTHS)
    earn(site, "a", 10, earned_at)
    db.session.commit()
    assert expiry.expire_all(now=site["now"], months=MONTHS) == (0, 0)
    headers = site["person"].headers
    assert client.get(f"{API}/me/points/expiring", headers=headers).get_json() == \
        {"months": None, "points": 0, "by": None}
    runner = app.test_cli_runner()
    assert "never expire" in runner.invoke(args=["points", "expire"]).output
    change_settings(app, monkeypatch, points_expire_months=MONTHS)
    soon = client.get(f"{API}/me/points/expiring", headers=headers).get_json()
    assert soon["months"] == MONTHS and soon["points"] == 10
    assert datetime.fromisoformat(soon["by"]) == expiry.add_months(earned_at, MONTHS)
    result = runner.invoke(args=["points", "expire"])
    assert result.exit_code == 0 and "0 point(s) of 0 person(s) expired" in result.output
    change_settings(app, monkeypatch, points_expire_months=10)
    assert "10 point(s) of 1 person(s) expired" in runner.invoke(args=["points", "expire"]).output
    assert client.get(f"{API}/me/points", headers=headers).get_json()["available"] == 0
    entries = client.get(f"{API}/me/points/entries", headers=headers).get_json()["items"]
    assert (entries[0]["kind"], entries[0]["amount"]) == ("expiry", -10)


# One history: (months ago, what, amount), what in earn_a, earn_b, spend, reverse_last_earn.
STEP = st.tuples(st.integers(min_value=0, max_value=30), st.sampled_from(["earn_a", "earn_b", "spend", "reverse"]),
                 st.integers(min_value=1, max_value=50))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEP, max_size=12))
def test_after_expiry_what_is_left_is_what_was_earned_since_the_cutoff(site, steps):
    """Whatever the history: available after = min(available before, credits
    since the cutoff that stand), and a second run expires nothing."""
    try:
        credits = []  # (transfer, when, reversed?)
        for age, what, amount in sorted(steps, key=lambda step: -step[0]):
            when = months_ago(site, age)
            if what.startswith("earn"):
                credits.append([earn(site, what[-1], amount, when), when, False])
            elif what == "spend" and 0 < available(site):
                spend(site, min(amount, available(site)), when)
            elif what == "reverse" and credits and not credits[-1][2] and credits[-1][0].amount <= available(site):
                ledger.reverse(original=credits[-1][0], reason="更正", actor_id=None, now=when)
                credits[-1][2] = True
        before = available(site)
        cutoff = expiry.add_months(site["now"], -MONTHS)
        recent = sum(t.amount for t, when, undone in credits if when >= cutoff and not undone)
        expired = expiry.expire_account(site["person_account"].id, now=site["now"], months=MONTHS)
        assert available(site) == min(before, recent) == before - expired
        assert expiry.expire_account(site["person_account"].id, now=site["now"], months=MONTHS) == 0
        assert verify()[0] == []
    finally:
        db.session.rollback()
