"""A room's books: points issued, redeemed and held, and goods that match them (账物相符)."""
import sqlalchemy as sa

from core.db import db
from core.errors import Invalid
from orgs.models import Org
from orgs.scope import require

from .benefits import redemption_counts
from .benefits_models import FULFILLED, RESERVED, Benefit, BenefitRestock, Redemption
from .expiry import EXPIRY
from .models import HOLD_OPEN, ORG_ISSUING, ORG_REDEMPTION, Account, Hold, Transfer


def _accounts_of(org: Org, kind: str):
    return (sa.select(Account.id).join(Org, Org.id == Account.org_id)
            .where(Account.kind == kind, Org.under(org.path)))


def _sum(column, accounts, since, until, *conditions) -> int:
    stmt = sa.select(sa.func.coalesce(sa.func.sum(Transfer.amount), 0)).where(column.in_(accounts), *conditions)
    if since is not None:
        stmt = stmt.where(Transfer.created_at >= since)
    if until is not None:
        stmt = stmt.where(Transfer.created_at < until)
    return int(db.session.scalar(stmt))


def flows(org: Org, since, until) -> dict:
    issuing, redemption = _accounts_of(org, ORG_ISSUING), _accounts_of(org, ORG_REDEMPTION)
    return {
        # Out of the subtree's issuing accounts: earnings (and positive adjustments).
        "issued": _sum(Transfer.debit_account_id, issuing, since, until),
        # Back into them: reversed earnings, negative adjustments.
        "returned": _sum(Transfer.credit_account_id, issuing, since, until, Transfer.kind != EXPIRY),
        # Back into them when unspent points expired (points.expiry).
        "expired": _sum(Transfer.credit_account_id, issuing, since, until, Transfer.kind == EXPIRY),
        # Spent on the subtree's benefits (posted holds).
        "redeemed": _sum(Transfer.credit_account_id, redemption, since, until),
        # Given back by staff corrections of fulfilled redemptions.
        "corrected": _sum(Transfer.debit_account_id, redemption, since, until),
    }


def _stock_lines(org: Org) -> list[dict]:
    benefits = list(db.session.scalars(
        sa.select(Benefit).join(Org, Org.id == Benefit.org_id)
        .where(Org.under(org.path)).order_by(Benefit.id)))
    counts = redemption_counts([b.id for b in benefits])
    # Received is recounted from the restock records, not taken from the cached counter.
    restocked = dict(db.session.execute(
        sa.select(BenefitRestock.benefit_id, sa.func.sum(BenefitRestock.quantity))
        .where(BenefitRestock.benefit_id.in_([b.id for b in benefits]))
        .group_by(BenefitRestock.benefit_id)).all())
    lines = []
    for benefit in benefits:
        c = counts[benefit.id]
        unlimited = benefit.stock_initial is None
        received = None if unlimited else benefit.stock_initial + int(restocked.get(benefit.id, 0))
        lines.append({
            "benefit_id": benefit.id, "name": benefit.name, "org_id": benefit.org_id,
            "status": benefit.status, "sponsor_name": benefit.sponsor_name,
            "sponsor_value_fen": benefit.sponsor_value_fen,
            "received": received, "reserved": c[RESERVED],
            "fulfilled": c[FULFILLED], "expired": c["expired"], "cancelled": c["cancelled"],
            "left": benefit.stock_left,
            # Goods match the books: what came in minus what went out or is promised.
            "balanced": None if unlimited else (
                received == benefit.stock_received
                and received - c[FULFILLED] - c[RESERVED] == benefit.stock_left),
        })
    return lines


def summary(*, actor, org: Org, since=None, until=None, now) -> dict:
    """Points flows of the org subtree over [since, until) (without `until`:
    everything since `since`, reported as until `now`), points currently held
    by open reservations of its benefits, the outstanding balance at `until`
    (issued − returned − expired − redeemed + corrected, all time), and a
    stock line per benefit (all time).

    Raises FORBIDDEN unless the actor is staff of the org or above;
    VALIDATION_ERROR when `until` is not after `since`.
    """
    require(actor, "operate", org)
    if since is not None and (until or now) <= since:
        raise Invalid({"to": ["须晚于 from"]})
    # Without `to` the books run to now with no upper bound: what was posted
    # at this very instant, or by a server whose clock is a little ahead, counts.
    period = flows(org, since, until)
    to_date = flows(org, None, until)
    held = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Hold.amount), 0))
        .select_from(Redemption).join(Hold, Hold.id == Redemption.hold_id)
        .join(Benefit, Benefit.id == Redemption.benefit_id).join(Org, Org.id == Benefit.org_id)
        .where(Hold.status == HOLD_OPEN, Org.under(org.path)))
    outstanding = (to_date["issued"] - to_date["returned"] - to_date["expired"] - to_date["redeemed"]
                   + to_date["corrected"])
    return {"org_id": org.id, "since": since, "until": until or now,
            "points": {**period, "held": int(held), "outstanding": outstanding},
            "stock": _stock_lines(org)}
