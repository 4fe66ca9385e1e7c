"""Benchmark: 1,000 volunteers race for a benefit with stock 100, over HTTP.

gunicorn (2 workers) on PostgreSQL + Redis, all on 127.0.0.1. The script
creates its own database on the local server (migrated with Alembic), its own
Redis key prefix, seeds 1,000 volunteers with points, runs

  phase 1: 1,000 concurrent redemption attempts against stock 100
           (every request contends for the benefit's stock row), then
  phase 2: 1,000 attempts by the same volunteers on an unlimited benefit
           (no stock row: only each person's own account is locked),

and prints attempts/s, p50/p99, outcomes, the winners (must be exactly 100),
the ratio of the two phases, and the ledger's verify() result. It stops the
server, drops the database and deletes its Redis keys when done, whatever
happens. Not a test: nothing here asserts timings.

    /work/main/.venv/bin/python bench/bench_redemption.py
"""
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVER_URL = os.environ.get("BENCH_DATABASE_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
VOLUNTEERS = 1000
STOCK = 100
COST = 10
CLIENT_THREADS = 48
WORKERS, THREADS_PER_WORKER = 2, 8
REQUEST_TIMEOUT = 30
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


class Bench:
    def __init__(self):
        run = uuid.uuid4().hex[:8]
        self.db_name = f"linli_bench_{run}"
        self.server = sa.make_url(SERVER_URL)
        self.db_url = self.server.set(database=self.db_name).render_as_string(hide_password=False)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}/api/v1"
        self.env = {**os.environ, "DATABASE_URL": self.db_url, "REDIS_URL": REDIS_URL,
                    "REDIS_PREFIX": f"linli-bench-{run}:", "DEV_LOGIN": "1",
                    "SECRET_KEY": f"bench-secret-{uuid.uuid4().hex}",
                    # every volunteer comes from 127.0.0.1: keep rate limits out of the figures
                    "RATELIMIT_CHECKIN": "100000 per minute", "RATELIMIT_LOGIN": "100000 per minute"}
        self.gunicorn = None
        self.app = None

    # -- setup and teardown ---------------------------------------------------------

    def create_database(self):
        admin = sa.create_engine(self.server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{self.db_name}"'))
        admin.dispose()
        subprocess.run([str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=self.env,
                       check=True, capture_output=True, timeout=120)

    def make_app(self):
        os.environ.update({k: self.env[k] for k in ("DATABASE_URL", "REDIS_URL", "REDIS_PREFIX",
                                                    "DEV_LOGIN", "SECRET_KEY")})
        from api import create_app

        self.app = create_app()
        return self.app

    def seed(self):
        """A room, its worker, two benefits, 1,000 volunteers with 2 × 50 points each."""
        from api.tokens import encode_access
        from core import clock
        from core.db import db
        from orgs.models import Org, StaffRole
        from orgs.services import _save_org, ensure_city
        from points import benefits, ledger
        from people.models import User
        from volunteers.models import VolunteerProfile

        with self.app.app_context():
            now = clock.now()
            city = ensure_city(name="武汉市", now=now)
            district = _save_org(Org(name="江岸区", kind="district", parent=city, created_at=now))
            station = _save_org(Org(name="百步亭街道社工站", kind="station", parent=district, created_at=now))
            room = _save_org(Org(name="花园社区社工室", kind="room", parent=station, created_at=now))
            worker = User(phone="13800009999", nickname="李社工", home_org_id=room.id, created_at=now)
            db.session.add(worker)
            db.session.flush()
            db.session.add(StaffRole(user_id=worker.id, org_id=room.id, role="worker", created_at=now))
            db.session.flush()
            scarce = benefits.create_benefit(actor=worker, org=room, name="米面油礼包", cost=COST,
                                             stock=STOCK, per_user_limit=1, now=now,
                                             sponsor={"name": "武汉市慈善总会", "kind": "charity"})
            plenty = benefits.create_benefit(actor=worker, org=room, name="社区食堂爱心餐券", cost=COST,
                                             stock=None, per_user_limit=1, now=now)
            users = [User(wechat_openid=f"bench-{i}", nickname=f"志愿者{i}", home_org_id=room.id,
                          created_at=now) for i in range(VOLUNTEERS)]
            db.session.add_all(users)
            db.session.flush()
            db.session.add_all([VolunteerProfile(user_id=u.id, real_name=f"志愿者{i}",
                                                 phone=f"139{i:08d}", status="active", created_at=now)
                                for i, u in enumerate(users)])
            issuing = ledger.issuing_account(room.id, now=now)
            for user in users:
                ledger.transfer(debit=issuing, credit=ledger.person_account(user.id, now=now),
                                amount=5 * COST, kind="earn", memo="志愿服务",
                                idempotency_key=f"bench-earn:{user.id}", now=now)
            tokens = [encode_access(u.id, now) for u in users]
            ids = (scarce.id, plenty.id)
            db.session.commit()
        return ids, tokens

    def start_server(self):
        self.gunicorn = subprocess.Popen(
            [str(BIN / "gunicorn"), "--workers", str(WORKERS), "--threads", str(THREADS_PER_WORKER),
             "--bind", f"127.0.0.1:{self.port}", "--log-level", "warning", "wsgi:app"],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.base}/health", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not come up within 30 s")

    def cleanup(self):
        if self.gunicorn is not None and self.gunicorn.poll() is None:
            self.gunicorn.terminate()
            try:
                self.gunicorn.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.gunicorn.kill()
                self.gunicorn.wait()
        if self.app is not None:
            from core.db import db

            with self.app.app_context():
                db.session.remove()
                db.engine.dispose()
            store = self.app.extensions["linli.kv"]
            client = getattr(store, "client", None)
            if client is not None:
                keys = list(client.scan_iter(match=self.env["REDIS_PREFIX"] + "*"))
                if keys:
                    client.delete(*keys)
        admin = sa.create_engine(self.server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)'))
        admin.dispose()

    # -- the race --------------------------------------------------------------------

    def race(self, benefit_id, tokens):
        local = threading.local()
        start_gate = threading.Event()

        def attempt(token):
            session = getattr(local, "session", None)
            if session is None:
                session = local.session = requests.Session()
            start_gate.wait()
            began = time.perf_counter()
            try:
                response = session.post(f"{self.base}/benefits/{benefit_id}/redemptions",
                                        headers={"Authorization": f"Bearer {token}",
                                                 "Idempotency-Key": uuid.uuid4().hex},
                                        timeout=REQUEST_TIMEOUT)
                status = response.status_code
                code = (response.json().get("error") or {}).get("code") if status >= 400 else None
            except requests.RequestException as exc:
                status, code = 0, type(exc).__name__
            return status, code, time.perf_counter() - began

        with ThreadPoolExecutor(max_workers=CLIENT_THREADS) as pool:
            futures = [pool.submit(attempt, token) for token in tokens]
            began = time.perf_counter()
            start_gate.set()
            results = [f.result() for f in futures]
            elapsed = time.perf_counter() - began
        return results, elapsed

    def report(self, title, results, elapsed):
        latencies = [r[2] * 1000 for r in results]
        outcomes = Counter(f"{status} {code}" if code else str(status) for status, code, _ in results)
        print(f"-- {title}")
        print(f"   attempts {len(results)} in {elapsed:.2f} s: {len(results) / elapsed:.0f} attempts/s")
        print(f"   latency p50 {statistics.median(latencies):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms, "
              f"max {max(latencies):.1f} ms")
        print("   outcomes " + ", ".join(f"{k}: {v}" for k, v in sorted(outcomes.items())))
        return len(results) / elapsed

    def books(self, scarce_id):
        from core.db import db
        from points.benefits_models import Benefit, Redemption
        from points.verify import verify

        with self.app.app_context():
            db.session.expire_all()
            benefit = db.session.get(Benefit, scarce_id)
            reserved = db.session.scalar(sa.select(sa.func.count()).select_from(Redemption)
                                         .where(Redemption.benefit_id == scarce_id))
            problems, counts = verify()
            return benefit.stock_left, reserved, problems, counts


def main() -> int:
    bench = Bench()
    print(f"bench_redemption: gunicorn {WORKERS} workers × {THREADS_PER_WORKER} threads, "
          f"PostgreSQL {bench.server.host}:{bench.server.port}/{bench.db_name}, Redis {REDIS_URL}, "
          f"{CLIENT_THREADS} client threads")
    ok = False
    try:
        bench.create_database()
        bench.make_app()
        t0 = time.perf_counter()
        (scarce, plenty), tokens = bench.seed()
        print(f"seeded {VOLUNTEERS} volunteers with {5 * COST} points each in {time.perf_counter() - t0:.1f} s")
        bench.start_server()
        results, elapsed = bench.race(scarce, tokens)
        scarce_rate = bench.report(f"phase 1: {VOLUNTEERS} volunteers race for stock {STOCK}", results, elapsed)
        winners = sum(1 for status, _, _ in results if status == 201)
        server_errors = sum(1 for status, _, _ in results if status >= 500 or status == 0)
        results, elapsed = bench.race(plenty, tokens)
        plenty_rate = bench.report(f"phase 2: {VOLUNTEERS} volunteers, unlimited stock", results, elapsed)
        plenty_winners = sum(1 for status, _, _ in results if status == 201)
        server_errors += sum(1 for status, _, _ in results if status >= 500 or status == 0)
        stock_left, reserved, problems, counts = bench.books(scarce)
        print(f"winners {winners} (must be exactly {STOCK}); unlimited phase winners {plenty_winners} "
              f"(must be {VOLUNTEERS}); 5xx/transport errors {server_errors}")
        print(f"phase 1 / phase 2 rate: {scarce_rate / plenty_rate:.2f}× (phase 1 queues on one stock row, "
              f"but {VOLUNTEERS - STOCK} of its attempts are refusals that end before the hold)")
        print(f"stock_left {stock_left}, redemptions on the scarce benefit {reserved}")
        print("verify(): " + ("ok" if not problems else f"{len(problems)} problem(s): {problems[:5]}")
              + " — " + ", ".join(f"{n} {name}" for name, n in counts.items()))
        ok = (winners == STOCK and plenty_winners == VOLUNTEERS and server_errors == 0 and not problems
              and stock_left == 0 and reserved == STOCK)
        print("RESULT: " + ("ok" if ok else "FAILED"))
    finally:
        bench.cleanup()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
