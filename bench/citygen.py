"""A city-sized Linli database for benchmarks: Wuhan at `--scale 1.0`.

At scale 1.0: 15 districts, 160 stations, 1,400 rooms; 300,000 people of whom
60,000 volunteers; 40,000 activities over 14 months with about 2.0 M
registrations and 2.0 M check-in rows; about 400 k service records; about
1.2 M transfers (2.4 M entries); 5,000 benefits and about 100 k redemptions.
Scale 0.1 is a tenth of every count (the 14 months stay 14 months).

The rows have the shapes the app gives them: activities belong to rooms and
carry a domain; confirmed registrations stay within the places; check-ins fall
inside the check-in window; settled activities have settlement records,
volunteers' service records with minutes and one `earn` transfer per record
with points; redemptions hold points, then are fulfilled (a posted hold),
cancelled or expired (a voided hold), and some overdue ones are still
reserved; a few earnings and fulfilled redemptions were reversed, a few
adjustments made; an earlier expiry run (when the period was 13 months)
expired some points, oldest first, back to the org they came from. Every
person's available balance stays >= 0 at every step. Entries are hash-chained
with `points.ledger.entry_hash`, transfer fingerprints come from
`ledger.fingerprint_of`: `flask points verify` is ok on the result.

The schema comes from the app's Alembic migrations. Rows are loaded with
COPY (one connection per table, in parallel), into tables whose secondary
indexes and foreign keys are dropped first and rebuilt afterwards.

    python bench/citygen.py --scale 0.1 --database-url postgresql+psycopg://postgres@127.0.0.1:5432/mydb
    python bench/citygen.py --scale 0.1       # makes a scratch database and prints its URL (drop it yourself)

From Python: `generate(url, scale, seed)`.
"""
import argparse
import heapq
import json
import random
import sys
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import sqlalchemy as sa
from psycopg.copy import QueuedLibpqWriter

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scratch import create_scratch_database, migrated_app  # noqa: E402
from activities.settlement import _fingerprint as settlement_fingerprint  # noqa: E402
from core.db import db  # noqa: E402
from points.expiry import EXPIRY, add_months  # noqa: E402
from points.ledger import fingerprint_of  # noqa: E402
from points.posting import entry_hash  # noqa: E402
from points.models import GENESIS_HASH  # noqa: E402
from points.redemption import CODE_ALPHABET, CODE_LENGTH  # noqa: E402
from volunteers.records import is_recorded_late  # noqa: E402

ZONE = ZoneInfo("Asia/Shanghai")
MONTHS = 14
FULL = {"districts": 15, "stations": 160, "rooms": 1400, "people": 300_000, "volunteers": 60_000,
        "activities": 40_000, "benefits": 5_000, "redemption_attempts": 150_000, "adjustments": 300}
DISTRICTS = ("江岸区", "江汉区", "硚口区", "汉阳区", "武昌区", "青山区", "洪山区", "东西湖区", "汉南区",
             "蔡甸区", "江夏区", "黄陂区", "新洲区", "东湖新技术开发区", "武汉经济技术开发区")
ACTIVITY_KINDS = {
    "party_building": [("党员志愿服务日", "党建引领"), ("红色故事分享会", "党建引领")],
    "social_assistance": [("困难家庭走访慰问", "社会救助"), ("救助政策宣讲", "社会救助")],
    "child_welfare": [("四点半课堂", "儿童关爱"), ("七彩假期儿童托管", "儿童关爱")],
    "community_governance": [("垃圾分类入户宣传", "环境治理"), ("楼栋议事会", "社区治理")],
    "elderly_care": [("长者关怀茶话会", "关怀服务"), ("助老义剪", "助老服务")],
    "specialty": [("心理健康讲座", "特色服务"), ("法律咨询进社区", "特色服务")],
}
DOMAINS = tuple(ACTIVITY_KINDS)
BENEFIT_KINDS = [("大米5公斤", 50), ("食用油1桶", 40), ("理发券", 10), ("牛奶一箱", 30), ("洗衣液", 20),
                 ("超市代金券20元", 60), ("体检套餐", 80), ("家电清洗服务", 40), ("抽纸一提", 10), ("鸡蛋30枚", 20)]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国红梅文斌志强海燕玉兰春梅金凤"

# Redemption fates and the last 60 days of expiries the hourly job has not run for (overdue).
FULFIL, CANCEL, LAPSE = 0.74, 0.10, 0.16
OVERDUE_WINDOW = timedelta(days=60)
PICKUP = timedelta(days=7)
# An earlier expiry run, when the period was 13 months.
EARLIER_EXPIRY_MONTHS, EARLIER_EXPIRY_AGO = 13, timedelta(days=20)

