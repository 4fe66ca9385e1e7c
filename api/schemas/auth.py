from marshmallow import Schema, fields, validate

from core.phones import mask_phone

from .common import Phone, StrictInteger, Text


class LoginIn(Schema):
    phone = Text(max_len=20)
    password = fields.String(required=True, validate=validate.Length(min=1, max=128))


class PasswordChangeIn(Schema):
    current_password = fields.String(required=True, validate=validate.Length(min=1, max=128))
    new_password = fields.String(required=True, validate=validate.Length(min=8, max=128))


class WechatLoginIn(Schema):
    code = Text(max_len=128)


class DevLoginIn(Schema):
    openid = Text(max_len=64)
    nickname = Text(max_len=64, required=False)


class RefreshIn(Schema):
    refresh_token = fields.String(required=True, validate=validate.Length(min=1, max=2048))


class RoleOut(Schema):
    org_id = fields.Integer()
    role = fields.String()


class VolunteerBrief(Schema):
    id = fields.Integer()
    status = fields.String()
    real_name = fields.String()
    volunteer_no = fields.String(allow_none=True)


class UserOut(Schema):
    id = fields.Integer()
    nickname = fields.String()
    phone = fields.Function(lambda user: mask_phone(user.phone))
    home_org_id = fields.Integer(allow_none=True)
    roles = fields.List(fields.Nested(RoleOut))
    volunteer = fields.Nested(VolunteerBrief, allow_none=True)


class TokenPairOut(Schema):
    access_token = fields.String()
    refresh_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()
    user = fields.Nested(UserOut)


class MePatchIn(Schema):
    nickname = Text(max_len=64, required=False)
    phone = Phone(required=False)
    home_org_id = StrictInteger(allow_none=False)
