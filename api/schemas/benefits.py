from marshmallow import Schema, fields, post_dump, validate

from api.auth import current_user
from points.benefits_models import LIMIT_PERIODS, LIMIT_TOTAL, REDEMPTION_STATUSES, SPONSOR_KINDS

from .common import Instant, QueryId, StrictInteger, Text

POSITIVE = validate.Range(min=1)
NOT_NEGATIVE = validate.Range(min=0)


class SponsorIn(Schema):
    name = Text(max_len=100, metadata={"description": "捐赠方名称", "example": "张师傅理发店"})
    kind = fields.String(required=True, validate=validate.OneOf(SPONSOR_KINDS),
                         metadata={"description": "捐赠方类型（见 /meta/enums 的 sponsor_kinds）"})
    quantity = StrictInteger(load_default=None, allow_none=True, validate=NOT_NEGATIVE,
                             metadata={"description": "捐赠数量"})
    value_fen = StrictInteger(load_default=None, allow_none=True, validate=NOT_NEGATIVE,
                              metadata={"description": "折合金额（分）"})


class BenefitIn(Schema):
    name = Text(max_len=100, metadata={"description": "福利名称", "example": "爱心理发券"})
    description = Text(max_len=2000, required=False, blank=True, load_default="", metadata={"description": "介绍"})
    image_url = fields.URL(load_default=None, allow_none=True, schemes={"http", "https"},
                           validate=validate.Length(max=500), metadata={"description": "图片地址（http/https）"})
    cost = StrictInteger(required=True, validate=validate.Range(min=1, max=10_000_000),
                         metadata={"description": "所需积分"})
    # Absent or null: unlimited.
    stock = StrictInteger(load_default=None, allow_none=True, validate=validate.Range(min=0, max=10_000_000),
                          metadata={"description": "库存；不传或 null 为不限"})
    per_user_limit = StrictInteger(load_default=None, allow_none=True, validate=POSITIVE,
                                   metadata={"description": "每人限兑次数；null 为不限"})
    limit_period = fields.String(load_default=LIMIT_TOTAL, validate=validate.OneOf(LIMIT_PERIODS),
                                 metadata={"description": "限兑次数的计算周期：累计或每月"})
    available_from = Instant(load_default=None, allow_none=True, metadata={"description": "兑换开始时间；null 为立即"})
    available_until = Instant(load_default=None, allow_none=True, metadata={"description": "兑换截止时间；null 为不限"})
    min_star = StrictInteger(load_default=0, validate=validate.Range(min=0, max=10),
                             metadata={"description": "需要的志愿者最低星级；0 为不限"})
    residents_only = fields.Boolean(load_default=False, metadata={"description": "仅限本社区（及下级）居民兑换"})
    sponsor = fields.Nested(SponsorIn, load_default=None, allow_none=True,
                            metadata={"description": "捐赠方（社会慈善资源）；没有为 null"})


class BenefitPatch(Schema):
    name = Text(max_len=100, required=False, metadata={"description": "福利名称"})
    description = Text(max_len=2000, required=False, blank=True, allow_none=True, metadata={"description": "介绍"})
    image_url = fields.URL(allow_none=True, schemes={"http", "https"}, validate=validate.Length(max=500),
                           metadata={"description": "图片地址"})
    cost = StrictInteger(validate=validate.Range(min=1, max=10_000_000),
                         metadata={"description": "所需积分（只影响之后的兑换）"})
    per_user_limit = StrictInteger(allow_none=True, validate=POSITIVE,
                                   metadata={"description": "每人限兑次数；null 为不限"})
    limit_period = fields.String(validate=validate.OneOf(LIMIT_PERIODS), metadata={"description": "限兑周期"})
    available_from = Instant(allow_none=True, metadata={"description": "兑换开始时间"})
    available_until = Instant(allow_none=True, metadata={"description": "兑换截止时间"})
    min_star = StrictInteger(validate=validate.Range(min=0, max=10), metadata={"description": "最低星级"})
    residents_only = fields.Boolean(metadata={"description": "仅限本社区居民"})
    sponsor = fields.Nested(SponsorIn, allow_none=True, metadata={"description": "捐赠方"})


class RestockIn(Schema):
    quantity = StrictInteger(required=True, validate=validate.Range(min=1, max=10_000_000),
                             metadata={"description": "新到的数量"})
    note = Text(max_len=200, required=False, blank=True, load_default="", metadata={"description": "说明，如 爱心商家再捐 20 份"})


