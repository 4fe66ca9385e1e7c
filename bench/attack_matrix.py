"""The authorization matrix: every operation of the served OpenAPI × actors without access.

Path parameters name objects of district B (a room, its activities, benefits,
redemptions, people); the actors come from outside it: no token, forged tokens,
a resident of district A, a worker of a room in district A, the admin of
district A. What is correct depends on the operation, per API.md:

- `refuse` (staff work on B's objects): 401, 403 or 404 only. A 2xx, a 409 or a
  422 means the permission check was passed (422/409 come after 403 in API.md's
  order), so it is wrong.
- `public` (anyone: GET /orgs, /activities, /benefits, sign-in, ...): any
  non-5xx answer, 2xx included.
- `self` (the caller's own things: /me/..., registering oneself, redeeming with
  one's own points): without a valid token 401/403/404; with one, any non-5xx.

After the loop, district B's state (its orgs, staff and their passwords, activities,
check-in log, benefits, resident B's redemptions and points, ...) must be as before:
each thing that changed counts as one wrong answer. Whatever the class, a response
that contains one of district B's canaries (a
volunteer's real name, full phone or ID number, a pickup code, a draft's title,
a kiosk token) is wrong, and any 5xx (other than WeChat's by-design 503) counts
as 5xx. An operation of the OpenAPI that the plan below does not know is still
tried, as `refuse`, with its path parameters filled by name, and is flagged.
"""
from __future__ import annotations

import base64
import json
import re
import uuid
from dataclasses import dataclass
from datetime import date

import jwt
import sqlalchemy as sa

from attack_env import Row, describe, is_envelope

REFUSED = {401, 403, 404}
PUBLIC, SELF, REFUSE = "public", "self", "refuse"


@dataclass
class Case:
    method: str
    path: str            # the OpenAPI path, e.g. /api/v1/orgs/{org_id}
    kind: str
    params: dict
    body: object = None
    headers: dict | None = None
    query: dict | None = None
    label: str = ""


def _activity_body(now):
    start = (now.replace(microsecond=0)).isoformat()
    return {"title": "越权活动", "domain": "elderly_care", "location": "某处", "starts_at": start,
            "ends_at": start, "capacity": 1, "volunteer_slots": 0, "points_per_hour": 0}


