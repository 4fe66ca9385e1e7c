from marshmallow import Schema, ValidationError, fields, validate

from core.errors import DomainError
from core.phones import mask_phone
from volunteers import id_numbers

from .common import Instant, Phone, QueryId, StrictString, Text

STATUSES = ("active", "suspended")


class StrictBoolean(fields.Boolean):
    """JSON true or false only: not 1, "yes" or "true"."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class ConsentIn(Schema):
    version = Text(max_len=32)
    agreed = StrictBoolean(required=True)


class GuardianIn(Schema):
    name = Text(max_len=64)
    phone = Phone()
    relation = Text(max_len=32)
    consent = StrictBoolean(required=True)


def _check_id_number(value):
    """Refused here, with the other 422s, so a repeat registration cannot skip it."""
    if value is not None:
        try:
            id_numbers.normalise(value)
        except DomainError as exc:
            raise ValidationError(exc.details["id_number"])


def IdNumber():
    return StrictString(required=False, allow_none=True,
                        validate=[validate.Length(max=32), _check_id_number])


def _skills(**kwargs):
    return fields.List(Text(max_len=20), validate=validate.Length(max=20), **kwargs)


class VolunteerIn(Schema):
    real_name = Text(max_len=64)
    phone = Phone()
    id_number = IdNumber()
    skills = _skills(required=False)
    consent = fields.Nested(ConsentIn, required=False)
    guardian = fields.Nested(GuardianIn, required=False)


class VolunteerPatchIn(Schema):
    real_name = Text(max_len=64, required=False, min_len=1)
    phone = Phone(required=False)
    id_number = IdNumber()
    skills = _skills(required=False)
    consent = fields.Nested(ConsentIn, required=False)
    guardian = fields.Nested(GuardianIn, required=False)


class ConsentOut(Schema):
    version = fields.String(attribute="consent_version")
    agreed_at = Instant(attribute="consented_at")


class GuardianOut(Schema):
    name = fields.String(attribute="guardian_name")
    phone = fields.Function(lambda profile: mask_phone(profile.guardian_phone))
    relation = fields.String(attribute="guardian_relation")
    agreed_at = Instant(attribute="guardian_consented_at")


class VolunteerOut(Schema):
    id = fields.Integer()
    user_id = fields.Integer()
    volunteer_no = fields.String()
    status = fields.String()
    real_name = fields.String()
    phone = fields.String()
    id_number = fields.String(attribute="id_number_masked", allow_none=True)
    birth_date = fields.Date(allow_none=True)
    skills = fields.List(fields.String())
    consent = fields.Function(lambda p: ConsentOut().dump(p) if p.consented_at else None)
    guardian = fields.Function(lambda p: GuardianOut().dump(p) if p.guardian_consented_at else None)
    status_reason = fields.String(allow_none=True)
    created_at = Instant()


class StaffVolunteerOut(VolunteerOut):
    """Staff see the phone masked too: they call through the platform, not from a list.
    Of the birth date only the year: enough for an age group, not to identify someone."""
    phone = fields.Function(lambda profile: mask_phone(profile.phone))
    home_org_id = fields.Function(lambda profile: profile.user.home_org_id)
    birth_year = fields.Function(lambda profile: profile.birth_date.year if profile.birth_date else None)

    class Meta:
        exclude = ("birth_date",)


class VolunteerListArgs(Schema):
    org_id = QueryId()
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))


class StatusChangeIn(Schema):
    reason = Text(max_len=200)


class ServiceRecordOut(Schema):
    id = fields.Integer()
    activity_id = fields.Integer()
    title = fields.String()
    org_id = fields.Integer()
    org_name = fields.String()
    place = fields.String()
    content = fields.String()
    date = fields.Date(attribute="service_date")
    started_at = Instant(allow_none=True)
    ended_at = Instant(allow_none=True)
    minutes = fields.Integer()
    points = fields.Integer()
    responsible_person = fields.String()
    recorded_at = Instant()
    is_late = fields.Boolean()


class TotalsOut(Schema):
    records = fields.Integer()
    minutes = fields.Integer()
    hours = fields.Float()
    points = fields.Integer()
    star = fields.Integer()


class ServiceRecordPage(Schema):
    items = fields.List(fields.Nested(ServiceRecordOut))
    next = fields.String(allow_none=True)
    totals = fields.Nested(TotalsOut)


class CertificateOut(Schema):
    code = fields.String()
    real_name = fields.String()
    volunteer_no = fields.String(allow_none=True)
    record_count = fields.Integer()
    minutes = fields.Integer()
    hours = fields.Function(lambda c: round(c.minutes / 60, 1))
    points = fields.Integer()
    star = fields.Integer()
    first_date = fields.Date(allow_none=True)
    last_date = fields.Date(allow_none=True)
    issued_at = Instant()


def _mask_name(name: str) -> str:
    """刘*远: enough to match the person in front of you, not to look them up."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


class PublicCertificateOut(CertificateOut):
    real_name = fields.Function(lambda c: _mask_name(c.real_name))
