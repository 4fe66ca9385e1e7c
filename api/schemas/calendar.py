from marshmallow import Schema, fields, validate

from .common import Text


class CalendarDayIn(Schema):
    day = fields.Date(required=True, metadata={"description": "日期"})
    is_workday = fields.Boolean(required=True, truthy={True}, falsy={False},
                                metadata={"description": "true：周末调休上班；false：工作日放假"})  # JSON booleans only
    name = Text(max_len=32, metadata={"description": "名称，如 国庆节、国庆节调休上班"})  # e.g. 国庆节, 国庆节调休上班


class CalendarYearIn(Schema):
    days = fields.List(fields.Nested(CalendarDayIn), required=True, validate=validate.Length(max=60),
                       metadata={"description": "这一年全部的例外日期（整年替换）"})


class CalendarDayOut(Schema):
    day = fields.Date(metadata={"description": "日期"})
    is_workday = fields.Boolean(metadata={"description": "true：这天上班；false：这天放假"})
    name = fields.String(metadata={"description": "名称"})


class CalendarYearOut(Schema):
    year = fields.Integer(metadata={"description": "年份"})
    days = fields.List(fields.Nested(CalendarDayOut), metadata={"description": "例外日期，按日期排序"})