class SponsorOut(Schema):
    name = fields.String(attribute="sponsor_name", metadata={"description": "捐赠方名称"})
    kind = fields.String(attribute="sponsor_kind", metadata={"description": "捐赠方类型"})
    quantity = fields.Integer(attribute="sponsor_quantity", allow_none=True, metadata={"description": "捐赠数量"})
    value_fen = fields.Integer(attribute="sponsor_value_fen", allow_none=True,
                               metadata={"description": "折合金额（分）"})


class RedemptionCounts(Schema):
    reserved = fields.Integer(metadata={"description": "待领取"})
    fulfilled = fields.Integer(metadata={"description": "已领取"})
    cancelled = fields.Integer(metadata={"description": "已取消"})
    expired = fields.Integer(metadata={"description": "已过期"})


class BenefitOut(Schema):
    id = fields.Integer(metadata={"description": "福利 id"})
    org_id = fields.Integer(metadata={"description": "提供福利的机构 id"})
    org_name = fields.Function(lambda b: b.org.name, metadata={"description": "提供福利的机构名称", "type": "string"})
    name = fields.String(metadata={"description": "福利名称"})
    description = fields.String(metadata={"description": "介绍"})
    image_url = fields.String(allow_none=True, metadata={"description": "图片地址"})
    cost = fields.Integer(metadata={"description": "所需积分"})
    stock = fields.Integer(attribute="stock_initial", allow_none=True,
                           metadata={"description": "初始库存；null 为不限"})
    stock_received = fields.Integer(allow_none=True, metadata={"description": "累计入库（初始加补货）；不限库存为 null"})
    stock_left = fields.Integer(allow_none=True, metadata={"description": "剩余库存；不限库存为 null"})
    per_user_limit = fields.Integer(allow_none=True, metadata={"description": "每人限兑次数；null 为不限"})
    limit_period = fields.String(metadata={"description": "限兑周期（见 /meta/enums 的 limit_periods）"})
    available_from = Instant(allow_none=True, metadata={"description": "兑换开始时间"})
    available_until = Instant(allow_none=True, metadata={"description": "兑换截止时间"})
    min_star = fields.Integer(metadata={"description": "需要的最低星级"})
    residents_only = fields.Boolean(attribute="is_residents_only", metadata={"description": "仅限本社区居民"})
    sponsor = fields.Function(lambda b: SponsorOut().dump(b) if b.sponsor_name else None,
                              metadata={"description": "捐赠方；没有为 null", "type": "object", "nullable": True, "properties": {"name": {"type": "string", "description": "捐赠方名称"}, "kind": {"type": "string", "description": "捐赠方类型（见 /meta/enums 的 sponsor_kinds）"}, "quantity": {"type": "integer", "nullable": True, "description": "捐赠数量"}, "value_fen": {"type": "integer", "nullable": True, "description": "折合金额（分）"}}})
    status = fields.String(metadata={"description": "状态（见 /meta/enums 的 benefit_statuses）"})
    is_available = fields.Boolean(metadata={"description": "现在能否兑换：未下架且在兑换期内（库存看 stock_left）"})
    # Staff in scope only.
    counts = fields.Nested(RedemptionCounts, allow_none=True,
                           metadata={"description": "各状态的兑换数（只给管辖范围内的工作人员）"})
    created_at = Instant(metadata={"description": "创建时间"})

    @post_dump
    def _staff_only(self, data, **kwargs):
        if data.get("counts") is None:
            data.pop("counts", None)
        return data


class BenefitListArgs(Schema):
    org_id = QueryId(metadata={"description": "机构 id，含其全部下级"})


class IdempotencyHeader(Schema):
    idempotency_key = fields.String(data_key="Idempotency-Key", load_default=None,
                                    validate=validate.Length(min=1, max=200),
                                    metadata={"description": "幂等键：网络重试时带同一个，不会重复兑换"})


def _pickup_code(redemption):
    """Only the redeemer ever sees the code: whoever holds it can have the unit
    handed over (and the points spent), so staff must take it from the
    resident's screen at the counter, never from a list."""
    viewer = current_user(optional=True)
    return redemption.code if viewer is not None and viewer.id == redemption.user_id else None


