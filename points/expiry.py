"""Points expire POINTS_EXPIRE_MONTHS after they were earned (unset: never).

Service hours never expire (they are the volunteer's record); only points
to spend do. Each credit to a person is a lot, and whatever left the account
(spent, taken back by an adjustment, expired) or is reserved by an open hold
used up the oldest lots first. What is left of lots older than the cutoff
expires: one transfer per person and issuing org, back to the issuing
account of the org whose account the points came from, so each room's books
show its outstanding points fall. A credit that was itself reversed is no
lot, and its reversal used nothing up.

Oldest first means the newest lots are what is left: the account's available
balance (`balance - held`) covers its lots from the newest back, and a lot has
left `min(lot, available - the lots newer than it)`, at least 0. (A reversed
credit and its reversal cancel out of the balance, as they do out of the
lots.) So a person's lots are read from the newest back only as far as the
available balance reaches; nothing older matters, however long the history.

The job (`flask points expire`, daily) works in batches of people, one
transaction each: the batch's accounts and the issuing accounts the points go
back to are locked in id order (as every transfer locks them), what is left
is computed under the lock, and the expiries are posted in a few statements.
It can run twice or at the same time as another: a person's expiry is keyed
by the lots it closes, and the second run finds them gone.
"""
import calendar
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from core.db import db
from core.settings import Settings

from . import ledger
from .models import PERSON, Account, Entry, Transfer

EXPIRY = "expiry"
BATCH = 500


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


def _lots_left(account_ids, cutoff: datetime | None = None) -> tuple[dict[int, list[Lot]], dict]:
    """({account id: its lots with something left, newest first}, {account id:
    (balance, held, chain_head) the lots were read at}), only lots earned before
    `cutoff` if given. Lots the available balance no longer reaches never leave
    the database."""
    reversal = sa.orm.aliased(Transfer)
    newer_and_this = sa.func.sum(Entry.amount).over(
        partition_by=Entry.account_id, order_by=Entry.id.desc(), rows=(None, 0))
    standing = (
        sa.select(Entry.account_id, Entry.id.label("entry_id"), Entry.transfer_id, Entry.amount,
                  (newer_and_this - Entry.amount).label("newer"))
        .where(Entry.account_id.in_(list(account_ids)), Entry.amount > 0,
               ~sa.exists().where(reversal.reverses_id == Entry.transfer_id))
        .subquery())
    stmt = (
        sa.select(standing.c.account_id, standing.c.transfer_id, standing.c.amount, standing.c.newer,
                  Account.balance, Account.held, Account.chain_head, Transfer.debit_account_id,
                  Transfer.created_at)
        .join(Account, Account.id == standing.c.account_id)
        .join(Transfer, Transfer.id == standing.c.transfer_id)
        .where(standing.c.newer < Account.balance - Account.held)
        .order_by(standing.c.account_id, standing.c.entry_id.desc()))
    if cutoff is not None:
        stmt = stmt.where(Transfer.created_at < cutoff)
    lots, seen_at = {}, {}
    for account_id, transfer_id, amount, newer, balance, held, head, source, earned_at in db.session.execute(stmt):
        # int(): PostgreSQL sums a bigint column as numeric.
        lots.setdefault(account_id, []).append(
            Lot(transfer_id, source, earned_at, min(amount, balance - held - int(newer))))
        seen_at[account_id] = (balance, held, head)
    return lots, seen_at


def _expiring_of(lots: list[Lot]) -> Expiring:
    found = Expiring()
    for lot in lots:  # newest first: the first is the last lot the expiry closes
        found.by_source[lot.source_account_id] = found.by_source.get(lot.source_account_id, 0) + lot.left
        found.last_lot_id = found.last_lot_id or lot.transfer_id
    return found


def expiring(account_id: int, cutoff: datetime) -> Expiring:
    """What is left of the account's lots earned before `cutoff`."""
    return _expiring_of(_lots_left([account_id], cutoff)[0].get(account_id, []))


