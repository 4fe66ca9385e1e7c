"""Check-in throughput and latency against a real server (not a test).

Starts gunicorn (2 workers, gthread) on PostgreSQL + Redis, seeds one
activity with 2,000 registered residents, and has 16 keep-alive client
threads post their check-ins: first scans, then repeat scans, then the same
load on GET /api/v1/ping (no DB, no Redis) as the floor to compare with.
Creates its own database on 127.0.0.1 and drops it after; Redis keys live
under a prefix of their own and are deleted after. Bounded: every phase is a
fixed number of requests.

    python bench/bench_checkin.py            # BENCH_PG / BENCH_REDIS to override
"""
import http.client
import json
import os
import queue
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from scratch import create_scratch_database  # noqa: E402

PG_SERVER = os.environ.get("BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/0")
RESIDENTS = 2000
CLIENTS = 16
WORKERS = 2
THREADS = int(os.environ.get("BENCH_THREADS", "4"))
ROUNDS = 4
PHASES = ("ping (no DB)", "first scans", "repeat scans")
RUN = uuid.uuid4().hex[:8]
DB_NAME = ""  # set by main()
PREFIX = f"linli-bench-{RUN}:"
SECRET = "bench-secret-" + uuid.uuid4().hex  # long enough for check_safe (DEV_LOGIN is off)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def forget_redis() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=PREFIX + "*"))
    if keys:
        client.delete(*keys)


def server_env(db_url: str) -> dict:
    return {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": REDIS_URL, "REDIS_PREFIX": PREFIX,
            "SECRET_KEY": SECRET, "DEV_LOGIN": "0", "RATELIMIT_CHECKIN": "1000000 per minute",
            "RATELIMIT_LOGIN": "1000000 per minute"}


def seed(db_url: str):
    """Migrates, then one room, a worker, a published activity, 2,000 confirmed residents.
    Returns (activity_id, staff_token, resident_tokens)."""
    os.environ.update(server_env(db_url))
    from flask_migrate import upgrade

    from activities.models import Activity, Registration
    from api import create_app
    from api.tokens import encode_access
    from core import clock
    from core.db import db
    from orgs.models import Org, StaffRole
    from orgs.services import _save_org, ensure_city
    from people.models import User

    app = create_app()
    with app.app_context():
        upgrade()
        now = clock.now()
        city = ensure_city(name="武汉市", now=now)
        room = _save_org(Org(name="花园社区社工室", kind="room", parent=city, created_at=now))
        staff = User(phone="13800000000", nickname="李社工", created_at=now)
        db.session.add(staff)
        db.session.flush()
        db.session.add(StaffRole(user_id=staff.id, org_id=room.id, role="worker", created_at=now))
        activity = Activity(org_id=room.id, title="社区义诊", domain="elderly_care", location="活动室",
                            starts_at=now + timedelta(minutes=10), ends_at=now + timedelta(hours=2),
                            capacity=RESIDENTS, volunteer_slots=0, points_per_hour=0,
                            status="published", code_secret=uuid.uuid4().hex, created_at=now)
        db.session.add(activity)
        db.session.flush()
        user_ids = db.session.execute(
            sa.insert(User).returning(User.id),
            [{"wechat_openid": f"bench-{i}", "nickname": f"居民{i}", "created_at": now,
              "is_active": True} for i in range(RESIDENTS)]).scalars().all()
        db.session.execute(sa.insert(Registration), [
            {"activity_id": activity.id, "user_id": uid, "role": "participant", "status": "confirmed",
             "method": "self", "registered_at": now, "created_at": now} for uid in user_ids])
        db.session.commit()
        tokens = [encode_access(uid, now) for uid in user_ids]
        result = activity.id, encode_access(staff.id, now), tokens
        db.engine.dispose()
    return result


def start_server(db_url: str, port: int) -> subprocess.Popen:
    command = [str(Path(sys.executable).with_name("gunicorn")), "-w", str(WORKERS), "-k", "gthread",
               "--threads", str(THREADS), "-b", f"127.0.0.1:{port}", "--log-level", "warning",
               "--keep-alive", "30", "--worker-tmp-dir", "/dev/shm", "wsgi:app"]
    process = subprocess.Popen(command, cwd=ROOT, env=server_env(db_url), start_new_session=True)
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError("gunicorn did not start")


