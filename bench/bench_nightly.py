"""The nightly jobs on a city-sized database (bench/citygen.py), at 10 % and full size.

For each scale: one generated database, then for each code tree measured (this
one, and with `--before DIR` another checkout, e.g. main's) a copy of it
(CREATE DATABASE … TEMPLATE) on which each job runs as its own process, the way
cron runs it:

- the app starting and doing nothing (`flask points --help`), the floor under each job;
- `flask points verify`: seconds and the process's peak RSS;
- `flask points expire` with POINTS_EXPIRE_MONTHS=12: seconds, how many people
  had points older than that (the candidates) and what the job expired;
- `flask redemptions expire`: seconds and how many reservations were overdue;
- `flask points verify` again: the books still hold after both jobs.

Peak RSS is the job process's own (os.wait4 in a small process that forks it).
Every database is dropped at the end, even on error or SIGTERM. Not a test: it
prints figures measured in this one run, with the machine's load beside each.

    python bench/bench_nightly.py                       # scales 0.1 and 1.0
    python bench/bench_nightly.py --scales 0.1 --before /tmp/linli-main
"""
import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from citygen import conninfo_of, generate  # noqa: E402
from scratch import SERVER, create_scratch_database  # noqa: E402

HERE = Path(__file__).resolve().parent.parent
MONTHS = 12


