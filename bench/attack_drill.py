"""The fault drill: real faults under real load, then the books.

Four drills, each on people, benefits and activities of its own (seeded here on
the database itself), each ending with `flask --app wsgi points verify` and the
checks below:

- drill-redemption-kill: residents redeem (scarce and plentiful stock), staff
  fulfil, owners cancel, while a gunicorn worker is SIGKILLed in each wave;
- drill-settlement-kill: three activities of 200 volunteers settled at once
  while the worker that has used the most CPU since they started is SIGKILLed;
- drill-redis-down: redemptions, check-ins, staff sign-ins, a settlement and
  /health while the kit's redis-server is shut down (SHUTDOWN NOSAVE) and
  started again: no 5xx at all is due (DESIGN.md: Redis holds only what may be lost);
- drill-db-down: the same kind of load while the proxy between the app and
  PostgreSQL is cut for 10 s: a 503 in the envelope is the by-design answer
  then (and in the 3 s after), anything else 5xx is not; afterwards every
  request must succeed again.

A client that loses its connection, or gets a 5xx, tries again with the same
Idempotency-Key (bounded: 40 tries, 30 s), as the mini-program would; what is
counted is each logical operation's outcome, and any non-by-design 5xx seen on
the way. `lost` counts what does not add up afterwards:

- `points verify` (each broken invariant);
- stock: stock_received == stock_left + reserved + fulfilled, per benefit;
- holds: a reserved redemption has an open hold, a fulfilled one a posted hold
  and exactly one transfer (key `hold:{hold_id}`), a cancelled one a voided hold
  and none; open holds == reserved redemptions;
- acknowledgements: every redemption the client was given exists, and every
  redemption stored was acknowledged to the client (no phantom holds);
- balances: each resident's balance == initial − Σ cost of fulfilments the client
  was told of, held == Σ cost of reservations still open;
- settlement: one settlement per activity, points per volunteer == the minutes of
  the seeded check-in/out clipped to the schedule × points_per_hour ÷ 60, exactly
  one transfer per paid record (key `settlement:{registration_id}`), and each
  volunteer's balance == their points.
"""
from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa

from attack_env import Row, error_code, is_envelope

CLIENTS = 8
RESIDENTS = 40
INITIAL_POINTS = 100
RETRIES, OP_SECONDS = 40, 30
DB_OUTAGE_SECONDS = 10
GRACE_SECONDS = 3
REFUSALS = {"OUT_OF_STOCK", "LIMIT_REACHED", "INSUFFICIENT_POINTS", "REDEMPTION_CANCELLED",
            "ALREADY_FULFILLED", "REGISTRATION_CLOSED", "CHECKIN_NOT_OPEN", "NOT_CHECKED_IN"}


# -- seeding ----------------------------------------------------------------------------

@dataclass
class Cohort:
    """One drill's own: a room, its worker, residents with points, benefits, activities."""
    room_id: int = 0
    worker_token: str = ""
    worker_phone: str = ""
    residents: list = field(default_factory=list)        # (user_id, token)
    benefits: dict = field(default_factory=dict)         # name → (id, cost, stock)
    activities: list = field(default_factory=list)       # ended activities to settle: id
    expected_points: dict = field(default_factory=dict)  # volunteer user_id → points due
    volunteer_ids: list = field(default_factory=list)
    live_activity: int | None = None                     # an activity open for check-in now


