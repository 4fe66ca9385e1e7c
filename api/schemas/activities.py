import base64

from marshmallow import Schema, ValidationError, fields, pre_dump, validate, validates_schema

from activities.models import ACTIONS, DOMAINS, ROLES, ROUNDING_RULES, STATUSES
from activities.passes import checkin_link, checkin_qr_text
from api.settings import current_settings

from core import qr

from .common import DeviceInstant, Instant, QueryId, StrictInteger, Text


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
    lat = Number(required=True, validate=validate.Range(min=-90, max=90),
                 metadata={"description": "签到范围中心的纬度（GCJ-02，与 wx.getLocation 一致）"})
    lng = Number(required=True, validate=validate.Range(min=-180, max=180),
                 metadata={"description": "签到范围中心的经度"})
    radius_m = StrictInteger(required=True, validate=validate.Range(min=1, max=100_000),
                             metadata={"description": "签到范围半径（米）"})


NON_NEGATIVE = validate.Range(min=0)


class ActivityIn(Schema):
    title = Text(max_len=200, metadata={"description": "活动名称", "example": "重阳节长者理发义剪"})
    description = Text(max_len=5000, required=False, blank=True, load_default="", metadata={"description": "活动介绍"})
    domain = fields.String(required=True, validate=validate.OneOf(DOMAINS),
                           metadata={"description": "服务领域（“1+4+N”方向，见 /meta/enums 的 domains）"})
    category = Text(max_len=64, required=False, blank=True, load_default="", metadata={"description": "类别（自由填写），如 关怀服务"})
    location = Text(max_len=200, metadata={"description": "活动地点"})
    starts_at = Instant(required=True, metadata={"description": "开始时间；可以是过去的时间（补录纸质记录）"})
    ends_at = Instant(required=True, metadata={"description": "结束时间，须晚于开始时间"})
    capacity = StrictInteger(required=True, validate=validate.Range(min=0, max=100_000),
                             metadata={"description": "参与者名额；0 表示不招参与者"})
    volunteer_slots = StrictInteger(required=True, validate=validate.Range(min=0, max=100_000),
                                    metadata={"description": "志愿者名额；0 表示不招志愿者"})
    points_per_hour = StrictInteger(required=True, validate=validate.Range(min=0, max=10_000),
                                    metadata={"description": "志愿者每服务 1 小时得的积分"})
    attendance_points = StrictInteger(load_default=0, validate=validate.Range(min=0, max=10_000),
                                      metadata={"description": "参与者签到后得的积分"})
    allow_walk_in = StrictBoolean(load_default=False, attribute="is_walk_in_allowed",
                                  metadata={"description": "允许未报名者现场签到（自动成为参与者）"})
    checkin_opens_before_min = StrictInteger(load_default=30, validate=validate.Range(min=0, max=1440),
                                             metadata={"description": "开始前多少分钟开放签到"})
    checkin_closes_after_min = StrictInteger(load_default=30, validate=validate.Range(min=0, max=1440),
                                             metadata={"description": "结束后多少分钟截止签到"})
    geofence = fields.Nested(GeofenceSchema, load_default=None, allow_none=True,
                             metadata={"description": "签到范围：设置后，自助签到须在范围内；不设为 null"})
    # Settlement's rounding of measured minutes (completed half hours / hours for the last two).
    rounding = fields.String(load_default="minute", validate=validate.OneOf(ROUNDING_RULES),
                             metadata={"description": "结算时测得分钟数的取整：按分钟、满半小时或满一小时"})

    @validates_schema
    def _ends_after_start(self, data, **kwargs):
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            raise ValidationError("结束时间须晚于开始时间", "ends_at")


class CountsOut(Schema):
    participants = fields.Integer(metadata={"description": "已确认的参与者人数"})
    volunteers = fields.Integer(metadata={"description": "已确认的志愿者人数"})
    waitlisted = fields.Integer(metadata={"description": "候补人数（两种身份合计）"})