class DatabaseCpu:
    """CPU seconds the server's backends for one database spend while it runs:
    /proc is sampled every 0.2 s (a backend that exits between samples loses at
    most its last 0.2 s)."""

    def __init__(self, database: str):
        self.tag = f" {database} ".encode()
        self.first, self.last = {}, {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def _backends(self) -> dict[int, float]:
        found = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                if self.tag not in Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ") + b" ":
                    continue
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            found[int(entry)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return found

    def _sample(self):
        while not self.stop.wait(0.2):
            self.last.update(self._backends())

    def __enter__(self):
        self.first = self._backends()
        self.last = dict(self.first)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.last.update(self._backends())

    @property
    def seconds(self) -> float:
        # A backend not there at the start is the job's own connection: it started at 0.
        return sum(cpu - self.first.get(pid, 0.0) for pid, cpu in self.last.items())


# Runs the job and writes its own rusage to argv[1]. The job's peak RSS must not
# include this benchmark's memory: a forked child counts its parent's pages
# until it execs, and Linux keeps that figure, so a small process forks it.
WRAPPER = """import json, os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    json.dump([usage.ru_maxrss, usage.ru_utime + usage.ru_stime], out)
sys.exit(os.waitstatus_to_exitcode(status) & 255)
"""


def run_job(code_dir: Path, url: str, args: list[str], timeout: float, **env) -> dict:
    """Runs `flask --app wsgi ARGS` in `code_dir` against `url`; wall seconds,
    the process's CPU seconds and peak RSS (MB), the database backends' CPU
    seconds, exit code and output. Killed after `timeout` seconds."""
    environment = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-nightly", "DEV_LOGIN": "0", **env}
    environment.pop("REDIS_URL", None)
    with tempfile.TemporaryFile("w+") as output, tempfile.NamedTemporaryFile("r") as usage, \
            DatabaseCpu(sa.make_url(url).database) as database:
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-c", WRAPPER, usage.name, sys.executable, "-m", "flask",
                                    "--app", "wsgi", *args], cwd=code_dir, env=environment, stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        timer = threading.Timer(timeout, lambda: os.killpg(process.pid, signal.SIGKILL))
        timer.start()
        try:
            process.wait()
        finally:
            timer.cancel()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # nothing of it outlives the benchmark
        seconds = time.perf_counter() - started
        output.seek(0)
        lines = [line for line in output.read().splitlines() if line.strip()]
        rss_kb, cpu = json.loads(usage.read() or "[0, 0]")
    return {"seconds": seconds, "cpu": cpu, "db_cpu": database.seconds, "rss_mb": rss_kb / 1024,
            "code": process.returncode, "last": lines[-1] if lines else "", "timed_out": seconds >= timeout}


def scalar(url: str, sql: str):
    with psycopg.connect(conninfo_of(url)) as conn:
        return conn.execute(sql).fetchone()[0]


CANDIDATES = f"""
SELECT count(*) FROM accounts a WHERE a.kind = 'person' AND a.balance - a.held > 0 AND EXISTS (
    SELECT 1 FROM entries e WHERE e.account_id = a.id AND e.amount > 0
    AND e.created_at < now() - interval '{MONTHS} months')
"""
OVERDUE = "SELECT count(*) FROM redemptions WHERE status = 'reserved' AND expires_at <= now()"


def copy_database(server_url: str, template_url: str):
    """A new database copied file by file from `template_url`'s (nobody may be
    connected to it); returns (its URL, a function that drops it)."""
    name = f"linli_bench_{uuid.uuid4().hex[:8]}"
    template = sa.make_url(template_url).database
    with psycopg.connect(conninfo_of(server_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')

    def drop():
        with psycopg.connect(conninfo_of(server_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return sa.make_url(server_url).set(database=name).render_as_string(hide_password=False), drop


def measure(label: str, code_dir: Path, url: str, timeout: float) -> list[str]:
    rows = []

    def show(what, result, extra=""):
        status = f"did not finish in {timeout:.0f} s" if result["timed_out"] else \
            (f"{result['seconds']:6.1f} s (cpu: job {result['cpu']:5.1f} s, database {result['db_cpu']:5.1f} s)  "
             f"peak RSS {result['rss_mb']:4.0f} MB  exit {result['code']}")
        last = "" if what.startswith("app start") else result["last"]
        load = f"[load {os.getloadavg()[0]:4.1f}] "  # other work on the machine stretches wall times
        rows.append(f"  {label:7} {what:22} {status}  {load}{extra}{last}")
        print(rows[-1], flush=True)

    show("app start (--help)", run_job(code_dir, url, ["points", "--help"], timeout))
    show("points verify", run_job(code_dir, url, ["points", "verify"], timeout))
    candidates = scalar(url, CANDIDATES)
    show("points expire", run_job(code_dir, url, ["points", "expire"], timeout,
                                  POINTS_EXPIRE_MONTHS=str(MONTHS)), f"[{candidates} candidates] ")
    overdue = scalar(url, OVERDUE)
    show("redemptions expire", run_job(code_dir, url, ["redemptions", "expire"], timeout),
         f"[{overdue} overdue] ")
    show("points verify (after)", run_job(code_dir, url, ["points", "verify"], timeout))
    return rows


def main(argv=None):
    # Stopped by a signal, the scratch databases are still dropped (the finally blocks run).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))
    signal.signal(signal.SIGINT, lambda *_: sys.exit("stopped"))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="0.1,1.0")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--before", type=Path, help="another checkout of the code to measure first (e.g. main's)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds before a job is killed")
    parser.add_argument("--before-timeout", type=float, help="the same for the other checkout's jobs")
    args = parser.parse_args(argv)
    trees = ([("before", args.before.resolve(), args.before_timeout or args.timeout)] if args.before else []) \
        + [("after", HERE, args.timeout)]
    report = []
    for scale in [float(s) for s in args.scales.split(",")]:
        base_url, drop_base = create_scratch_database(SERVER)
        try:
            print(f"== scale {scale}: generating", flush=True)
            counts = generate(base_url, scale, args.seed, log=lambda *a: None)
            summary = (f"== scale {scale}: {counts['users']} users, {counts['activities']} activities, "
                       f"{counts['registrations']} registrations, {counts['checkin_log']} check-in rows, "
                       f"{counts['transfers']} transfers, {counts['entries']} entries, {counts['redemptions']} "
                       f"redemptions; {counts['size']}, generated in {counts['seconds']} s")
            print(summary, flush=True)
            report.append(summary)
            for label, code_dir, timeout in trees:
                url, drop = copy_database(SERVER, base_url)
                try:
                    report += measure(label, code_dir, url, timeout)
                finally:
                    drop()
        finally:
            drop_base()
    print("\n".join(["", "summary:"] + report))


if __name__ == "__main__":
    main()
