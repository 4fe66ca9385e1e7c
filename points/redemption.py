"""Redemption: a person reserves one unit of a benefit, the room hands it over.

Concurrency (PostgreSQL, READ COMMITTED), the rules every function keeps:
- Every change to one person's redemptions first locks that person's ledger
  account row (SELECT ... FOR UPDATE). Requests of one person run one at a
  time, so the per-user limit count and an idempotency key lookup made after
  the lock see every earlier, committed reservation of theirs (each statement
  takes a fresh snapshot under READ COMMITTED).
- Locks are always taken in the same order: person account → redemption row →
  benefit row → the ledger's accounts (the ledger itself goes in id order), so
  reserve, fulfil, cancel and expiry cannot deadlock one another. A request
  never locks two people's accounts; the expiry job locks a batch of people's
  accounts first, in one statement in id order, before any other lock (so it
  waits for a request, never the other way round while holding something the
  request needs). Several benefit rows are locked only in id order (lazy
  expiry when listing, the expiry job).
- Stock is taken with one conditional UPDATE (`stock_left > 0`); a CHECK
  constraint stands behind it. Status moves with conditional UPDATEs
  (`WHERE status = 'reserved'`), so release and posting happen exactly once.
"""
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm.util import identity_key

from core.db import db
from core.errors import Code, Conflict, DomainError, Forbidden, NotFound
from core.paging import Page, keyset_page
from core.settings import Settings
from orgs.scope import can, require

from . import ledger
from .benefits import is_available, require_eligible
from .benefits_models import (CANCELLED, EXPIRED, FULFILLED, LIMIT_MONTH, RESERVED, Benefit,
                              Redemption)
from .models import PERSON, Account, Hold, Transfer

# Crockford base32: no I, L, O, U, so a code read aloud or typed is unambiguous.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 13  # 65 random bits
_READS_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})

STATUS_ERRORS = {
    FULFILLED: (Code.ALREADY_FULFILLED, "该兑换已领取"),
    CANCELLED: (Code.REDEMPTION_CANCELLED, "该兑换已取消"),
    EXPIRED: (Code.REDEMPTION_EXPIRED, "该兑换已过期"),
}


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str) -> str:
    """What staff type or scan: case, dashes and spaces do not matter, O/I/L read as 0/1."""
    return code.strip().upper().replace("-", "").replace(" ", "").translate(_READS_AS)


def pickup_period(settings: Settings) -> timedelta:
    return timedelta(days=settings.redemption_pickup_days)


def get_redemption(redemption_id: int) -> Redemption:
    redemption = db.session.get(Redemption, redemption_id)
    if redemption is None:
        raise NotFound("redemption", "兑换记录不存在")
    return redemption


# -- locking and release ----------------------------------------------------

def _lock_person(user_id: int, *, now) -> Account:
    """Row-locks the person's account until commit, creating it first if needed."""
    lock = (sa.select(Account).where(Account.kind == PERSON, Account.user_id == user_id)
            .with_for_update().execution_options(populate_existing=True))
    account = db.session.scalar(lock)
    if account is None:
        ledger.person_account(user_id, now=now)
        account = db.session.scalar(lock)
    return account


def _reload(redemption: Redemption) -> Redemption:
    return db.session.get(Redemption, redemption.id, populate_existing=True)


def _raise_for_status(redemption: Redemption, **kwargs) -> None:
    if redemption.status in STATUS_ERRORS:
        code, message = STATUS_ERRORS[redemption.status]
        raise DomainError(code, message, redemption_id=redemption.id, **kwargs)


def _restock_one(benefit_id: int) -> None:
    db.session.execute(
        sa.update(Benefit).where(Benefit.id == benefit_id, Benefit.stock_left.is_not(None))
        .values(stock_left=Benefit.stock_left + 1).execution_options(synchronize_session=False))


def _release(redemption: Redemption, status: str, *, now, actor_id: int | None = None) -> bool:
    """reserved → cancelled/expired: puts the unit back and voids the hold, only
    if this call made the move (False when someone else already moved it).
    The caller holds the owner's account lock."""
    stamp = {"cancelled_at": now, "cancelled_by": actor_id} if status == CANCELLED else {"expired_at": now}
    moved = db.session.execute(
        sa.update(Redemption).where(Redemption.id == redemption.id, Redemption.status == RESERVED)
        .values(status=status, **stamp).returning(Redemption.id)
        .execution_options(synchronize_session=False)).first()
    if moved is None:
        return False
    _restock_one(redemption.benefit_id)
    if redemption.hold_id is not None:
        ledger.void_hold(hold_row=db.session.get(Hold, redemption.hold_id), now=now)
    db.session.expire(redemption)
    return True


def _expire_if_overdue(redemption: Redemption, *, now) -> bool:
    if redemption.status == RESERVED and redemption.expires_at <= now:
        return _release(redemption, EXPIRED, now=now)
    return False


