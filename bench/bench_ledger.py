"""Ledger benchmark on PostgreSQL (127.0.0.1): posting rate against the
database's own ceiling, and balance reads with 10 vs 1,000,000 entries.

Creates its own database, migrates it, drops it at the end (even on error).
Not a test: it prints figures and ratios measured in this one run.

    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test python bench/bench_ledger.py
"""
import os
import sys
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scratch import migrated_app, scratch_database  # noqa: E402
from api.tokens import encode_access  # noqa: E402
from core import clock  # noqa: E402
from core.db import db  # noqa: E402
from orgs.models import Org  # noqa: E402
from orgs.services import _save_org, ensure_city  # noqa: E402
from points import ledger  # noqa: E402
from points.models import Account, Entry, Transfer  # noqa: E402
from points.verify import verify  # noqa: E402
from people.models import User  # noqa: E402

SERVER = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TRANSFERS = int(os.environ.get("BENCH_TRANSFERS", "10000"))
PEOPLE = 1000
ROOMS = 50
READS = 2000
ROUNDS = 10
BIG = 1_000_000


def rate(count, seconds):
    return count / seconds if seconds else float("inf")


def plain_inserts(count, start_at=0):
    """The ceiling: one single-row INSERT + COMMIT per transaction, same stack."""
    start = time.perf_counter()
    for i in range(start_at, start_at + count):
        db.session.execute(sa.text("INSERT INTO scratch (n, created_at) VALUES (:n, now())"), {"n": i})
        db.session.commit()
    return time.perf_counter() - start


def setup_people(now):
    city = ensure_city(name="武汉市", now=now)
    rooms = [_save_org(Org(name=f"社区{i}", kind="room", parent=city, created_at=now)) for i in range(ROOMS)]
    db.session.execute(sa.insert(User), [{"nickname": f"志愿者{i}", "home_org_id": rooms[i % ROOMS].id,
                                          "is_active": True, "created_at": now} for i in range(PEOPLE)])
    users = list(db.session.scalars(sa.select(User.id).order_by(User.id)))
    for user_id in users:
        ledger.person_account(user_id, now=now)
    for room in rooms:
        ledger.issuing_account(room.id, now=now)
    db.session.commit()
    return [room.id for room in rooms], users


def post_transfers(count, rooms, users, label, spread, start_at=0):
    """Each transfer its own committed transaction, as a request would post it:
    find both accounts (two indexed SELECTs), transfer, commit."""
    start = time.perf_counter()
    for i in range(start_at, start_at + count):
        now = clock.now()
        room, user = (rooms[i % len(rooms)] if spread else rooms[0]), users[i % len(users)]
        ledger.transfer(debit=ledger.issuing_account(room, now=now),
                        credit=ledger.person_account(user, now=now), amount=1 + i % 7, kind="earn",
                        memo="志愿服务", now=now, idempotency_key=f"bench:{label}:{i}",
                        cause_key=f"settlement:{i}")
        db.session.commit()
    return time.perf_counter() - start


def big_account(now):
    """A person with 1,000,000 entries, written by bulk SQL (setup only, not the ledger)."""
    user = User(nickname="老志愿者", created_at=now)
    db.session.add(user)
    db.session.flush()
    account = ledger.person_account(user.id, now=now)
    filler = db.session.execute(sa.insert(Transfer).values(
        idempotency_key=f"bench-filler:{user.id}", fingerprint="-", debit_account_id=account.id,
        credit_account_id=account.id, amount=1, kind="bench", memo="", created_at=now)
        .returning(Transfer.id)).scalar()
    db.session.execute(sa.text(
        "INSERT INTO entries (account_id, transfer_id, amount, balance_after, hash, created_at) "
        "SELECT :account, :transfer, 1, g, :zero, now() FROM generate_series(1, :n) g"),
        {"account": account.id, "transfer": filler, "zero": "0" * 64, "n": BIG})
    db.session.execute(sa.update(Account).where(Account.id == account.id).values(balance=BIG))
    db.session.commit()
    db.session.execute(sa.text("ANALYZE entries"))
    db.session.commit()
    return user.id


