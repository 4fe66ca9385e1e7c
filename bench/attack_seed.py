"""The world the attack kit attacks: one city, two districts, stations, rooms, staff at
every level, residents, volunteers, activities, benefits, redemptions, points.

Built in-process through the services (with `now` passed, as the house rules ask),
on the database itself; staff then sign in over HTTP with their passwords, and
residents get tokens minted with the server's key (DEV_LOGIN is off, as in
production). District B holds every target; the attackers live in district A.

Canaries are strings that exist once, in district B's private data (a volunteer's
real name, phone and ID number, pickup codes, a draft's title, a kiosk token): no
response to an actor outside district B may contain one.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from stdnum.cn import ric

STAFF_PASSWORD = "attack-Kit-2026!"


def id_number(serial: int) -> str:
    body = f"42010219850101{serial:03d}"
    return body + ric.calc_check_digit(body + "0")  # it ignores the last character


@dataclass
class World:
    ids: dict = field(default_factory=dict)        # name → id of an object
    phones: dict = field(default_factory=dict)     # staff name → phone
    tokens: dict = field(default_factory=dict)     # actor name → access token
    canaries: dict = field(default_factory=dict)   # what it is → the secret string
    codes: dict = field(default_factory=dict)      # redemption name → pickup code


def seed(app, now) -> World:
    from activities import kiosk, registration, services as activity_services, settlement
    from activities.checkin import Scan, manual_checkin
    from activities.models import Registration
    from api.tokens import encode_access
    from core import settings as core_settings
    from core.db import db
    from core.passwords import hash_password
    from orgs.models import Org, StaffRole
    from orgs.services import _save_org, ensure_city
    from points import adjustments, benefits, redemption
    from volunteers import certificates, profiles
    from volunteers.models import User

    world = World()
    run = uuid.uuid4().hex[:6]
    settings = core_settings.of(app)
    with app.app_context():
        city = ensure_city(name="武汉市", now=now)
        orgs = {"city": city}

        def org(key, name, kind, parent):
            orgs[key] = _save_org(Org(name=name, kind=kind, parent=orgs[parent], created_at=now))

        org("district_a", "江岸区社工服务指导中心", "district", "city")
        org("district_b", "江汉区社工服务指导中心", "district", "city")
        org("station_a", "百步亭街道社工站", "station", "district_a")
        org("station_b", "民族街道社工站", "station", "district_b")
        org("room_a1", "百步亭花园社区社工室", "room", "station_a")
        org("room_a2", "幸福社区社工室", "room", "station_a")
        org("room_b1", "民族路社区社工室", "room", "station_b")
        org("room_b2", "前进社区社工室", "room", "station_b")
        db.session.flush()
        world.ids.update({key: o.id for key, o in orgs.items()})

        people = {}
        phone_no = iter(range(1, 100))

        def staff(key, org_key, role):
            phone = f"1380{next(phone_no):03d}{int(run[:4], 16) % 10000:04d}"
            user = User(phone=phone, nickname=f"社工{key}", password_hash=hash_password(STAFF_PASSWORD),
                        home_org_id=orgs[org_key].id, created_at=now)
            db.session.add(user)
            db.session.flush()
            db.session.add(StaffRole(user_id=user.id, org_id=orgs[org_key].id, role=role, created_at=now))
            people[key] = user
            world.phones[key] = phone

        for key, org_key, role in [
            ("city_admin", "city", "admin"),
            ("admin_a", "district_a", "admin"), ("station_a_worker", "station_a", "worker"),
            ("admin_a1", "room_a1", "admin"), ("worker_a1", "room_a1", "worker"),
            ("admin_b", "district_b", "admin"), ("victim_b", "district_b", "admin"),
            ("station_b_admin", "station_b", "admin"), ("station_b_worker", "station_b", "worker"),
            ("admin_b1", "room_b1", "admin"), ("worker_b1", "room_b1", "worker"),
        ]:
            staff(key, org_key, role)
        world.canaries["victim_b phone"] = world.phones["victim_b"]
        world.canaries["worker_b1 phone"] = world.phones["worker_b1"]

        def resident(key, org_key, volunteer: tuple | None = None):
            user = User(wechat_openid=f"attack-{run}-{key}", nickname=f"居民{key}",
                        home_org_id=orgs[org_key].id, created_at=now)
            db.session.add(user)
            db.session.flush()
            if volunteer is not None:
                real_name, phone, serial = volunteer
                profiles.register(user=user, real_name=real_name, phone=phone,
                                  id_number=id_number(serial) if serial is not None else None, now=now, settings=settings)
            people[key] = user

        resident("resident_a", "room_a1")
        resident("fuzz_resident", "room_a2", ("司马冬青", "13912340001", None))
        resident("resident_b", "room_b1", ("欧阳金秋", "13987650002", 7))
        resident("volunteer_b", "room_b1", ("上官晓月", "13987650003", 8))
        resident("bystander_b", "room_b2")
        world.canaries.update({"resident_b real name": "欧阳金秋", "resident_b phone": "13987650002",
                               "resident_b id number": id_number(7), "volunteer_b real name": "上官晓月",
                               "volunteer_b phone": "13987650003", "volunteer_b id number": id_number(8)})
        db.session.flush()
        world.ids.update({key: u.id for key, u in people.items()})
        world.ids["profile_b"] = people["resident_b"].volunteer.id

        # points: paper records carried in by the city admin
        for key, amount in (("resident_b", 500), ("volunteer_b", 300), ("fuzz_resident", 300),
                            ("resident_a", 50)):
            made = adjustments.adjust(actor=people["city_admin"], user_id=people[key].id, amount=amount,
                                      reason="历史纸质记录补录", idempotency_key=f"seed:{key}", now=now)
            world.ids[f"transfer_{key}"] = made.transfer.id

        # activities of room B1
        worker = people["worker_b1"]
        room_b1 = orgs["room_b1"]

        def activity(key, title, starts, hours=2, volunteers=5):
            made = activity_services.create_activity(
                actor=worker, org=room_b1, now=now, title=title, domain="elderly_care",
                location="民族路社区活动室", starts_at=starts, ends_at=starts + timedelta(hours=hours),
                capacity=30, volunteer_slots=volunteers, points_per_hour=20)
            world.ids[key] = made.id
            return made

        draft_title = f"草稿活动{run}未公开"
        activity("activity_draft", draft_title, now + timedelta(days=3))
        world.canaries["draft title"] = draft_title
        upcoming = activity("activity_b", "长者智能手机课堂", now + timedelta(days=2))
        activity_services.publish(actor=worker, activity=upcoming, now=now)
        ended = activity("activity_ended", "社区环境整治", now - timedelta(hours=5))
        activity_services.publish(actor=worker, activity=ended, now=now - timedelta(days=1))
        done = activity("activity_settled", "社区义诊", now - timedelta(days=2))
        activity_services.publish(actor=worker, activity=done, now=now - timedelta(days=3))

        registration.register(actor=people["resident_b"], activity=upcoming, role="participant",
                              now=now)
        for act in (ended, done):
            for key in ("resident_b", "volunteer_b"):
                reg, _ = registration.register(actor=worker, activity=act, role="volunteer",
                                               user_id=people[key].id, now=now - timedelta(days=1))
                db.session.flush()
                if key == "resident_b":
                    world.ids[f"registration_{'ended' if act is ended else 'settled'}"] = reg.id
                for action, moment in (("in", act.starts_at), ("out", act.ends_at)):
                    result = manual_checkin(actor=worker, activity=act, registration_id=reg.id,
                                            scan=Scan(method="manual", action=action, actor_id=worker.id),
                                            now=moment)
                    world.ids.setdefault(f"scan_{'ended' if act is ended else 'settled'}", result.scan_id)
        upcoming_reg = db.session.scalar(sa.select(Registration.id).where(
            Registration.activity_id == upcoming.id, Registration.user_id == people["resident_b"].id))
        world.ids["registration_b"] = upcoming_reg
        settlement.settle(actor=worker, activity=done, adjustments=[], now=now, settings=settings)
        link, token = kiosk.create_link(actor=worker, activity=upcoming, now=now)
        world.ids["kiosk_link_b"] = link.id
        world.canaries["kiosk token"] = token
        certificate = certificates.issue(user=people["resident_b"], now=now)
        world.ids["certificate_code_b"] = certificate.code

        # benefits of room B1 and redemptions of resident B
        gift = benefits.create_benefit(actor=worker, org=room_b1, name="米面油礼包", cost=30, stock=40,
                                       per_user_limit=None, now=now,
                                       sponsor={"name": "武汉市慈善总会", "kind": "charity"})
        local = benefits.create_benefit(actor=worker, org=room_b1, name="社区食堂餐券", cost=10, stock=None,
                                        residents_only=True, now=now)
        world.ids.update(benefit_b=gift.id, benefit_b_local=local.id)
        for key in ("reserved", "fulfilled", "spare"):
            made, _ = redemption.redeem(actor=people["resident_b"], benefit=gift,
                                        idempotency_key=f"seed-{key}", now=now, settings=settings)
            world.ids[f"redemption_{key}"] = made.id
            world.codes[key] = made.code
            world.canaries[f"pickup code {key}"] = made.code
        redemption.fulfil(actor=worker, code=world.codes["fulfilled"], now=now)
        db.session.commit()

        for key in ("resident_a", "fuzz_resident", "resident_b"):
            world.tokens[key] = encode_access(people[key].id, now)
        db.session.remove()
    return world


def sign_in(http, world: World, names) -> None:
    """Staff sign in over HTTP with their passwords, as the console does."""
    for name in names:
        response = http.call("POST", "/api/v1/auth/login", body={"phone": world.phones[name],
                                                         "password": STAFF_PASSWORD})
        if response is None or response.status_code != 200:
            raise RuntimeError(f"{name} could not sign in: "
                               f"{None if response is None else response.text[:200]}")
        world.tokens[name] = response.json()["access_token"]
