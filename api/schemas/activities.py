from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from activities.models import ACTIONS, DOMAINS, ROLES, ROUNDING_RULES, STATUSES
from activities.passes import checkin_link

from .common import Instant, QueryId, StrictInteger, Text


class Number(fields.Float):
    """A JSON number (not a string, not a boolean)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError("需要数字")
        return super()._deserialize(value, attr, data, **kwargs)


class StrictBoolean(fields.Boolean):
    """JSON true or false only."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError("需要 true 或 false")
        return value


class GeofenceSchema(Schema):
    lat = Number(required=True, validate=validate.Range(min=-90, max=90))
    lng = Number(required=True, validate=validate.Range(min=-180, max=180))
    radius_m = StrictInteger(required=True, validate=validate.Range(min=1, max=100_000))


NON_NEGATIVE = validate.Range(min=0)


class ActivityIn(Schema):
    title = Text(max_len=200)
    description = Text(max_len=5000, required=False, blank=True, load_default="")
    domain = fields.String(required=True, validate=validate.OneOf(DOMAINS))
    category = Text(max_len=64, required=False, blank=True, load_default="")
    location = Text(max_len=200)
    starts_at = Instant(required=True)
    ends_at = Instant(required=True)
    capacity = StrictInteger(required=True, validate=validate.Range(min=0, max=100_000))
    volunteer_slots = StrictInteger(required=True, validate=validate.Range(min=0, max=100_000))
    points_per_hour = StrictInteger(required=True, validate=validate.Range(min=0, max=10_000))
    attendance_points = StrictInteger(load_default=0, validate=validate.Range(min=0, max=10_000))
    allow_walk_in = StrictBoolean(load_default=False, attribute="is_walk_in_allowed")
    checkin_opens_before_min = StrictInteger(load_default=30, validate=validate.Range(min=0, max=1440))
    checkin_closes_after_min = StrictInteger(load_default=30, validate=validate.Range(min=0, max=1440))
    geofence = fields.Nested(GeofenceSchema, load_default=None, allow_none=True)
    # Settlement's rounding of measured minutes (completed half hours / hours for the last two).
    rounding = fields.String(load_default="minute", validate=validate.OneOf(ROUNDING_RULES))

    @validates_schema
    def _ends_after_start(self, data, **kwargs):
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            raise ValidationError("结束时间须晚于开始时间", "ends_at")


class CountsOut(Schema):
    participants = fields.Integer()
    volunteers = fields.Integer()
    waitlisted = fields.Integer()


class ActivityOut(Schema):
    id = fields.Integer()
    org_id = fields.Integer()
    title = fields.String()
    description = fields.String()
    domain = fields.String()
    category = fields.String()
    location = fields.String()
    starts_at = Instant()
    ends_at = Instant()
    capacity = fields.Integer()
    volunteer_slots = fields.Integer()
    points_per_hour = fields.Integer()
    rounding = fields.String()
    attendance_points = fields.Integer()
    allow_walk_in = fields.Boolean(attribute="is_walk_in_allowed")
    checkin_opens_before_min = fields.Integer()
    checkin_closes_after_min = fields.Integer()
    geofence = fields.Dict(allow_none=True)
    status = fields.String()
    created_at = Instant()
    published_at = Instant(allow_none=True)
    cancelled_at = Instant(allow_none=True)


class ActivityDetailOut(ActivityOut):
    counts = fields.Nested(CountsOut)


class ActivityListArgs(Schema):
    org_id = QueryId()
    domain = fields.String(load_default=None, validate=validate.OneOf(DOMAINS))
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    starts_from = Instant(load_default=None, data_key="from")
    starts_before = Instant(load_default=None, data_key="to")


class RegistrationIn(Schema):
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    user_id = StrictInteger(load_default=None)


class RegistrationOut(Schema):
    id = fields.Integer()
    activity_id = fields.Integer()
    user_id = fields.Integer()
    role = fields.String()
    status = fields.String()
    method = fields.String()
    registered_at = Instant()
    checked_in_at = Instant(allow_none=True)
    checked_out_at = Instant(allow_none=True)


class CancelledOut(Schema):
    id = fields.Integer()
    status = fields.String()


class CodeOut(Schema):
    code = fields.String()
    # The URL the door QR carries (CHECKIN_LINK_BASE + code), or null when QRs carry the bare code.
    link = fields.Function(lambda issued: checkin_link(issued.code))
    expires_at = Instant()
    refresh_at = Instant()


