from marshmallow import Schema, fields

from .common import Instant, StrictInteger, Text


class PointsOut(Schema):
    balance = fields.Integer()
    held = fields.Integer()
    available = fields.Integer()


class ExpiringOut(Schema):
    months = fields.Integer(allow_none=True)  # null: points never expire
    points = fields.Integer()  # expiring within 30 days
    by = Instant(allow_none=True)  # when the first of them expires


class EntryOut(Schema):
    id = fields.Integer()
    amount = fields.Integer(metadata={"description": "signed: + credited, − debited"})
    balance_after = fields.Integer()
    kind = fields.String(attribute="transfer.kind")
    memo = fields.String(attribute="transfer.memo")
    cause_key = fields.String(attribute="transfer.cause_key", allow_none=True)
    transfer_id = fields.Integer()
    created_at = Instant()


class TransferOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    amount = fields.Integer(metadata={"description": "positive, moved from debit to credit"})
    debit_account_id = fields.Integer()
    credit_account_id = fields.Integer()
    memo = fields.String()
    cause_key = fields.String(allow_none=True)
    reverses_id = fields.Integer(allow_none=True)
    actor_id = fields.Integer(allow_none=True)
    created_at = Instant()


class AdjustmentIn(Schema):
    user_id = StrictInteger(required=True)
    amount = StrictInteger(required=True, metadata={"description": "non-zero; negative debits"})
    reason = Text(max_len=200)
    idempotency_key = Text(max_len=100)


class AdjustmentOut(Schema):
    """The adjustment's transfer, plus the person and the signed amount they see."""

    id = fields.Integer(attribute="transfer.id")
    kind = fields.String(attribute="transfer.kind")
    user_id = fields.Integer()
    amount = fields.Integer(metadata={"description": "signed, as requested"})
    reason = fields.String()
    transfer_amount = fields.Integer(attribute="transfer.amount")
    debit_account_id = fields.Integer(attribute="transfer.debit_account_id")
    credit_account_id = fields.Integer(attribute="transfer.credit_account_id")
    memo = fields.String(attribute="transfer.memo")
    actor_id = fields.Integer(attribute="transfer.actor_id")
    created_at = Instant(attribute="transfer.created_at")


class ReverseIn(Schema):
    reason = Text(max_len=190)