def seed_cohort(app, name: str, now, *, volunteers: int, activities: int, live: bool = False) -> Cohort:
    from activities.models import Activity, Registration
    from api.tokens import encode_access
    from core.db import db
    from core.passwords import hash_password
    from orgs.models import Org, StaffRole
    from orgs.services import _save_org, ensure_city
    from points import benefits, ledger
    from volunteers.models import User, VolunteerProfile

    from attack_seed import STAFF_PASSWORD

    tag = uuid.uuid4().hex[:8]
    cohort = Cohort()
    with app.app_context():
        city = ensure_city(name="武汉市", now=now)
        district = _save_org(Org(name=f"演练区{tag}", kind="district", parent=city, created_at=now))
        station = _save_org(Org(name=f"演练街道{tag}", kind="station", parent=district, created_at=now))
        room = _save_org(Org(name=f"{name}社工室", kind="room", parent=station, created_at=now))
        cohort.room_id = room.id
        cohort.worker_phone = f"1360{int(tag, 16) % 10 ** 7:07d}"
        worker = User(phone=cohort.worker_phone, nickname="演练社工", home_org_id=room.id,
                      password_hash=hash_password(STAFF_PASSWORD), created_at=now)
        db.session.add(worker)
        db.session.flush()
        db.session.add(StaffRole(user_id=worker.id, org_id=room.id, role="worker", created_at=now))
        user_ids = db.session.scalars(sa.insert(User).returning(User.id), [
            {"nickname": f"居民{i}", "wechat_openid": f"drill-{tag}-r{i}", "home_org_id": room.id,
             "created_at": now, "is_active": True} for i in range(RESIDENTS)]).all()
        issuing = ledger.issuing_account(room.id, now=now)
        accounts = ledger.person_accounts(user_ids, now=now)
        ledger.issue_many(debit=issuing, kind="earn", now=now, credits=[
            ledger.Credit(accounts[uid], INITIAL_POINTS, f"drill-seed:{uid}", "演练初始积分")
            for uid in user_ids])
        for key, cost, stock, limit in (("scarce", 10, 12, 1), ("plenty", 5, 400, None)):
            made = benefits.create_benefit(actor=worker, org=room, name=f"{key}-{tag}", cost=cost,
                                           stock=stock, per_user_limit=limit, now=now)
            cohort.benefits[key] = (made.id, cost, stock)
        starts = now - timedelta(hours=4)
        for n in range(activities):
            activity = Activity(org=room, title=f"演练活动{n}", domain="community_governance",
                                location="演练社区", starts_at=starts, ends_at=starts + timedelta(hours=2),
                                capacity=0, volunteer_slots=volunteers, points_per_hour=12,
                                status="published", code_secret=uuid.uuid4().hex, created_at=now)
            db.session.add(activity)
            db.session.flush()
            cohort.activities.append(activity.id)
            vids = db.session.scalars(sa.insert(User).returning(User.id), [
                {"nickname": f"志愿者{n}-{i}", "wechat_openid": f"drill-{tag}-a{n}-v{i}",
                 "home_org_id": room.id, "created_at": now, "is_active": True}
                for i in range(volunteers)]).all()
            db.session.execute(sa.insert(VolunteerProfile), [
                {"user_id": uid, "real_name": "演练志愿者", "phone": "13900000000", "status": "active",
                 "created_at": now, "volunteer_no": f"D{tag}{uid:08d}"} for uid in vids])
            regs = []
            for i, uid in enumerate(vids):
                checked_in = starts + timedelta(minutes=(i % 30) - 10)     # some before the start
                checked_out = starts + timedelta(minutes=80 + (i % 60))    # some after the end
                regs.append({"activity_id": activity.id, "user_id": uid, "role": "volunteer",
                             "status": "confirmed", "method": "self", "registered_at": now,
                             "created_at": now, "checked_in_at": checked_in, "checked_out_at": checked_out})
                clipped = (min(checked_out, activity.ends_at) - max(checked_in, starts)).total_seconds() // 60
                cohort.expected_points[uid] = int(clipped) * 12 // 60
            db.session.execute(sa.insert(Registration), regs)
            cohort.volunteer_ids.extend(vids)
        if live:
            activity = Activity(org=room, title="演练签到", domain="elderly_care", location="演练社区",
                                starts_at=now - timedelta(minutes=10), ends_at=now + timedelta(hours=2),
                                capacity=RESIDENTS, volunteer_slots=0, points_per_hour=0,
                                status="published", code_secret=uuid.uuid4().hex, created_at=now)
            db.session.add(activity)
            db.session.flush()
            db.session.execute(sa.insert(Registration), [
                {"activity_id": activity.id, "user_id": uid, "role": "participant", "status": "confirmed",
                 "method": "self", "registered_at": now, "created_at": now} for uid in user_ids])
            cohort.live_activity = activity.id
        db.session.commit()
        cohort.residents = [(uid, encode_access(uid, now)) for uid in user_ids]
        cohort.worker_token = encode_access(worker.id, now)
        db.session.remove()
    return cohort