def plan(world, now) -> dict[tuple[str, str], list[Case]]:
    """Per (METHOD, path) of the OpenAPI, the requests to send. Ids name district B's objects."""
    i = world.ids
    v = "/api/v1"
    cases: dict[tuple[str, str], list[Case]] = {}

    def add(method, path, kind, params=None, body=None, label="", headers=None, query=None):
        cases.setdefault((method, path), []).append(
            Case(method, path, kind, params or {}, body, headers, query, label))

    b_act, ended, draft = i["activity_b"], i["activity_ended"], i["activity_draft"]
    # public
    add("GET", v + "/health", PUBLIC)
    add("GET", v + "/ping", PUBLIC)
    add("GET", v + "/meta/enums", PUBLIC)
    add("POST", v + "/auth/login", PUBLIC, body={"phone": world.phones["victim_b"], "password": "guess-1234"})
    add("POST", v + "/auth/wechat", PUBLIC, body={"code": "attack-code"})
    add("POST", v + "/auth/dev", PUBLIC, body={"openid": "attack"})
    add("POST", v + "/auth/refresh", PUBLIC, body={"refresh_token": "x.y.z"})
    add("GET", v + "/orgs", PUBLIC, query={"parent_id": i["station_b"]})
    add("GET", v + "/orgs/{org_id}", PUBLIC, {"org_id": i["room_b1"]})
    add("GET", v + "/certificates/{code}", PUBLIC, {"code": i["certificate_code_b"]})
    add("GET", v + "/activities", PUBLIC, query={"org_id": i["room_b1"], "status": "draft"}, label="drafts")
    add("GET", v + "/activities", PUBLIC, query={"org_id": i["room_b1"]})
    add("GET", v + "/activities/{activity_id}", PUBLIC, {"activity_id": b_act})
    add("GET", v + "/activities/{activity_id}", REFUSE, {"activity_id": draft}, label="draft")
    add("GET", v + "/benefits", PUBLIC, query={"org_id": i["room_b1"]})
    add("GET", v + "/benefits/{benefit_id}", PUBLIC, {"benefit_id": i["benefit_b"]})
    # The door page is one static page for every link; what it shows comes from
    # /kiosk/state, for the token in the link's fragment (sent as a header).
    add("GET", "/kiosk", PUBLIC, label="the page alone: no data without a token")
    add("GET", "/kiosk/state", REFUSE, label="no token")
    add("GET", "/kiosk/{old}", REFUSE, {"old": "A" * 43}, label="old link form, guessed token")
    add("GET", "/c/{code}", PUBLIC, {"code": "AbCdEf123"})
    # the caller's own
    add("GET", v + "/me", SELF)
    add("PATCH", v + "/me", SELF, body={"nickname": "改名"})
    add("POST", v + "/me/password", SELF, body={"current_password": "not-my-password",
                                                "new_password": "New-password-2026"})
    add("POST", v + "/me/volunteer", SELF, body={"real_name": "申请人", "phone": "13911112222"})
    add("GET", v + "/me/volunteer", SELF)
    add("PATCH", v + "/me/volunteer", SELF, body={})
    add("GET", v + "/me/service-records", SELF)
    add("GET", v + "/me/service-records/certificate", SELF)
    add("GET", v + "/me/registrations", SELF)
    add("POST", v + "/checkins", SELF, body={"code": "garbage-code-123"})
    add("GET", v + "/me/pass", SELF)
    add("POST", v + "/me/pass/rotate", SELF)
    add("GET", v + "/me/points", SELF)
    add("GET", v + "/me/points/expiring", SELF)
    add("GET", v + "/me/points/entries", SELF)
    add("GET", v + "/me/redemptions", SELF)
    add("GET", v + "/calendar/{year}", SELF, {"year": 2027})
    add("POST", v + "/activities/{activity_id}/registrations", SELF, {"activity_id": b_act},
        body={"role": "participant"}, label="self")
    add("DELETE", v + "/activities/{activity_id}/registrations/me", SELF, {"activity_id": b_act})
    add("POST", v + "/benefits/{benefit_id}/redemptions", SELF, {"benefit_id": i["benefit_b"]},
        headers={"Idempotency-Key": uuid.uuid4().hex})
    add("GET", v + "/volunteers", SELF, query={"org_id": i["room_b1"]}, label="B's volunteers")
    # staff work on district B's objects
    add("POST", v + "/benefits/{benefit_id}/redemptions", REFUSE, {"benefit_id": i["benefit_b_local"]},
        label="residents-only")
    add("POST", v + "/activities/{activity_id}/registrations", REFUSE, {"activity_id": b_act},
        body={"role": "participant", "user_id": i["bystander_b"]}, label="enrol someone else")
    add("POST", v + "/orgs", REFUSE, body={"name": "越权街道", "kind": "station", "parent_id": i["district_b"]})
    add("POST", v + "/orgs/{org_id}/staff", REFUSE, {"org_id": i["room_b1"]},
        body={"phone": "13700000001", "name": "冒名", "password": "Attack-pass-1", "role": "admin"})
    add("POST", v + "/orgs/{org_id}/staff/{user_id}/password", REFUSE,
        {"org_id": i["room_b1"], "user_id": i["worker_b1"]}, body={"new_password": "Attack-pass-1"})
    add("GET", v + "/volunteers/{profile_id}", REFUSE, {"profile_id": i["profile_b"]})
    add("POST", v + "/volunteers/{profile_id}/suspend", REFUSE, {"profile_id": i["profile_b"]},
        body={"reason": "越权"})
    add("POST", v + "/volunteers/{profile_id}/reactivate", REFUSE, {"profile_id": i["profile_b"]},
        body={"reason": "越权"})
    add("GET", v + "/volunteers/{profile_id}/service-records", REFUSE, {"profile_id": i["profile_b"]})
    add("POST", v + "/orgs/{org_id}/activities", REFUSE, {"org_id": i["room_b1"]}, body=_activity_body(now))
    add("POST", v + "/activities/{activity_id}/publish", REFUSE, {"activity_id": draft})
    add("POST", v + "/activities/{activity_id}/cancel", REFUSE, {"activity_id": b_act})
    add("GET", v + "/activities/{activity_id}/registrations", REFUSE, {"activity_id": b_act})
    add("GET", v + "/orgs/{org_id}/report", REFUSE, {"org_id": i["room_b1"]})
    add("POST", v + "/activities/{activity_id}/scan", REFUSE, {"activity_id": b_act},
        body={"code": "A" * 20, "action": "in"})
    add("POST", v + "/activities/{activity_id}/registrations/{registration_id}/checkin", REFUSE,
        {"activity_id": ended, "registration_id": i["registration_ended"]}, body={"action": "out"})
    add("POST", v + "/activities/{activity_id}/scans/offline", REFUSE, {"activity_id": ended},
        body={"scans": []})
    add("GET", v + "/activities/{activity_id}/checkins", REFUSE, {"activity_id": ended})
    add("POST", v + "/activities/{activity_id}/checkins/{scan_id}/annul", REFUSE,
        {"activity_id": ended, "scan_id": i["scan_ended"]}, body={"reason": "越权"})
    add("GET", v + "/activities/{activity_id}/attendance", REFUSE, {"activity_id": ended})
    add("GET", v + "/activities/{activity_id}/checkin-code", REFUSE, {"activity_id": b_act})
    add("POST", v + "/activities/{activity_id}/checkin-code/rotate", REFUSE, {"activity_id": b_act})
    add("GET", v + "/activities/{activity_id}/checkin-code.png", REFUSE, {"activity_id": b_act})
    add("POST", v + "/activities/{activity_id}/kiosk-links", REFUSE, {"activity_id": b_act})
    add("DELETE", v + "/activities/{activity_id}/kiosk-links/{link_id}", REFUSE,
        {"activity_id": b_act, "link_id": i["kiosk_link_b"]})
    add("POST", v + "/activities/{activity_id}/settle", REFUSE, {"activity_id": ended}, body={})
    add("POST", v + "/activities/{activity_id}/settlement/preview", REFUSE, {"activity_id": ended}, body={})
    add("GET", v + "/users/{user_id}/points", REFUSE, {"user_id": i["resident_b"]})
    add("GET", v + "/users/{user_id}/points/entries", REFUSE, {"user_id": i["resident_b"]})
    add("POST", v + "/points/adjustments", REFUSE,
        body={"user_id": i["resident_b"], "amount": -100, "reason": "越权扣分",
              "idempotency_key": uuid.uuid4().hex})
    add("POST", v + "/points/transfers/{transfer_id}/reverse", REFUSE,
        {"transfer_id": i["transfer_resident_b"]}, body={"reason": "越权冲正"})
    add("POST", v + "/orgs/{org_id}/benefits", REFUSE, {"org_id": i["room_b1"]},
        body={"name": "越权福利", "cost": 1, "stock": 1})
    add("PATCH", v + "/benefits/{benefit_id}", REFUSE, {"benefit_id": i["benefit_b"]}, body={"cost": 1})
    add("POST", v + "/benefits/{benefit_id}/withdraw", REFUSE, {"benefit_id": i["benefit_b"]})
    add("POST", v + "/benefits/{benefit_id}/restock", REFUSE, {"benefit_id": i["benefit_b"]},
        body={"quantity": 5})
    add("GET", v + "/benefits/{benefit_id}/redemptions", REFUSE, {"benefit_id": i["benefit_b"]})
    add("GET", v + "/redemptions/{redemption_id}", REFUSE, {"redemption_id": i["redemption_reserved"]})
    add("GET", v + "/redemptions/{redemption_id}/code.png", REFUSE,
        {"redemption_id": i["redemption_reserved"]})
    add("POST", v + "/redemptions/fulfil", REFUSE, body={"code": world.codes["reserved"]})
    add("POST", v + "/redemptions/{redemption_id}/cancel", REFUSE, {"redemption_id": i["redemption_spare"]})
    add("POST", v + "/redemptions/{redemption_id}/correct", REFUSE,
        {"redemption_id": i["redemption_fulfilled"]}, body={"reason": "越权更正"})
    add("GET", v + "/orgs/{org_id}/points/summary", REFUSE, {"org_id": i["room_b1"]})
    add("PUT", v + "/calendar/{year}", REFUSE, {"year": 2027},
        body={"days": [{"day": "2027-01-01", "is_workday": False, "name": "元旦"}]},
        label="city admins only")
    return cases


