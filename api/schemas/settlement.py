from marshmallow import Schema, fields, validate

from .common import Instant, StrictInteger, Text


class SettlementAdjustmentIn(Schema):
    registration_id = StrictInteger(required=True)
    minutes = StrictInteger(required=True, validate=validate.Range(min=0, max=24 * 60))
    note = Text(max_len=500)


class SettleIn(Schema):
    adjustments = fields.List(fields.Nested(SettlementAdjustmentIn), load_default=list,
                              validate=validate.Length(max=5000))


class SettlementRecordOut(Schema):
    registration_id = fields.Integer()
    user_id = fields.Integer()
    role = fields.String()
    minutes = fields.Integer()
    points = fields.Integer()
    measured_minutes = fields.Integer()
    is_adjusted = fields.Boolean()
    is_unverified = fields.Boolean()
    is_capped = fields.Boolean()
    note = fields.String()


class UnverifiedOut(Schema):
    registration_id = fields.Integer()
    user_id = fields.Integer()


class SettlementOut(Schema):
    """A settlement, or the preview of one (status `preview`, `settled_at` null)."""

    activity_id = fields.Integer()
    status = fields.String()
    records = fields.List(fields.Nested(SettlementRecordOut))
    unverified = fields.Function(
        lambda s: [{"registration_id": r.registration_id, "user_id": r.user_id}
                   for r in s.records if r.is_unverified])
    minutes_total = fields.Integer()
    points_total = fields.Integer()
    rounding = fields.String()
    settled_at = Instant(allow_none=True)