class ActivityOut(Schema):
    id = fields.Integer(metadata={"description": "活动 id"})
    org_id = fields.Integer(metadata={"description": "主办机构 id"})
    title = fields.String(metadata={"description": "活动名称"})
    description = fields.String(metadata={"description": "活动介绍"})
    domain = fields.String(metadata={"description": "服务领域（见 /meta/enums 的 domains）"})
    category = fields.String(metadata={"description": "类别"})
    location = fields.String(metadata={"description": "活动地点"})
    starts_at = Instant(metadata={"description": "开始时间"})
    ends_at = Instant(metadata={"description": "结束时间"})
    capacity = fields.Integer(metadata={"description": "参与者名额"})
    volunteer_slots = fields.Integer(metadata={"description": "志愿者名额"})
    points_per_hour = fields.Integer(metadata={"description": "志愿者每小时积分"})
    rounding = fields.String(metadata={"description": "结算时的取整规则（见 /meta/enums 的 rounding_rules）"})
    attendance_points = fields.Integer(metadata={"description": "参与者签到积分"})
    allow_walk_in = fields.Boolean(attribute="is_walk_in_allowed", metadata={"description": "是否允许现场签到"})
    checkin_opens_before_min = fields.Integer(metadata={"description": "开始前多少分钟开放签到"})
    checkin_closes_after_min = fields.Integer(metadata={"description": "结束后多少分钟截止签到"})
    geofence = fields.Dict(allow_none=True, metadata={"description": "签到范围 {lat, lng, radius_m}；没有为 null"})
    status = fields.String(metadata={"description": "状态（见 /meta/enums 的 activity_statuses）"})
    created_at = Instant(metadata={"description": "创建时间"})
    published_at = Instant(allow_none=True, metadata={"description": "发布时间"})
    cancelled_at = Instant(allow_none=True, metadata={"description": "取消时间"})


class ActivityDetailOut(ActivityOut):
    counts = fields.Nested(CountsOut, metadata={"description": "报名人数"})


class ActivityListArgs(Schema):
    org_id = QueryId(metadata={"description": "机构 id，含其全部下级"})
    domain = fields.String(load_default=None, validate=validate.OneOf(DOMAINS),
                           metadata={"description": "服务领域"})
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES),
                           metadata={"description": "状态"})
    starts_from = Instant(load_default=None, data_key="from", metadata={"description": "开始时间不早于（含）"})
    starts_before = Instant(load_default=None, data_key="to", metadata={"description": "开始时间早于（不含）"})


class RegistrationIn(Schema):
    role = fields.String(required=True, validate=validate.OneOf(ROLES),
                         metadata={"description": "报名身份：参与者或志愿者（见 /meta/enums 的 registration_roles）"})
    user_id = StrictInteger(load_default=None, metadata={"description": "工作人员代人报名时，被报名者的用户 id；本人报名不传"})


class RegistrationOut(Schema):
    id = fields.Integer(metadata={"description": "报名 id"})
    activity_id = fields.Integer(metadata={"description": "活动 id"})
    user_id = fields.Integer(metadata={"description": "用户 id"})
    role = fields.String(metadata={"description": "报名身份"})
    status = fields.String(metadata={"description": "报名状态（见 /meta/enums 的 registration_statuses）"})
    method = fields.String(metadata={"description": "报名方式：self 本人、staff 工作人员代报、walk_in 现场签到时报名"})
    registered_at = Instant(metadata={"description": "报名时间"})
    checked_in_at = Instant(allow_none=True, metadata={"description": "签到时间；未签到为 null"})
    checked_out_at = Instant(allow_none=True, metadata={"description": "签退时间；未签退为 null"})


class CancelledOut(Schema):
    id = fields.Integer(metadata={"description": "报名 id"})
    status = fields.String(metadata={"description": "cancelled"})


class CodeOut(Schema):
    code = fields.String(metadata={"description": "签到码（≤ 32 个字符），放进二维码"})
    # The URL the door QR carries (CHECKIN_LINK_BASE + code), or null when QRs carry the bare code.
    link = fields.Function(lambda issued: checkin_link(issued.code, settings=current_settings()),
                           metadata={"description": "门口二维码承载的链接（设置了 CHECKIN_LINK_BASE 时）；否则为 null，二维码里就是签到码本身", "type": "string", "nullable": True})
    expires_at = Instant(metadata={"description": "这个码失效的时间"})
    refresh_at = Instant(metadata={"description": "下一个码生成的时间（屏幕应在此后刷新）"})


