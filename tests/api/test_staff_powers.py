"""Who may act for whom (README): every actor level × the target's roles × each action.

The target always holds a role on room A, and the action is taken through room A's
URL. The expectation is written out per actor, not recomputed from the rule.
"""
import pytest
import sqlalchemy as sa

from api.tokens import encode_access
from core import clock
from core.db import db
from core.passwords import hash_password
from orgs.models import Org, StaffRole
from orgs.services import _save_org
from points import ledger
from tests.support import API, Person, assert_error
from people.models import User
from volunteers.models import VolunteerProfile

OLD_PASSWORD, NEW_PASSWORD = "targets-own-1", "set-by-admin-2"

# The target's roles besides a worker or admin role on room A.
SHAPES = {
    "worker_room_a": [("room_a", "worker")],
    "admin_room_a": [("room_a", "admin")],
    "also_worker_room_b": [("room_a", "worker"), ("room_b", "worker")],
    "also_worker_station": [("room_a", "worker"), ("station", "worker")],
    "also_admin_station": [("room_a", "worker"), ("station", "admin")],
    "also_admin_district": [("room_a", "worker"), ("district", "admin")],
    "also_admin_city": [("room_a", "worker"), ("city", "admin")],
    "also_worker_other_district": [("room_a", "worker"), ("other_room", "worker")],
}

# Which shapes each actor may act for; the rest are 403 FORBIDDEN.
ALLOWED = {
    ("room_a", "admin"): {"worker_room_a"},
    ("station", "admin"): {"worker_room_a", "admin_room_a", "also_worker_room_b", "also_worker_station"},
    ("district", "admin"): {"worker_room_a", "admin_room_a", "also_worker_room_b", "also_worker_station",
                            "also_admin_station"},
    ("city", "admin"): set(SHAPES) - {"also_admin_city"},
    # Not administrators of room A at all.
    ("room_b", "admin"): set(),
    ("other_district", "admin"): set(),
    ("station", "worker"): set(),
    ("room_a", "worker"): set(),
}

ACTIONS = ["reset_password", "end_sessions", "remove_role"]


def build_tree(app) -> dict:
    """city → district → station → room_a, room_b; city → other_district → other_station → other_room."""
    with app.app_context():
        now = clock.now()
        ids = {}
        city = _save_org(Org(name="武汉市", kind="city", parent=None, created_at=now))
        district = _save_org(Org(name="江岸区", kind="district", parent=city, created_at=now))
        station = _save_org(Org(name="百步亭街道社工站", kind="station", parent=district, created_at=now))
        other_district = _save_org(Org(name="江汉区", kind="district", parent=city, created_at=now))
        other_station = _save_org(Org(name="民族街社工站", kind="station", parent=other_district, created_at=now))
        for key, org in [("city", city), ("district", district), ("station", station),
                         ("other_district", other_district), ("other_station", other_station)]:
            ids[key] = org.id
        for key, name, parent in [("room_a", "花园社区社工室", station), ("room_b", "幸福社区社工室", station),
                                  ("other_room", "民族社区社工室", other_station)]:
            ids[key] = _save_org(Org(name=name, kind="room", parent=parent, created_at=now)).id
        db.session.commit()
    return ids


def make_person(app, tree, roles, *, phone, kind="staff_only") -> Person:
    """A person with a password and `roles` [(org key, role)]; `kind` adds what
    makes an account the person's own: a WeChat openid, a volunteer profile, points."""
    with app.app_context():
        now = clock.now()
        user = User(phone=phone, nickname=f"同事{phone[-4:]}", password_hash=hash_password(OLD_PASSWORD),
                    created_at=now, wechat_openid=f"openid-{phone}" if kind == "wechat" else None)
        db.session.add(user)
        db.session.flush()
        for org_key, role in roles:
            db.session.add(StaffRole(user_id=user.id, org_id=tree[org_key], role=role, created_at=now))
        if kind == "volunteer":
            db.session.add(VolunteerProfile(user_id=user.id, real_name="张三", phone=phone, status="active",
                                            created_at=now))
        if kind == "points":
            ledger.transfer(debit=ledger.issuing_account(tree["room_a"], now=now),
                            credit=ledger.person_account(user.id, now=now), amount=5, kind="adjustment",
                            memo="test", idempotency_key=f"test:{user.id}", now=now)
        db.session.commit()
        return Person(user.id, encode_access(user.id, now), phone)


_phones = iter(range(13800001000, 13800099999))


def person(app, tree, roles, **kwargs) -> Person:
    return make_person(app, tree, roles, phone=str(next(_phones)), **kwargs)


def act(client, actor, tree, target_id, action, org_key="room_a"):
    base = f"{API}/orgs/{tree[org_key]}/staff/{target_id}"
    if action == "reset_password":
        return client.post(f"{base}/password", headers=actor.headers, json={"new_password": NEW_PASSWORD})
    if action == "end_sessions":
        return client.delete(f"{base}/sessions", headers=actor.headers)
    return client.delete(base, headers=actor.headers)


def login(client, phone, password):
    return client.post(f"{API}/auth/login", json={"phone": phone, "password": password})


def roles_of(app, user_id):
    with app.app_context():
        rows = db.session.execute(sa.select(StaffRole.org_id, StaffRole.role)
                                  .where(StaffRole.user_id == user_id).order_by(StaffRole.id))
        return [tuple(row) for row in rows]


def assert_unchanged(app, client, target, tree, roles):
    assert client.get(f"{API}/me", headers=target.headers).status_code == 200
    assert roles_of(app, target.id) == [(tree[key], role) for key, role in roles]
    assert login(client, target.phone, OLD_PASSWORD).status_code == 200


