from marshmallow import Schema, fields, validate

from .common import Text


class CalendarDayIn(Schema):
    day = fields.Date(required=True)
    is_workday = fields.Boolean(required=True, truthy={True}, falsy={False})  # JSON booleans only
    name = Text(max_len=32)  # e.g. 国庆节, 国庆节调休上班


class CalendarYearIn(Schema):
    days = fields.List(fields.Nested(CalendarDayIn), required=True, validate=validate.Length(max=60))


class CalendarDayOut(Schema):
    day = fields.Date()
    is_workday = fields.Boolean()
    name = fields.String()


class CalendarYearOut(Schema):
    year = fields.Integer()
    days = fields.List(fields.Nested(CalendarDayOut))