def cpu_seconds_of_tree(pid: int) -> float:
    """utime + stime of the gunicorn master and its workers, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def database_backend_cpu() -> dict[int, float]:
    """utime + stime per PostgreSQL backend serving the bench database."""
    tick = os.sysconf("SC_CLK_TCK")
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if DB_NAME.encode() not in Path(f"/proc/{entry}/cmdline").read_bytes():
                continue
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    return found


class DatabaseCpuMeter:
    """CPU the database backends spend during a phase. Samples every 0.2 s so that
    a backend whose connection the pool closes mid-phase still counts."""

    def __init__(self):
        self.start = database_backend_cpu()
        self.last = dict(self.start)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self):
        while not self.stop.wait(0.2):
            self.last.update(database_backend_cpu())

    def seconds(self) -> float:
        self.stop.set()
        self.thread.join()
        self.last.update(database_backend_cpu())
        return sum(cpu - self.start.get(pid, 0.0) for pid, cpu in self.last.items())


def machine_busy_and_total() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    tick = os.sysconf("SC_CLK_TCK")
    return (total - idle) / tick, total / tick


class Client:
    def __init__(self, port):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def request(self, method, path, body=None, token=None):
        headers = {"Content-Type": "application/json", "User-Agent": "bench"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        payload = json.dumps(body) if body is not None else None
        for attempt in range(2):  # a keep-alive connection the server closed: reconnect once
            try:
                self.conn.request(method, path, body=payload, headers=headers)
                response = self.conn.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                if attempt:
                    raise


def run_phase(port, jobs):
    """Runs `jobs` (method, path, body-or-callable, token) on CLIENTS threads.
    Returns (seconds, latencies, statuses, bodies, client_cpu, )."""
    work = queue.Queue()
    for job in jobs:
        work.put(job)
    latencies, statuses, bodies = [], [], []
    lock = threading.Lock()
    start_gate = threading.Barrier(CLIENTS + 1)

    def worker():
        client = Client(port)
        client.request("GET", "/api/v1/ping")  # open the connection before the clock starts
        start_gate.wait()
        mine = []
        while True:
            try:
                method, path, body, token = work.get_nowait()
            except queue.Empty:
                break
            if callable(body):
                body = body()
            t0 = time.perf_counter()
            status, raw = client.request(method, path, body, token)
            mine.append((time.perf_counter() - t0, status, raw))
        with lock:
            for latency, status, raw in mine:
                latencies.append(latency)
                statuses.append(status)
                bodies.append(raw)

    threads = [threading.Thread(target=worker) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    start_gate.wait()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    client_cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return elapsed, sorted(latencies), statuses, bodies, client_cpu


def pct(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, int(round(p / 100 * (len(sorted_values) - 1))))]


def main():
    global DB_NAME
    port = free_port()
    db_url, drop_database = create_scratch_database(PG_SERVER)
    DB_NAME = sa.make_url(db_url).database  # how the database's backends are found in /proc
    process = None
    try:
        activity_id, staff_token, tokens = seed(db_url)
        process = start_server(db_url, port)
        control = Client(port)
        current_code = {}

        def refresh_code():
            status, raw = control.request("GET", f"/api/v1/activities/{activity_id}/checkin-code",
                                          token=staff_token)
            assert status == 200, raw
            current_code["code"] = json.loads(raw)["code"]

        refresh_code()
        stop = threading.Event()

        def keep_code_fresh():  # the door screen's job: a new code every period
            while not stop.wait(5):
                refresh_code()

        threading.Thread(target=keep_code_fresh, daemon=True).start()

        # Warm both workers up (imports, pools, caches) on another endpoint.
        run_phase(port, [("GET", "/api/v1/ping", None, None)] * 400)
        # The phases take turns in rounds, so a burst of load from elsewhere on
        # the machine falls on all of them alike rather than on one.
        totals = {name: {"elapsed": 0.0, "latencies": [], "server_cpu": 0.0, "client_cpu": 0.0,
                         "db_cpu": 0.0, "busy": 0.0, "cpu_total": 0.0} for name in PHASES}
        per_round = RESIDENTS // ROUNDS
        for round_number in range(ROUNDS):
            batch = tokens[round_number * per_round:(round_number + 1) * per_round]
            checkins = [("POST", "/api/v1/checkins", lambda: {"code": current_code["code"]}, token)
                        for token in batch]
            plan = {"ping (no DB)": [("GET", "/api/v1/ping", None, None)] * (2 * per_round),
                    "first scans": checkins, "repeat scans": checkins}
            for name in PHASES:
                server_cpu0 = cpu_seconds_of_tree(process.pid)
                db_meter = DatabaseCpuMeter()
                busy0, all0 = machine_busy_and_total()
                elapsed, latencies, statuses, bodies, client_cpu = run_phase(port, plan[name])
                busy1, all1 = machine_busy_and_total()
                total = totals[name]
                total["server_cpu"] += cpu_seconds_of_tree(process.pid) - server_cpu0
                total["db_cpu"] += db_meter.seconds()
                total["busy"] += busy1 - busy0
                total["cpu_total"] += all1 - all0
                total["elapsed"] += elapsed
                total["latencies"] += latencies
                total["client_cpu"] += client_cpu
                bad = [s for s in statuses if s != 200]
                if bad:
                    raise SystemExit(f"{name}: {len(bad)} non-200 answers, "
                                     f"e.g. {bodies[statuses.index(bad[0])]}")
                if name != "ping (no DB)":
                    firsts = sum(json.loads(body)["first"] for body in bodies)
                    assert firsts == (len(batch) if name == "first scans" else 0), (name, firsts)
        results = {}
        for name, total in totals.items():
            latencies = sorted(total["latencies"])
            n = len(latencies)
            results[name] = {"n": n, "rps": n / total["elapsed"], "p50": pct(latencies, 50) * 1000,
                             "p95": pct(latencies, 95) * 1000, "p99": pct(latencies, 99) * 1000,
                             "client_cpu_ms": total["client_cpu"] / n * 1000,
                             "server_cpu_ms": total["server_cpu"] / n * 1000,
                             "db_cpu_ms": total["db_cpu"] / n * 1000,
                             "busy": total["busy"] / total["cpu_total"]}
        stop.set()

        print(f"bench_checkin: gunicorn {WORKERS} workers x {THREADS} threads (gthread), PostgreSQL + Redis, "
              f"{CLIENTS} keep-alive client threads, {RESIDENTS} residents, {ROUNDS} rounds of the three "
              f"phases; {os.cpu_count()} CPUs shared by client, server, PostgreSQL and Redis")
        print(f"{'phase':<14}{'requests':>9}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}"
              f"   CPU ms/req: {'app':>5}{'pg':>6}{'client':>7}   machine busy")
        for name, r in results.items():
            print(f"{name:<14}{r['n']:>9}{r['rps']:>8.0f}{r['p50']:>8.1f}{r['p95']:>8.1f}{r['p99']:>8.1f}"
                  f"{'':>15}{r['server_cpu_ms']:>5.2f}{r['db_cpu_ms']:>6.2f}{r['client_cpu_ms']:>7.2f}"
                  f"   {r['busy']:>5.0%}")
        ping = results["ping (no DB)"]["rps"]
        first, repeat = results["first scans"], results["repeat scans"]
        print(f"first scans / ping throughput: {first['rps'] / ping:.0%} (target >= 25%); "
              f"repeat scans / ping: {repeat['rps'] / ping:.0%}")
        print(f"first-scan p99: {first['p99']:.1f} ms (target <= 50 ms)")
        with sa.create_engine(db_url).connect() as conn:
            checked_in = conn.execute(sa.text(
                "SELECT count(*) FROM registrations WHERE checked_in_at IS NOT NULL")).scalar()
            log_rows = conn.execute(sa.text("SELECT count(*) FROM checkin_log")).scalar()
        print(f"database after the run: {checked_in} registrations checked in, {log_rows} log rows")
    finally:
        if process is not None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        drop_database()
        forget_redis()


if __name__ == "__main__":
    main()
