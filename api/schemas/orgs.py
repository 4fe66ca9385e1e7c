from marshmallow import Schema, fields, validate

from core.phones import mask_phone
from orgs.models import KINDS, ROLES

from .common import Phone, QueryId, StrictInteger, Text


class OrgIn(Schema):
    name = Text(max_len=100, metadata={"description": "机构名称，同一上级下不重名", "example": "民族社区社工室"})
    kind = fields.String(required=True, validate=validate.OneOf(KINDS),
                         metadata={"description": "机构层级，须正好比上级低一级"})
    parent_id = StrictInteger(required=True, metadata={"description": "上级机构 id"})


class OrgOut(Schema):
    id = fields.Integer(metadata={"description": "机构 id"})
    name = fields.String(metadata={"description": "机构名称"})
    kind = fields.String(metadata={"description": "机构层级（见 /meta/enums 的 org_kinds）"})
    parent_id = fields.Integer(allow_none=True, metadata={"description": "上级机构 id；市级根机构为 null"})


class OrgListArgs(Schema):
    parent_id = QueryId(metadata={"description": "只列这个机构的直接下级"})
    kind = fields.String(load_default=None, validate=validate.OneOf(KINDS),
                         metadata={"description": "只列这一层级"})


class StaffIn(Schema):
    phone = Phone(metadata={"description": "手机号（登录用）"})
    name = Text(max_len=64, metadata={"description": "姓名（新建账号时作为昵称）"})
    password = fields.String(required=True, validate=validate.Length(min=8, max=128),
                             metadata={"description": "初始密码，至少 8 位（已有账号不会被改）"})
    role = fields.String(required=True, validate=validate.OneOf(ROLES), metadata={"description": "角色"})


class PasswordResetIn(Schema):
    new_password = fields.String(required=True, validate=validate.Length(min=8, max=128),
                                 metadata={"description": "新密码，至少 8 位"})


class StaffOut(Schema):
    user_id = fields.Integer(metadata={"description": "用户 id"})
    org_id = fields.Integer(metadata={"description": "机构 id"})
    role = fields.String(metadata={"description": "角色（见 /meta/enums 的 roles）"})


class StaffListArgs(Schema):
    subtree = fields.Boolean(load_default=False, metadata={"description": "连同下级机构的工作人员一起列出"})


class PersonOut(Schema):
    user_id = fields.Integer(metadata={"description": "用户 id"})
    name = fields.String(metadata={"description": "姓名：有志愿者档案时为实名，否则为昵称"})
    phone = fields.Function(lambda person: mask_phone(person.phone),
                            metadata={"description": "手机号（打码）", "type": "string"})


class StaffMemberOut(Schema):
    person = fields.Nested(PersonOut, metadata={"description": "这名工作人员"})
    org_id = fields.Integer(metadata={"description": "机构 id"})
    role = fields.String(metadata={"description": "角色（见 /meta/enums 的 roles）"})
