from marshmallow import Schema, fields

from .common import Instant, StrictInteger, Text


class PointsOut(Schema):
    balance = fields.Integer(metadata={"description": "积分余额", "example": 120})
    held = fields.Integer(metadata={"description": "兑换预约冻结中的积分", "example": 20})
    available = fields.Integer(metadata={"description": "可用积分 = balance − held", "example": 100})


class ExpiringOut(Schema):
    months = fields.Integer(allow_none=True,
                            metadata={"description": "积分有效月数；null 表示积分不过期"})  # null: points never expire
    points = fields.Integer(metadata={"description": "30 天内将过期的积分"})  # expiring within 30 days
    by = Instant(allow_none=True,
                 metadata={"description": "其中最早一笔过期的时间；没有为 null"})  # when the first of them expires


class EntryOut(Schema):
    id = fields.Integer(metadata={"description": "流水 id"})
    amount = fields.Integer(metadata={"description": "数额，带符号：正数入账，负数出账"})
    balance_after = fields.Integer(metadata={"description": "这笔之后的余额"})
    kind = fields.String(attribute="transfer.kind",
                         metadata={"description": "类型：earn 服务积分、redeem 兑换、adjustment 调整、reversal 冲正、expiry 过期"})
    memo = fields.String(attribute="transfer.memo", metadata={"description": "说明"})
    cause_key = fields.String(attribute="transfer.cause_key", allow_none=True,
                              metadata={"description": "来源，如 settlement:{报名 id}"})
    transfer_id = fields.Integer(metadata={"description": "所属转账 id"})
    created_at = Instant(metadata={"description": "时间"})


class TransferOut(Schema):
    id = fields.Integer(metadata={"description": "转账 id"})
    kind = fields.String(metadata={"description": "类型：earn 服务积分、redeem 兑换、adjustment 调整、reversal 冲正、expiry 过期"})
    amount = fields.Integer(metadata={"description": "数额（正数），由 debit 账户转入 credit 账户"})
    debit_account_id = fields.Integer(metadata={"description": "转出账户 id"})
    credit_account_id = fields.Integer(metadata={"description": "转入账户 id"})
    memo = fields.String(metadata={"description": "说明"})
    cause_key = fields.String(allow_none=True, metadata={"description": "来源"})
    reverses_id = fields.Integer(allow_none=True, metadata={"description": "冲正的原转账 id"})
    actor_id = fields.Integer(allow_none=True, metadata={"description": "操作人 id"})
    created_at = Instant(metadata={"description": "时间"})


class AdjustmentIn(Schema):
    user_id = StrictInteger(required=True, metadata={"description": "要调整积分的用户 id"})
    amount = StrictInteger(required=True, metadata={"description": "调整数额：非零整数，负数为扣减"})
    reason = Text(max_len=200, metadata={"description": "原因"})
    idempotency_key = Text(max_len=100, metadata={"description": "幂等键：网络重试时用同一个，不会重复调整"})


class AdjustmentOut(Schema):
    """The adjustment's transfer, plus the person and the signed amount they see."""

    id = fields.Integer(attribute="transfer.id", metadata={"description": "转账 id"})
    kind = fields.String(attribute="transfer.kind", metadata={"description": "类型：adjustment"})
    user_id = fields.Integer(metadata={"description": "用户 id"})
    amount = fields.Integer(metadata={"description": "调整数额（带符号，同请求）"})
    reason = fields.String(metadata={"description": "原因"})
    transfer_amount = fields.Integer(attribute="transfer.amount", metadata={"description": "转账数额（正数）"})
    debit_account_id = fields.Integer(attribute="transfer.debit_account_id",
                                      metadata={"description": "转出账户 id"})
    credit_account_id = fields.Integer(attribute="transfer.credit_account_id",
                                       metadata={"description": "转入账户 id"})
    memo = fields.String(attribute="transfer.memo", metadata={"description": "说明"})
    actor_id = fields.Integer(attribute="transfer.actor_id", metadata={"description": "操作人 id"})
    created_at = Instant(attribute="transfer.created_at", metadata={"description": "时间"})


class ReverseIn(Schema):
    reason = Text(max_len=190, metadata={"description": "冲正原因"})
