from marshmallow import Schema, fields, post_dump, validate

from api.auth import current_user
from points.benefits_models import LIMIT_PERIODS, LIMIT_TOTAL, REDEMPTION_STATUSES, SPONSOR_KINDS

from .common import Instant, QueryId, StrictInteger, Text

POSITIVE = validate.Range(min=1)
NOT_NEGATIVE = validate.Range(min=0)


class SponsorIn(Schema):
    name = Text(max_len=100)
    kind = fields.String(required=True, validate=validate.OneOf(SPONSOR_KINDS))
    quantity = StrictInteger(load_default=None, allow_none=True, validate=NOT_NEGATIVE)
    value_fen = StrictInteger(load_default=None, allow_none=True, validate=NOT_NEGATIVE)


class BenefitIn(Schema):
    name = Text(max_len=100)
    description = Text(max_len=2000, required=False, blank=True, load_default="")
    image_url = fields.URL(load_default=None, allow_none=True, schemes={"http", "https"},
                           validate=validate.Length(max=500))
    cost = StrictInteger(required=True, validate=validate.Range(min=1, max=10_000_000))
    # Absent or null: unlimited.
    stock = StrictInteger(load_default=None, allow_none=True, validate=validate.Range(min=0, max=10_000_000))
    per_user_limit = StrictInteger(load_default=None, allow_none=True, validate=POSITIVE)
    limit_period = fields.String(load_default=LIMIT_TOTAL, validate=validate.OneOf(LIMIT_PERIODS))
    available_from = Instant(load_default=None, allow_none=True)
    available_until = Instant(load_default=None, allow_none=True)
    min_star = StrictInteger(load_default=0, validate=validate.Range(min=0, max=10))
    residents_only = fields.Boolean(load_default=False)
    sponsor = fields.Nested(SponsorIn, load_default=None, allow_none=True)


class BenefitPatch(Schema):
    name = Text(max_len=100, required=False)
    description = Text(max_len=2000, required=False, blank=True, allow_none=True)
    image_url = fields.URL(allow_none=True, schemes={"http", "https"}, validate=validate.Length(max=500))
    cost = StrictInteger(validate=validate.Range(min=1, max=10_000_000))
    per_user_limit = StrictInteger(allow_none=True, validate=POSITIVE)
    limit_period = fields.String(validate=validate.OneOf(LIMIT_PERIODS))
    available_from = Instant(allow_none=True)
    available_until = Instant(allow_none=True)
    min_star = StrictInteger(validate=validate.Range(min=0, max=10))
    residents_only = fields.Boolean()
    sponsor = fields.Nested(SponsorIn, allow_none=True)


class RestockIn(Schema):
    quantity = StrictInteger(required=True, validate=validate.Range(min=1, max=10_000_000))
    note = Text(max_len=200, required=False, blank=True, load_default="")


class SponsorOut(Schema):
    name = fields.String(attribute="sponsor_name")
    kind = fields.String(attribute="sponsor_kind")
    quantity = fields.Integer(attribute="sponsor_quantity", allow_none=True)
    value_fen = fields.Integer(attribute="sponsor_value_fen", allow_none=True)


class RedemptionCounts(Schema):
    reserved = fields.Integer()
    fulfilled = fields.Integer()
    cancelled = fields.Integer()
    expired = fields.Integer()


class BenefitOut(Schema):
    id = fields.Integer()
    org_id = fields.Integer()
    org_name = fields.Function(lambda b: b.org.name)
    name = fields.String()
    description = fields.String()
    image_url = fields.String(allow_none=True)
    cost = fields.Integer()
    stock = fields.Integer(attribute="stock_initial", allow_none=True)
    stock_received = fields.Integer(allow_none=True)
    stock_left = fields.Integer(allow_none=True)
    per_user_limit = fields.Integer(allow_none=True)
    limit_period = fields.String()
    available_from = Instant(allow_none=True)
    available_until = Instant(allow_none=True)
    min_star = fields.Integer()
    residents_only = fields.Boolean(attribute="is_residents_only")
    sponsor = fields.Function(lambda b: SponsorOut().dump(b) if b.sponsor_name else None)
    status = fields.String()
    is_available = fields.Boolean()
    # Staff in scope only.
    counts = fields.Nested(RedemptionCounts, allow_none=True)
    created_at = Instant()

    @post_dump
    def _staff_only(self, data, **kwargs):
        if data.get("counts") is None:
            data.pop("counts", None)
        return data


class BenefitListArgs(Schema):
    org_id = QueryId()


class IdempotencyHeader(Schema):
    idempotency_key = fields.String(data_key="Idempotency-Key", load_default=None,
                                    validate=validate.Length(min=1, max=200))


def _pickup_code(redemption):
    """Only the redeemer ever sees the code: whoever holds it can have the unit
    handed over (and the points spent), so staff must take it from the
    resident's screen at the counter, never from a list."""
    viewer = current_user(optional=True)
    return redemption.code if viewer is not None and viewer.id == redemption.user_id else None


class RedemptionOut(Schema):
    id = fields.Integer()
    benefit_id = fields.Integer()
    benefit_name = fields.Function(lambda r: r.benefit.name)
    org_id = fields.Function(lambda r: r.benefit.org_id)
    user_id = fields.Integer()
    code = fields.Function(_pickup_code, metadata={"description": "the pickup code: to the redeemer only"})
    status = fields.String()
    cost = fields.Integer()
    expires_at = Instant()
    created_at = Instant()
    fulfilled_at = Instant(allow_none=True)
    cancelled_at = Instant(allow_none=True)
    expired_at = Instant(allow_none=True)
    corrected_at = Instant(allow_none=True)
    correction_reason = fields.String(allow_none=True)

    @post_dump
    def _redeemer_only(self, data, **kwargs):
        if data.get("code") is None:
            data.pop("code", None)
        return data


class RedemptionListArgs(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(REDEMPTION_STATUSES))


class FulfilIn(Schema):
    code = Text(max_len=32)


class CorrectIn(Schema):
    reason = Text(max_len=180)


class SummaryArgs(Schema):
    since = Instant(data_key="from", load_default=None)
    until = Instant(data_key="to", load_default=None)


class PointsFlows(Schema):
    issued = fields.Integer()
    returned = fields.Integer()
    expired = fields.Integer()
    redeemed = fields.Integer()
    corrected = fields.Integer()
    held = fields.Integer()
    outstanding = fields.Integer()


class StockLine(Schema):
    benefit_id = fields.Integer()
    name = fields.String()
    org_id = fields.Integer()
    status = fields.String()
    sponsor_name = fields.String(allow_none=True)
    sponsor_value_fen = fields.Integer(allow_none=True)
    received = fields.Integer(allow_none=True)
    reserved = fields.Integer()
    fulfilled = fields.Integer()
    expired = fields.Integer()
    cancelled = fields.Integer()
    left = fields.Integer(allow_none=True)
    balanced = fields.Boolean(allow_none=True)


class SummaryOut(Schema):
    org_id = fields.Integer()
    since = Instant(data_key="from", allow_none=True)
    until = Instant(data_key="to")
    points = fields.Nested(PointsFlows)
    stock = fields.List(fields.Nested(StockLine))
