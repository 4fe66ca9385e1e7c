"""Fields and schemas every feature's schemas share."""
from datetime import date, datetime

from marshmallow import Schema, ValidationError, fields, validate

from core.bounds import INSTANT_PROBLEM, INT_LIMIT, is_sane_instant
from core.phones import MAINLAND_MOBILE

from ..settings import current_settings


def local_zone():
    return current_settings().zone


class Instant(fields.DateTime):
    """ISO 8601 with an offset. Input without an offset is read in the configured
    zone; output is given in that zone (+08:00 by default). A date alone is not
    an instant (it would silently mean midnight), and only the years of
    core.bounds are accepted."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError("需要 ISO 8601 时间字符串")
        try:
            date.fromisoformat(value)
        except ValueError:
            pass
        else:
            raise ValidationError("需要日期和时间，如 2026-12-01T09:00:00+08:00，不能只有日期")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError("不是有效的 ISO 8601 时间")
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=local_zone())
        if not is_sane_instant(parsed):
            raise ValidationError(INSTANT_PROBLEM)
        return parsed

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return value.astimezone(local_zone()).isoformat()


class DeviceInstant(Instant):
    """A device's own clock, kept in the log and never judged: an old phone whose
    clock reset to 1970 must still check its owner in, so a well-formed time
    outside the sane years is dropped (None) instead of refused. A malformed
    value is still a client bug (422)."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return super()._deserialize(value, attr, data, **kwargs)
        except ValidationError as error:
            if error.messages == [INSTANT_PROBLEM]:
                return None
            raise


# Ids and counts are 32-bit columns (INT_LIMIT): a larger number would overflow
# the database driver (a 500), so it is refused as input instead.


class BoundedInteger(fields.Integer):
    """An integer within ±INT_LIMIT (query strings like "12" are accepted)."""

    def _validated(self, value):
        value = super()._validated(value)
        if value is not None and abs(value) > INT_LIMIT:
            raise ValidationError(f"必须在 ±{INT_LIMIT} 之内")
        return value


class StrictInteger(BoundedInteger):
    """An integer that refuses `true`, `1.5` and `"12"`, unlike marshmallow's default."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)

    def _validated(self, value):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._validated(value)


def QueryId(**kwargs):
    """An optional id in a query string."""
    return BoundedInteger(load_default=None, **kwargs)


class StrictString(fields.String):
    """A string, trimmed, refusing blank input when required."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        return value.strip()


def Text(*, max_len: int, required: bool = True, min_len: int | None = None, blank: bool = False,
         **kwargs):
    """Trimmed text of at most `max_len`; empty (or only spaces) only where `blank`
    says a field may be cleared, e.g. a description: never a name or a nickname."""
    if min_len is None:
        min_len = 0 if blank else 1
    return StrictString(required=required, validate=validate.Length(min=min_len, max=max_len), **kwargs)


def Phone(*, required: bool = True, **kwargs):
    """A mainland mobile number, 11 digits starting with 1."""
    return StrictString(required=required,
                        validate=validate.Regexp(MAINLAND_MOBILE, error="不是有效的手机号码"), **kwargs)


class PageArgs(Schema):
    cursor = fields.String(load_default=None, metadata={"description": "上一页返回的 next；不传为第一页"})
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100),
                           metadata={"description": "每页条数"})


_page_schemas: dict = {}


def page_of(item_schema) -> type[Schema]:
    """`{"items": [...], "next": cursor or null}` of `item_schema` items."""
    name = f"{item_schema.__name__}Page"
    if name not in _page_schemas:
        _page_schemas[name] = Schema.from_dict(
            {"items": fields.List(fields.Nested(item_schema), metadata={"description": "本页的条目"}),
             "next": fields.String(allow_none=True, metadata={
                 "description": "下一页的游标（作为 ?cursor= 传回）；没有更多时为 null"})},
            name=name,
        )
    return _page_schemas[name]


class ErrorBody(Schema):
    code = fields.String(metadata={"description": "稳定的错误码（大写下划线），客户端据此判断", "example": "OUT_OF_STOCK"})
    message = fields.String(metadata={"description": "给人看的说明（中文）", "example": "该福利已兑完"})
    details = fields.Dict(metadata={"description": "补充信息；参数错误时按字段列出原因：{字段: [原因, …]}"})


class ErrorEnvelope(Schema):
    """Every error: `{"error": {"code", "message", "details"}}` with the HTTP status."""

    error = fields.Nested(ErrorBody, metadata={"description": "错误"})
