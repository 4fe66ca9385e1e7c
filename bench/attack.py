"""The standing attack kit (slow and random: not part of CI).

Starts Linli under gunicorn (2 workers × 4 threads) on 127.0.0.1, on a scratch
PostgreSQL database and a redis-server of its own, seeds a city with two
districts, stations, rooms, staff at every level, residents, volunteers,
activities, benefits and redemptions, then:

1. the authorization matrix: every operation of the served OpenAPI × actors
   without access to the objects named (bench/attack_matrix.py);
2. schemathesis against the served OpenAPI as a city admin and as a resident,
   with a fixed seed and budget (bench/attack_fuzz.py);
3. the fault drill: a gunicorn worker SIGKILLed during redemptions and during a
   settlement, Redis stopped, the database cut, each followed by
   `flask points verify` and the stock / hold / transfer checks
   (bench/attack_drill.py);

and prints one table: tried / allowed / refused correctly / wrong / 5xx / lost,
then every failure with the request that caused it. Exit 1 when any row has a
wrong answer, a 5xx (503s by design aside) or anything lost.

    .venv/bin/python bench/attack.py                  # everything, a few minutes
    .venv/bin/python bench/attack.py --only matrix    # or fuzz, drill (comma-separated)

BENCH_DATABASE_URL names the PostgreSQL server (127.0.0.1 only); the database,
the redis-server, the proxy and gunicorn are the kit's own and are removed at the end.
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from attack_env import Http, Row, Stand  # noqa: E402

PHASES = ("matrix", "fuzz", "drill")


def print_table(rows: list[Row]) -> None:
    head = ("", "tried", "allowed", "refused correctly", "wrong", "5xx", "lost")
    lines = [head] + [(r.name, r.tried, r.allowed, r.refused, r.wrong, r.server_errors, r.lost) for r in rows]
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(head))]
    rule = "+".join("-" * (w + 2) for w in widths)
    print(rule)
    for n, line in enumerate(lines):
        print("|".join(f" {str(cell):<{widths[i]}} " if i == 0 else f" {str(cell):>{widths[i]}} "
                       for i, cell in enumerate(line)))
        if n == 0:
            print(rule)
    print(rule)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(PHASES), help="phases to run: matrix,fuzz,drill")
    parser.add_argument("--seed", type=int, default=20261201, help="schemathesis / hypothesis seed")
    parser.add_argument("--examples", type=int, default=20, help="schemathesis examples per run (operation and mode)")
    parser.add_argument("--fuzz-seconds", type=float, default=90, help="time bound of each schemathesis actor")
    parser.add_argument("--max-failures", type=int, default=40, help="failures listed per row")
    args = parser.parse_args(argv)
    phases = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = set(phases) - set(PHASES)
    if unknown:
        parser.error(f"unknown phase(s): {', '.join(sorted(unknown))}")

    from core import clock

    started = time.monotonic()
    stand = Stand()
    rows: list[Row] = []
    try:
        print(f"attack kit: gunicorn 2 workers × 4 threads on {stand.base}, PostgreSQL "
              f"{stand.server.host}:{stand.server.port} (scratch database linli_attack_{stand.run}, "
              f"through a cuttable proxy), redis-server 127.0.0.1:{stand.redis_port}", flush=True)
        stand.open()
        from attack_seed import seed, sign_in

        now = clock.now()
        world = seed(stand.app, now)
        stand.start_server()
        http = Http(stand.base)
        sign_in(http, world, ["city_admin", "admin_a", "worker_a1", "worker_b1"])
        print(f"seeded and serving in {time.monotonic() - started:.1f} s", flush=True)
        if "matrix" in phases:
            from attack_matrix import run_matrix

            t0 = time.monotonic()
            rows.append(run_matrix(stand, http, world, now, deadline=time.monotonic() + 120))
            print(f"matrix done in {time.monotonic() - t0:.1f} s", flush=True)
        if "fuzz" in phases:
            from attack_fuzz import run_fuzz
            from attack_matrix import DEFAULT_PARAM

            real_ids = {name: world.ids[key] for name, key in DEFAULT_PARAM.items()}
            # The resident (home: room A2) may see none of district B's secrets; the city admin
            # may, and goes second, as the objects it changes (a draft it publishes) stop being secret.
            for actor, token, canaries in (("resident", world.tokens["fuzz_resident"], world.canaries),
                                           ("admin", world.tokens["city_admin"], {})):
                t0 = time.monotonic()
                rows.append(run_fuzz(stand, f"schemathesis-{actor}", token, seed=args.seed,
                                     examples=args.examples, seconds=args.fuzz_seconds,
                                     real_ids=real_ids, canaries=canaries))
                print(f"schemathesis as {actor} done in {time.monotonic() - t0:.1f} s", flush=True)
        if "drill" in phases:
            from attack_drill import run_drills

            t0 = time.monotonic()
            rows.extend(run_drills(stand, http))
            print(f"drills done in {time.monotonic() - t0:.1f} s", flush=True)
    except BaseException:
        stand.keep_log = True
        raise
    finally:
        stand.keep_log = stand.keep_log or any(r.wrong or r.server_errors or r.lost for r in rows)
        stand.close()

    print()
    print_table(rows)
    print("allowed: a 2xx that is correct (public or the caller's own); refused correctly: 401/403/404 where")
    print("access is due to be refused, any other 4xx on public or own operations, and 503 while a")
    print("dependency is down by design; 5xx: every other 5xx or a dropped connection; lost: points or")
    print("stock that do not add up after the drill (verify, stock, holds, transfers, acknowledged answers).")
    for row in rows:
        for note in row.notes:
            print(f"[{row.name}] {note}")
    causes = stand.causes_of_500s()
    for row in rows:
        if row.failures:
            print(f"\n== {row.name}: {len(row.failures)} failure(s)")
            for failure in row.failures[:args.max_failures]:
                found = re.search(r'"request_id":"(\w+)"', failure)
                cause = causes.get(found.group(1)) if found else None
                print("  " + failure + (f"\n      server log: {cause}" if cause else ""))
            if len(row.failures) > args.max_failures:
                print(f"  ... and {len(row.failures) - args.max_failures} more")
    if stand.keep_log:
        print(f"\nthe server's log (tracebacks of the 5xx): {stand.server_log_path}")
    print(f"total run {time.monotonic() - started:.0f} s")
    bad = any(r.wrong or r.server_errors or r.lost for r in rows)
    print("RESULT: " + ("FAILURES FOUND" if bad else "ok: 0 wrong, 0 5xx, 0 lost"))
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
