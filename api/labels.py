"""The Chinese label of every enum value a client shows (GET /api/v1/meta/enums).

Values come from where the code defines them, in that order; labels are
presentation, so they live here in the HTTP layer. tests/api/test_meta.py
checks that every value has a label and no label is left over.
"""
from activities.models import ACTIONS, DOMAINS, METHODS, REGISTRATION_STATUSES, ROUNDING_RULES
from activities.models import ROLES as REGISTRATION_ROLES
from activities.models import STATUSES as ACTIVITY_STATUSES
from orgs.models import KINDS as ORG_KINDS
from orgs.models import ROLES as STAFF_ROLES
from points.benefits_models import (BENEFIT_ACTIVE, BENEFIT_WITHDRAWN, LIMIT_PERIODS, REDEMPTION_STATUSES,
                                    SPONSOR_KINDS)
from volunteers.models import PROFILE_STATUSES as VOLUNTEER_STATUSES


# Service recipients, needs and resources (需求清单 · 资源清单, API.md) have no
# package yet: their values are defined here until it exists, then imported from it.
RECIPIENT_CATEGORIES = ("elderly_alone", "elderly", "disabled", "low_income", "child", "other")
NEED_STATUSES = ("open", "claimed", "done", "confirmed", "cancelled")
RESOURCE_KINDS = ("social_org", "charity", "merchant", "volunteer_team", "venue", "fund")

# name: (what it is, its values, their labels)
ENUMS = {
    "domains": ("服务领域（“1+4+N”）", DOMAINS, {
        "party_building": "党建引领", "social_assistance": "社会救助", "child_welfare": "儿童福利",
        "community_governance": "社区治理", "elderly_care": "养老服务", "specialty": "特色项目"}),
    "activity_statuses": ("活动状态", ACTIVITY_STATUSES, {
        "draft": "草稿", "published": "已发布", "cancelled": "已取消", "settled": "已结算"}),
    "registration_statuses": ("报名状态", REGISTRATION_STATUSES, {
        "confirmed": "已确认", "waitlisted": "候补中", "cancelled": "已取消"}),
    "registration_roles": ("报名身份", REGISTRATION_ROLES, {"participant": "参与者", "volunteer": "志愿者"}),
    "checkin_actions": ("签到动作", ACTIONS, {"in": "签到", "out": "签退"}),
    "checkin_methods": ("签到方式", METHODS, {
        "self": "自助扫码", "staff": "工作人员扫码", "manual": "手工签到", "walk_in": "现场签到"}),
    "rounding_rules": ("服务时长取整", ROUNDING_RULES, {
        "minute": "按分钟", "half_hour": "按满半小时", "hour": "按满一小时"}),
    "redemption_statuses": ("兑换状态", REDEMPTION_STATUSES, {
        "reserved": "待领取", "fulfilled": "已领取", "cancelled": "已取消", "expired": "已过期"}),
    "benefit_statuses": ("福利状态", (BENEFIT_ACTIVE, BENEFIT_WITHDRAWN), {
        "active": "可兑换", "withdrawn": "已下架"}),
    "limit_periods": ("限兑周期", LIMIT_PERIODS, {"total": "累计", "month": "每月"}),
    "sponsor_kinds": ("捐赠方类型", SPONSOR_KINDS, {
        "merchant": "爱心商家", "charity": "慈善力量", "government": "政府部门"}),
    "org_kinds": ("机构层级", ORG_KINDS, {
        "city": "市级", "district": "区级社工服务指导中心", "station": "街道（乡镇）社工站",
        "room": "社区社工室"}),
    "roles": ("工作人员角色", STAFF_ROLES, {"admin": "管理员", "worker": "社工"}),
    "volunteer_statuses": ("志愿者状态", VOLUNTEER_STATUSES, {"active": "正常", "suspended": "已暂停"}),
    "recipient_categories": ("服务对象类别", RECIPIENT_CATEGORIES, {
        "elderly_alone": "独居老人", "elderly": "老年人", "disabled": "残疾人", "low_income": "低收入",
        "child": "儿童", "other": "其他"}),
    "need_statuses": ("需求状态", NEED_STATUSES, {
        "open": "待认领", "claimed": "已认领", "done": "已完成待确认", "confirmed": "已确认",
        "cancelled": "已取消"}),
    "resource_kinds": ("资源类型", RESOURCE_KINDS, {
        "social_org": "社会组织", "charity": "慈善力量", "merchant": "爱心商家",
        "volunteer_team": "志愿者队伍", "venue": "场地", "fund": "资金"}),
}


def enums() -> dict[str, list[dict]]:
    """Every enum: `{name: [{value, label}, …]}`, values in the code's order."""
    return {name: [{"value": value, "label": labels[value]} for value in values]
            for name, (_title, values, labels) in ENUMS.items()}