class RedemptionOut(Schema):
    id = fields.Integer(metadata={"description": "兑换 id"})
    benefit_id = fields.Integer(metadata={"description": "福利 id"})
    benefit_name = fields.Function(lambda r: r.benefit.name,
                                   metadata={"description": "福利名称", "type": "string"})
    org_id = fields.Function(lambda r: r.benefit.org_id,
                             metadata={"description": "提供福利的机构 id", "type": "integer"})
    user_id = fields.Integer(metadata={"description": "兑换人 id"})
    code = fields.Function(_pickup_code, metadata={"description": "领取码：只给兑换人本人（在社工室出示，GET /redemptions/{id}/code.png）；工作人员看到 null", "type": "string", "nullable": True})
    status = fields.String(metadata={"description": "状态（见 /meta/enums 的 redemption_statuses）"})
    cost = fields.Integer(metadata={"description": "花费的积分"})
    expires_at = Instant(metadata={"description": "领取截止时间；过后自动过期，库存与积分退回"})
    created_at = Instant(metadata={"description": "预约时间"})
    fulfilled_at = Instant(allow_none=True, metadata={"description": "领取时间"})
    cancelled_at = Instant(allow_none=True, metadata={"description": "取消时间"})
    expired_at = Instant(allow_none=True, metadata={"description": "过期时间"})
    corrected_at = Instant(allow_none=True, metadata={"description": "更正时间"})
    correction_reason = fields.String(allow_none=True, metadata={"description": "更正原因"})

    @post_dump
    def _redeemer_only(self, data, **kwargs):
        if data.get("code") is None:
            data.pop("code", None)
        return data


class RedemptionListArgs(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(REDEMPTION_STATUSES),
                           metadata={"description": "只列这一状态"})


class FulfilIn(Schema):
    code = Text(max_len=32, metadata={"description": "兑换人出示的领取码"})


class CorrectIn(Schema):
    reason = Text(max_len=180, metadata={"description": "更正原因"})


class SummaryArgs(Schema):
    since = Instant(data_key="from", load_default=None, metadata={"description": "统计起点（含）；不传为从头"})
    until = Instant(data_key="to", load_default=None, metadata={"description": "统计终点（不含）；不传为现在"})


class PointsFlows(Schema):
    issued = fields.Integer(metadata={"description": "从发放账户发出的积分（服务积分、正数调整）"})
    returned = fields.Integer(metadata={"description": "退回发放账户的积分（冲正、负数调整）"})
    expired = fields.Integer(metadata={"description": "过期收回的积分"})
    redeemed = fields.Integer(metadata={"description": "兑换花掉的积分"})
    corrected = fields.Integer(metadata={"description": "兑换更正退回的积分"})
    held = fields.Integer(metadata={"description": "兑换预约冻结中的积分"})
    outstanding = fields.Integer(metadata={"description": "尚未兑换的积分（机构的积分负债）"})


class StockLine(Schema):
    benefit_id = fields.Integer(metadata={"description": "福利 id"})
    name = fields.String(metadata={"description": "福利名称"})
    org_id = fields.Integer(metadata={"description": "机构 id"})
    status = fields.String(metadata={"description": "福利状态"})
    sponsor_name = fields.String(allow_none=True, metadata={"description": "捐赠方"})
    sponsor_value_fen = fields.Integer(allow_none=True, metadata={"description": "捐赠折合金额（分）"})
    received = fields.Integer(allow_none=True, metadata={"description": "入库数；不限库存为 null"})
    reserved = fields.Integer(metadata={"description": "待领取"})
    fulfilled = fields.Integer(metadata={"description": "已领取"})
    expired = fields.Integer(metadata={"description": "已过期"})
    cancelled = fields.Integer(metadata={"description": "已取消"})
    left = fields.Integer(allow_none=True, metadata={"description": "剩余；不限库存为 null"})
    balanced = fields.Boolean(allow_none=True, metadata={"description": "账物是否相符：入库 − 已领取 − 待领取 = 剩余；不限库存为 null"})


class SummaryOut(Schema):
    org_id = fields.Integer(metadata={"description": "机构 id"})
    since = Instant(data_key="from", allow_none=True, metadata={"description": "统计起点"})
    until = Instant(data_key="to", metadata={"description": "统计终点"})
    points = fields.Nested(PointsFlows, metadata={"description": "积分流动"})
    stock = fields.List(fields.Nested(StockLine), metadata={"description": "每项福利的库存台账"})
