"""Demo points and benefits for the embedded server (`flask demo load`); idempotent."""
import sqlalchemy as sa

from core.db import db

from . import benefits
from .adjustments import adjust
from .benefits_models import Benefit


def demo_points(orgs, people, now, settings):
    """Paper-era service hours carried into the ledger by the city admin
    (an adjustment per volunteer; its idempotency key makes reloading a no-op)."""
    for who, amount in (("volunteer", 400), ("volunteer2", 120)):
        adjust(actor=people["admin"], user_id=people[who].id, amount=amount,
               reason="历史纸质记录补录", idempotency_key=f"demo-paper-records:{who}", now=now)


def demo_benefits(orgs, people, now, settings):
    """Benefits donated to the demo rooms (以服务换福利)."""
    offers = [
        ("room_a", "room_a_worker", dict(
            name="爱心理发券", cost=50, stock=20, per_user_limit=1, limit_period="month",
            description="凭券到张师傅理发店免费理发一次，老年志愿者优先。",
            sponsor={"name": "张师傅理发店", "kind": "merchant", "quantity": 20, "value_fen": 20 * 3000})),
        ("room_a", "room_a_worker", dict(
            name="米面油礼包", cost=300, stock=10, per_user_limit=1,
            description="大米5斤、面条2斤、食用油1桶，社工室现场领取。",
            sponsor={"name": "武汉市慈善总会", "kind": "charity", "quantity": 10, "value_fen": 10 * 8800})),
        ("room_b", "room_b_admin", dict(
            name="社区食堂爱心餐券", cost=20, stock=None, per_user_limit=4, limit_period="month",
            description="社区长者食堂午餐一份。",
            sponsor={"name": "百步亭街道办事处", "kind": "government"})),
    ]
    for org_key, staff_key, fields in offers:
        org = orgs[org_key]
        exists = db.session.scalar(sa.select(Benefit.id).where(Benefit.org_id == org.id,
                                                               Benefit.name == fields["name"]))
        if exists is None:
            benefits.create_benefit(actor=people[staff_key], org=org, now=now, **fields)