TABLES = {
    "orgs": "id, name, kind, parent_id, path, created_at",
    "users": "id, nickname, phone, wechat_openid, home_org_id, is_active, created_at",
    "staff_roles": "id, user_id, org_id, role, created_at",
    "volunteer_profiles": "id, user_id, real_name, phone, status, created_at, volunteer_no, skills, "
                          "consent_version, consented_at",
    "activities": "id, org_id, title, description, domain, category, location, starts_at, ends_at, capacity, "
                  "volunteer_slots, points_per_hour, attendance_points, is_walk_in_allowed, "
                  "checkin_opens_before_min, checkin_closes_after_min, status, code_secret, created_by_id, "
                  "created_at, published_at, cancelled_at, rounding, settled_at",
    "registrations": "id, activity_id, user_id, role, status, method, registered_at, created_at, cancelled_at, "
                     "checked_in_at, checked_out_at",
    "checkin_log": "id, activity_id, registration_id, user_id, actor_id, action, method, result, reason, device, "
                   "created_at, occurred_at",
    "settlements": "id, activity_id, fingerprint, rounding, minutes_total, points_total, settled_by_id, settled_at",
    "settlement_records": "id, settlement_id, registration_id, user_id, role, measured_minutes, minutes, points, "
                          "is_adjusted, is_unverified, is_capped, note, transfer_id, service_record_id",
    "service_records": "id, user_id, activity_id, title, org_id, org_name, place, content, service_date, "
                       "started_at, ended_at, minutes, points, responsible_person, recorded_by, recorded_at, "
                       "is_late, cause_key",
    "accounts": "id, owner_key, kind, user_id, org_id, balance, held, chain_head, created_at",
    "transfers": "id, idempotency_key, fingerprint, debit_account_id, credit_account_id, amount, kind, memo, "
                 "cause_key, reverses_id, actor_id, created_at",
    "entries": "id, account_id, transfer_id, amount, balance_after, hash, created_at",
    "holds": "id, idempotency_key, account_id, amount, status, memo, cause_key, transfer_id, created_at, closed_at",
    "benefits": "id, org_id, name, description, cost, stock_initial, stock_received, stock_left, per_user_limit, "
                "limit_period, min_star, is_residents_only, sponsor_name, sponsor_kind, sponsor_quantity, "
                "sponsor_value_fen, status, created_by, created_at, updated_at",
    "benefit_restocks": "id, benefit_id, quantity, note, actor_id, created_at",
    "redemptions": "id, benefit_id, user_id, code, status, cost, hold_id, transfer_id, expires_at, created_at, "
                   "fulfilled_at, fulfilled_by, cancelled_at, cancelled_by, expired_at, correction_transfer_id, "
                   "correction_reason, corrected_at",
}


def conninfo_of(url: str) -> str:
    """The libpq form of a SQLAlchemy URL (postgresql+psycopg://… → postgresql://…)."""
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# -- bulk loading ------------------------------------------------------------

class Loader:
    """COPY into one table on its own connection: TRUNCATE then COPY … FREEZE in
    one transaction, so the rows are written frozen (no hint-bit rewrite later)."""

    def __init__(self, conninfo: str, table: str):
        self.table = table
        self.conn = psycopg.connect(conninfo)
        self.conn.execute("SET synchronous_commit = off")
        self.conn.execute(f"TRUNCATE {table}")
        self._cm = self.conn.cursor().copy(f"COPY {table} ({TABLES[table]}) FROM STDIN WITH (FREEZE)",
                                           writer=QueuedLibpqWriter(self.conn.cursor()))
        self.write = self._cm.__enter__().write_row

    def close(self):
        self._cm.__exit__(None, None, None)
        self.conn.commit()
        self.conn.close()


