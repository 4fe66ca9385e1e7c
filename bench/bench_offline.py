"""Offline upload benchmark on PostgreSQL (127.0.0.1): a staff device comes back
online with a full batch (500 scans, the most one upload takes).

Half the scans are passes, half manual ticks by registration; each is judged as
of when it was made. Then the same batch again, as a device does when the first
answer was lost. Not a test: it prints what one run measured.

    python bench/bench_offline.py        (BENCH_ROUNDS=3)
"""
import os
import time
from datetime import timedelta

import sqlalchemy as sa

from scratch import migrated_app, room_with_worker, scratch_database

SCANS = 500
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


def seed(app, round_no: int):
    """A published activity, a worker and SCANS registered residents; the batch
    the worker's device made offline during the last two minutes."""
    from activities.models import Activity, PassSecret, Registration
    from api.tokens import encode_access
    from core import clock, codes, settings
    from core.db import db
    from people.models import User

    now = clock.now()
    with app.app_context():
        room, worker = room_with_worker(round_no, now)
        activity = Activity(org=room, title="村湾长者义诊", domain="elderly_care", location="村委会",
                            starts_at=now, ends_at=now + timedelta(hours=2), capacity=SCANS,
                            volunteer_slots=0, points_per_hour=0, status="published",
                            code_secret="x" * 32, created_at=now)
        db.session.add(activity)
        db.session.flush()
        user_ids = db.session.scalars(sa.insert(User).returning(User.id), [
            {"nickname": f"居民{i}", "wechat_openid": f"bench-{round_no}-{i}", "created_at": now,
             "is_active": True} for i in range(SCANS)]).all()
        db.session.execute(sa.insert(PassSecret), [
            {"user_id": uid, "secret": f"pass-{uid}", "created_at": now} for uid in user_ids])
        registration_ids = db.session.scalars(sa.insert(Registration).returning(Registration.id), [
            {"activity_id": activity.id, "user_id": uid, "role": "participant", "status": "confirmed",
             "method": "self", "registered_at": now, "created_at": now} for uid in user_ids]).all()
        db.session.commit()
        scans = []
        for i, (uid, rid) in enumerate(zip(user_ids, registration_ids)):
            scanned_at = now - timedelta(seconds=120) + timedelta(milliseconds=200 * i)
            way = ({"code": codes.issue("pass", uid, f"pass-{uid}", now=scanned_at,
                                            settings=settings.of(app)).code} if i % 2
                   else {"registration_id": rid})
            scans.append({"client_ref": f"{round_no}-{i}", "action": "in",
                          "scanned_at": scanned_at.isoformat(), **way})
        return activity.id, encode_access(worker.id, now), scans


def main():
    with scratch_database() as url:
        app = migrated_app(url, RATELIMIT_STAFF_SCAN="1000 per minute")
        client = app.test_client()
        timings = []
        for round_no in range(ROUNDS):
            activity_id, token, scans = seed(app, round_no)
            upload = lambda: client.post(f"/api/v1/activities/{activity_id}/scans/offline",  # noqa: E731
                                         json={"device_id": "pad-1", "scans": scans},
                                         headers={"Authorization": f"Bearer {token}"})
            started = time.perf_counter()
            response = upload()
            elapsed = time.perf_counter() - started
            body = response.get_json()
            assert response.status_code == 200, body
            results = [r["result"] for r in body["results"]]
            assert results == ["accepted"] * SCANS, {r: results.count(r) for r in set(results)}
            timings.append(elapsed)
            started = time.perf_counter()
            again = upload()
            replay = time.perf_counter() - started
            assert again.status_code == 200 and again.get_json() == body
            print(f"round {round_no + 1}: {SCANS} offline scans uploaded in {elapsed:.3f} s "
                  f"({SCANS / elapsed:.0f} scans/s); the same batch again in {replay:.3f} s")
        from core.db import db

        with app.app_context():
            rows = db.session.scalar(sa.text("SELECT count(*) FROM checkin_log"))
            db.engine.dispose()
        print(f"upload of {SCANS} scans: best {min(timings):.3f} s, worst {max(timings):.3f} s; "
              f"{rows} log rows for {ROUNDS * SCANS} scans uploaded twice")


if __name__ == "__main__":
    main()
