"""Settlement benchmark on PostgreSQL (127.0.0.1): one activity of 500 volunteers.

Settling posts, per volunteer, a service record and a ledger transfer, in one
request. Target: under 1 s. Not a test: it prints what one run measured.

    python bench/bench_settlement.py        (BENCH_VOLUNTEERS=500, BENCH_ROUNDS=3)
"""
import os
import time
from datetime import timedelta

import sqlalchemy as sa

from scratch import migrated_app, room_with_worker, scratch_database

VOLUNTEERS = int(os.environ.get("BENCH_VOLUNTEERS", "500"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


def seed(app, round_no: int):
    """An ended activity with VOLUNTEERS checked-in-and-out volunteers (bulk SQL: setup only)."""
    from activities.models import Activity, Registration
    from api.tokens import encode_access
    from core import clock
    from core.db import db
    from people.models import User
    from volunteers.models import VolunteerProfile

    now = clock.now()
    starts = now - timedelta(hours=3)
    with app.app_context():
        room, worker = room_with_worker(round_no, now)
        activity = Activity(org=room, title="社区环境整治志愿服务", domain="community_governance",
                            location="花园社区", starts_at=starts, ends_at=starts + timedelta(hours=2),
                            capacity=0, volunteer_slots=VOLUNTEERS, points_per_hour=10,
                            status="published", code_secret="x" * 32, created_at=now)
        db.session.add(activity)
        db.session.flush()
        user_ids = db.session.scalars(sa.insert(User).returning(User.id), [
            {"nickname": f"志愿者{i}", "wechat_openid": f"bench-{round_no}-{i}", "created_at": now,
             "is_active": True} for i in range(VOLUNTEERS)]).all()
        db.session.execute(sa.insert(VolunteerProfile), [
            {"user_id": uid, "real_name": "志愿者", "phone": "13900000000", "status": "active",
             "created_at": now, "volunteer_no": f"B{round_no}{uid:09d}"} for uid in user_ids])
        db.session.execute(sa.insert(Registration), [
            {"activity_id": activity.id, "user_id": uid, "role": "volunteer", "status": "confirmed",
             "method": "self", "registered_at": now, "created_at": now,
             "checked_in_at": starts + timedelta(minutes=i % 20),
             "checked_out_at": starts + timedelta(minutes=90 + i % 40)}
            for i, uid in enumerate(user_ids)])
        db.session.commit()
        return activity.id, encode_access(worker.id, now)


def main():
    with scratch_database() as url:
        app = migrated_app(url)
        client = app.test_client()
        timings = []
        for round_no in range(ROUNDS):
            activity_id, token = seed(app, round_no)
            started = time.perf_counter()
            response = client.post(f"/api/v1/activities/{activity_id}/settle", json={},
                                   headers={"Authorization": f"Bearer {token}"})
            elapsed = time.perf_counter() - started
            body = response.get_json()
            assert response.status_code == 200, body
            assert len(body["records"]) == VOLUNTEERS, len(body["records"])
            timings.append(elapsed)
            print(f"round {round_no + 1}: settled {VOLUNTEERS} volunteers, "
                  f"{body['minutes_total']} minutes, {body['points_total']} points in {elapsed:.3f} s "
                  f"({VOLUNTEERS / elapsed:.0f} volunteers/s)")
            replay_started = time.perf_counter()
            again = client.post(f"/api/v1/activities/{activity_id}/settle", json={},
                                headers={"Authorization": f"Bearer {token}"})
            assert again.status_code == 200 and again.get_json() == body
            print(f"         replay (same body, posts nothing) in {time.perf_counter() - replay_started:.3f} s")
        from core.db import db
        from points.verify import verify

        with app.app_context():
            problems, counts = verify()
            db.engine.dispose()
        best, worst = min(timings), max(timings)
        print(f"settle {VOLUNTEERS} volunteers: best {best:.3f} s, worst {worst:.3f} s "
              f"(target < 1 s: {'met' if worst < 1 else 'NOT met'})")
        print(f"verify: {'ok' if not problems else problems} — {counts}")


if __name__ == "__main__":
    main()