# Default fillers for an operation the plan does not know: district B's objects by parameter name.
DEFAULT_PARAM = {"org_id": "room_b1", "activity_id": "activity_b", "benefit_id": "benefit_b",
                 "redemption_id": "redemption_reserved", "user_id": "resident_b", "profile_id": "profile_b",
                 "registration_id": "registration_b", "scan_id": "scan_ended", "link_id": "kiosk_link_b",
                 "transfer_id": "transfer_resident_b"}


def operations(spec) -> list[tuple[str, str]]:
    found = []
    for path, item in spec["paths"].items():
        for method in item:
            if method in ("get", "post", "put", "patch", "delete"):
                found.append((method.upper(), path))
    return found


def forged_tokens(world, stand, now) -> dict[str, str]:
    """Tokens an attacker can make without the server's key."""
    victim = str(world.ids["victim_b"])
    claims = {"sub": victim, "typ": "access", "iat": int(now.timestamp()),
              "exp": int(now.timestamp()) + 3600, "jti": "forged"}
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode()).rstrip(b"=")
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    return {"forged alg=none": (header + b"." + payload + b".").decode(),
            "forged key": jwt.encode(claims, "not-the-server-key-" + "x" * 20, algorithm="HS256")}


def judge(case: Case, actor: str, response, world) -> tuple[str, str | None]:
    """(verdict, why) for one answer; verdicts: allowed, refused, wrong, 5xx."""
    if response is None:
        return "5xx", "no answer (connection dropped)"
    status = response.status_code
    text = response.text
    leaked = [name for name, secret in world.canaries.items() if secret and secret in text]
    if status >= 500:
        if status == 503 and case.path.endswith("/auth/wechat"):
            return "refused", None  # WeChat unreachable: 503 WECHAT_UNAVAILABLE by design
        return "5xx", None
    if leaked:
        return "wrong", f"leaks {', '.join(leaked)}"
    if case.path.startswith("/api/v1") and status >= 400 and not is_envelope(response):
        return "wrong", "error outside the envelope"
    signed_in = actor in world.tokens and not actor.startswith("forged")
    if case.kind == PUBLIC:
        return ("allowed" if status < 400 else "refused"), None
    if case.kind == SELF and signed_in:
        return ("allowed" if status < 400 else "refused"), None
    if status in REFUSED:
        return "refused", None
    return "wrong", f"{status} where 401/403/404 was due"