class CheckinCodeField(fields.String):
    """A check-in code, or the link a door QR carries: its last path segment is the code."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if value.startswith(("https://", "http://")):
            value = value.split("?", 1)[0].split("#", 1)[0].rstrip("/").rpartition("/")[2]
        return value


class PassOut(Schema):
    code = fields.String(metadata={"description": "个人通行码，放进二维码给工作人员扫"})
    expires_at = Instant(metadata={"description": "失效时间（之前刷新）"})


class ScanFields(Schema):
    action = fields.String(load_default="in", validate=validate.OneOf(ACTIONS),
                           metadata={"description": "in 签到，out 签退"})
    device_id = Text(max_len=200, required=False, blank=True, load_default=None,
                     metadata={"description": "扫码设备的标识（记入签到日志）"})
    client_time = DeviceInstant(load_default=None, metadata={"description": "客户端的时间（仅记入日志，不作判断；无法识别的时间记为空）"})


class CheckinIn(ScanFields):
    code = CheckinCodeField(required=True, validate=validate.Length(min=1, max=200),
                            metadata={"description": "扫到的签到码，或门口二维码里的整个链接", "example": "c1Ab2Cd3Ef4Gh5Ij6Kl7Mn8Op9Qr0"})
    lat = Number(load_default=None, validate=validate.Range(min=-90, max=90),
                 metadata={"description": "纬度（活动设置了签到范围时必填）", "example": 30.6123})
    lng = Number(load_default=None, validate=validate.Range(min=-180, max=180),
                 metadata={"description": "经度", "example": 114.3056})
    activity_id = StrictInteger(load_default=None,
                                metadata={"description": "客户端以为的活动 id；码不属于它时为 CODE_INVALID"})


class StaffScanIn(ScanFields):
    code = fields.String(required=True, validate=validate.Length(min=1, max=200),
                         metadata={"description": "居民出示的个人通行码"})


class ManualCheckinIn(ScanFields):
    pass


class OfflineScanIn(Schema):
    client_ref = Text(max_len=64, required=True,
                      metadata={"description": "设备为这次扫码起的 id，一批内不重复（重传时据此去重）"})  # the device's own id for the scan
    action = fields.String(load_default="in", validate=validate.OneOf(ACTIONS),
                           metadata={"description": "in 签到，out 签退"})
    scanned_at = Instant(required=True, metadata={"description": "扫码时的时间"})
    code = fields.String(load_default=None, validate=validate.Length(min=1, max=200),
                         metadata={"description": "扫到的个人通行码（与 registration_id 二选一）"})
    registration_id = StrictInteger(load_default=None, metadata={"description": "手工签到的报名 id（与 code 二选一）"})

    @validates_schema
    def _one_way(self, data, **kwargs):
        if (data.get("code") is None) == (data.get("registration_id") is None):
            raise ValidationError("须给出 code（扫码）或 registration_id（手工签到）之一", "code")


MAX_OFFLINE_SCANS = 500


class OfflineScansIn(Schema):
    device_id = Text(max_len=200, required=False, blank=True, load_default=None, metadata={"description": "设备标识"})
    scans = fields.List(fields.Nested(OfflineScanIn), required=True,
                        validate=validate.Length(min=1, max=MAX_OFFLINE_SCANS),
                        metadata={"description": "离线期间的扫码，最多 500 条"})

    @validates_schema
    def _distinct_refs(self, data, **kwargs):
        refs = [scan["client_ref"] for scan in data.get("scans", [])]
        if len(set(refs)) != len(refs):
            raise ValidationError("client_ref 在一批中须各不相同", "scans")


class OfflineResultOut(Schema):
    client_ref = fields.String(metadata={"description": "设备给的扫码 id"})
    result = fields.String(metadata={"description": "accepted 生效，repeat 重复（未改变什么），refused 拒绝（见 reason）"})
    reason = fields.String(allow_none=True, metadata={"description": "被拒绝的原因（错误码），接受为 null"})
    scan_id = fields.Integer(metadata={"description": "签到日志 id"})
    registration_id = fields.Integer(allow_none=True, metadata={"description": "报名 id"})
    checked_in_at = Instant(allow_none=True, metadata={"description": "报名的签到时间"})
    checked_out_at = Instant(allow_none=True, metadata={"description": "报名的签退时间"})


class OfflineResultsOut(Schema):
    results = fields.List(fields.Nested(OfflineResultOut), metadata={"description": "每条扫码的结果，顺序同上传"})


class CheckinOut(Schema):
    registration_id = fields.Integer(metadata={"description": "报名 id"})
    activity_id = fields.Integer(metadata={"description": "活动 id"})
    status = fields.String(metadata={"description": "checked_in 已签到，checked_out 已签退"})
    first = fields.Boolean(metadata={"description": "这次扫码是否第一次生效；重复扫码为 false，什么也不改变"})
    checked_in_at = Instant(allow_none=True, metadata={"description": "签到时间"})
    checked_out_at = Instant(allow_none=True, metadata={"description": "签退时间；未签退为 null"})
    scan_id = fields.Integer(metadata={"description": "签到日志 id"})


class ScanLogOut(Schema):
    id = fields.Integer(metadata={"description": "日志 id"})
    activity_id = fields.Integer(allow_none=True, metadata={"description": "活动 id"})
    registration_id = fields.Integer(allow_none=True, metadata={"description": "报名 id"})
    user_id = fields.Integer(allow_none=True, metadata={"description": "被签到的用户 id"})
    actor_id = fields.Integer(allow_none=True, metadata={"description": "操作的工作人员 id（自助签到为本人）"})
    action = fields.String(metadata={"description": "in 签到，out 签退，annul 撤销（annuls_id 为被撤销的日志）"})
    method = fields.String(metadata={"description": "方式：self 自助扫码、staff 扫通行码、manual 手工、walk_in 现场签到"})
    result = fields.String(metadata={"description": "accepted 生效，repeat 重复（未改变什么），refused 拒绝（见 reason）"})
    reason = fields.String(allow_none=True, metadata={"description": "拒绝的原因（错误码）"})
    annuls_id = fields.Integer(allow_none=True, metadata={"description": "撤销的日志 id"})
    device = fields.String(allow_none=True, metadata={"description": "设备"})
    client_at = Instant(allow_none=True, metadata={"description": "客户端时间"})
    occurred_at = Instant(metadata={"description": "生效时间（离线扫码为扫码时间）"})
    client_ref = fields.String(allow_none=True, metadata={"description": "离线扫码的设备 id"})
    created_at = Instant(metadata={"description": "写入时间"})


class AttendanceOut(Schema):
    registered = fields.Nested(CountsOut, metadata={"description": "报名人数"})
    checked_in = fields.Integer(metadata={"description": "已签到人数"})
    checked_out = fields.Integer(metadata={"description": "已签退人数"})
    inside_now = fields.Integer(metadata={"description": "在场人数（已签到未签退）"})
    refused = fields.Dict(keys=fields.String(), values=fields.Integer(),
                          metadata={"description": "被拒绝的扫码次数，按原因（错误码）"})


class KioskLinkOut(Schema):
    id = fields.Integer(metadata={"description": "链接 id"})
    activity_id = fields.Integer(metadata={"description": "活动 id"})
    token = fields.String(metadata={"description": "链接令牌（只在创建时显示一次）"})
    url = fields.String(metadata={"description": "门口屏幕打开的地址"})
    created_at = Instant(metadata={"description": "创建时间"})
    revoked_at = Instant(allow_none=True, metadata={"description": "撤销时间；有效为 null"})


class ReportArgs(Schema):
    since = Instant(data_key="from", required=True, metadata={"description": "统计起点（含）"})
    until = Instant(data_key="to", load_default=None,
                    metadata={"description": "统计终点（不含），默认现在；区间最长三年"})  # default: now


class ReportActivitiesOut(Schema):
    held = fields.Integer(metadata={"description": "区间内开始的已发布或已结算活动数"})  # published or settled, starting in the period
    settled = fields.Integer(metadata={"description": "其中已结算的"})
    cancelled = fields.Integer(metadata={"description": "区间内开始的已取消活动数"})
    by_domain = fields.Dict(keys=fields.String(), values=fields.Integer(),
                            metadata={"description": "举办活动数，按服务领域"})


class ReportParticipantsOut(Schema):
    confirmed = fields.Integer(metadata={"description": "已确认的报名数"})
    checked_in = fields.Integer(metadata={"description": "签到的报名数"})
    people = fields.Integer(metadata={"description": "签到的不同居民人数"})  # distinct residents checked in
    attendance_rate = fields.Float(allow_none=True, metadata={"description": "签到率（签到 / 已确认）；没有报名为 null"})

    @pre_dump
    def _rate(self, figures, **kwargs):
        confirmed = figures["confirmed"]
        return {**figures, "attendance_rate": round(figures["checked_in"] / confirmed, 4) if confirmed else None}


class ReportVolunteeringOut(Schema):
    people = fields.Integer(metadata={"description": "服务的志愿者人数"})
    records = fields.Integer(metadata={"description": "服务记录条数"})
    minutes = fields.Integer(metadata={"description": "服务分钟数"})
    hours = fields.Float(metadata={"description": "服务小时数"})
    late_records = fields.Integer(metadata={"description": "超过 10 个工作日才记录的条数"})
    on_time_rate = fields.Float(allow_none=True, metadata={"description": "及时记录率；没有记录为 null"})

    @pre_dump
    def _hours_and_rate(self, figures, **kwargs):
        records = figures["records"]
        return {**figures, "hours": round(figures["minutes"] / 60, 1),
                "on_time_rate": round(1 - figures["late_records"] / records, 4) if records else None}


class ReportPointsOut(Schema):
    issued = fields.Integer(metadata={"description": "发放的积分（扣除冲正和负调整）"})  # net of reversals and negative adjustments
    redeemed = fields.Integer(metadata={"description": "兑换的积分（扣除更正）"})  # net of corrections
    expired = fields.Integer(metadata={"description": "过期的积分"})


class ReportFiguresOut(Schema):
    org_id = fields.Integer(metadata={"description": "机构 id"})
    name = fields.String(metadata={"description": "机构名称"})
    kind = fields.String(metadata={"description": "机构层级"})
    activities = fields.Nested(ReportActivitiesOut, metadata={"description": "活动"})
    participants = fields.Nested(ReportParticipantsOut, metadata={"description": "参与"})
    volunteering = fields.Nested(ReportVolunteeringOut, metadata={"description": "志愿服务"})
    points = fields.Nested(ReportPointsOut, metadata={"description": "积分"})
    benefits_fulfilled = fields.Integer(metadata={"description": "领取的福利件数"})


class ReportOut(ReportFiguresOut):
    since = Instant(data_key="from", metadata={"description": "统计起点"})
    until = Instant(data_key="to", metadata={"description": "统计终点"})
    children = fields.List(fields.Nested(ReportFiguresOut), metadata={"description": "直接下级机构各自的数字"})


def _qr_data_url(state) -> str:
    image = qr.png(checkin_qr_text(state.issued.code, settings=current_settings()))
    return "data:image/png;base64," + base64.b64encode(image).decode()


class KioskStateOut(Schema):
    """What the door screen shows (activities.kiosk.KioskState): GET /kiosk/state."""

    activity_id = fields.Integer(attribute="activity.id")
    title = fields.String(attribute="activity.title")
    location = fields.String(attribute="activity.location", allow_none=True)
    status = fields.String(attribute="activity.status")
    starts_at = Instant(attribute="activity.starts_at")
    ends_at = Instant(attribute="activity.ends_at")
    code = fields.String(attribute="issued.code")
    refresh_at = Instant(attribute="issued.refresh_at")
    expires_at = Instant(attribute="issued.expires_at")
    server_time = Instant(attribute="now")
    attendance = fields.Raw()
    link = fields.Function(lambda state: checkin_link(state.issued.code, settings=current_settings()))
    qr = fields.Function(_qr_data_url)
