"""schemathesis against the served OpenAPI, as one signed-in actor, within a fixed budget.

Every operation, in schemathesis's positive mode (data that fits the schema) and
negative mode (data that does not) with generated path parameters, and once more
in positive mode with the path parameters naming real objects of district B (so
the bodies reach past the 404), at most `examples` cases each, from a fixed
seed, each run bounded to an equal share of the time bound. Each answer is judged:

- 5xx (WeChat's by-design 503 aside), or no answer at all: 5xx;
- an error (4xx) under /api/v1 outside the envelope `{"error": {code, message,
  details}}`, or a 2xx whose body does not parse as the content type it claims: wrong;
- for an actor outside district B, an answer containing one of B's canaries: wrong;
- any other 4xx: refused correctly; any other 2xx: allowed.

Failures are listed with a curl line to replay them.
"""
from __future__ import annotations

import re
import time

import requests

from attack_env import HTTP_TIMEOUT, Row, is_envelope


class OutOfTime(Exception):
    pass


def _judge(response, canaries: dict) -> tuple[str, str | None]:
    status = response.status_code
    leaked = [name for name, secret in canaries.items() if secret and secret in response.text]
    if leaked and status < 500:
        return "wrong", f"leaks {', '.join(leaked)}"
    path = response.request.path_url if response.request is not None else ""
    if status >= 500:
        if status == 503 and path.startswith("/api/v1/auth/wechat"):
            return "refused", None
        return "5xx", None
    content_type = response.headers.get("Content-Type", "")
    if status >= 400:
        if path.startswith("/api/v1") and not is_envelope(response):
            return "wrong", "error outside the envelope"
        return "refused", None
    if "json" in content_type:
        try:
            response.json()
        except ValueError:
            return "wrong", "2xx that claims JSON and is not"
    return "allowed", None


def run_fuzz(stand, name: str, token: str, *, seed: int, examples: int, seconds: float,
             real_ids: dict, canaries: dict) -> Row:
    """`real_ids`: path parameter name → an id of district B; `canaries`: strings this
    actor must never be shown (empty for an actor with access to district B)."""
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as fixed_seed
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode

    row = Row(name)
    schema = schemathesis.openapi.from_url(stand.api + "/openapi.json", timeout=20)
    operations = [result.ok() for result in schema.get_all_operations()]
    runs = []
    for operation in operations:
        runs.append((operation, GenerationMode.POSITIVE, None))
        runs.append((operation, GenerationMode.NEGATIVE, None))
        names = re.findall(r"\{(\w+)\}", operation.path)
        if names and all(n in real_ids for n in names):
            runs.append((operation, GenerationMode.POSITIVE, {n: real_ids[n] for n in names}))
    runs.sort(key=lambda run: run[2] is not None)  # every operation's own runs before the real-id ones
    per_run = seconds / len(runs)  # an equal share: a slow machine gets fewer examples, not fewer operations
    run_deadline = time.monotonic() + seconds
    session = requests.Session()
    headers = {"Authorization": f"Bearer {token}"}
    stats = {"unsendable": 0, "cut": 0, "skipped": 0, "unsatisfiable": 0}

    for operation, mode, fixed in runs:
        if time.monotonic() > run_deadline + 15:  # the shares overran (slow answers): stop here
            stats["skipped"] += 1
            continue
        op_deadline = time.monotonic() + per_run
        try:
            strategy = operation.as_strategy(generation_mode=mode, path_parameters=fixed)
        except Exception as exc:  # an operation schemathesis cannot generate for
            row.notes.append(f"{operation.method.upper()} {operation.path} {mode}: no strategy ({exc})")
            continue

        @fixed_seed(seed)
        @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
        @given(case=strategy)
        def attack(case):
            if time.monotonic() > op_deadline:
                raise OutOfTime
            try:
                response = case.call(base_url=stand.base, session=session, headers=headers,
                                     timeout=HTTP_TIMEOUT)
            except (requests.exceptions.InvalidHeader, requests.exceptions.InvalidURL,
                    UnicodeError):
                stats["unsendable"] += 1  # the client library refuses to send it: not the server's
                return
            except requests.RequestException as exc:
                row.count("5xx", f"{case.method} {case.formatted_path}: no answer ({type(exc).__name__})"
                          f"\n      {case.as_curl_command(headers=headers)[:600]}")
                return
            verdict, why = _judge(response, canaries)
            failure = None
            if verdict in ("wrong", "5xx"):
                failure = (f"{case.method} {response.request.path_url[:200]} -> {response.status_code} "
                           f"{response.text[:160]}" + (f" — {why}" if why else "") +
                           f"\n      {case.as_curl_command(headers=headers)[:600]}")
            row.count(verdict, failure)

        try:
            attack()
        except OutOfTime:
            stats["cut"] += 1
        except Unsatisfiable:  # e.g. no negative case exists for an operation without input
            stats["unsatisfiable"] += 1
        except Exception as exc:  # hypothesis gave up on this operation: note it, go on
            row.notes.append(f"{operation.method.upper()} {operation.path} {mode}: "
                             f"{type(exc).__name__}: {str(exc)[:160]}")
    row.notes.append(f"{len(operations)} operations, {len(runs)} runs (positive, negative, positive on real "
                     f"ids), ≤ {examples} examples each, seed {seed}, ≤ {per_run:.2f} s each, about "
                     f"{seconds:.0f} s in all: {stats['cut']} runs cut by time, {stats['skipped']} not reached, "
                     f"{stats['unsatisfiable']} without a possible case, "
                     f"{stats['unsendable']} cases the HTTP client would not send")
    return row