def fill(path: str, params: dict) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(params[m.group(1)]), path)


def snapshot(app, world) -> dict:
    """District B's state that no refused request may change (the caller's own
    registrations and redemptions aside, which only add rows of their own)."""
    from activities.models import Activity, CheckinLog, KioskLink
    from core.db import db
    from orgs.models import Org, StaffRole
    from points.benefits_models import Benefit, Redemption
    from points.models import Account, Transfer
    from volunteers.models import CalendarDay, User, VolunteerProfile

    i = world.ids
    with app.app_context():
        b_orgs = db.session.scalars(sa.select(Org.id).where(
            Org.path.startswith(db.session.get(Org, i["district_b"]).path))).all()
        state = {
            "orgs under district B": sorted(b_orgs),
            "staff roles in district B": sorted(db.session.execute(sa.select(
                StaffRole.user_id, StaffRole.org_id, StaffRole.role).where(StaffRole.org_id.in_(b_orgs))).all()),
            "passwords of B's staff": sorted(db.session.execute(sa.select(User.id, User.password_hash).where(
                User.id.in_([i["worker_b1"], i["admin_b"], i["admin_b1"]]))).all()),
            "B's volunteer profile": db.session.execute(sa.select(
                VolunteerProfile.status, VolunteerProfile.real_name).where(
                VolunteerProfile.id == i["profile_b"])).one(),
            "B's activities": sorted(db.session.execute(sa.select(
                Activity.id, Activity.status, Activity.title, Activity.starts_at, Activity.capacity,
                Activity.code_secret, Activity.settled_at).where(Activity.org_id == i["room_b1"])).all()),
            "B's check-in log": db.session.scalar(sa.select(sa.func.count()).select_from(CheckinLog).where(
                CheckinLog.activity_id.in_([i["activity_ended"], i["activity_b"]]),
                CheckinLog.actor_id.not_in([i["worker_b1"]]))),
            "B's kiosk link": db.session.scalar(sa.select(KioskLink.revoked_at).where(
                KioskLink.id == i["kiosk_link_b"])),
            "B's benefits": sorted(db.session.execute(sa.select(
                Benefit.id, Benefit.status, Benefit.cost, Benefit.stock_received, Benefit.name).where(
                Benefit.org_id == i["room_b1"])).all()),
            "resident B's redemptions": sorted(db.session.execute(sa.select(
                Redemption.id, Redemption.status, Redemption.correction_transfer_id).where(
                Redemption.user_id == i["resident_b"])).all()),
            "resident B's points": db.session.execute(sa.select(Account.balance, Account.held).where(
                Account.user_id == i["resident_b"])).one(),
            "reversals of B's transfers": db.session.scalar(sa.select(sa.func.count()).select_from(Transfer).where(
                Transfer.reverses_id == i["transfer_resident_b"])),
            "calendar 2027": db.session.scalar(sa.select(sa.func.count()).select_from(CalendarDay).where(
                CalendarDay.day >= date(2027, 1, 1), CalendarDay.day < date(2028, 1, 1))),
        }
        db.session.remove()
    return state


