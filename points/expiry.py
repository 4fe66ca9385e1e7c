"""Points expire POINTS_EXPIRE_MONTHS after they were earned (unset: never).

Service hours never expire (they are the volunteer's record); only points
to spend do. Each credit to a person is a lot, and whatever left the account
(spent, taken back by an adjustment, expired) or is reserved by an open hold
used up the oldest lots first. What is left of lots older than the cutoff
expires: one transfer per person and issuing org, back to the issuing
account of the org whose account the points came from, so each room's books
show its outstanding points fall. A credit that was itself reversed is no
lot, and its reversal used nothing up.

The job (`flask points expire`, daily) can run twice or at the same time as
another: a person's expiry is keyed by the lots it closes, so the second
posts nothing.
"""
import calendar
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from core.db import db
from core.errors import Code, DomainError
from core.settings import Settings

from . import ledger
from .models import HOLD_OPEN, PERSON, Account, Entry, Hold, Transfer

EXPIRY = "expiry"


def add_months(moment: datetime, months: int) -> datetime:
    """The same time `months` calendar months later (earlier if negative), the
    day clamped to the month's end (31 March less one month is 28/29 February)."""
    month_index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(month_index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


@dataclass
class Lot:
    transfer_id: int
    source_account_id: int
    earned_at: datetime
    left: int


@dataclass
class Expiring:
    """What of a person's points is past `cutoff`, by the account each came from."""

    by_source: dict[int, int] = field(default_factory=dict)  # source account id -> points
    last_lot_id: int = 0

    @property
    def points(self) -> int:
        return sum(self.by_source.values())


def _lots(account_id: int) -> list[Lot]:
    """The account's lots, oldest first, each with what is left after FIFO use."""
    rows = db.session.execute(
        sa.select(Entry.amount, Transfer.id, Transfer.debit_account_id, Transfer.reverses_id,
                  Transfer.created_at)
        .join(Transfer, Transfer.id == Entry.transfer_id)
        .where(Entry.account_id == account_id).order_by(Entry.id)).all()
    reversed_ids = {row.reverses_id for row in rows if row.amount < 0 and row.reverses_id is not None}
    lots, used = [], 0
    for row in rows:
        if row.amount > 0 and row.id not in reversed_ids:
            lots.append(Lot(row.id, row.debit_account_id, row.created_at, row.amount))
        elif row.amount < 0 and row.reverses_id not in reversed_ids:
            used -= row.amount  # a reversal of a credit used nothing up: that credit is no lot
    used += int(db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Hold.amount), 0))
                                  .where(Hold.account_id == account_id, Hold.status == HOLD_OPEN)))
    for lot in lots:
        taken = min(lot.left, used)
        lot.left, used = lot.left - taken, used - taken
    return lots


def expiring(account_id: int, cutoff: datetime) -> Expiring:
    """What is left of the account's lots earned before `cutoff`."""
    found = Expiring()
    for lot in _lots(account_id):
        if lot.earned_at < cutoff and lot.left > 0:
            found.by_source[lot.source_account_id] = found.by_source.get(lot.source_account_id, 0) + lot.left
            found.last_lot_id = lot.transfer_id
    return found


def _expiring_accounts(cutoff: datetime) -> list[int]:
    """People with points available and a credit older than the cutoff."""
    old_credit = sa.select(Entry.id).where(Entry.account_id == Account.id, Entry.amount > 0,
                                           Entry.created_at < cutoff)
    return db.session.scalars(sa.select(Account.id).where(
        Account.kind == PERSON, Account.balance - Account.held > 0, sa.exists(old_credit))
        .order_by(Account.id)).all()


def expire_account(account_id: int, *, now, months: int) -> int:
    """Expires one person's points past the cutoff; the points this call expired
    (0 when another run did it first, or a spend got there first: the next run
    looks again)."""
    cutoff = add_months(now, -months)
    found = expiring(account_id, cutoff)
    person = db.session.get(Account, account_id)
    expired = 0
    for source_id, points in sorted(found.by_source.items()):
        source = db.session.get(Account, source_id)
        if source.org_id is None:  # points from a person (none today): they stay
            continue
        try:
            posted = ledger.transfer(
                debit=person, credit=ledger.issuing_account(source.org_id, now=now), amount=points,
                kind=EXPIRY, memo=f"积分过期（{months} 个月前获得）",
                idempotency_key=f"expiry:{account_id}:{source.org_id}:{found.last_lot_id}:{points}",
                now=now)
        except DomainError as error:
            if error.code is not Code.INSUFFICIENT_POINTS:
                raise
            continue
        if not posted.replayed:  # a run at the same time posted it already
            expired += points
    return expired


def expire_all(*, now, months: int) -> tuple[int, int]:
    """(points expired, people) over everyone; one transaction per person, so the
    job never holds two people's locks and a failure loses one person's step."""
    points = people = 0
    for account_id in _expiring_accounts(add_months(now, -months)):
        expired = expire_account(account_id, now=now, months=months)
        db.session.commit()
        points, people = points + expired, people + (expired > 0)
    return points, people


def expiring_soon(user_id: int, *, now, settings: Settings, within_days: int = 30) -> dict:
    """`{months, points, by}`: the person's points that expire within
    `within_days` days and when the first of them does; months is None (and
    nothing expires) when points never expire (`settings.points_expire_months`)."""
    months = settings.points_expire_months
    account = ledger.find_person_account(user_id)
    if months is None or account is None:
        return {"months": months, "points": 0, "by": None}
    cutoff = add_months(now + timedelta(days=within_days), -months)
    lots = [lot for lot in _lots(account.id) if lot.left > 0 and lot.earned_at < cutoff]
    return {"months": months, "points": sum(lot.left for lot in lots),
            "by": min((add_months(lot.earned_at, months) for lot in lots), default=None)}
