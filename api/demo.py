"""Demo data for `make run`: one city, district, station, two rooms, staff, residents.

Each feature adds its own (activities, points, benefits...) through the DEMO_LOADERS
of its `feature` module (api/features.py), run after these in feature order.
"""
import sqlalchemy as sa

from core.db import db

from . import features
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


def load(*, now, settings) -> str:
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
    for loader in features.demo_loaders():
        loader(orgs, people, now, settings)
    db.session.flush()
    return (f"demo loaded: {len(orgs)} organisations; staff password {DEMO_PASSWORD}; "
            f"admin phone {ADMIN_PHONE}")