# -- the client side: operations retried as a phone would --------------------------------

class Outage:
    """When 503 is the by-design answer: while a dependency is down, and a little after."""

    def __init__(self, designed_503: bool):
        self.designed_503 = designed_503
        self.down_since = None
        self.up_since = None

    def begin(self):
        self.down_since, self.up_since = time.monotonic(), None

    def end(self):
        self.up_since = time.monotonic()

    def excuses_503(self) -> bool:
        if not self.designed_503 or self.down_since is None:
            return False
        return self.up_since is None or time.monotonic() - self.up_since < GRACE_SECONDS


@dataclass
class Op:
    name: str
    method: str
    path: str
    token: str | None
    body: object = None
    headers: dict | None = None
    tag: object = None               # what the drill needs to know about it (e.g. the redemption key)
    final: object = None             # the last response
    tries: int = 0
    dropped: int = 0
    designed_503: int = 0
    bad: list = field(default_factory=list)


def perform(http, op: Op, outage: Outage) -> None:
    deadline = time.monotonic() + OP_SECONDS
    while op.tries < RETRIES and time.monotonic() < deadline:
        op.tries += 1
        response = http.call(op.method, op.path, token=op.token, body=op.body, headers=op.headers)
        if response is None:
            op.dropped += 1
            time.sleep(0.3)
            continue
        op.final = response
        if response.status_code >= 500:
            if response.status_code == 503 and outage.excuses_503() and is_envelope(response):
                op.designed_503 += 1
            else:
                op.bad.append(response)
            time.sleep(0.7)
            continue
        return


def judge(op: Op, row: Row, outage: Outage) -> None:
    final = op.final
    where = f"{op.method} {op.path}"
    if op.bad:
        first = op.bad[0]
        row.count("5xx", f"{op.name}: {where} -> {first.status_code} {first.text[:140]}"
                  + (f" (then {final.status_code} after {op.tries} tries)" if final is not first else ""))
    elif final is None or final.status_code >= 500:
        if final is not None and final.status_code == 503 and op.designed_503:
            row.count("refused")  # gave up while the database was down: told so honestly
        else:
            row.count("5xx", f"{op.name}: {where} -> no answer after {op.tries} tries")
    elif final.status_code < 400:
        row.count("allowed")
    elif not is_envelope(final):
        row.count("wrong", f"{op.name}: {where} -> {final.status_code} outside the envelope: {final.text[:140]}")
    elif error_code(final) in REFUSALS:
        row.count("refused")
    else:
        row.count("wrong", f"{op.name}: {where} -> {final.status_code} {final.text[:160]}")


def run_ops(http, ops: list[Op], outage: Outage, *, fault=None, at_fraction: float = 0.3):
    """Runs `ops` on CLIENTS threads; `fault()` fires once `at_fraction` of them are done."""
    done = [0]
    lock = threading.Lock()
    fired = threading.Event()

    def one(op):
        perform(http, op, outage)
        with lock:
            done[0] += 1

    def trigger():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and done[0] < at_fraction * len(ops):
            time.sleep(0.01)
        fault()
        fired.set()

    controller = None
    if fault is not None:
        controller = threading.Thread(target=trigger, daemon=True)
        controller.start()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        list(pool.map(one, ops))
    if controller is not None:
        controller.join(timeout=90)


def redeem_ops(cohort: Cohort, benefit: str, residents=None) -> list[Op]:
    benefit_id = cohort.benefits[benefit][0]
    ops = []
    for uid, token in residents or cohort.residents:
        key = uuid.uuid4().hex
        ops.append(Op("redeem", "POST", f"/api/v1/benefits/{benefit_id}/redemptions", token,
                      headers={"Idempotency-Key": key}, tag=(uid, key, benefit)))
    return ops