def run_matrix(stand, http, world, now, deadline) -> Row:
    import time

    row = Row("matrix")
    spec = http.session().get(stand.api + "/openapi.json", timeout=20).json()
    known = plan(world, now)
    ops = operations(spec)
    unplanned = []
    for op in ops:
        if op not in known:
            method, path = op
            params = {name: world.ids[DEFAULT_PARAM[name]] for name in re.findall(r"\{(\w+)\}", path)
                      if name in DEFAULT_PARAM}
            if len(params) != len(re.findall(r"\{(\w+)\}", path)):
                unplanned.append(f"{method} {path} (cannot fill its parameters)")
                continue
            known[op] = [Case(method, path, REFUSE, params, label="not in the plan")]
            unplanned.append(f"{method} {path}")
    stale = [f"{m} {p}" for (m, p) in known if (m, p) not in ops]
    actors = {"no token": None, "resident of A": world.tokens["resident_a"],
              "worker of room A1": world.tokens["worker_a1"], "admin of district A": world.tokens["admin_a"]}
    actors.update(forged_tokens(world, stand, now))
    before = snapshot(stand.app, world)
    for op in ops:
        for case in known.get(op, []):
            for actor, token in actors.items():
                if time.monotonic() > deadline:
                    row.notes.append("time bound reached: matrix cut short")
                    return row
                url_path = fill(case.path, case.params)
                headers = dict(case.headers or {})
                if "Idempotency-Key" in headers:
                    headers["Idempotency-Key"] = uuid.uuid4().hex
                response = http.call(case.method, url_path, token=token, body=case.body, headers=headers,
                                     params=case.query)
                actor_key = {"resident of A": "resident_a", "worker of room A1": "worker_a1",
                             "admin of district A": "admin_a"}.get(actor, actor)
                verdict, why = judge(case, actor_key, response, world)
                label = f" [{case.label}]" if case.label else ""
                row.count(verdict, f"{actor}: " + describe(case.method, stand.base + url_path, response,
                                                           label) + (f" — {why}" if why else ""))
    after = snapshot(stand.app, world)
    for name in before:
        row.count("refused" if before[name] == after[name] else "wrong",
                  f"refused or not, the attacks changed {name}: {before[name]} -> {after[name]}")
    extra_cases(stand, http, world, now, row)
    if unplanned:
        row.notes.append("operations not in the kit's plan (tried as staff-only): " + "; ".join(unplanned))
    if stale:
        row.notes.append("planned operations missing from the OpenAPI: " + "; ".join(stale))
    row.notes.append(f"{len(ops)} operations × {len(actors)} actors (no token, forged alg=none, forged "
                     f"key, resident/worker/admin of district A), then {len(before)} checks that district "
                     f"B's state is unchanged, then 4 multi-step or in-scope cases")
    return row


