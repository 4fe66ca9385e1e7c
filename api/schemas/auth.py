from marshmallow import Schema, fields, validate

from core.phones import mask_phone

from .common import Phone, StrictInteger, Text


class LoginIn(Schema):
    phone = Text(max_len=20, metadata={"description": "工作人员的手机号", "example": "13800000000"})
    password = fields.String(required=True, validate=validate.Length(min=1, max=128),
                             metadata={"description": "密码", "example": "linli-demo-2026"})


class PasswordChangeIn(Schema):
    current_password = fields.String(required=True, validate=validate.Length(min=1, max=128),
                                     metadata={"description": "当前密码"})
    new_password = fields.String(required=True, validate=validate.Length(min=8, max=128),
                                 metadata={"description": "新密码，至少 8 位"})


class WechatLoginIn(Schema):
    code = Text(max_len=128, metadata={"description": "wx.login 取得的 code（只能用一次）", "example": "0a3Xyz000abc"})


class DevLoginIn(Schema):
    openid = Text(max_len=64,
                  metadata={"description": "演示用 openid：同一 openid 即同一居民", "example": "demo-resident"})
    nickname = Text(max_len=64, required=False, metadata={"description": "昵称"})


class RefreshIn(Schema):
    refresh_token = fields.String(required=True, validate=validate.Length(min=1, max=2048),
                                  metadata={"description": "登录时取得的 refresh_token，用一次即作废"})


class RoleOut(Schema):
    org_id = fields.Integer(metadata={"description": "机构 id"})
    role = fields.String(metadata={"description": "角色，作用于该机构及其全部下级（见 /meta/enums 的 roles）"})


class VolunteerBrief(Schema):
    id = fields.Integer(metadata={"description": "志愿者档案 id"})
    status = fields.String(metadata={"description": "志愿者状态（见 /meta/enums 的 volunteer_statuses）"})
    real_name = fields.String(metadata={"description": "真实姓名"})
    volunteer_no = fields.String(allow_none=True, metadata={"description": "志愿者编号"})


class UserOut(Schema):
    id = fields.Integer(metadata={"description": "用户 id"})
    nickname = fields.String(metadata={"description": "昵称"})
    phone = fields.Function(lambda user: mask_phone(user.phone),
                            metadata={"description": "手机号（打码，如 138****0000）；未绑定为 null", "type": "string", "nullable": True})
    home_org_id = fields.Integer(allow_none=True, metadata={"description": "所属社区（机构 id）"})
    roles = fields.List(fields.Nested(RoleOut), metadata={"description": "工作人员角色；居民为空数组"})
    volunteer = fields.Nested(VolunteerBrief, allow_none=True,
                              metadata={"description": "志愿者档案摘要；不是志愿者为 null"})


class TokenPairOut(Schema):
    access_token = fields.String(metadata={"description": "访问令牌，放在 Authorization: Bearer 之后"})
    refresh_token = fields.String(metadata={"description": "刷新令牌：access_token 过期后用 POST /auth/refresh 换新的一对"})
    token_type = fields.String(metadata={"description": "固定为 Bearer"})
    expires_in = fields.Integer(metadata={"description": "access_token 的有效秒数"})
    user = fields.Nested(UserOut, metadata={"description": "登录的用户"})


class MePatchIn(Schema):
    nickname = Text(max_len=64, required=False, metadata={"description": "昵称"})
    phone = Phone(required=False, metadata={"description": "手机号（大陆手机号，11 位）"})
    home_org_id = StrictInteger(allow_none=False, metadata={"description": "所属社区（机构 id）"})
