from marshmallow import Schema, ValidationError, fields, validate

from core.errors import DomainError
from core.phones import mask_phone
from volunteers import id_numbers
from volunteers.models import PROFILE_STATUSES as STATUSES

from .common import Instant, Phone, QueryId, StrictString, Text



class StrictBoolean(fields.Boolean):
    """JSON true or false only: not 1, "yes" or "true"."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class ConsentIn(Schema):
    version = Text(max_len=32, metadata={"description": "同意的隐私政策版本", "example": "2026-01"})
    agreed = StrictBoolean(required=True, metadata={"description": "须为 true"})


class GuardianIn(Schema):
    name = Text(max_len=64, metadata={"description": "监护人姓名"})
    phone = Phone(metadata={"description": "监护人手机号"})
    relation = Text(max_len=32, metadata={"description": "与志愿者的关系，如 父亲"})
    consent = StrictBoolean(required=True, metadata={"description": "监护人同意，须为 true"})


def _check_id_number(value):
    """Refused here, with the other 422s, so a repeat registration cannot skip it."""
    if value is not None:
        try:
            id_numbers.normalise(value)
        except DomainError as exc:
            raise ValidationError(exc.details["id_number"])


def IdNumber(**kwargs):
    return StrictString(required=False, allow_none=True,
                        validate=[validate.Length(max=32), _check_id_number], **kwargs)


def _skills(**kwargs):
    return fields.List(Text(max_len=20), validate=validate.Length(max=20), **kwargs)


class VolunteerIn(Schema):
    real_name = Text(max_len=64, metadata={"description": "真实姓名", "example": "刘思远"})
    phone = Phone(metadata={"description": "手机号（大陆手机号，11 位）", "example": "13912345678"})
    id_number = IdNumber(metadata={"description": "居民身份证号码（校验位按 GB 11643 检查）；加密保存，只显示打码"})
    skills = _skills(required=False, metadata={"description": "特长，最多 20 项", "example": ["陪伴", "理发"]})
    consent = fields.Nested(ConsentIn, required=False, metadata={"description": "对隐私政策的同意"})
    guardian = fields.Nested(GuardianIn, required=False, metadata={"description": "监护人同意（未满 14 周岁必填）"})


class VolunteerPatchIn(Schema):
    real_name = Text(max_len=64, required=False, min_len=1, metadata={"description": "真实姓名"})
    phone = Phone(required=False, metadata={"description": "手机号"})
    id_number = IdNumber(metadata={"description": "居民身份证号码"})
    skills = _skills(required=False, metadata={"description": "特长（整体替换）"})
    consent = fields.Nested(ConsentIn, required=False, metadata={"description": "对隐私政策的同意"})
    guardian = fields.Nested(GuardianIn, required=False, metadata={"description": "监护人同意"})


class ConsentOut(Schema):
    version = fields.String(attribute="consent_version", metadata={"description": "隐私政策版本"})
    agreed_at = Instant(attribute="consented_at", metadata={"description": "同意时间"})


class GuardianOut(Schema):
    name = fields.String(attribute="guardian_name", metadata={"description": "监护人姓名"})
    phone = fields.Function(lambda profile: mask_phone(profile.guardian_phone),
                            metadata={"description": "监护人手机号（打码）", "type": "string"})
    relation = fields.String(attribute="guardian_relation", metadata={"description": "与志愿者的关系"})
    agreed_at = Instant(attribute="guardian_consented_at", metadata={"description": "监护人同意时间"})


class VolunteerOut(Schema):
    id = fields.Integer(metadata={"description": "志愿者档案 id"})
    user_id = fields.Integer(metadata={"description": "用户 id"})
    volunteer_no = fields.String(metadata={"description": "志愿者编号"})
    status = fields.String(metadata={"description": "志愿者状态（见 /meta/enums 的 volunteer_statuses）"})
    real_name = fields.String(metadata={"description": "真实姓名"})
    phone = fields.String(metadata={"description": "手机号"})
    id_number = fields.String(attribute="id_number_masked", allow_none=True,
                              metadata={"description": "身份证号码（打码）"})
    birth_date = fields.Date(allow_none=True, metadata={"description": "出生日期（由身份证号码得出）"})
    skills = fields.List(fields.String(), metadata={"description": "特长"})
    consent = fields.Function(lambda p: ConsentOut().dump(p) if p.consented_at else None,
                              metadata={"description": "对隐私政策的同意；未同意为 null", "type": "object", "nullable": True, "properties": {"version": {"type": "string", "description": "隐私政策版本"}, "agreed_at": {"type": "string", "format": "date-time", "description": "同意时间"}}})
    guardian = fields.Function(lambda p: GuardianOut().dump(p) if p.guardian_consented_at else None,
                               metadata={"description": "监护人同意；没有为 null", "type": "object", "nullable": True, "properties": {"name": {"type": "string", "description": "监护人姓名"}, "phone": {"type": "string", "description": "监护人手机号（打码）"}, "relation": {"type": "string", "description": "与志愿者的关系"}, "agreed_at": {"type": "string", "format": "date-time", "description": "监护人同意时间"}}})
    status_reason = fields.String(allow_none=True, metadata={"description": "暂停或恢复的原因"})
    created_at = Instant(metadata={"description": "登记时间"})


class StaffVolunteerOut(VolunteerOut):
    """Staff see the phone masked too: they call through the platform, not from a list.
    Of the birth date only the year: enough for an age group, not to identify someone."""
    phone = fields.Function(lambda profile: mask_phone(profile.phone),
                            metadata={"description": "手机号（打码）", "type": "string"})
    home_org_id = fields.Function(lambda profile: profile.user.home_org_id,
                                  metadata={"description": "所属社区（机构 id）", "type": "integer", "nullable": True})
    birth_year = fields.Function(lambda profile: profile.birth_date.year if profile.birth_date else None,
                                 metadata={"description": "出生年份（工作人员只看到年份）", "type": "integer",
                                           "nullable": True})

    class Meta:
        exclude = ("birth_date",)


class VolunteerListArgs(Schema):
    org_id = QueryId(metadata={"description": "机构 id：列出所属社区在其下的志愿者（默认：调用者管辖的全部）"})
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES),
                           metadata={"description": "只列这一状态"})


class StatusChangeIn(Schema):
    reason = Text(max_len=200, metadata={"description": "原因"})


class ServiceRecordOut(Schema):
    id = fields.Integer(metadata={"description": "服务记录 id"})
    activity_id = fields.Integer(metadata={"description": "活动 id"})
    title = fields.String(metadata={"description": "活动名称"})
    org_id = fields.Integer(metadata={"description": "组织单位（机构 id）"})
    org_name = fields.String(metadata={"description": "组织单位名称"})
    place = fields.String(metadata={"description": "服务地点"})
    content = fields.String(metadata={"description": "服务内容"})
    date = fields.Date(attribute="service_date", metadata={"description": "服务日期"})
    started_at = Instant(allow_none=True, metadata={"description": "开始时间"})
    ended_at = Instant(allow_none=True, metadata={"description": "结束时间"})
    minutes = fields.Integer(metadata={"description": "服务分钟数"})
    points = fields.Integer(metadata={"description": "获得的积分"})
    responsible_person = fields.String(metadata={"description": "负责人"})
    recorded_at = Instant(metadata={"description": "记录时间"})
    is_late = fields.Boolean(metadata={"description": "是否超过活动结束后 10 个工作日才记录"})


class TotalsOut(Schema):
    records = fields.Integer(metadata={"description": "服务记录条数"})
    minutes = fields.Integer(metadata={"description": "累计服务分钟数"})
    hours = fields.Float(metadata={"description": "累计服务小时数（一位小数）"})
    points = fields.Integer(metadata={"description": "累计获得的积分"})
    star = fields.Integer(metadata={"description": "星级（按累计时长）"})


class ServiceRecordPage(Schema):
    items = fields.List(fields.Nested(ServiceRecordOut), metadata={"description": "本页的服务记录，最新的在前"})
    next = fields.String(allow_none=True, metadata={"description": "下一页的游标；没有更多时为 null"})
    totals = fields.Nested(TotalsOut, metadata={"description": "全部记录的合计（不只本页）"})


class CertificateOut(Schema):
    code = fields.String(metadata={"description": "证明编号，凭它在 /certificates/{code} 查验"})
    real_name = fields.String(metadata={"description": "志愿者姓名"})
    volunteer_no = fields.String(allow_none=True, metadata={"description": "志愿者编号"})
    record_count = fields.Integer(metadata={"description": "服务记录条数"})
    minutes = fields.Integer(metadata={"description": "累计服务分钟数"})
    hours = fields.Function(lambda c: round(c.minutes / 60, 1),
                            metadata={"description": "累计服务小时数（一位小数）", "type": "number"})
    points = fields.Integer(metadata={"description": "累计积分"})
    star = fields.Integer(metadata={"description": "星级"})
    first_date = fields.Date(allow_none=True, metadata={"description": "第一次服务的日期"})
    last_date = fields.Date(allow_none=True, metadata={"description": "最近一次服务的日期"})
    issued_at = Instant(metadata={"description": "开具时间"})


def _mask_name(name: str) -> str:
    """刘*远: enough to match the person in front of you, not to look them up."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


class PublicCertificateOut(CertificateOut):
    real_name = fields.Function(lambda c: _mask_name(c.real_name),
                                metadata={"description": "志愿者姓名（打码，如 刘*远）", "type": "string"})