def _candidates(cutoff: datetime) -> list[int]:
    """People (account ids, in order) with points available and a credit older than the cutoff."""
    old_credit = sa.select(Entry.id).where(Entry.account_id == Account.id, Entry.amount > 0,
                                           Entry.created_at < cutoff)
    return db.session.scalars(sa.select(Account.id).where(
        Account.kind == PERSON, Account.balance - Account.held > 0, sa.exists(old_credit))
        .order_by(Account.id)).all()


class _Issuing:
    """The issuing account each source account's points go back to, looked up once per run."""

    def __init__(self, now):
        self.now, self.known = now, {}

    def of(self, source_ids) -> dict[int, tuple[int, int] | None]:
        """{source account id: (org id, its issuing account id), or None for a person's account}."""
        missing = [source for source in source_ids if source not in self.known]
        if missing:
            orgs = dict(db.session.execute(sa.select(Account.id, Account.org_id).where(Account.id.in_(missing))).all())
            for source in missing:
                org_id = orgs.get(source)
                # Points from a person (none today) stay where they are.
                self.known[source] = None if org_id is None else \
                    (org_id, ledger.issuing_account(org_id, now=self.now).id)
        return {source: self.known[source] for source in source_ids}


def _expire_batch(account_ids, *, now, months: int, issuing: _Issuing) -> dict[int, int]:
    """Expires what is past the cutoff for these people; {account id: points this call expired}."""
    cutoff = add_months(now, -months)
    lots, seen_at = _lots_left(account_ids, cutoff)
    found = {account_id: _expiring_of(account_lots) for account_id, account_lots in lots.items()}
    if not found:
        return {}
    targets = issuing.of(sorted({source for f in found.values() for source in f.by_source}))
    locked = {target[1] for target in targets.values() if target is not None}
    # The people and the issuing accounts their points go back to, in one
    # statement in id order, as every transfer locks them.
    state = ledger.lock_accounts(list(found) + sorted(locked))
    moved = [account_id for account_id in found if seen_at[account_id] != (
        state[account_id].balance, state[account_id].held, state[account_id].chain_head)]
    if moved:  # something changed between the look and the lock: look again
        again, _ = _lots_left(moved, cutoff)
        for account_id in moved:
            found[account_id] = _expiring_of(again.get(account_id, []))
    moves = []
    for account_id, f in sorted(found.items()):
        sources = issuing.of(sorted(f.by_source))
        if any(target is not None and target[1] not in locked for target in sources.values()):
            continue  # points from an org not seen a moment ago: the next run expires them
        for source_id, points in sorted(f.by_source.items()):
            if sources[source_id] is None:
                continue
            org_id, target = sources[source_id]
            moves.append(ledger.Move(account_id, target, points, memo=f"积分过期（{months} 个月前获得）",
                                     idempotency_key=f"expiry:{account_id}:{org_id}:{f.last_lot_id}:{points}"))
    expired = {}
    for move, (transfer_id, replayed) in zip(moves, ledger.transfer_many(moves=moves, kind=EXPIRY, now=now)):
        if transfer_id is not None and not replayed:  # a replay: a run at the same time posted it already
            expired[move.debit_id] = expired.get(move.debit_id, 0) + move.amount
    return expired


def expire_account(account_id: int, *, now, months: int) -> int:
    """Expires one person's points past the cutoff; the points this call expired
    (0 when another run did it first)."""
    return _expire_batch([account_id], now=now, months=months, issuing=_Issuing(now)).get(account_id, 0)


def expire_all(*, now, months: int, batch: int = BATCH) -> tuple[int, int]:
    """(points expired, people) over everyone, `batch` people per transaction:
    a failure loses one batch's step, and the next run takes it up."""
    points = people = 0
    issuing = _Issuing(now)
    candidates = _candidates(add_months(now, -months))
    for start in range(0, len(candidates), batch):
        expired = _expire_batch(candidates[start:start + batch], now=now, months=months, issuing=issuing)
        db.session.commit()
        points, people = points + sum(expired.values()), people + len(expired)
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
    lots = _lots_left([account.id], cutoff)[0].get(account.id, [])
    return {"months": months, "points": sum(lot.left for lot in lots),
            "by": min((add_months(lot.earned_at, months) for lot in lots), default=None)}