def assert_done(app, client, target, tree, roles, action):
    assert_error(client.get(f"{API}/me", headers=target.headers), 401, "UNAUTHENTICATED")
    expected_roles = [(tree[key], role) for key, role in roles]
    if action == "remove_role":
        expected_roles = expected_roles[1:]  # the room A role, always first
    assert roles_of(app, target.id) == expected_roles
    if action == "reset_password":
        assert_error(login(client, target.phone, OLD_PASSWORD), 401, "BAD_CREDENTIALS")
        assert login(client, target.phone, NEW_PASSWORD).status_code == 200
    else:
        assert login(client, target.phone, OLD_PASSWORD).status_code == 200


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("actor_role", list(ALLOWED), ids=lambda r: f"{r[1]}_of_{r[0]}")
def test_who_may_act_for_whom(app, client, actor_role, shape, action):
    tree = build_tree(app)
    actor = person(app, tree, [actor_role])
    target = person(app, tree, SHAPES[shape])
    with app.app_context():  # a session of the target's, to see it end or survive
        session = login(client, target.phone, OLD_PASSWORD).get_json()
    response = act(client, actor, tree, target.id, action)
    if shape in ALLOWED[actor_role]:
        assert response.status_code == 200, response.get_json()
        assert response.get_json() == {"user_id": target.id, "org_id": tree["room_a"],
                                       "role": SHAPES[shape][0][1]}
        assert_done(app, client, target, tree, SHAPES[shape], action)
        assert_error(client.post(f"{API}/auth/refresh", json={"refresh_token": session["refresh_token"]}),
                     401, "UNAUTHENTICATED")
    else:
        error = assert_error(response, 403, "FORBIDDEN")
        assert error["message"]
        assert_unchanged(app, client, target, tree, SHAPES[shape])
        assert client.post(f"{API}/auth/refresh",
                           json={"refresh_token": session["refresh_token"]}).status_code == 200


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("kind", ["wechat", "volunteer", "points"])
def test_a_residents_own_account_never_gets_a_password_from_someone_else(app, client, kind, action):
    """A WeChat sign-in, a volunteer profile or points make the account the person's own:
    no admin sets its password, however high. Sessions and roles follow the usual rule."""
    tree = build_tree(app)
    city_admin = person(app, tree, [("city", "admin")])
    target = person(app, tree, [("room_a", "worker")], kind=kind)
    response = act(client, city_admin, tree, target.id, action)
    if action == "reset_password":
        error = assert_error(response, 403, "FORBIDDEN")
        assert error["details"] == {"reason": "personal_account", "stakes": [kind]}
        assert_unchanged(app, client, target, tree, [("room_a", "worker")])
    else:
        assert response.status_code == 200
        assert_done(app, client, target, tree, [("room_a", "worker")], action)


@pytest.mark.parametrize("action", ACTIONS)
def test_nobody_acts_for_themselves_through_the_staff_routes(app, client, action):
    tree = build_tree(app)
    # A district admin who also works in room A: room A lies inside their district,
    # but their own district role does not lie below itself.
    admin = person(app, tree, [("room_a", "worker"), ("district", "admin")])
    error = assert_error(act(client, admin, tree, admin.id, action), 403, "FORBIDDEN")
    assert error["details"]["reason"] == "self"
    assert_unchanged(app, client, admin, tree, [("room_a", "worker"), ("district", "admin")])


def test_adding_an_existing_person_gives_no_power_over_their_account(app, client):
    """The repro of the issue, for every kind of existing person: the room admin
    adds the phone, gives a password, and cannot use either to sign in as them."""
    tree = build_tree(app)
    room_admin = person(app, tree, [("room_a", "admin")])
    for roles, kind in [([("district", "admin")], "staff_only"), ([("room_b", "worker")], "staff_only"),
                        ([], "wechat"), ([], "volunteer"), ([], "points")]:
        target = person(app, tree, roles, kind=kind)
        added = client.post(f"{API}/orgs/{tree['room_a']}/staff", headers=room_admin.headers,
                            json={"phone": target.phone, "name": "新同事", "password": NEW_PASSWORD,
                                  "role": "worker"})
        assert added.status_code == 201 and added.get_json()["user_id"] == target.id
        assert_error(act(client, room_admin, tree, target.id, "reset_password"), 403, "FORBIDDEN")
        assert_error(login(client, target.phone, NEW_PASSWORD), 401, "BAD_CREDENTIALS")
        assert login(client, target.phone, OLD_PASSWORD).status_code == 200
        with app.app_context():
            user = db.session.get(User, target.id)
            assert user.nickname == f"同事{target.phone[-4:]}"  # not renamed either


def test_a_role_is_removed_once_and_the_person_may_be_added_again(app, client):
    tree = build_tree(app)
    admin = person(app, tree, [("station", "admin")])
    target = person(app, tree, [("room_a", "worker")])
    assert act(client, admin, tree, target.id, "remove_role").status_code == 200
    assert_error(act(client, admin, tree, target.id, "remove_role"), 404, "NOT_FOUND")
    # Without any role the account is nobody's to act for: no reset through another org either.
    assert_error(act(client, admin, tree, target.id, "reset_password", org_key="room_b"), 404, "NOT_FOUND")
    again = client.post(f"{API}/orgs/{tree['room_b']}/staff", headers=admin.headers,
                        json={"phone": target.phone, "name": "x", "password": NEW_PASSWORD, "role": "worker"})
    assert again.status_code == 201
    assert login(client, target.phone, OLD_PASSWORD).status_code == 200  # credentials kept