def _expire_overdue_of(user_id: int, *, now, benefit_id: int | None = None) -> None:
    """Lazy expiry of one person's reservations past pickup (of one benefit, or
    all); the caller holds their lock. Benefit rows are restocked in id order,
    so two of these running at once cannot deadlock on them."""
    stmt = sa.select(Redemption).where(
        Redemption.user_id == user_id, Redemption.status == RESERVED, Redemption.expires_at <= now)
    if benefit_id is not None:
        stmt = stmt.where(Redemption.benefit_id == benefit_id)
    for redemption in list(db.session.scalars(stmt.order_by(Redemption.benefit_id, Redemption.id))):
        _release(redemption, EXPIRED, now=now)


def _has_overdue(user_id: int, now) -> bool:
    return db.session.scalar(sa.select(sa.exists().where(
        Redemption.user_id == user_id, Redemption.status == RESERVED,
        Redemption.expires_at <= now))) or False


# -- reserve ------------------------------------------------------------------

def _take_stock(benefit: Benefit) -> None:
    if benefit.stock_received is None:
        return  # unlimited
    taken = db.session.execute(
        sa.update(Benefit).where(Benefit.id == benefit.id, Benefit.stock_left > 0)
        .values(stock_left=Benefit.stock_left - 1).returning(Benefit.stock_left)
        .execution_options(synchronize_session=False)).first()
    db.session.expire(benefit, ["stock_left"])
    if taken is None:
        raise DomainError(Code.OUT_OF_STOCK, "该福利已兑完", benefit_id=benefit.id)


def _period_start(benefit: Benefit, now, settings: Settings) -> datetime | None:
    if benefit.limit_period != LIMIT_MONTH:
        return None
    local = settings.local(now)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _check_limit(user_id: int, benefit: Benefit, now, settings: Settings) -> None:
    """Cancelled and expired reservations give their place back."""
    if benefit.per_user_limit is None:
        return
    stmt = sa.select(sa.func.count()).select_from(Redemption).where(
        Redemption.user_id == user_id, Redemption.benefit_id == benefit.id,
        Redemption.status.in_([RESERVED, FULFILLED]))
    since = _period_start(benefit, now, settings)
    if since is not None:
        stmt = stmt.where(Redemption.created_at >= since)
    used = db.session.scalar(stmt)
    if used >= benefit.per_user_limit:
        raise DomainError(Code.LIMIT_REACHED, "已达到每人兑换上限", limit=benefit.per_user_limit,
                          period=benefit.limit_period, used=used)


def redeem(*, actor, benefit: Benefit, idempotency_key: str | None, now,
           settings: Settings) -> tuple[Redemption, bool]:
    """Reserves one unit for the actor: takes stock and holds the cost in one
    transaction. Returns (redemption, created).

    The same idempotency key (scoped to the actor) returns the original
    reservation with created False; on another benefit it raises
    IDEMPOTENCY_CONFLICT. Otherwise raises, in this order: NOT_ELIGIBLE,
    BENEFIT_UNAVAILABLE (withdrawn or outside its window), OUT_OF_STOCK,
    LIMIT_REACHED, INSUFFICIENT_POINTS.
    """
    account = _lock_person(actor.id, now=now)
    if idempotency_key is not None:
        earlier = db.session.scalar(sa.select(Redemption).where(
            Redemption.user_id == actor.id, Redemption.idempotency_key == idempotency_key))
        if earlier is not None and earlier.benefit_id == benefit.id:
            _expire_if_overdue(earlier, now=now)
            return _reload(earlier), False
    else:
        earlier = None
    require_eligible(actor, benefit)
    if earlier is not None:
        raise Conflict(Code.IDEMPOTENCY_CONFLICT, "该幂等键已用于兑换另一项福利",
                       idempotency_key=idempotency_key, redemption_id=earlier.id)
    if not is_available(benefit, now):
        raise DomainError(Code.BENEFIT_UNAVAILABLE, "该福利当前不可兑换", benefit_id=benefit.id)
    # Only this benefit's: a reservation locks no benefit row but its own.
    _expire_overdue_of(actor.id, now=now, benefit_id=benefit.id)
    _take_stock(benefit)
    _check_limit(actor.id, benefit, now, settings)
    redemption = Redemption(benefit_id=benefit.id, user_id=actor.id, code=new_code(),
                            status=RESERVED, cost=benefit.cost, idempotency_key=idempotency_key,
                            expires_at=now + pickup_period(settings), created_at=now)
    db.session.add(redemption)
    db.session.flush()
    held = ledger.hold(account=account, amount=benefit.cost, memo=f"兑换冻结：{benefit.name}",
                       idempotency_key=f"redemption:{redemption.id}", now=now,
                       cause_key=f"redemption:{redemption.id}")
    redemption.hold_id = held.id
    db.session.flush()
    return redemption, True