def acknowledged(ops: list[Op]) -> dict:
    """Redemption id → (user id, key, response body) for every redemption the client was given."""
    given = {}
    for op in ops:
        if op.name == "redeem" and op.final is not None and op.final.status_code in (200, 201):
            body = op.final.json()
            given[body["id"]] = (op.tag[0], op.tag[1], body)
    return given


def follow_up_ops(cohort: Cohort, given: dict, tokens: dict) -> tuple[list[Op], set, set]:
    """Fulfil every third acknowledged redemption, cancel every fifth; (ops, to fulfil, to cancel)."""
    ops, fulfil, cancel = [], set(), set()
    for n, (rid, (uid, _, body)) in enumerate(sorted(given.items())):
        if n % 3 == 0:
            fulfil.add(rid)
            ops.append(Op("fulfil", "POST", "/api/v1/redemptions/fulfil", cohort.worker_token,
                          body={"code": body["code"]}, tag=rid))
        elif n % 5 == 0:
            cancel.add(rid)
            ops.append(Op("cancel", "POST", f"/api/v1/redemptions/{rid}/cancel", tokens[uid], tag=rid))
    return ops, fulfil, cancel


def outcome_of_follow_ups(ops: list[Op]) -> tuple[set, set]:
    """What the client was told: (fulfilled ids, cancelled ids). A fulfil answered
    ALREADY_FULFILLED after a lost answer means the first try went through."""
    fulfilled, cancelled = set(), set()
    for op in ops:
        final = op.final
        if final is None:
            continue
        if op.name == "fulfil" and (final.status_code == 200 or
                                    (op.tries > 1 and error_code(final) == "ALREADY_FULFILLED")):
            fulfilled.add(op.tag)
        if op.name == "cancel" and final.status_code == 200:
            cancelled.add(op.tag)
    return fulfilled, cancelled


# -- the books ----------------------------------------------------------------------------

