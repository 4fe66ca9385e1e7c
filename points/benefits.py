"""Benefits: what rooms offer for points (以服务换福利), their stock and who may take them."""
import sqlalchemy as sa

from core.db import db
from core.errors import Code, Forbidden, Invalid, NotFound
from core.paging import Page, keyset_page
from orgs.models import Org
from orgs.scope import can, require, scope_paths
from orgs.services import get_org
from volunteers.records import star_for_minutes, totals_for

from .benefits_models import (BENEFIT_ACTIVE, BENEFIT_WITHDRAWN, LIMIT_TOTAL, REDEMPTION_STATUSES,
                              Benefit, BenefitRestock, Redemption)

SPONSOR_FIELDS = ("name", "kind", "quantity", "value_fen")


def star_level(user_id: int) -> int:
    """The person's volunteer star level (星级), from all their service hours."""
    return star_for_minutes(totals_for(user_id).minutes)


def get_benefit(benefit_id: int) -> Benefit:
    benefit = db.session.get(Benefit, benefit_id)
    if benefit is None:
        raise NotFound("benefit", "福利不存在")
    return benefit


def is_available(benefit: Benefit, now) -> bool:
    """Active and inside its availability window [available_from, available_until)."""
    return (benefit.status == BENEFIT_ACTIVE
            and (benefit.available_from is None or benefit.available_from <= now)
            and (benefit.available_until is None or now < benefit.available_until))


def require_eligible(user, benefit: Benefit) -> None:
    """Raises NOT_ELIGIBLE when the person's star level is below `min_star`, or
    the benefit is for residents of its org subtree and the person lives elsewhere."""
    if benefit.min_star and star_level(user.id) < benefit.min_star:
        raise Forbidden(f"需要{benefit.min_star}星级及以上志愿者", code=Code.NOT_ELIGIBLE,
                        min_star=benefit.min_star)
    if benefit.is_residents_only:
        home = db.session.get(Org, user.home_org_id) if user.home_org_id else None
        if home is None or not benefit.org.contains(home):
            raise Forbidden("仅限本社区居民兑换", code=Code.NOT_ELIGIBLE, org_id=benefit.org_id)


def _sponsor_columns(sponsor: dict | None) -> dict:
    sponsor = sponsor or {}
    return {f"sponsor_{name}": sponsor.get(name) for name in SPONSOR_FIELDS}


def _check_window(benefit: Benefit) -> None:
    if (benefit.available_from is not None and benefit.available_until is not None
            and benefit.available_until <= benefit.available_from):
        raise Invalid({"available_until": ["须晚于 available_from"]})


def create_benefit(*, actor, org: Org, name: str, cost: int, stock: int | None, now,
                   description: str = "", image_url: str | None = None,
                   per_user_limit: int | None = None, limit_period: str = LIMIT_TOTAL,
                   available_from=None, available_until=None, min_star: int = 0,
                   residents_only: bool = False, sponsor: dict | None = None) -> Benefit:
    """A benefit offered by `org`. `stock` None means unlimited.

    Raises FORBIDDEN unless the actor is staff of the org or above;
    VALIDATION_ERROR for a window that ends before it starts.
    """
    require(actor, "operate", org)
    benefit = Benefit(org=org, org_id=org.id, name=name, description=description or "",
                      image_url=image_url, cost=cost, stock_initial=stock, stock_received=stock,
                      stock_left=stock, per_user_limit=per_user_limit, limit_period=limit_period,
                      available_from=available_from, available_until=available_until,
                      min_star=min_star, is_residents_only=residents_only, status=BENEFIT_ACTIVE,
                      created_by=actor.id, created_at=now, updated_at=now, **_sponsor_columns(sponsor))
    _check_window(benefit)
    db.session.add(benefit)
    db.session.flush()
    return describe_benefit(actor=actor, benefit=benefit, now=now)


def update_benefit(*, actor, benefit: Benefit, now, **changes) -> Benefit:
    """Changes what is given; stock changes only through `restock`. A new cost
    applies to later reservations only. Raises FORBIDDEN, VALIDATION_ERROR."""
    require(actor, "operate", benefit.org)
    if "sponsor" in changes:
        for column, value in _sponsor_columns(changes.pop("sponsor")).items():
            setattr(benefit, column, value)
    if "residents_only" in changes:
        benefit.is_residents_only = changes.pop("residents_only")
    for name, value in changes.items():
        setattr(benefit, name, "" if name == "description" and value is None else value)
    _check_window(benefit)
    benefit.updated_at = now
    db.session.flush()
    return describe_benefit(actor=actor, benefit=benefit, now=now)


