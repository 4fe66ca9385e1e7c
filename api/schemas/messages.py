"""marshmallow's validation messages, in Chinese, set once for every schema.

Fields and validators copy their messages when they are built, so this runs
before any schema module is imported: `api/schemas/__init__.py` calls it, and
every schema lives under that package (or imports it first).
"""
from marshmallow import Schema, fields, validate

FIELD_MESSAGES = {
    fields.Field: {"required": "缺少必填字段", "null": "不能为 null",
                   "validator_failed": "取值无效"},
    fields.Nested: {"type": "类型错误：需要 JSON 对象"},
    fields.List: {"invalid": "需要数组"},
    fields.Tuple: {"invalid": "需要数组"},
    fields.String: {"invalid": "需要字符串", "invalid_utf8": "不是有效的 UTF-8 字符串"},
    fields.UUID: {"invalid_uuid": "不是有效的 UUID"},
    fields.Number: {"invalid": "需要数字", "too_large": "数值过大"},
    fields.Integer: {"invalid": "需要整数"},
    fields.Float: {"special": "不允许 NaN 或无穷大"},
    fields.Decimal: {"special": "不允许 NaN 或无穷大"},
    fields.Boolean: {"invalid": "需要 true 或 false"},
    fields.DateTime: {"invalid": "不是有效的日期时间（ISO 8601）",
                      "invalid_awareness": "日期时间的时区信息不符合要求",
                      "format": "无法格式化为日期时间"},
    fields.NaiveDateTime: {"invalid_awareness": "日期时间不应带时区"},
    fields.AwareDateTime: {"invalid_awareness": "日期时间须带时区"},
    fields.Date: {"invalid": "不是有效的日期（YYYY-MM-DD）", "invalid_awareness": "日期不应带时区",
                  "format": "无法格式化为日期"},
    fields.Time: {"invalid": "不是有效的时间（HH:MM:SS）", "invalid_awareness": "时间的时区信息不符合要求",
                  "format": "无法格式化为时间"},
    fields.TimeDelta: {"invalid": "不是有效的时长", "format": "无法格式化为时长"},
    fields.Mapping: {"invalid": "需要 JSON 对象"},
    fields.Url: {"invalid": "不是有效的网址"},
    fields.Email: {"invalid": "不是有效的电子邮箱地址"},
    fields.IP: {"invalid_ip": "不是有效的 IP 地址"},
    fields.IPv4: {"invalid_ip": "不是有效的 IPv4 地址"},
    fields.IPv6: {"invalid_ip": "不是有效的 IPv6 地址"},
    fields.IPInterface: {"invalid_ip_interface": "不是有效的 IP 网段"},
    fields.IPv4Interface: {"invalid_ip_interface": "不是有效的 IPv4 网段"},
    fields.IPv6Interface: {"invalid_ip_interface": "不是有效的 IPv6 网段"},
    fields.Enum: {"unknown": "须为以下之一：{choices}"},
}

SCHEMA_MESSAGES = {"type": "类型错误：需要 JSON 对象", "unknown": "未知字段"}

# Validators keep their defaults in class attributes (Range fills in its operators
# when built: "须大于等于 1 且小于等于 100").
VALIDATOR_MESSAGES = {
    validate.Range: {"message_min": "须{min_op} {{min}}", "message_max": "须{max_op} {{max}}",
                     "message_all": "须{min_op} {{min}} 且{max_op} {{max}}",
                     "message_gte": "大于等于", "message_gt": "大于",
                     "message_lte": "小于等于", "message_lt": "小于"},
    validate.Length: {"message_min": "长度不能少于 {min}", "message_max": "长度不能超过 {max}",
                      "message_all": "长度须在 {min} 到 {max} 之间", "message_equal": "长度须为 {equal}"},
    validate.OneOf: {"default_message": "须为以下之一：{choices}"},
    validate.ContainsOnly: {"default_message": "含有不允许的选项，可选：{choices}"},
    validate.NoneOf: {"default_message": "取值无效"},
    validate.ContainsNoneOf: {"default_message": "不能包含：{values}"},
    validate.Equal: {"default_message": "须等于 {other}"},
    validate.Regexp: {"default_message": "格式不正确"},
    validate.Predicate: {"default_message": "取值无效"},
    validate.URL: {"default_message": "不是有效的网址"},
    validate.Email: {"default_message": "不是有效的电子邮箱地址"},
}


def use_chinese_messages() -> None:
    """Replaces marshmallow's English defaults; harmless to call again."""
    for field_class, messages in FIELD_MESSAGES.items():
        # Each class's own dict is replaced (not updated): it may be shared with no one,
        # but a subclass without its own inherits through the MRO walk marshmallow does.
        field_class.default_error_messages = {**field_class.__dict__.get("default_error_messages", {}),
                                              **messages}
    Schema._default_error_messages = {**Schema._default_error_messages, **SCHEMA_MESSAGES}
    for validator_class, attributes in VALIDATOR_MESSAGES.items():
        for name, text in attributes.items():
            setattr(validator_class, name, text)