def check_books(stand, row: Row, cohort: Cohort, given: dict, fulfilled: set, cancelled: set,
                settled: dict) -> None:
    """Every check of the module docstring, for this cohort; each problem is `lost`."""
    from core.db import db
    from points.benefits_models import Benefit, Redemption
    from points.models import HOLD_OPEN, HOLD_POSTED, HOLD_VOIDED, Account, Hold, Transfer
    from activities.settlement_models import Settlement, SettlementRecord

    ok, line = stand.points_verify()
    if not ok:
        row.lose(f"flask points verify: {line}", max(1, line.count("BROKEN")))
    row.notes.append(f"points verify: {line}")
    with stand.app.app_context():
        db.session.expire_all()
        benefit_ids = [b[0] for b in cohort.benefits.values()]
        redemptions = db.session.scalars(sa.select(Redemption).where(Redemption.benefit_id.in_(benefit_ids))).all()
        by_id = {r.id: r for r in redemptions}
        for benefit in db.session.scalars(sa.select(Benefit).where(Benefit.id.in_(benefit_ids))):
            mine = [r for r in redemptions if r.benefit_id == benefit.id]
            reserved = sum(r.status == "reserved" for r in mine)
            handed = sum(r.status == "fulfilled" for r in mine)
            if benefit.stock_received is not None and benefit.stock_left + reserved + handed != benefit.stock_received:
                row.lose(f"benefit {benefit.id}: stock_left {benefit.stock_left} + reserved {reserved} + "
                         f"fulfilled {handed} != stock {benefit.stock_received}",
                         abs(benefit.stock_received - benefit.stock_left - reserved - handed))
        holds = {h.id: h for h in db.session.scalars(sa.select(Hold).where(
            Hold.id.in_([r.hold_id for r in redemptions if r.hold_id is not None])))}
        posted = {}
        for transfer in db.session.scalars(sa.select(Transfer).where(
                Transfer.idempotency_key.in_([f"hold:{h}" for h in holds]))):
            posted.setdefault(int(transfer.idempotency_key.split(":")[1]), []).append(transfer)
        for r in redemptions:
            hold = holds.get(r.hold_id)
            want = {"reserved": HOLD_OPEN, "fulfilled": HOLD_POSTED, "cancelled": HOLD_VOIDED,
                    "expired": HOLD_VOIDED}[r.status]
            if hold is None or hold.status != want:
                row.lose(f"redemption {r.id} is {r.status} but its hold is "
                         f"{None if hold is None else hold.status}")
            transfers = posted.get(r.hold_id, [])
            if r.status == "fulfilled" and (len(transfers) != 1 or transfers[0].id != r.transfer_id):
                row.lose(f"fulfilled redemption {r.id} has {len(transfers)} posted transfer(s)")
            if r.status != "fulfilled" and transfers:
                row.lose(f"{r.status} redemption {r.id} has a posted transfer")
        # acknowledgements: nothing given is missing, nothing stored was not given
        for rid, (uid, key, _) in given.items():
            stored = by_id.get(rid)
            if stored is None or stored.user_id != uid or stored.idempotency_key != key:
                row.lose(f"redemption {rid} acknowledged to user {uid} is not stored as such")
        for r in redemptions:
            if r.id not in given:
                row.lose(f"redemption {r.id} (user {r.user_id}, {r.status}) was never acknowledged: a phantom")
        for rid in fulfilled:
            if rid in by_id and by_id[rid].status != "fulfilled":
                row.lose(f"redemption {rid} was told fulfilled but is {by_id[rid].status}")
        for rid in cancelled:
            if rid in by_id and by_id[rid].status != "cancelled":
                row.lose(f"redemption {rid} was told cancelled but is {by_id[rid].status}")
        # balances, from what the client was told
        accounts = {a.user_id: a for a in db.session.scalars(sa.select(Account).where(
            Account.user_id.in_([uid for uid, _ in cohort.residents] + cohort.volunteer_ids)))}
        for uid, _ in cohort.residents:
            spent = sum(body["cost"] for rid, (u, _, body) in given.items() if u == uid and rid in fulfilled)
            open_ = sum(body["cost"] for rid, (u, _, body) in given.items()
                        if u == uid and rid not in fulfilled and rid not in cancelled)
            account = accounts.get(uid)
            if account is None or account.balance != INITIAL_POINTS - spent or account.held != open_:
                row.lose(f"resident {uid}: balance {getattr(account, 'balance', None)} held "
                         f"{getattr(account, 'held', None)}, expected {INITIAL_POINTS - spent} and {open_}")
        # settlement
        for activity_id in cohort.activities:
            settlement = db.session.scalar(sa.select(Settlement).where(Settlement.activity_id == activity_id))
            if settlement is None:
                if activity_id in settled:
                    row.lose(f"activity {activity_id} was told settled but has no settlement")
                continue
            records = db.session.scalars(sa.select(SettlementRecord).where(
                SettlementRecord.settlement_id == settlement.id)).all()
            told = settled.get(activity_id)
            if told is not None and (told["points_total"] != settlement.points_total
                                     or len(told["records"]) != len(records)):
                row.lose(f"activity {activity_id}: the answer says {told['points_total']} points, "
                         f"the books {settlement.points_total}")
            keys = [f"settlement:{r.registration_id}" for r in records]
            transfers = {}
            for t in db.session.scalars(sa.select(Transfer).where(Transfer.idempotency_key.in_(keys))):
                transfers.setdefault(t.idempotency_key, []).append(t)
            for r in records:
                due = cohort.expected_points.get(r.user_id)
                paid = transfers.get(f"settlement:{r.registration_id}", [])
                if due is not None and r.points != due:
                    row.lose(f"volunteer {r.user_id}: {r.points} points settled, {due} due")
                if (r.points > 0) != (len(paid) == 1) or (paid and paid[0].amount != r.points):
                    row.lose(f"record of registration {r.registration_id}: {r.points} points, "
                             f"{len(paid)} transfer(s)")
                account = accounts.get(r.user_id)
                if r.points > 0 and (account is None or account.balance != r.points):
                    row.lose(f"volunteer {r.user_id}: balance {getattr(account, 'balance', None)}, "
                             f"settled {r.points}")
        db.session.remove()


