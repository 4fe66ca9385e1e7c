"""Demo data for `make run`: one city, district, station, two rooms, staff, residents.

Feature modules add their demo activities and benefits through `EXTRA_LOADERS`.
"""
import sqlalchemy as sa

from core.db import db
from orgs.models import Org, StaffRole
from orgs.services import _save_org, ensure_city
from core.passwords import hash_password
from people.models import User
from volunteers.models import VolunteerProfile

DEMO_PASSWORD = "linli-demo-2026"
ADMIN_PHONE = "13800000000"


def _org(name, kind, parent, now):
    found = db.session.scalar(sa.select(Org).where(Org.parent_id == parent.id, Org.name == name))
    return found or _save_org(Org(name=name, kind=kind, parent=parent, created_at=now))


def _staff(phone, name, org, role, now):
    user = db.session.scalar(sa.select(User).where(User.phone == phone))
    if user is None:
        user = User(phone=phone, nickname=name, password_hash=hash_password(DEMO_PASSWORD),
                    home_org_id=org.id, created_at=now)
        db.session.add(user)
        db.session.flush()
        db.session.add(StaffRole(user_id=user.id, org_id=org.id, role=role, created_at=now))
    return user


def _resident(openid, nickname, home, now, volunteer_name=None, phone=None):
    user = db.session.scalar(sa.select(User).where(User.wechat_openid == openid))
    if user is None:
        user = User(wechat_openid=openid, nickname=nickname, home_org_id=home.id, created_at=now)
        db.session.add(user)
        db.session.flush()
        if volunteer_name:
            db.session.add(VolunteerProfile(user_id=user.id, real_name=volunteer_name,
                                            phone=phone, status="active", created_at=now))
    return user


# Callables (orgs: dict, people: dict, now) added by feature modules.
EXTRA_LOADERS = []


def load(*, now) -> str:
    city = ensure_city(name="武汉市", now=now)
    district = _org("江岸区社工服务指导中心", "district", city, now)
    station = _org("百步亭街道社工站", "station", district, now)
    room_a = _org("百步亭花园社区社工室", "room", station, now)
    room_b = _org("幸福社区社工室", "room", station, now)
    orgs = {"city": city, "district": district, "station": station,
            "room_a": room_a, "room_b": room_b}
    people = {
        "admin": _staff(ADMIN_PHONE, "市级管理员", city, "admin", now),
        "station_worker": _staff("13800000001", "王社工", station, "worker", now),
        "room_a_worker": _staff("13800000002", "李社工", room_a, "worker", now),
        "room_b_admin": _staff("13800000003", "张主任", room_b, "admin", now),
        "resident": _resident("demo-resident", "陈阿姨", room_a, now),
        "volunteer": _resident("demo-volunteer", "小刘", room_a, now, "刘志远", "13912345678"),
        "volunteer2": _resident("demo-volunteer-2", "小赵", room_b, now, "赵敏", "13912345679"),
    }
    db.session.flush()
    for loader in EXTRA_LOADERS:
        loader(orgs, people, now)
    db.session.flush()
    return (f"demo loaded: {len(orgs)} organisations; staff password {DEMO_PASSWORD}; "
            f"admin phone {ADMIN_PHONE}")


def _volunteer_demo(orgs, people, now):
    """The demo volunteers' skills and privacy consent; a profile already edited is left alone."""
    details = {"volunteer": ["助老陪伴", "智能手机教学"], "volunteer2": ["儿童课业辅导", "急救"]}
    for key, skills in details.items():
        profile = people[key].volunteer
        if profile is not None and not profile.skills and profile.consented_at is None:
            profile.skills = skills
            profile.consent_version = "2026-11"
            profile.consented_at = now


EXTRA_LOADERS.append(_volunteer_demo)


from activities.demo import load_demo as _activities_demo  # noqa: E402

EXTRA_LOADERS.append(_activities_demo)


def _demo_points(orgs, people, now):
    """Paper-era service hours carried into the ledger by the city admin
    (an adjustment per volunteer; its idempotency key makes reloading a no-op)."""
    from points.adjustments import adjust

    for who, amount in (("volunteer", 400), ("volunteer2", 120)):
        adjust(actor=people["admin"], user_id=people[who].id, amount=amount,
               reason="历史纸质记录补录", idempotency_key=f"demo-paper-records:{who}", now=now)


EXTRA_LOADERS.append(_demo_points)


def _load_benefits(orgs, people, now):
    """Benefits donated to the demo rooms (以服务换福利)."""
    from points import benefits
    from points.benefits_models import Benefit

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


EXTRA_LOADERS.append(_load_benefits)
