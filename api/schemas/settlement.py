from marshmallow import Schema, fields, validate

from .common import Instant, StrictInteger, Text


class SettlementAdjustmentIn(Schema):
    registration_id = StrictInteger(required=True, metadata={"description": "要调整的志愿者报名 id"})
    minutes = StrictInteger(required=True, validate=validate.Range(min=0, max=24 * 60),
                            metadata={"description": "认定的服务分钟数"})
    note = Text(max_len=500, metadata={"description": "调整说明（必填）"})


class SettleIn(Schema):
    adjustments = fields.List(fields.Nested(SettlementAdjustmentIn), load_default=list,
                              validate=validate.Length(max=5000),
                              metadata={"description": "对测得分钟数的调整；不调整可省略"})


class SettlementRecordOut(Schema):
    registration_id = fields.Integer(metadata={"description": "报名 id"})
    user_id = fields.Integer(metadata={"description": "用户 id"})
    role = fields.String(metadata={"description": "报名身份"})
    minutes = fields.Integer(metadata={"description": "计入的服务分钟数（参与者为 0）"})
    points = fields.Integer(metadata={"description": "获得的积分"})
    measured_minutes = fields.Integer(metadata={"description": "按签到签退记录测得的分钟数（已截到活动时段内）"})
    is_adjusted = fields.Boolean(metadata={"description": "分钟数是否由工作人员调整"})
    is_unverified = fields.Boolean(metadata={"description": "签到后没有签退、未经调整（计 0 分钟）"})
    is_capped = fields.Boolean(metadata={"description": "积分是否因每日上限被削减"})
    note = fields.String(metadata={"description": "调整说明"})


class UnverifiedOut(Schema):
    registration_id = fields.Integer(metadata={"description": "报名 id"})
    user_id = fields.Integer(metadata={"description": "用户 id"})


class SettlementOut(Schema):
    """A settlement, or the preview of one (status `preview`, `settled_at` null)."""

    activity_id = fields.Integer(metadata={"description": "活动 id"})
    status = fields.String(metadata={"description": "settled：已结算；preview：预览，未入账"})
    records = fields.List(fields.Nested(SettlementRecordOut), metadata={"description": "每个报名的结算结果"})
    unverified = fields.Function(
        lambda s: [{"registration_id": r.registration_id, "user_id": r.user_id}
                   for r in s.records if r.is_unverified],
                                 metadata={"description": "签到后没有签退的志愿者，待工作人员调整确认", "type": "array", "items": {"type": "object", "properties": {"registration_id": {"type": "integer", "description": "报名 id"}, "user_id": {"type": "integer", "description": "用户 id"}}}})
    minutes_total = fields.Integer(metadata={"description": "服务分钟数合计"})
    points_total = fields.Integer(metadata={"description": "积分合计"})
    rounding = fields.String(metadata={"description": "测得分钟数的取整规则（见 /meta/enums 的 rounding_rules）"})
    settled_at = Instant(allow_none=True, metadata={"description": "结算时间；预览为 null"})