def settled_answers(ops: list[Op]) -> dict:
    return {op.tag: op.final.json() for op in ops
            if op.name == "settle" and op.final is not None and op.final.status_code == 200}


def settle_ops(cohort: Cohort) -> list[Op]:
    return [Op("settle", "POST", f"/api/v1/activities/{a}/settle", cohort.worker_token, body={}, tag=a)
            for a in cohort.activities]


def note_transport(row: Row, ops: list[Op]) -> None:
    dropped = sum(op.dropped for op in ops)
    retried = sum(op.tries > 1 for op in ops)
    designed = sum(op.designed_503 for op in ops)
    row.notes.append(f"{dropped} connection(s) dropped by the fault and retried with the same key; "
                     f"{retried} operation(s) needed more than one try"
                     + (f"; {designed} by-design 503 answer(s) on the way" if designed else ""))


# -- the drills -----------------------------------------------------------------------------

def drill_redemption_kill(stand, http, now) -> Row:
    row = Row("drill-redemption-kill")
    cohort = seed_cohort(stand.app, "兑换演练", now, volunteers=0, activities=0)
    outage = Outage(designed_503=False)
    tokens = dict(cohort.residents)
    killed = []
    wave1 = redeem_ops(cohort, "scarce") + redeem_ops(cohort, "plenty")
    wave1 = [op for pair in zip(wave1[:RESIDENTS], wave1[RESIDENTS:]) for op in pair]  # interleaved
    run_ops(http, wave1, outage, fault=lambda: killed.append(stand.kill_worker()), at_fraction=0.3)
    stand.wait_for_workers()
    given = acknowledged(wave1)
    follow, _, _ = follow_up_ops(cohort, given, tokens)
    wave2 = follow + redeem_ops(cohort, "plenty")
    run_ops(http, wave2, outage, fault=lambda: killed.append(stand.kill_worker()), at_fraction=0.3)
    stand.wait_for_workers()
    given.update(acknowledged(wave2))
    fulfilled, cancelled = outcome_of_follow_ups(wave2)
    for op in wave1 + wave2:
        judge(op, row, outage)
    check_books(stand, row, cohort, given, fulfilled, cancelled, {})
    scarce_given = sum(1 for _, _, body in given.values() if body["benefit_id"] == cohort.benefits["scarce"][0])
    row.notes.append(f"SIGKILLed workers {killed}; scarce stock {cohort.benefits['scarce'][2]}: "
                     f"{scarce_given} reserved; {len(given)} reservations, {len(fulfilled)} fulfilled, "
                     f"{len(cancelled)} cancelled")
    note_transport(row, wave1 + wave2)
    return row


def drill_settlement_kill(stand, http, now) -> Row:
    row = Row("drill-settlement-kill")
    cohort = seed_cohort(stand.app, "结算演练", now, volunteers=200, activities=3)
    outage = Outage(designed_503=False)
    killed = []
    ops = settle_ops(cohort) + redeem_ops(cohort, "plenty")[:10]

    baseline = {pid: stand.cpu_ticks(pid) for pid in stand.worker_pids()}

    def kill_soon():
        time.sleep(0.3)  # the settlements are under way: each posts 200 transfers
        killed.append(stand.kill_worker(since=baseline))  # the busiest worker: settling

    run_ops(http, ops, outage, fault=kill_soon, at_fraction=0)
    stand.wait_for_workers()
    for op in ops:
        judge(op, row, outage)
    check_books(stand, row, cohort, acknowledged(ops), set(), set(), settled_answers(ops))
    interrupted = sum(op.dropped > 0 for op in ops if op.name == "settle")
    row.notes.append(f"SIGKILLed worker {killed}; {interrupted} of {len(cohort.activities)} settlements "
                     f"lost their connection to the kill and were retried")
    note_transport(row, ops)
    return row


def _live_code(http, cohort: Cohort) -> str | None:
    response = http.call("GET", f"/api/v1/activities/{cohort.live_activity}/checkin-code",
                         token=cohort.worker_token)
    return response.json()["code"] if response is not None and response.status_code == 200 else None