# -- after the reservation ------------------------------------------------------

def _require_owner_or_staff(actor, redemption: Redemption) -> None:
    if actor.id != redemption.user_id and not can(actor, "operate", redemption.benefit.org):
        raise Forbidden("只有兑换人或该机构工作人员可以操作")


def _settle_overdue(redemption: Redemption, *, now) -> None:
    """Expires an overdue reservation for good, then refuses: the expiry is
    kept even though the request fails (keep_changes)."""
    if _expire_if_overdue(redemption, now=now):
        raise DomainError(Code.REDEMPTION_EXPIRED, "该兑换已过期", keep_changes=True,
                          redemption_id=redemption.id)


def fulfil(*, actor, code: str, now) -> Redemption:
    """Hands the unit over: the hold is posted to the org's redemption account.
    Final: no refund afterwards (see `correct`).

    Raises NOT_FOUND for an unknown code; FORBIDDEN unless the actor is staff
    of the benefit's org or above; ALREADY_FULFILLED, REDEMPTION_CANCELLED,
    REDEMPTION_EXPIRED (also when the pickup period has just run out).
    """
    redemption = db.session.scalar(sa.select(Redemption).where(Redemption.code == normalise_code(code)))
    if redemption is None:
        raise NotFound("redemption", "兑换码无效")
    require(actor, "operate", redemption.benefit.org)
    _lock_person(redemption.user_id, now=now)
    redemption = _reload(redemption)
    _settle_overdue(redemption, now=now)
    _raise_for_status(redemption)
    moved = db.session.execute(
        sa.update(Redemption).where(Redemption.id == redemption.id, Redemption.status == RESERVED)
        .values(status=FULFILLED, fulfilled_at=now, fulfilled_by=actor.id).returning(Redemption.id)
        .execution_options(synchronize_session=False)).first()
    if moved is None:  # unreachable while the lock is held; kept as the last guard
        _raise_for_status(_reload(redemption))
    posted = ledger.post_hold(hold_row=db.session.get(Hold, redemption.hold_id),
                              credit=ledger.redemption_account(redemption.benefit.org_id, now=now),
                              now=now, kind="redeem", memo=f"兑换：{redemption.benefit.name}",
                              actor_id=actor.id)
    redemption = _reload(redemption)
    redemption.transfer_id = posted.id
    db.session.flush()
    return redemption


def cancel(*, actor, redemption: Redemption, now) -> Redemption:
    """Cancels a reservation, putting the unit back and releasing the points,
    exactly once; cancelling a cancelled one again changes nothing.

    Raises FORBIDDEN unless the actor owns it or is staff of the benefit's org
    or above; ALREADY_FULFILLED; REDEMPTION_EXPIRED.
    """
    _require_owner_or_staff(actor, redemption)
    _lock_person(redemption.user_id, now=now)
    redemption = _reload(redemption)
    _settle_overdue(redemption, now=now)
    if redemption.status != CANCELLED and not _release(redemption, CANCELLED, now=now, actor_id=actor.id):
        _raise_for_status(_reload(redemption))
    return _reload(redemption)


def correct(*, actor, redemption: Redemption, reason: str, now) -> Redemption:
    """A staff correction of a fulfilled redemption: the points go back by a
    ledger reversal of the posted transfer (nothing is edited). The goods are
    not restocked. Raises FORBIDDEN; NOT_FULFILLED; ALREADY_REVERSED;
    INSUFFICIENT_POINTS never (the debit is the org's redemption account)."""
    require(actor, "operate", redemption.benefit.org)
    _lock_person(redemption.user_id, now=now)
    redemption = _reload(redemption)
    if redemption.status != FULFILLED or redemption.transfer_id is None:
        raise Conflict(Code.NOT_FULFILLED, "只有已领取的兑换可以更正", status=redemption.status)
    reversal = ledger.reverse(original=db.session.get(Transfer, redemption.transfer_id),
                              reason=reason, actor_id=actor.id, now=now)
    redemption.correction_transfer_id = reversal.id
    redemption.correction_reason = reason
    redemption.corrected_at = now
    db.session.flush()
    return redemption


def view(*, actor, redemption: Redemption, now) -> Redemption:
    """One redemption for its owner or staff in scope, expired lazily if overdue."""
    _require_owner_or_staff(actor, redemption)
    if redemption.status == RESERVED and redemption.expires_at <= now:
        _lock_person(redemption.user_id, now=now)
        _expire_if_overdue(_reload(redemption), now=now)
    return _reload(redemption)