class CheckinCodeField(fields.String):
    """A check-in code, or the link a door QR carries: its last path segment is the code."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if value.startswith(("https://", "http://")):
            value = value.split("?", 1)[0].split("#", 1)[0].rstrip("/").rpartition("/")[2]
        return value


class PassOut(Schema):
    code = fields.String()
    expires_at = Instant()


class ScanFields(Schema):
    action = fields.String(load_default="in", validate=validate.OneOf(ACTIONS))
    device_id = Text(max_len=200, required=False, blank=True, load_default=None)
    client_time = Instant(load_default=None)


class CheckinIn(ScanFields):
    code = CheckinCodeField(required=True, validate=validate.Length(min=1, max=200))
    lat = Number(load_default=None, validate=validate.Range(min=-90, max=90))
    lng = Number(load_default=None, validate=validate.Range(min=-180, max=180))
    activity_id = StrictInteger(load_default=None)


class StaffScanIn(ScanFields):
    code = fields.String(required=True, validate=validate.Length(min=1, max=200))


class ManualCheckinIn(ScanFields):
    pass


class OfflineScanIn(Schema):
    client_ref = Text(max_len=64, required=True)  # the device's own id for the scan
    action = fields.String(load_default="in", validate=validate.OneOf(ACTIONS))
    scanned_at = Instant(required=True)
    code = fields.String(load_default=None, validate=validate.Length(min=1, max=200))
    registration_id = StrictInteger(load_default=None)

    @validates_schema
    def _one_way(self, data, **kwargs):
        if (data.get("code") is None) == (data.get("registration_id") is None):
            raise ValidationError("须给出 code（扫码）或 registration_id（手工签到）之一", "code")


MAX_OFFLINE_SCANS = 500


class OfflineScansIn(Schema):
    device_id = Text(max_len=200, required=False, blank=True, load_default=None)
    scans = fields.List(fields.Nested(OfflineScanIn), required=True,
                        validate=validate.Length(min=1, max=MAX_OFFLINE_SCANS))

    @validates_schema
    def _distinct_refs(self, data, **kwargs):
        refs = [scan["client_ref"] for scan in data.get("scans", [])]
        if len(set(refs)) != len(refs):
            raise ValidationError("client_ref 在一批中须各不相同", "scans")


class OfflineResultOut(Schema):
    client_ref = fields.String()
    result = fields.String()
    reason = fields.String(allow_none=True)
    scan_id = fields.Integer()
    registration_id = fields.Integer(allow_none=True)
    checked_in_at = Instant(allow_none=True)
    checked_out_at = Instant(allow_none=True)


class OfflineResultsOut(Schema):
    results = fields.List(fields.Nested(OfflineResultOut))


class CheckinOut(Schema):
    registration_id = fields.Integer()
    activity_id = fields.Integer()
    status = fields.String()
    first = fields.Boolean()
    checked_in_at = Instant(allow_none=True)
    checked_out_at = Instant(allow_none=True)
    scan_id = fields.Integer()


class ScanLogOut(Schema):
    id = fields.Integer()
    activity_id = fields.Integer(allow_none=True)
    registration_id = fields.Integer(allow_none=True)
    user_id = fields.Integer(allow_none=True)
    actor_id = fields.Integer(allow_none=True)
    action = fields.String()
    method = fields.String()
    result = fields.String()
    reason = fields.String(allow_none=True)
    annuls_id = fields.Integer(allow_none=True)
    device = fields.String(allow_none=True)
    client_at = Instant(allow_none=True)
    occurred_at = Instant()
    client_ref = fields.String(allow_none=True)
    created_at = Instant()


class AttendanceOut(Schema):
    registered = fields.Nested(CountsOut)
    checked_in = fields.Integer()
    checked_out = fields.Integer()
    inside_now = fields.Integer()
    refused = fields.Dict(keys=fields.String(), values=fields.Integer())


class KioskLinkOut(Schema):
    id = fields.Integer()
    activity_id = fields.Integer()
    token = fields.String()
    url = fields.String()
    created_at = Instant()
    revoked_at = Instant(allow_none=True)


class ReportArgs(Schema):
    since = Instant(data_key="from", required=True)
    until = Instant(data_key="to", load_default=None)  # default: now


class ReportActivitiesOut(Schema):
    held = fields.Integer()  # published or settled, starting in the period
    settled = fields.Integer()
    cancelled = fields.Integer()
    by_domain = fields.Dict(keys=fields.String(), values=fields.Integer())


class ReportParticipantsOut(Schema):
    confirmed = fields.Integer()
    checked_in = fields.Integer()
    people = fields.Integer()  # distinct residents checked in
    attendance_rate = fields.Float(allow_none=True)


class ReportVolunteeringOut(Schema):
    people = fields.Integer()
    records = fields.Integer()
    minutes = fields.Integer()
    hours = fields.Float()
    late_records = fields.Integer()
    on_time_rate = fields.Float(allow_none=True)


class ReportPointsOut(Schema):
    issued = fields.Integer()  # net of reversals and negative adjustments
    redeemed = fields.Integer()  # net of corrections
    expired = fields.Integer()


class ReportFiguresOut(Schema):
    org_id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    activities = fields.Nested(ReportActivitiesOut)
    participants = fields.Nested(ReportParticipantsOut)
    volunteering = fields.Nested(ReportVolunteeringOut)
    points = fields.Nested(ReportPointsOut)
    benefits_fulfilled = fields.Integer()


class ReportOut(ReportFiguresOut):
    since = Instant(data_key="from")
    until = Instant(data_key="to")
    children = fields.List(fields.Nested(ReportFiguresOut))