def time_reads(client, user_id, path, count):
    with client.application.app_context():
        headers = {"Authorization": f"Bearer {encode_access(user_id, clock.now())}"}
    assert client.get(path, headers=headers).status_code == 200
    start = time.perf_counter()
    for _ in range(count):
        response = client.get(path, headers=headers)
    elapsed = time.perf_counter() - start
    assert response.status_code == 200
    return elapsed / count * 1e6, response.get_json()


def main():
    with scratch_database(SERVER) as url:
        app = migrated_app(url)
        with app.app_context():
            readers = run(app)
        # Reads as requests do, each in its own app context (so `g` is not shared).
        time_balance_reads(app, *readers)
        with app.app_context():
            db.engine.dispose()


def run(app):
    now = clock.now()
    settings = db.session.execute(sa.text(
        "SELECT current_setting('server_version'), current_setting('synchronous_commit'), "
        "current_setting('fsync')")).one()
    print(f"PostgreSQL {settings[0]}, synchronous_commit={settings[1]}, fsync={settings[2]}; "
          f"{os.cpu_count()} CPUs; one connection, sequential, each transaction committed")
    rooms, users = setup_people(now)

    db.session.execute(sa.text("CREATE TABLE scratch (id bigserial PRIMARY KEY, n int, "
                               "created_at timestamptz NOT NULL)"))
    db.session.commit()
    # Interleaved rounds, so load from other processes on this machine weighs
    # on every series alike; each series posts TRANSFERS in all.
    series = {
        "plain INSERT+COMMIT (ceiling)": lambda n, at: plain_inserts(n, at),
        "transfer, 1 issuing account, accounts looked up": lambda n, at: post_transfers(
            n, rooms, users, "hot", spread=False, start_at=at),
        f"transfer, {ROOMS} issuing accounts, accounts looked up": lambda n, at: post_transfers(
            n, rooms, users, "spread", spread=True, start_at=at),
    }
    elapsed = dict.fromkeys(series, 0.0)
    per_round = TRANSFERS // ROUNDS
    for r in range(ROUNDS):
        for name, post in series.items():
            elapsed[name] += post(per_round, r * per_round)
    ceiling = rate(per_round * ROUNDS, elapsed["plain INSERT+COMMIT (ceiling)"])
    for name, seconds in elapsed.items():
        per_second = rate(per_round * ROUNDS, seconds)
        print(f"{name:52s} {per_round * ROUNDS:6d} in {seconds:6.1f} s = {per_second:6.0f}/s"
              f"   ratio {per_second / ceiling:6.1%}")
    print("target: transfers >= 30% of the plain INSERT+COMMIT rate")

    start = time.perf_counter()
    problems, counts = verify()
    print(f"verify over {counts['entries']} entries: {'ok' if not problems else problems[:3]} "
          f"in {time.perf_counter() - start:.2f} s")

    small_user = users[0]
    start = time.perf_counter()
    big_user = big_account(now)
    print(f"built an account with {BIG:,} entries by bulk SQL in {time.perf_counter() - start:.1f} s")
    small_entries = db.session.scalar(sa.select(sa.func.count()).select_from(Entry).join(Account)
                                      .where(Account.user_id == small_user))
    db.session.commit()
    return small_user, small_entries, big_user


def time_balance_reads(app, small_user, small_entries, big_user):
    client = app.test_client()
    for label, path, count in (("GET /me/points", "/api/v1/me/points", READS),
                               ("GET /me/points/entries", "/api/v1/me/points/entries?limit=20", READS // 4)):
        small, _ = time_reads(client, small_user, path, count)
        big, body = time_reads(client, big_user, path, count)
        if label == "GET /me/points":
            assert body["balance"] == BIG, body
        print(f"{label:24s} x{count}: {small_entries} entries {small:7.0f} us/read, "
              f"{BIG:,} entries {big:7.0f} us/read, ratio {big / small:.2f}")


if __name__ == "__main__":
    main()
