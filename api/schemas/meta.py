from marshmallow import Schema, fields

from api.labels import ENUMS


class EnumValueOut(Schema):
    value = fields.String(metadata={"description": "接口里出现的取值", "example": "elderly_care"})
    label = fields.String(metadata={"description": "给人看的中文名称", "example": "养老服务"})


EnumsOut = Schema.from_dict(
    {name: fields.List(fields.Nested(EnumValueOut), metadata={"description": title})
     for name, (title, _values, _labels) in ENUMS.items()},
    name="EnumsOut")