def pickup_code(*, actor, redemption: Redemption, now) -> str:
    """The code to show as a QR, to the owner only, while it can be picked up.
    Raises FORBIDDEN; ALREADY_FULFILLED / REDEMPTION_CANCELLED / REDEMPTION_EXPIRED."""
    if actor.id != redemption.user_id:
        raise Forbidden("只有兑换人可以出示兑换码")
    redemption = view(actor=actor, redemption=redemption, now=now)
    _raise_for_status(redemption)
    return redemption.code


def list_mine(*, actor, status: str | None, cursor: str | None, limit: int, now) -> Page:
    """The actor's redemptions, newest first; overdue reservations expire on the way."""
    if _has_overdue(actor.id, now):
        _lock_person(actor.id, now=now)
        _expire_overdue_of(actor.id, now=now)
    stmt = sa.select(Redemption).where(Redemption.user_id == actor.id)
    if status is not None:
        stmt = stmt.where(Redemption.status == status)
    return keyset_page(stmt, order=[Redemption.id], cursor=cursor, limit=limit, descending=True)


def list_for_benefit(*, actor, benefit: Benefit, status: str | None, cursor: str | None,
                     limit: int) -> Page:
    """Staff view of one benefit's redemptions, newest first. Raises FORBIDDEN."""
    require(actor, "operate", benefit.org)
    stmt = sa.select(Redemption).where(Redemption.benefit_id == benefit.id)
    if status is not None:
        stmt = stmt.where(Redemption.status == status)
    return keyset_page(stmt, order=[Redemption.id], cursor=cursor, limit=limit, descending=True)


# -- expiry job -----------------------------------------------------------------

def overdue_ids(*, now, limit: int = 500, after: int = 0) -> list[int]:
    return list(db.session.scalars(
        sa.select(Redemption.id).where(Redemption.status == RESERVED, Redemption.expires_at <= now,
                                       Redemption.id > after)
        .order_by(Redemption.id).limit(limit)))


def expire(*, redemption_id: int, now) -> bool:
    """Expires one overdue reservation (restock, void the hold), exactly once
    even racing a fulfil or cancel. True if this call expired it. The caller
    commits after each, so one transaction never holds two people's locks."""
    redemption = db.session.get(Redemption, redemption_id)
    if redemption is None:
        return False
    _lock_person(redemption.user_id, now=now)
    return _expire_if_overdue(_reload(redemption), now=now)


def expire_many(*, redemption_ids: list[int], now) -> int:
    """Expires these reservations where they are overdue, as `expire` would each
    (restock, void the hold, exactly once even racing a fulfil or cancel), in a
    few statements: their owners' accounts are locked first, in id order, then
    the reservations still reserved move to expired in one conditional UPDATE.
    Returns how many this call expired."""
    owners = sa.select(Redemption.user_id).where(Redemption.id.in_(redemption_ids))
    db.session.execute(sa.select(Account.id).where(Account.kind == PERSON, Account.user_id.in_(owners))
                       .order_by(Account.id).with_for_update()).all()
    moved = db.session.execute(
        sa.update(Redemption).where(Redemption.id.in_(redemption_ids), Redemption.status == RESERVED,
                                    Redemption.expires_at <= now)
        .values(status=EXPIRED, expired_at=now).returning(Redemption.benefit_id, Redemption.hold_id)
        .execution_options(synchronize_session=False)).all()
    restock = {}
    for benefit_id, _hold_id in moved:
        restock[benefit_id] = restock.get(benefit_id, 0) + 1
    if restock:  # in benefit id order, as every other path locks benefit rows
        db.session.execute(
            sa.update(Benefit.__table__)
            .where(Benefit.__table__.c.id == sa.bindparam("benefit_id"), Benefit.__table__.c.stock_left.is_not(None))
            .values(stock_left=Benefit.__table__.c.stock_left + sa.bindparam("units")),
            [{"benefit_id": benefit_id, "units": units} for benefit_id, units in sorted(restock.items())])
    holds = [hold_id for _benefit_id, hold_id in moved if hold_id is not None]
    if holds:
        for hold_row in db.session.scalars(sa.select(Hold).where(Hold.id.in_(holds)).order_by(Hold.id)).all():
            ledger.void_hold(hold_row=hold_row, now=now)
    for model, ids in ((Redemption, redemption_ids), (Benefit, restock)):
        for row_id in ids:  # what the session holds of them is stale now
            cached = db.session.identity_map.get(identity_key(model, row_id))
            if cached is not None:
                db.session.expire(cached)
    return len(moved)


def expire_overdue(*, now, batch: int = 500) -> int:
    """The job: every reservation overdue at `now` expired, `batch` per
    transaction (committed here); how many this run expired. Safe to run twice
    at once, and alongside fulfils and cancels."""
    expired, after = 0, 0
    while ids := overdue_ids(now=now, limit=batch, after=after):
        expired += expire_many(redemption_ids=ids, now=now)
        db.session.commit()
        after = ids[-1]
    return expired
