"""How cheap are a volunteer's cumulative totals (GET /me/service-records)?

Builds a throwaway database with many volunteers' service records, then times
`volunteers.records.totals_for` (one aggregate over the (user_id, service_date,
id) index) for a heavy volunteer, against reading one cached row by primary
key (what cached counters on the profile would cost) and against the same
aggregate with the index dropped.

    python bench/bench_service_totals.py                      # SQLite in a temp dir
    python bench/bench_service_totals.py postgresql+psycopg://postgres@127.0.0.1:5432/postgres

With a PostgreSQL URL (127.0.0.1 only) a database `linli_bench_<random>` is
created and dropped again. Bounded: fixed sizes, fixed repetitions.
"""
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402
from scratch import create_scratch_database  # noqa: E402

from api import create_app  # noqa: E402
from core.db import db  # noqa: E402
from orgs.services import ensure_city  # noqa: E402
from people.models import User
from volunteers.models import ServiceRecord, VolunteerProfile  # noqa: E402
from volunteers.records import totals_for  # noqa: E402

VOLUNTEERS = 2000
RECORDS_EACH = 50
HEAVY_RECORDS = 750  # 1500 h of 2-hour shifts: a five-star volunteer
REPEATS = 300


def _database(url: str | None):
    if url is None:
        path = Path(tempfile.mkdtemp()) / "bench.db"
        return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)
    return create_scratch_database(url)


def _fill(now):
    city = ensure_city(name="武汉市", now=now)
    users = [{"nickname": f"v{i}", "created_at": now, "is_active": True} for i in range(VOLUNTEERS)]
    db.session.execute(sa.insert(User), users)
    ids = list(db.session.scalars(sa.select(User.id).order_by(User.id)))
    db.session.execute(sa.insert(VolunteerProfile), [
        {"user_id": uid, "real_name": "志愿者", "phone": "13900000000", "status": "active",
         "created_at": now, "volunteer_no": f"LLB{uid:08d}"} for uid in ids])
    heavy = ids[len(ids) // 2]
    start = datetime(2024, 1, 1, 1, tzinfo=timezone.utc)
    rows, n = [], 0
    for uid in ids:
        for k in range(HEAVY_RECORDS if uid == heavy else RECORDS_EACH):
            n += 1
            began = start + timedelta(days=k % 700, minutes=uid % 60)
            rows.append({"user_id": uid, "activity_id": k, "title": "活动", "org_id": city.id,
                         "org_name": city.name, "place": "社区", "content": "服务",
                         "service_date": began.date(), "started_at": began,
                         "ended_at": began + timedelta(hours=2), "minutes": 120, "points": 20,
                         "responsible_person": "李社工", "recorded_at": now, "is_late": False,
                         "cause_key": f"bench:{n}"})
            if len(rows) == 5000:
                db.session.execute(sa.insert(ServiceRecord), rows)
                rows = []
    if rows:
        db.session.execute(sa.insert(ServiceRecord), rows)
    db.session.commit()
    db.session.execute(sa.text("ANALYZE"))  # planner statistics, on both backends
    db.session.commit()
    return heavy, n


def _time(fn) -> float:
    fn()  # warm
    samples = []
    for _ in range(REPEATS):
        began = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples) * 1000


def main():
    url, drop = _database(sys.argv[1] if len(sys.argv) > 1 else None)
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "DEV_LOGIN": True, "REDIS_URL": None,
                          "SQLALCHEMY_ENGINE_OPTIONS": {}})
        with app.app_context():
            upgrade()
            heavy, total = _fill(datetime.now(timezone.utc))
            totals = totals_for(heavy)
            assert totals.records == HEAVY_RECORDS, totals
            aggregate = _time(lambda: totals_for(heavy))
            cached = _time(lambda: db.session.execute(
                sa.select(VolunteerProfile.id, VolunteerProfile.status)
                .where(VolunteerProfile.user_id == heavy)).one())
            db.session.close()
            db.session.execute(sa.text("DROP INDEX ix_service_records_user_date"))
            db.session.commit()
            unindexed = _time(lambda: totals_for(heavy))
            db.session.close()
            db.engine.dispose()
        print(f"backend: {sa.make_url(url).get_backend_name()}; "
              f"{total} service records, {VOLUNTEERS} volunteers; the measured one has "
              f"{totals.records} records = {totals.hours:.0f} h, star {totals.star}")
        print(f"totals_for (aggregate over the index): {aggregate:.3f} ms median of {REPEATS}")
        print(f"one-row read by key (cached counters): {cached:.3f} ms")
        print(f"same aggregate without the index:       {unindexed:.3f} ms")
        print(f"ratios: aggregate / cached row = {aggregate / cached:.1f}x; "
              f"unindexed / indexed = {unindexed / aggregate:.1f}x")
    finally:
        drop()


if __name__ == "__main__":
    main()