def _strip_secondary(conninfo: str) -> list[str]:
    """Drops foreign keys, unique constraints and secondary indexes of the app's
    tables; returns the statements that put them back, exactly as they were."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        tables = [row[0] for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")]
        constraints = conn.execute(
            "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE connamespace = 'public'::regnamespace AND contype IN ('f', 'u') "
            "AND conrelid::regclass::text = ANY(%s)", [tables]).fetchall()
        indexes = conn.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid::regclass::text = ANY(%s) AND NOT i.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)", [tables]).fetchall()
        for table, name, _kind, _definition in sorted(constraints, key=lambda c: c[2]):  # f before u
            conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _definition in indexes:
            conn.execute(f"DROP INDEX {name}")
    restore = [definition for _name, definition in indexes]
    restore += [f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
                for table, name, kind, definition in constraints if kind == "u"]
    restore += [f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
                for table, name, kind, definition in constraints if kind == "f"]
    return restore


def _run_ddl(conninfo: str, statements: list[str], workers: int = 2) -> None:
    """Indexes and unique constraints on `workers` connections, then the foreign keys
    (they lock both tables, so they go one after another)."""
    def run(batch):
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute("SET maintenance_work_mem = '512MB'")
            for statement in batch:
                conn.execute(statement)

    first = [s for s in statements if "FOREIGN KEY" not in s]
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(run, [first[i::workers] for i in range(workers)]))
    run([s for s in statements if "FOREIGN KEY" in s])


# -- the city ------------------------------------------------------------------

class City:
    """Generates the rows in time order of the ledger (see `generate`)."""

    def __init__(self, scale: float, seed: int, now: datetime, out: dict):
        self.rng = random.Random(seed)
        self.now = now
        self.start = add_months(now, -MONTHS)
        self.out = out
        self.n = {key: max(1, round(value * scale)) for key, value in FULL.items()}
        self.n["stations"] = max(self.n["stations"], self.n["districts"])
        self.n["rooms"] = max(self.n["rooms"], self.n["stations"])
        self.counts = {table: 0 for table in TABLES}
        self.ids = {table: 0 for table in TABLES}
        self.events = []  # heap of (time, seq, kind, payload)
        self.seq = 0

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def write(self, table: str, row: tuple) -> None:
        self.out[table].write(row)
        self.counts[table] += 1

    def schedule(self, when, kind, payload):
        self.seq += 1
        heapq.heappush(self.events, (when, self.seq, kind, payload))

    def name(self) -> str:
        return self.rng.choice(SURNAMES) + "".join(self.rng.choices(GIVEN, k=self.rng.choice((1, 2))))

    # -- organisations, people ------------------------------------------------

    def build_orgs(self):
        rng, at = self.rng, self.start - timedelta(days=400)
        self.write("orgs", (1, "武汉市", "city", None, "/1/", at))
        self.ids["orgs"] = 1
        self.districts, self.stations, self.rooms = [], [], []
        self.org_path = {1: "/1/"}
        self.org_name = {1: "武汉市"}
        for i in range(self.n["districts"]):
            self._org(DISTRICTS[i % len(DISTRICTS)] + ("" if i < len(DISTRICTS) else str(i)), "district", 1,
                      self.districts, at)
        for i in range(self.n["stations"]):
            district = self.districts[i % len(self.districts)]
            self._org(f"{self.org_name[district]}第{i // len(self.districts) + 1}街道社工站", "station", district,
                      self.stations, at)
        for i in range(self.n["rooms"]):
            station = self.stations[i % len(self.stations)]
            self._org(f"第{i // len(self.stations) + 1}社区社工室", "room", station, self.rooms, at)
        self.station_of = {room: int(self.org_path[room].strip("/").split("/")[2]) for room in self.rooms}
        self.district_of = {org: int(self.org_path[org].strip("/").split("/")[1])
                            for org in self.rooms + self.stations}
        rng.shuffle(self.rooms)

    def _org(self, name, kind, parent, into, at):
        org_id = self.next_id("orgs")
        self.org_path[org_id] = f"{self.org_path[parent]}{org_id}/"
        self.org_name[org_id] = name
        self.write("orgs", (org_id, name, kind, parent, self.org_path[org_id], at))
        into.append(org_id)

    def build_people(self):
        rng, n = self.rng, self.n
        people = n["people"]
        self.home = [0] * (people + 1)
        self.residents_of = {room: [] for room in self.rooms}
        self.volunteers_of = {room: [] for room in self.rooms}
        volunteers = set(rng.sample(range(1, people + 1), min(n["volunteers"], people)))
        self.is_volunteer = volunteers
        rooms = self.rooms
        for user_id in range(1, people + 1):
            room = rooms[rng.randrange(len(rooms))]
            self.home[user_id] = room
            self.residents_of[room].append(user_id)
            created = self.start - timedelta(minutes=rng.randrange(60 * 24 * 365))
            self.write("users", (user_id, f"居民{user_id}", None, f"o-city-{user_id:09d}", room, True, created))
            if user_id in volunteers:
                self.volunteers_of[room].append(user_id)
                profile_id = self.next_id("volunteer_profiles")
                self.write("volunteer_profiles", (
                    profile_id, user_id, self.name(), f"13{rng.randrange(10 ** 9):09d}", "active", created,
                    f"LL{created.astimezone(ZONE).year}{profile_id:08d}", "[]", "2026-01", created))
        self.ids["users"] = people
        # Staff: a city admin, an admin per district, a worker per room.
        at = self.start - timedelta(days=400)
        self.worker_of, self.admin_of = {}, {}
        for org, role, into in ([(1, "admin", self.admin_of)] + [(d, "admin", self.admin_of) for d in self.districts]
                                + [(r, "worker", self.worker_of) for r in self.rooms]):
            user_id = self.next_id("users")
            self.write("users", (user_id, self.name() + ("社工" if role == "worker" else ""),
                                 f"139{user_id:08d}", None, org, True, at))
            self.write("staff_roles", (self.next_id("staff_roles"), user_id, org, role, at))
            into[org] = user_id
        self.staff_name = {}

    # -- ledger state ---------------------------------------------------------

    def build_accounts(self):
        """Org accounts first (issuing for every org, redemption for rooms); people's
        accounts open on their first points."""
        at = self.start - timedelta(days=30)
        self.balance, self.held, self.head = [0], [0], [GENESIS_HASH]
        self.account_rows = []  # (id, owner_key, kind, user_id, org_id, created_at)
        self.issuing, self.redemption_account = {}, {}
        for org in [1] + self.districts + self.stations + self.rooms:
            self.issuing[org] = self._open_account(f"org_issuing:{org}", "org_issuing", None, org, at)
        for org in self.rooms:
            self.redemption_account[org] = self._open_account(f"org_redemption:{org}", "org_redemption", None,
                                                              org, at)
        self.org_of_account = {account: org for org, account in {**self.issuing}.items()}
        self.org_of_account.update({account: org for org, account in self.redemption_account.items()})
        self.person_account = {}
        self.lots = {}  # person account -> deque of [transfer id, source account, earned at, amount]
        self.lot_total = {}
        self.earners = []

    def _open_account(self, owner_key, kind, user_id, org_id, at) -> int:
        account_id = len(self.balance)
        self.balance.append(0)
        self.held.append(0)
        self.head.append(GENESIS_HASH)
        self.account_rows.append((account_id, owner_key, kind, user_id, org_id, at))
        return account_id

    def account_of(self, user_id, at) -> int:
        account = self.person_account.get(user_id)
        if account is None:
            account = self.person_account[user_id] = self._open_account(f"person:{user_id}", "person", user_id,
                                                                        None, at)
            self.lots[account] = deque()
            self.lot_total[account] = 0
            self.earners.append(user_id)
        return account

    def post(self, debit, credit, amount, kind, memo, key, at, *, cause_key=None, actor_id=None,
             fingerprint=None, reverses_id=None) -> int:
        """One transfer and its two entries, chained exactly as the ledger chains them."""
        transfer_id = self.next_id("transfers")
        fingerprint = fingerprint or fingerprint_of({"debit": debit, "credit": credit, "amount": amount,
                                                     "kind": kind})
        self.write("transfers", (transfer_id, key, fingerprint, debit, credit, amount, kind, memo[:200], cause_key,
                                 reverses_id, actor_id, at))
        for account, delta in sorted(((debit, -amount), (credit, amount))):
            balance = self.balance[account] + delta
            link = entry_hash(prev_hash=self.head[account], account_id=account, transfer_id=transfer_id,
                              amount=delta, balance_after=balance)
            self.balance[account], self.head[account] = balance, link
            self.write("entries", (self.next_id("entries"), account, transfer_id, delta, balance, link, at))
        return transfer_id

    def available(self, account) -> int:
        return self.balance[account] - self.held[account]

    def add_lot(self, account, transfer_id, source, at, amount):
        self.lots[account].append([transfer_id, source, at, amount])
        self.lot_total[account] += amount

    def drop_used_lots(self, account):
        """Lots that debits (not holds: a hold may be voided) have used up stay
        used up whatever comes later: the oldest lots go first."""
        lots, balance = self.lots[account], self.balance[account]
        while lots and self.lot_total[account] - lots[0][3] >= balance:
            self.lot_total[account] -= lots.popleft()[3]

    # -- activities -----------------------------------------------------------

    def plan_activities(self):
        rng, start, now = self.rng, self.start, self.now
        span = (now + timedelta(days=14) - start).total_seconds()
        planned = []
        for _ in range(self.n["activities"]):
            room = self.rooms[rng.randrange(len(self.rooms))]
            day = (start + timedelta(seconds=rng.random() * span)).astimezone(ZONE).date()
            starts = datetime(day.year, day.month, day.day, rng.choice((9, 10, 14, 15, 19)), tzinfo=ZONE) \
                .astimezone(timezone.utc)
            if starts < start + timedelta(hours=1):
                starts += timedelta(days=1)
            ends = starts + timedelta(minutes=rng.choice((60, 90, 120, 120, 150, 180)))
            created = starts - timedelta(days=rng.randint(5, 21), minutes=rng.randrange(600))
            status, settled, cancelled = "published", None, None
            if rng.random() < 0.02 and created < now:
                status, cancelled = "cancelled", created + (min(starts, now) - created) * rng.random()
            elif ends < now:
                late = rng.random() < 0.08
                settled = ends + timedelta(hours=rng.uniform(1, 24 * 3) + (24 * rng.uniform(12, 25) if late else 0))
                if settled < now:
                    status = "settled"
                else:
                    settled = None
            if created > now:
                continue  # not yet made: one fewer
            planned.append([created, room, starts, ends, status, settled, cancelled])
        planned.sort(key=lambda a: a[0])
        for a in planned:
            a.insert(0, self.next_id("activities"))
        # Each activity is worked out when its points are posted, so the ledger is in time order.
        far = self.now + timedelta(days=365)
        planned.sort(key=lambda a: (a[6] or far, a[0]))
        return planned

    def run(self):
        t0 = time.perf_counter()
        self.build_orgs()
        self.build_people()
        self.build_accounts()
        self.build_benefits()
        self.seed_events()
        for activity in self.plan_activities():
            self.drain(activity[6] or self.now)
            self.activity(*activity)
        self.drain(self.now)
        self.finish()
        self.seconds = time.perf_counter() - t0

    def activity(self, activity_id, created, room, starts, ends, status, settled, cancelled):
        rng = self.rng
        domain = DOMAINS[rng.randrange(len(DOMAINS))]
        title, category = rng.choice(ACTIVITY_KINDS[domain])
        location = f"{self.org_name[room]}活动室"
        description = f"{title}，欢迎居民和志愿者参加。"
        capacity, slots = rng.randint(30, 70), rng.randint(9, 20)
        per_hour = rng.choice((10, 10, 10, 12, 15, 20))
        attendance_points = rng.choice((1, 2, 2, 3, 5)) if rng.random() < 0.65 else 0
        rounding = "half_hour" if rng.random() < 0.1 else "minute"
        worker = self.worker_of[room]
        published = created + timedelta(minutes=rng.randrange(5, 240))
        self.write("activities", (
            activity_id, room, title, description, domain, category, location, starts, ends, capacity, slots,
            per_hour, attendance_points, rng.random() < 0.2, 30, 30, status, f"{rng.getrandbits(128):032x}",
            worker, created, published, cancelled, rounding, settled))
        if status == "cancelled":
            return
        happened = ends < self.now
        opens, closes = starts - timedelta(minutes=30), ends + timedelta(minutes=30)
        settled_rows = []  # (registration id, user id, role, measured, minutes, points, unverified, adjusted, note)
        seen = set()
        for role, places, fill, pool in (("participant", capacity, rng.uniform(0.55, 1.0), self.residents_of),
                                         ("volunteer", slots, rng.uniform(0.6, 1.0), self.volunteers_of)):
            wanted = round(places * fill)
            confirmed = 0
            for user_id in self._pick(pool, room, wanted + (rng.randint(1, 3) if fill > 0.97 else 0), seen):
                registered = published + (min(starts, self.now) - published) * rng.random()
                registration_id = self.next_id("registrations")
                status_ = "confirmed"
                if confirmed >= places:
                    status_ = "waitlisted"
                elif rng.random() < 0.05:
                    status_ = "cancelled"
                else:
                    confirmed += 1
                cancelled_at = registered + (starts - registered) * rng.random() if status_ == "cancelled" else None
                checked_in = checked_out = None
                if happened and status_ == "confirmed" and rng.random() < (0.8 if role == "participant" else 0.93):
                    checked_in = self._scan(activity_id, registration_id, user_id, worker, "in",
                                            starts + timedelta(minutes=rng.uniform(-25, 10)))
                    if role == "volunteer" and rng.random() > 0.03:
                        checked_out = self._scan(activity_id, registration_id, user_id, worker, "out",
                                                 min(closes, ends + timedelta(minutes=rng.uniform(-15, 25))))
                self.write("registrations", (registration_id, activity_id, user_id, role, status_, "self",
                                             registered, registered, cancelled_at, checked_in, checked_out))
                if settled is not None and checked_in is not None:
                    settled_rows.append(self._planned(registration_id, user_id, role, checked_in, checked_out,
                                                      starts, ends, rounding, per_hour, attendance_points))
        if happened and rng.random() < 0.3:  # someone without a place tries early: refused, logged
            self.write("checkin_log", (self.next_id("checkin_log"), activity_id, None,
                                       self.residents_of[room][rng.randrange(len(self.residents_of[room]))],
                                       None, "in", "self", "refused", "CHECKIN_NOT_OPEN", "wechat",
                                       opens - timedelta(minutes=20), opens - timedelta(minutes=20)))
        if settled is not None:
            self.settle(activity_id, room, title, description or category, location, starts, ends, rounding,
                        settled, worker, settled_rows)

    def _pick(self, pool, room, wanted, seen):
        """`wanted` distinct people, mostly of the room, some from anywhere."""
        rng, local = self.rng, pool[room]
        picked = []
        for _ in range(wanted * 3):
            if len(picked) >= wanted:
                break
            if local and rng.random() < 0.9:
                user_id = local[rng.randrange(len(local))]
            else:
                other = pool[self.rooms[rng.randrange(len(self.rooms))]]
                if not other:
                    continue
                user_id = other[rng.randrange(len(other))]
            if user_id not in seen:
                seen.add(user_id)
                picked.append(user_id)
        return picked

    def _scan(self, activity_id, registration_id, user_id, worker, action, at):
        """An accepted scan (and now and then the same scan again, a repeat); returns its time."""
        rng = self.rng
        method = "self" if rng.random() < 0.82 else rng.choice(("staff", "manual"))
        actor = user_id if method == "self" else worker
        device = "wechat" if method == "self" else "staff-app"
        self.write("checkin_log", (self.next_id("checkin_log"), activity_id, registration_id, user_id, actor, action,
                                   method, "accepted", None, device, at, at))
        if rng.random() < 0.03:
            again = at + timedelta(seconds=rng.randint(5, 90))
            self.write("checkin_log", (self.next_id("checkin_log"), activity_id, registration_id, user_id, actor,
                                       action, method, "repeat", None, device, again, again))
        return at

    def _planned(self, registration_id, user_id, role, checked_in, checked_out, starts, ends, rounding, per_hour,
                 attendance_points):
        if role == "participant":
            return (registration_id, user_id, role, 0, 0, attendance_points, False, False, "")
        if checked_out is None:
            if self.rng.random() < 0.4:  # the worker confirms from the paper sheet
                minutes = int((ends - starts).total_seconds() // 60)
                return (registration_id, user_id, role, 0, minutes, minutes * per_hour // 60, False, True,
                        "纸质签到表核实")
            return (registration_id, user_id, role, 0, 0, 0, True, False, "")
        measured = max(0, int((min(checked_out, ends) - max(checked_in, starts)).total_seconds() // 60))
        step = 30 if rounding == "half_hour" else 1
        minutes = measured // step * step
        return (registration_id, user_id, role, measured, minutes, minutes * per_hour // 60, False, False, "")

    def settle(self, activity_id, room, title, content, place, starts, ends, rounding, settled, worker, rows):
        rng = self.rng
        settlement_id = self.next_id("settlements")
        adjustments = [{"registration_id": r[0], "minutes": r[4], "note": r[8]} for r in rows if r[7]]
        self.write("settlements", (settlement_id, activity_id, settlement_fingerprint(adjustments), rounding,
                                   sum(r[4] for r in rows), sum(r[5] for r in rows), worker, settled))
        issuing = self.issuing[room]
        worker_name = self.staff_name.setdefault(worker, f"社工{worker}")
        late = is_recorded_late(ended_on=ends.astimezone(ZONE).date(), recorded_on=settled.astimezone(ZONE).date())
        service_date = starts.astimezone(ZONE).date()
        for registration_id, user_id, role, measured, minutes, points, unverified, adjusted, note in rows:
            transfer_id = service_id = None
            key = f"settlement:{registration_id}"
            if points > 0:
                account = self.account_of(user_id, settled)
                memo = f"{title}：志愿服务 {minutes} 分钟" if role == "volunteer" else f"{title}：参加活动"
                transfer_id = self.post(issuing, account, points, "earn", memo, key, settled, cause_key=key,
                                        actor_id=worker)
                self.add_lot(account, transfer_id, issuing, settled, points)
                if rng.random() < 0.001:  # recorded in error, reversed a few days later
                    self.schedule(settled + timedelta(days=rng.uniform(1, 5)), "reverse_earn",
                                  (transfer_id, account, issuing, points, key, worker))
            if role == "volunteer" and minutes > 0:
                service_id = self.next_id("service_records")
                self.write("service_records", (service_id, user_id, activity_id, title, room, self.org_name[room],
                                               place, content, service_date, starts, ends, minutes, points,
                                               worker_name, worker, settled, late, key))
            self.write("settlement_records", (self.next_id("settlement_records"), settlement_id, registration_id,
                                              user_id, role, measured, minutes, points, adjusted, unverified, False,
                                              note, transfer_id, service_id))

    # -- benefits and redemptions --------------------------------------------

    def build_benefits(self):
        rng = self.rng
        self.benefits = []  # [id, org, name, cost, stock_left or None, limit]
        self.benefits_of = {}
        created = self.start + timedelta(days=20)
        for _ in range(self.n["benefits"]):
            room = self.rooms[rng.randrange(len(self.rooms))]
            name, cost = rng.choice(BENEFIT_KINDS)
            benefit_id = self.next_id("benefits")
            stock = None if rng.random() < 0.1 else rng.randint(20, 120)
            limit = rng.choice((None, None, 1, 2))
            self.benefits.append([benefit_id, room, name, cost, stock, limit, stock, created])
            self.benefits_of.setdefault(room, []).append(benefit_id - 1)
        self.redemptions_of = {}  # (user, benefit index) -> reserved or fulfilled count
        self.open = {}  # redemption id -> its row, written when it reaches its last state

    def seed_events(self):
        rng, span_start = self.rng, self.start + timedelta(days=45)
        span = (self.now - span_start).total_seconds()
        for _ in range(self.n["redemption_attempts"]):
            self.schedule(span_start + timedelta(seconds=rng.random() * span), "attempt", None)
        for _ in range(self.n["adjustments"]):
            self.schedule(span_start + timedelta(seconds=rng.random() * span), "adjust", None)
        self.schedule(self.now - EARLIER_EXPIRY_AGO, "expiry_run", EARLIER_EXPIRY_MONTHS)

    def drain(self, until):
        while self.events and self.events[0][0] <= until:
            at, _seq, kind, payload = heapq.heappop(self.events)
            getattr(self, f"on_{kind}")(at, payload)

    def on_attempt(self, at, _payload):
        rng = self.rng
        if not self.earners:
            return
        for _ in range(6):  # someone with points who wants something near home
            user_id = self.earners[rng.randrange(len(self.earners))]
            choices = self.benefits_of.get(self.home[user_id]) or self.benefits_of.get(
                self.rooms[rng.randrange(len(self.rooms))])
            if not choices:
                continue
            index = choices[rng.randrange(len(choices))]
            benefit = self.benefits[index]
            account = self.person_account[user_id]
            if self.available(account) < benefit[3] or benefit[4] == 0:
                continue
            if benefit[5] is not None and self.redemptions_of.get((user_id, index), 0) >= benefit[5]:
                continue
            self.reserve(at, user_id, account, index, benefit)
            return

    def reserve(self, at, user_id, account, index, benefit):
        rng = self.rng
        benefit_id, room, name, cost = benefit[:4]
        if benefit[4] is not None:
            benefit[4] -= 1
        self.redemptions_of[(user_id, index)] = self.redemptions_of.get((user_id, index), 0) + 1
        redemption_id, hold_id = self.next_id("redemptions"), self.next_id("holds")
        self.held[account] += cost
        code = "".join(CODE_ALPHABET[(rng.getrandbits(5))] for _ in range(CODE_LENGTH))
        expires = at + PICKUP
        row = {"id": redemption_id, "benefit": index, "user": user_id, "account": account, "code": code,
               "status": "reserved", "cost": cost, "hold": hold_id, "transfer": None, "expires": expires,
               "created": at, "fulfilled": None, "fulfilled_by": None, "cancelled": None, "cancelled_by": None,
               "expired": None, "correction": None, "reason": None, "corrected": None, "hold_status": "open",
               "closed": None}
        self.open[redemption_id] = row
        fate = rng.random()
        if fate < FULFIL:
            self.schedule(at + timedelta(hours=rng.uniform(1, 24 * 6.5)), "fulfil", row)
        elif fate < FULFIL + CANCEL:
            self.schedule(at + timedelta(hours=rng.uniform(0.2, 24 * 6)), "cancel", row)
        elif expires < self.now - OVERDUE_WINDOW:
            self.schedule(expires + timedelta(minutes=rng.uniform(0, 60)), "lapse", row)
        # else: overdue (the job has not run for it yet) or not yet due: stays reserved.

    def _release(self, row, at, status):
        benefit = self.benefits[row["benefit"]]
        if benefit[4] is not None:
            benefit[4] += 1
        key = (row["user"], row["benefit"])
        self.redemptions_of[key] -= 1
        self.held[row["account"]] -= row["cost"]
        row["status"], row["hold_status"], row["closed"] = status, "voided", at
        self._done(row)

    def on_cancel(self, at, row):
        row["cancelled"], row["cancelled_by"] = at, row["user"]
        self._release(row, at, "cancelled")

    def on_lapse(self, at, row):
        row["expired"] = at
        self._release(row, at, "expired")

    def on_fulfil(self, at, row):
        benefit = self.benefits[row["benefit"]]
        worker, account, cost = self.worker_of[benefit[1]], row["account"], row["cost"]
        self.held[account] -= cost
        transfer_id = self.post(account, self.redemption_account[benefit[1]], cost, "redeem", f"兑换：{benefit[2]}",
                                f"hold:{row['hold']}", at, cause_key=f"redemption:{row['id']}", actor_id=worker)
        self.drop_used_lots(account)
        row.update(status="fulfilled", hold_status="posted", closed=at, transfer=transfer_id, fulfilled=at,
                   fulfilled_by=worker)
        if self.rng.random() < 0.005:
            self.schedule(at + timedelta(days=self.rng.uniform(1, 3)), "correct", row)
        else:
            self._done(row)

    def on_correct(self, at, row):
        """A staff correction of a fulfilled redemption: the points come back (a new lot)."""
        benefit = self.benefits[row["benefit"]]
        worker, source = self.worker_of[benefit[1]], self.redemption_account[benefit[1]]
        reason = "商品有质量问题，退回积分"
        transfer_id = self.post(source, row["account"], row["cost"], "reversal", f"冲正：{reason}",
                                f"reversal:{row['transfer']}", at, cause_key=f"redemption:{row['id']}",
                                actor_id=worker, fingerprint=fingerprint_of({"reverses": row["transfer"]}),
                                reverses_id=row["transfer"])
        self.add_lot(row["account"], transfer_id, source, at, row["cost"])
        row.update(correction=transfer_id, reason=reason, corrected=at)
        self._done(row)

    def _done(self, row):
        del self.open[row["id"]]
        self._write_redemption(row)

    def _write_redemption(self, r):
        benefit = self.benefits[r["benefit"]]
        self.write("holds", (r["hold"], f"redemption:{r['id']}", r["account"], r["cost"], r["hold_status"],
                             f"兑换冻结：{benefit[2]}", f"redemption:{r['id']}",
                             r["transfer"], r["created"], r["closed"]))
        self.write("redemptions", (r["id"], benefit[0], r["user"], r["code"], r["status"], r["cost"], r["hold"],
                                   r["transfer"], r["expires"], r["created"], r["fulfilled"], r["fulfilled_by"],
                                   r["cancelled"], r["cancelled_by"], r["expired"], r["correction"], r["reason"],
                                   r["corrected"]))

    # -- corrections and the earlier expiry ----------------------------------

    def on_reverse_earn(self, at, payload):
        original, account, issuing, points, cause_key, worker = payload
        if self.available(account) < points:
            return  # already spent: the worker could not reverse it
        reason = "重复登记，冲正"
        self.post(account, issuing, points, "reversal", f"冲正：{reason}", f"reversal:{original}", at,
                  cause_key=cause_key, actor_id=worker, fingerprint=fingerprint_of({"reverses": original}),
                  reverses_id=original)
        lots = self.lots[account]
        for lot in lots:
            if lot[0] == original:
                lots.remove(lot)
                self.lot_total[account] -= points
                break
        self.drop_used_lots(account)

    def on_adjust(self, at, _payload):
        rng = self.rng
        user_id = rng.randrange(1, len(self.home))
        district = self.district_of[self.home[user_id]]
        admin, amount = self.admin_of[district], rng.choice((5, 10, 20, 50))
        reason = "补录纸质服务记录"
        account = self.account_of(user_id, at)
        key = f"adjustment:{admin}:{rng.getrandbits(64):016x}"
        transfer_id = self.post(self.issuing[district], account, amount, "adjustment", reason, key, at,
                                actor_id=admin, fingerprint=fingerprint_of({"user_id": user_id, "amount": amount,
                                                                            "reason": reason}))
        self.add_lot(account, transfer_id, self.issuing[district], at, amount)

    def on_expiry_run(self, at, months):
        """What `points.expiry` posted when it ran then: for each person, what is left
        of lots earned before the cutoff, the newest lots being what is left."""
        cutoff = add_months(at, -months)
        for user_id, account in self.person_account.items():
            remaining = self.available(account)
            by_source, last_lot = {}, None
            for transfer_id, source, earned, amount in reversed(self.lots[account]):
                if remaining <= 0:
                    break
                left = min(amount, remaining)
                remaining -= left
                if earned < cutoff:
                    by_source[source] = by_source.get(source, 0) + left
                    last_lot = last_lot or transfer_id
            for source, points in sorted(by_source.items()):
                org = self.org_of_account[source]
                self.post(account, self.issuing[org], points, EXPIRY, f"积分过期（{months} 个月前获得）",
                          f"expiry:{account}:{org}:{last_lot}:{points}", at)
            if by_source:
                self.drop_used_lots(account)

    # -- the end --------------------------------------------------------------

    def finish(self):
        for row in list(self.open.values()):
            self._write_redemption(row)
        for account_id, owner_key, kind, user_id, org_id, at in self.account_rows:
            self.write("accounts", (account_id, owner_key, kind, user_id, org_id, self.balance[account_id],
                                    self.held[account_id], self.head[account_id], at))
        rng = self.rng
        for benefit_id, room, name, cost, left, limit, initial, created in self.benefits:
            restock = rng.randint(10, 40) if initial is not None and rng.random() < 0.2 else 0
            if restock:
                self.write("benefit_restocks", (self.next_id("benefit_restocks"), benefit_id, restock, "爱心商家补货",
                                                self.worker_of[room], created + timedelta(days=rng.randint(30, 300))))
            sponsor = rng.random() < 0.6
            self.write("benefits", (
                benefit_id, room, name, f"{name}，凭积分兑换，到社工室领取。", cost, initial,
                None if initial is None else initial + restock, None if left is None else left + restock, limit,
                "total", 0, False, "爱心商家" if sponsor else None, "merchant" if sponsor else None,
                (initial + restock) if sponsor and initial is not None else None,
                cost * 100 if sponsor else None, "active", self.worker_of[room], created, created))


def _guard(conninfo: str, force: bool) -> None:
    with psycopg.connect(conninfo) as conn:
        host = conn.info.host
        if host not in ("127.0.0.1", "localhost", "::1") and not host.startswith("/"):
            raise SystemExit("citygen writes to 127.0.0.1 only")
        if not force and conn.execute("SELECT EXISTS (SELECT 1 FROM users)").fetchone()[0]:
            raise SystemExit("the database has users already: citygen replaces every table (use force=True)")


def generate(url: str, scale: float = 1.0, seed: int = 1, *, now: datetime | None = None, force: bool = False,
             log=print) -> dict:
    """Fills the (empty) PostgreSQL database at `url` with a city at `scale`;
    returns the row counts, with "seconds". `now` defaults to the current minute."""
    started = time.perf_counter()
    app = migrated_app(url)  # the schema, by the app's own migrations
    with app.app_context():
        db.engine.dispose()  # nobody stays connected: the database can serve as a template
    conninfo = conninfo_of(url)
    _guard(conninfo, force)
    now = (now or datetime.now(timezone.utc)).replace(second=0, microsecond=0)
    restore = _strip_secondary(conninfo)
    out = {}
    try:
        for table in TABLES:
            out[table] = Loader(conninfo, table)
        city = City(scale, seed, now, out)
        city.run()
    finally:
        for loader in out.values():
            loader.close()
    log(f"rows generated in {city.seconds:.0f} s; rebuilding indexes and constraints")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for table in TABLES:
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                         f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)")
    _run_ddl(conninfo, restore)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
        size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]
    counts = {table: n for table, n in city.counts.items()}
    counts["seconds"] = round(time.perf_counter() - started, 1)
    counts["size"] = size
    return counts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", help="an empty PostgreSQL database on 127.0.0.1 (default: a new "
                                               "scratch database, kept)")
    parser.add_argument("--force", action="store_true", help="replace the rows of a database that has some")
    args = parser.parse_args(argv)
    url = args.database_url
    if url is None:
        url, _drop = create_scratch_database()
        print(f"scratch database (drop it when done): {url}")
    counts = generate(url, args.scale, args.seed, force=args.force)
    print(json.dumps(counts, ensure_ascii=False))


if __name__ == "__main__":
    main()