def _mixed_ops(http, cohort: Cohort, checkins: bool) -> list[Op]:
    from attack_seed import STAFF_PASSWORD

    ops = redeem_ops(cohort, "plenty") + redeem_ops(cohort, "scarce") + settle_ops(cohort)
    ops += [Op("health", "GET", "/api/v1/health", None) for _ in range(10)]
    ops += [Op("points", "GET", "/api/v1/me/points", token) for _, token in cohort.residents[:20]]
    ops += [Op("benefits", "GET", "/api/v1/benefits", None) for _ in range(10)]
    ops += [Op("login", "POST", "/api/v1/auth/login", None,
               body={"phone": cohort.worker_phone, "password": STAFF_PASSWORD}) for _ in range(8)]
    if checkins:
        code = _live_code(http, cohort)
        for _, token in cohort.residents[:12]:  # 12 each: past the in-process allowance, so Redis is asked
            ops += [Op("checkin", "POST", "/api/v1/checkins", token,
                       body={"code": code, "action": "in" if n % 3 else "out"}) for n in range(1, 13)]
    ops.sort(key=lambda op: hash(op.path + str(op.tag) + str(id(op))) % 997)  # mixed, not grouped
    return ops


def drill_redis_down(stand, http, now) -> Row:
    row = Row("drill-redis-down")
    cohort = seed_cohort(stand.app, "缓存演练", now, volunteers=60, activities=1, live=True)
    outage = Outage(designed_503=False)  # Redis down must cost nothing but speed
    ops = _mixed_ops(http, cohort, checkins=True)
    half = len(ops) // 2
    stand.stop_redis()
    outage.begin()
    row.notes.append(f"redis-server on port {stand.redis_port} shut down (NOSAVE) before "
                     f"{half} of {len(ops)} operations")
    run_ops(http, ops[:half], outage)
    stand.start_redis()
    outage.end()
    run_ops(http, ops[half:], outage)
    for op in ops:
        judge(op, row, outage)
    check_books(stand, row, cohort, acknowledged(ops), set(), set(), settled_answers(ops))
    health = http.call("GET", "/api/v1/health")
    row.notes.append("after the restart /health says redis: "
                     f"{None if health is None else health.json().get('redis')}")
    note_transport(row, ops)
    return row


def drill_db_down(stand, http, now) -> Row:
    row = Row("drill-db-down")
    cohort = seed_cohort(stand.app, "数据库演练", now, volunteers=60, activities=1)
    outage = Outage(designed_503=True)
    ops = _mixed_ops(http, cohort, checkins=False)

    def cut():
        stand.proxy.cut()
        outage.begin()
        time.sleep(DB_OUTAGE_SECONDS)
        stand.proxy.restore()
        outage.end()

    run_ops(http, ops, outage, fault=cut, at_fraction=0.2)
    # afterwards: the pool must have healed, every request answered as usual
    time.sleep(GRACE_SECONDS)
    after = redeem_ops(cohort, "plenty") + [Op("points", "GET", "/api/v1/me/points", t)
                                            for _, t in cohort.residents[:20]]
    run_ops(http, after, Outage(designed_503=False))
    for op in ops + after:
        judge(op, row, outage if op in ops else Outage(designed_503=False))
    check_books(stand, row, cohort, acknowledged(ops + after), set(), set(), settled_answers(ops))
    failed_after = sum(1 for op in after if op.bad or op.final is None or op.final.status_code >= 500)
    row.notes.append(f"PostgreSQL cut at the proxy for {DB_OUTAGE_SECONDS} s after 20% of {len(ops)} "
                     f"operations; then {len(after)} more after it came back, {failed_after} of them failed")
    note_transport(row, ops + after)
    return row


def run_drills(stand, http) -> list[Row]:
    from core import clock

    rows = []
    for drill in (drill_redemption_kill, drill_settlement_kill, drill_redis_down, drill_db_down):
        t0 = time.monotonic()
        rows.append(drill(stand, http, clock.now()))
        rows[-1].notes.append(f"took {time.monotonic() - t0:.1f} s")
        print(f"  {rows[-1].name}: done in {time.monotonic() - t0:.1f} s", flush=True)
    return rows
