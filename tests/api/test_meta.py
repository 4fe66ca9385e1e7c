"""GET /meta/enums: every enum a client shows, with its Chinese label (API.md, reference data)."""
from activities.models import DOMAINS, REGISTRATION_STATUSES
from activities.models import STATUSES as ACTIVITY_STATUSES
from api.labels import ENUMS
from orgs.models import KINDS, ROLES
from points.benefits_models import REDEMPTION_STATUSES, SPONSOR_KINDS
from tests.support import API

CONTRACT = ["domains", "activity_statuses", "registration_statuses", "redemption_statuses", "sponsor_kinds",
            "org_kinds", "roles", "recipient_categories", "need_statuses", "resource_kinds"]


def labelled(body, name) -> dict:
    return {entry["value"]: entry["label"] for entry in body[name]}


def test_enums_for_anyone_with_chinese_labels(client):
    response = client.get(f"{API}/meta/enums")
    assert response.status_code == 200
    body = response.get_json()
    assert set(CONTRACT) <= set(body)
    for name, entries in body.items():
        assert entries, name
        for entry in entries:
            assert set(entry) == {"value", "label"}, name
            assert any("\u4e00" <= ch <= "\u9fff" for ch in entry["label"]), (name, entry)
    assert body["domains"][4] == {"value": "elderly_care", "label": "养老服务"}
    assert labelled(body, "domains") == {
        "party_building": "党建引领", "social_assistance": "社会救助", "child_welfare": "儿童福利",
        "community_governance": "社区治理", "elderly_care": "养老服务", "specialty": "特色项目"}
    assert labelled(body, "recipient_categories") == {
        "elderly_alone": "独居老人", "elderly": "老年人", "disabled": "残疾人", "low_income": "低收入",
        "child": "儿童", "other": "其他"}
    assert labelled(body, "need_statuses") == {
        "open": "待认领", "claimed": "已认领", "done": "已完成待确认", "confirmed": "已确认", "cancelled": "已取消"}
    assert labelled(body, "resource_kinds") == {
        "social_org": "社会组织", "charity": "慈善力量", "merchant": "爱心商家", "volunteer_team": "志愿者队伍",
        "venue": "场地", "fund": "资金"}
    assert labelled(body, "org_kinds")["room"] == "社区社工室"
    assert response.headers["Cache-Control"] == "public, max-age=3600"


def test_values_are_the_code_s_own_in_its_order(client):
    body = client.get(f"{API}/meta/enums").get_json()
    values = {name: [entry["value"] for entry in entries] for name, entries in body.items()}
    assert values["domains"] == list(DOMAINS)
    assert values["activity_statuses"] == list(ACTIVITY_STATUSES)
    assert values["registration_statuses"] == list(REGISTRATION_STATUSES)
    assert values["redemption_statuses"] == list(REDEMPTION_STATUSES)
    assert values["sponsor_kinds"] == list(SPONSOR_KINDS)
    assert values["org_kinds"] == list(KINDS)
    assert values["roles"] == list(ROLES)


def test_every_value_has_a_label_and_no_label_is_left_over():
    for name, (title, values, labels) in ENUMS.items():
        assert title, name
        assert len(set(values)) == len(values), name
        assert set(labels) == set(values), name


def test_the_document_lists_every_enum(client):
    spec = client.get(f"{API}/openapi.json").get_json()
    operation = spec["paths"][f"{API}/meta/enums"]["get"]
    assert "security" not in operation
    assert set(spec["components"]["schemas"]["EnumsOut"]["properties"]) == set(ENUMS)