def withdraw_benefit(*, actor, benefit: Benefit, now) -> Benefit:
    """Stops new reservations (existing ones may still be fulfilled or
    cancelled). Withdrawing again changes nothing. Raises FORBIDDEN."""
    require(actor, "operate", benefit.org)
    if benefit.status != BENEFIT_WITHDRAWN:
        benefit.status, benefit.withdrawn_at, benefit.updated_at = BENEFIT_WITHDRAWN, now, now
        db.session.flush()
    return describe_benefit(actor=actor, benefit=benefit, now=now)


def restock(*, actor, benefit: Benefit, quantity: int, note: str, now) -> Benefit:
    """Records goods received (e.g. a donation) and adds them to the stock,
    atomically with concurrent reservations. Raises FORBIDDEN; VALIDATION_ERROR
    for a benefit with unlimited stock."""
    require(actor, "operate", benefit.org)
    if benefit.stock_left is None:
        raise Invalid({"quantity": ["该福利不限库存，无需补货"]})
    db.session.execute(
        sa.update(Benefit).where(Benefit.id == benefit.id)
        .values(stock_left=Benefit.stock_left + quantity,
                stock_received=Benefit.stock_received + quantity, updated_at=now)
        .execution_options(synchronize_session=False))
    db.session.add(BenefitRestock(benefit_id=benefit.id, quantity=quantity, note=note or "",
                                  actor_id=actor.id, created_at=now))
    db.session.flush()
    db.session.refresh(benefit)
    return describe_benefit(actor=actor, benefit=benefit, now=now)


def redemption_counts(benefit_ids: list[int]) -> dict[int, dict[str, int]]:
    """{benefit_id: {status: count}} with every status present."""
    counts = {bid: dict.fromkeys(REDEMPTION_STATUSES, 0) for bid in benefit_ids}
    if benefit_ids:
        rows = db.session.execute(
            sa.select(Redemption.benefit_id, Redemption.status, sa.func.count())
            .where(Redemption.benefit_id.in_(benefit_ids))
            .group_by(Redemption.benefit_id, Redemption.status))
        for benefit_id, status, count in rows:
            counts[benefit_id][status] = count
    return counts


def _annotate(actor, benefits: list[Benefit], now) -> list[Benefit]:
    """Adds `is_available`, and redemption `counts` for staff in scope (None otherwise)."""
    staff_ids = [b.id for b in benefits if can(actor, "operate", b.org)]
    counts = redemption_counts(staff_ids)
    for benefit in benefits:
        benefit.is_available = is_available(benefit, now)
        benefit.counts = counts.get(benefit.id)
    return benefits


def describe_benefit(*, actor, benefit: Benefit, now) -> Benefit:
    """The benefit as its reader may see it: redemption counts for staff in scope only."""
    return _annotate(actor, [benefit], now)[0]


def list_benefits(*, actor, org_id: int | None, cursor: str | None, limit: int, now) -> Page:
    """Benefits of `org_id`'s subtree (all when None), newest first. Residents
    see those on offer now; staff also see withdrawn and out-of-window ones in
    their scope, with redemption counts. Raises NOT_FOUND for an unknown org."""
    stmt = sa.select(Benefit).join(Org, Org.id == Benefit.org_id)
    if org_id is not None:
        stmt = stmt.where(Org.under(get_org(org_id).path))
    on_offer = sa.and_(
        Benefit.status == BENEFIT_ACTIVE,
        sa.or_(Benefit.available_from.is_(None), Benefit.available_from <= now),
        sa.or_(Benefit.available_until.is_(None), Benefit.available_until > now))
    in_scope = [Org.under(path) for path in scope_paths(actor)]
    stmt = stmt.where(sa.or_(on_offer, *in_scope))
    page = keyset_page(stmt, order=[Benefit.id], cursor=cursor, limit=limit, descending=True)
    _annotate(actor, page.items, now)
    return page
