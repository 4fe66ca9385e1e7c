from marshmallow import Schema, fields, validate

from core.phones import mask_phone
from orgs.models import KINDS, ROLES

from .common import Phone, QueryId, StrictInteger, Text


class OrgIn(Schema):
    name = Text(max_len=100)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    parent_id = StrictInteger(required=True)


class OrgOut(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    parent_id = fields.Integer(allow_none=True)


class OrgListArgs(Schema):
    parent_id = QueryId()
    kind = fields.String(load_default=None, validate=validate.OneOf(KINDS))


class StaffIn(Schema):
    phone = Phone()
    name = Text(max_len=64)
    password = fields.String(required=True, validate=validate.Length(min=8, max=128))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))


class PasswordResetIn(Schema):
    new_password = fields.String(required=True, validate=validate.Length(min=8, max=128))


class StaffOut(Schema):
    user_id = fields.Integer()
    org_id = fields.Integer()
    role = fields.String()


class StaffListArgs(Schema):
    subtree = fields.Boolean(load_default=False)


class PersonOut(Schema):
    user_id = fields.Integer()
    name = fields.String()
    phone = fields.Function(lambda person: mask_phone(person.phone))


class StaffMemberOut(Schema):
    person = fields.Nested(PersonOut)
    org_id = fields.Integer()
    role = fields.String()
