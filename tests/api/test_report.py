"""The work report: GET /orgs/{id}/report, the org's figures and each child's."""
from datetime import timedelta

import pytest

from activities.models import Activity, Registration
from core.db import db
from orgs.models import Org
from tests.activity_support import frozen  # noqa: F401  (fixture)
from tests.benefit_support import give_points, make_benefit, redeem
from tests.support import API, assert_error, current_settings
from volunteers import records


@pytest.fixture
def station(app, client, actors, frozen):  # noqa: F811
    """Activities, attendance, service records, points and a fulfilled benefit in
    two rooms of one station, and some that must not be counted."""
    tree = actors.tree()
    worker_a = actors.staff(tree["room_a"], "worker")
    r1, r2, r3, v1, v2, waiting = (actors.resident() for _ in range(6))
    now = frozen.current
    with app.app_context():
        def activity(room, domain, status, starts):
            row = Activity(org_id=tree[room], title="活动", domain=domain, location="活动室", starts_at=starts,
                           ends_at=starts + timedelta(hours=1), capacity=10, volunteer_slots=2,
                           points_per_hour=0, status=status, code_secret="s" * 32, created_at=now)
            db.session.add(row)
            db.session.flush()
            return row.id

        def registration(activity_id, person, role="participant", status="confirmed", checked=False):
            db.session.add(Registration(activity_id=activity_id, user_id=person.id, role=role, status=status,
                                        method="self", registered_at=now, created_at=now,
                                        checked_in_at=now if checked else None))

        a1 = activity("room_a", "elderly_care", "published", now)
        activity("room_a", "child_welfare", "settled", now + timedelta(hours=1))
        activity("room_a", "elderly_care", "cancelled", now)
        activity("room_a", "elderly_care", "draft", now)
        activity("room_a", "elderly_care", "published", now + timedelta(days=40))  # outside the period
        b1 = activity("room_b", "party_building", "published", now)
        registration(a1, r1, checked=True)
        registration(a1, r2, checked=True)
        registration(a1, r3)
        registration(a1, waiting, status="waitlisted")
        registration(a1, v1, role="volunteer", checked=True)
        registration(b1, r1, checked=True)
        rooms = {name: db.session.get(Org, tree[name]) for name in ("room_a", "room_b")}
        for key, (room, person, minutes, ended) in enumerate([
                ("room_a", v1, 120, now), ("room_a", v2, 60, now - timedelta(days=20)),
                ("room_b", v1, 30, now)]):
            records.record_service(
                user_id=person.id, activity_id=a1, title="探访", org=rooms[room], place="敬老院", content="陪伴",
                started_at=ended - timedelta(minutes=minutes), ended_at=ended, minutes=minutes, points=0,
                responsible_person="李社工", recorded_by=None, cause_key=f"report:{key}",
                service_date=now.astimezone(current_settings().zone).date(), now=now, settings=current_settings())  # the one of v2 is recorded 20 days late
        db.session.commit()
    give_points(app, r1.id, tree["room_a"], 20)
    give_points(app, r1.id, tree["room_b"], 10)
    benefit = make_benefit(client, worker_a, tree["room_a"], cost=5)
    code = redeem(client, r1, benefit["id"]).get_json()["code"]
    assert client.post(f"{API}/redemptions/fulfil", json={"code": code},
                       headers=worker_a.headers).status_code == 200
    return {"tree": tree, "now": now, "worker_a": worker_a, "admin": actors.staff(tree["station"], "worker")}


def get_report(client, station, org, person=None, **period):
    now = station["now"]
    query = {"from": (now - timedelta(days=1)).isoformat(), "to": (now + timedelta(days=1)).isoformat(), **period}
    return client.get(f"{API}/orgs/{station['tree'][org]}/report", query_string=query,
                      headers=(person or station["admin"]).headers)


def test_the_station_and_each_room_are_counted_from_the_records(client, station):
    response = get_report(client, station, "station")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["org_id"], body["kind"]) == (station["tree"]["station"], "station")
    assert body["activities"] == {"held": 3, "settled": 1, "cancelled": 1, "by_domain": {
        "party_building": 1, "social_assistance": 0, "child_welfare": 1, "community_governance": 0,
        "elderly_care": 1, "specialty": 0}}
    assert body["participants"] == {"confirmed": 4, "checked_in": 3, "people": 2, "attendance_rate": 0.75}
    assert body["volunteering"] == {"people": 2, "records": 3, "minutes": 210, "hours": 3.5, "late_records": 1,
                                    "on_time_rate": 0.6667}
    assert body["points"] == {"issued": 30, "redeemed": 5, "expired": 0}
    assert body["benefits_fulfilled"] == 1
    room_a, room_b = body["children"]
    assert (room_a["name"], room_b["name"]) == ("花园社区社工室", "幸福社区社工室")
    assert room_a["participants"] == {"confirmed": 3, "checked_in": 2, "people": 2, "attendance_rate": 0.6667}
    assert room_b["participants"] == {"confirmed": 1, "checked_in": 1, "people": 1, "attendance_rate": 1.0}
    assert (room_a["volunteering"]["minutes"], room_b["volunteering"]["minutes"]) == (180, 30)
    assert (room_a["points"]["issued"], room_b["points"]["issued"]) == (20, 10)
    assert (room_a["benefits_fulfilled"], room_b["benefits_fulfilled"]) == (1, 0)
    # A room's own report has no children; a period with nothing in it counts zeros.
    assert get_report(client, station, "room_a").get_json()["children"] == []
    later = station["now"] + timedelta(days=100)
    empty = get_report(client, station, "station", **{"from": later.isoformat(),
                                                      "to": (later + timedelta(days=1)).isoformat()}).get_json()
    assert empty["participants"]["attendance_rate"] is None and empty["activities"]["held"] == 0


def test_who_may_read_it_and_bad_periods(client, actors, station):
    assert_error(client.get(f"{API}/orgs/{station['tree']['station']}/report?from=2026-01-01T00:00:00Z"),
                 401, "UNAUTHENTICATED")
    assert_error(get_report(client, station, "station", person=station["worker_a"]), 403, "FORBIDDEN")
    assert get_report(client, station, "room_a", person=station["worker_a"]).status_code == 200
    assert_error(get_report(client, station, "station", person=actors.resident()), 403, "FORBIDDEN")
    assert_error(client.get(f"{API}/orgs/99999/report?from=2026-01-01T00:00:00Z",
                            headers=station["admin"].headers), 404, "NOT_FOUND")
    now = station["now"]
    for period in ({"to": (now - timedelta(days=2)).isoformat()},
                   {"from": (now - timedelta(days=1200)).isoformat()}, {"from": "yesterday"}):
        assert_error(get_report(client, station, "station", **period), 422, "VALIDATION_ERROR")
    assert_error(client.get(f"{API}/orgs/{station['tree']['station']}/report", headers=station["admin"].headers),
                 422, "VALIDATION_ERROR")
