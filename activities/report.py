"""The work report of an organisation's subtree for a period (绩效评价台账).

The civil-affairs notice asks for performance indicators that are measurable,
comparable and traceable: this gives one set of figures for the org and the
same figures for each org directly below it, so a district compares its
stations and a station its rooms. Every figure is counted from the records
themselves (activities, registrations, service records, the ledger), never
from counters that could drift.

The period [since, until) applies to when each thing happened: activities by
their start, service records by their service date, points by their
transfer, redemptions by their fulfilment.
"""
from datetime import timedelta

import sqlalchemy as sa

from core.db import db
from core.errors import Invalid
from core.settings import Settings
from orgs.models import Org
from orgs.scope import require
from points.benefits_models import FULFILLED, Benefit, Redemption
from points.books import flows
from volunteers.models import ServiceRecord

from .models import DOMAINS, Activity, Registration

MAX_PERIOD = timedelta(days=366 * 3)


def _figures(org: Org, since, until, zone) -> dict:
    starting = (Org.under(org.path), Activity.starts_at >= since, Activity.starts_at < until)
    by_status = dict(db.session.execute(
        sa.select(Activity.status, sa.func.count()).join(Org, Org.id == Activity.org_id)
        .where(*starting, Activity.status != "draft").group_by(Activity.status)).all())
    held_now = Activity.status.in_(("published", "settled"))
    by_domain = dict(db.session.execute(
        sa.select(Activity.domain, sa.func.count()).join(Org, Org.id == Activity.org_id)
        .where(*starting, held_now).group_by(Activity.domain)).all())
    held = sa.select(Activity.id).join(Org, Org.id == Activity.org_id).where(*starting, held_now)
    confirmed, checked_in, people = db.session.execute(
        sa.select(sa.func.count(), sa.func.count(Registration.checked_in_at),
                  sa.func.count(sa.distinct(sa.case((Registration.checked_in_at.is_not(None),
                                                     Registration.user_id)))))
        .where(Registration.activity_id.in_(held), Registration.status == "confirmed",
               Registration.role == "participant")).one()
    first_day = since.astimezone(zone).date()
    last_day = (until - timedelta(microseconds=1)).astimezone(zone).date()
    records, minutes, late, volunteers = db.session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(ServiceRecord.minutes), 0),
                  sa.func.count(sa.case((ServiceRecord.is_late, 1))),
                  sa.func.count(sa.distinct(ServiceRecord.user_id)))
        .join(Org, Org.id == ServiceRecord.org_id)
        .where(Org.under(org.path), ServiceRecord.service_date >= first_day,
               ServiceRecord.service_date <= last_day)).one()
    fulfilled = db.session.scalar(
        sa.select(sa.func.count()).select_from(Redemption).join(Benefit, Benefit.id == Redemption.benefit_id)
        .join(Org, Org.id == Benefit.org_id)
        .where(Org.under(org.path), Redemption.status == FULFILLED, Redemption.fulfilled_at >= since,
               Redemption.fulfilled_at < until))
    points = flows(org, since, until)
    return {
        "activities": {"held": by_status.get("published", 0) + by_status.get("settled", 0),
                       "settled": by_status.get("settled", 0), "cancelled": by_status.get("cancelled", 0),
                       "by_domain": {domain: by_domain.get(domain, 0) for domain in DOMAINS}},
        "participants": {"confirmed": confirmed, "checked_in": checked_in, "people": people},
        "volunteering": {"people": volunteers, "records": records, "minutes": int(minutes),
                         "late_records": late},
        "points": {"issued": points["issued"] - points["returned"], "redeemed": points["redeemed"]
                   - points["corrected"], "expired": points["expired"]},
        "benefits_fulfilled": fulfilled,
    }


def report(*, actor, org: Org, since, until, settings: Settings) -> dict:
    """The figures of `org`'s subtree over [since, until), and the same for each
    org directly below it, in id order.

    Raises FORBIDDEN unless the actor is staff of the org or above;
    VALIDATION_ERROR when `until` is not after `since` or the period is over three years.
    """
    require(actor, "operate", org)
    if until <= since:
        raise Invalid({"to": ["须晚于 from"]})
    if until - since > MAX_PERIOD:
        raise Invalid({"to": ["统计区间最长三年"]})
    children = db.session.scalars(sa.select(Org).where(Org.parent_id == org.id).order_by(Org.id)).all()
    return {"org_id": org.id, "name": org.name, "kind": org.kind, "since": since, "until": until,
            **_figures(org, since, until, settings.zone),
            "children": [{"org_id": child.id, "name": child.name, "kind": child.kind,
                          **_figures(child, since, until, settings.zone)} for child in children]}