def extra_cases(stand, http, world, now, row: Row) -> None:
    """Attacks that take more than one request, or an actor inside B's scope."""
    from api.tokens import encode_access

    # 1. Account takeover: the admin of district A gives B's district admin a role on a room
    #    of A (by phone), resets that person's password there, and signs in as them.
    admin_a, victim_phone = world.tokens["admin_a"], world.phones["victim_b"]
    new_password = "Taken-over-2026!"
    add = http.call("POST", f"/api/v1/orgs/{world.ids['room_a1']}/staff", token=admin_a,
                    body={"phone": victim_phone, "name": "冒名", "password": new_password, "role": "worker"})
    reset = http.call("POST", f"/api/v1/orgs/{world.ids['room_a1']}/staff/{world.ids['victim_b']}/password",
                      token=admin_a, body={"new_password": new_password})
    login = http.call("POST", "/api/v1/auth/login", body={"phone": victim_phone, "password": new_password})
    steps = "; ".join(describe(m, stand.base + p, r) for m, p, r in (
        ("POST", f"/api/v1/orgs/{world.ids['room_a1']}/staff", add),
        ("POST", f"/api/v1/orgs/{world.ids['room_a1']}/staff/{world.ids['victim_b']}/password", reset),
        ("POST", "/api/v1/auth/login (victim's phone, the attacker's password)", login)))
    if login is not None and login.status_code == 200:
        row.count("wrong", f"admin of district A takes over district B's admin: {steps}")
    elif any(r is not None and r.status_code >= 500 for r in (add, reset, login)):
        row.count("5xx", f"takeover chain: {steps}")
    else:
        row.count("refused")

    # 2. Pickup codes: only the owner's app shows one; staff in scope scan it, never read it.
    worker_b1 = world.tokens["worker_b1"]
    for path in (f"/api/v1/benefits/{world.ids['benefit_b']}/redemptions",
                 f"/api/v1/redemptions/{world.ids['redemption_reserved']}"):
        response = http.call("GET", path, token=worker_b1)
        if response is None or response.status_code >= 500:
            row.count("5xx", "worker of room B1: " + describe("GET", stand.base + path, response))
        elif world.codes["reserved"] in response.text:
            row.count("wrong", "worker of room B1 (in scope) reads the pickup code: "
                      + describe("GET", stand.base + path, response))
        else:
            row.count("refused" if response.status_code >= 400 else "allowed")

    # 3. A validly signed token whose subject overflows the id column (needs the key: a
    #    bug of the decoder, not a way in).
    with stand.app.app_context():
        token = encode_access(2 ** 70, now)
    response = http.call("GET", "/api/v1/me", token=token)
    verdict = judge(Case("GET", "/api/v1/me", SELF, {}), "forged overflow", response, world)[0]
    row.count(verdict, "token with sub 2**70 (signed): " + describe("GET", stand.base + "/api/v1/me", response))
