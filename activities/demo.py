"""Demo activities for the embedded server (`flask demo load`); idempotent."""
from datetime import datetime, time, timedelta

import sqlalchemy as sa

from core.db import db

from .models import Activity, Registration
from .services import new_secret

DEMO_ACTIVITIES = [
    # title, domain, category, location, day offset, hour, hours, capacity, volunteer slots, status
    ("重阳节长者关怀茶话会", "elderly_care", "关怀服务", "百步亭花园社区党群服务中心二楼", 1, 9, 2, 30, 4, "published"),
    ("垃圾分类入户宣传", "community_governance", "环境治理", "百步亭花园社区各楼栋", 2, 14, 3, 0, 10, "published"),
    ("“七彩假期”儿童托管", "child_welfare", "四点半课堂", "幸福社区儿童之家", 5, 16, 2, 20, 3, "draft"),
]


def load_demo(orgs: dict, people: dict, now, settings) -> None:
    zone = settings.zone
    today = now.astimezone(zone).date()
    for index, (title, domain, category, location, days, hour, hours, capacity, slots, status) \
            in enumerate(DEMO_ACTIVITIES):
        org = orgs["room_b"] if domain == "child_welfare" else orgs["room_a"]
        if db.session.scalar(sa.select(Activity.id).where(Activity.org_id == org.id,
                                                          Activity.title == title)):
            continue
        starts = datetime.combine(today + timedelta(days=days), time(hour), zone)
        activity = Activity(org_id=org.id, title=title, description=f"{title}，欢迎居民和志愿者参加。",
                            domain=domain, category=category, location=location, starts_at=starts,
                            ends_at=starts + timedelta(hours=hours), capacity=capacity,
                            volunteer_slots=slots, points_per_hour=10, attendance_points=2 if capacity else 0,
                            is_walk_in_allowed=index == 0, status=status, code_secret=new_secret(),
                            created_by_id=people["room_a_worker"].id, created_at=now,
                            published_at=now if status == "published" else None)
        db.session.add(activity)
        db.session.flush()
        if status != "published":
            continue
        enrol = [("volunteer", people["volunteer"])]
        if capacity:
            enrol.append(("participant", people["resident"]))
        for role, person in enrol:
            db.session.add(Registration(activity_id=activity.id, user_id=person.id, role=role,
                                        status="confirmed", method="self", registered_at=now,
                                        created_at=now))
    db.session.flush()
