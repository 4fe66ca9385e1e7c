"""Domain errors: a stable code the client switches on, a message, details.

Every code is a member of `Code`, which carries the HTTP status the code is
answered with and what it means (house rule 12: an unmapped code cannot
exist). `core` knows the number; only `api/` turns it into a response.
"""
import enum


class Code(enum.StrEnum):
    """Every error code, with its HTTP status and its meaning as a client
    developer reads it (the API reference lists them).

    A StrEnum: a member is the very string clients switch on, the envelope
    carries and the check-in log stores, so `Code.OUT_OF_STOCK == "OUT_OF_STOCK"`;
    but an error is only built from a member, never from a bare string.
    """

    @staticmethod
    def _generate_next_value_(name, start, count, last_values):
        return name  # the member's value is its own name

    def __new__(cls, value: str, status: int, meaning: str):
        member = str.__new__(cls, value)
        member._value_ = value
        member.status = status
        member.meaning = meaning
        return member

    # 400
    BAD_REQUEST = enum.auto(), 400, "请求体不是 JSON 对象（或 Content-Type 不是 application/json）"
    CODE_INVALID = enum.auto(), 400, "二维码无效：伪造、损坏、已撤销，或不属于这个活动"
    # 401
    UNAUTHENTICATED = enum.auto(), 401, "未登录，或登录凭证无效、已过期、账号已停用"
    BAD_CREDENTIALS = enum.auto(), 401, "手机号或密码错误，或账号已停用"
    WECHAT_LOGIN_FAILED = enum.auto(), 401, "wx.login 的 code 无效或已用过，请重新调用 wx.login"
    # 403
    FORBIDDEN = enum.auto(), 403, "没有权限：需要该机构或其上级机构的工作人员（或管理员）角色"
    WRONG_PASSWORD = enum.auto(), 403, "当前密码不正确"
    NOT_REGISTERED = enum.auto(), 403, "没有已确认的报名，且活动不允许现场报名"
    OUT_OF_AREA = enum.auto(), 403, "活动设置了签到范围，而定位缺失或不在范围内"
    NOT_A_VOLUNTEER = enum.auto(), 403, "以志愿者身份报名需要先登记为志愿者（且未被暂停）"
    NOT_ELIGIBLE = enum.auto(), 403, "不满足兑换条件：志愿者星级不够，或仅限本社区居民"
    # 404, 405
    NOT_FOUND = enum.auto(), 404, "对象不存在（草稿活动对非工作人员也是不存在）"
    METHOD_NOT_ALLOWED = enum.auto(), 405, "该地址不支持这个请求方法（Allow 头列出支持的方法）"
    # 409
    CONFLICT = enum.auto(), 409, "对象当前的状态不允许这个操作"
    PHONE_IN_USE = enum.auto(), 409, "该手机号已被其他账号使用"
    ID_NUMBER_IN_USE = enum.auto(), 409, "该身份证号码已登记过志愿者"
    IDEMPOTENCY_CONFLICT = enum.auto(), 409, "这个幂等键已用于另一笔不同的请求"
    REGISTRATION_CLOSED = enum.auto(), 409, "不能报名或取消报名：活动未发布、已开始，或不招募这个身份"
    ALREADY_REGISTERED = enum.auto(), 409, "已经以另一身份报名了这个活动"
    CHECKIN_NOT_OPEN = enum.auto(), 409, "不在签到时间内（details 给出开放与截止时间）"
    NOT_CHECKED_IN = enum.auto(), 409, "还没有签到，不能签退"
    SCAN_TIME_INVALID = enum.auto(), 409, "离线扫码的时间晚于现在，或早于允许上传的时长"
    NOT_ENDED = enum.auto(), 409, "活动结束后才能结算"
    ALREADY_SETTLED = enum.auto(), 409, "活动已按另一组调整结算过"
    INSUFFICIENT_POINTS = enum.auto(), 409, "可用积分不足"
    OUT_OF_STOCK = enum.auto(), 409, "福利已兑完"
    LIMIT_REACHED = enum.auto(), 409, "已达到每人兑换上限"
    ALREADY_FULFILLED = enum.auto(), 409, "这笔兑换已经领取"
    REDEMPTION_CANCELLED = enum.auto(), 409, "这笔兑换已经取消"
    REDEMPTION_EXPIRED = enum.auto(), 409, "这笔兑换已过领取期限"
    ALREADY_REVERSED = enum.auto(), 409, "这笔积分已冲正过（或它本身就是冲正）"
    INVALID_STATE = enum.auto(), 409, "冻结的积分已经处理过"
    BENEFIT_UNAVAILABLE = enum.auto(), 409, "福利已下架，或不在兑换期内"
    NOT_FULFILLED = enum.auto(), 409, "只有已领取的兑换可以更正"
    CAPACITY_BELOW_CONFIRMED = enum.auto(), 409, "名额不能少于已确认的报名人数"
    NEED_TAKEN = enum.auto(), 409, "这项需求的名额已被其他志愿者认领"
    # 410 and up
    CODE_EXPIRED = enum.auto(), 410, "二维码已过期，请扫描屏幕上最新的二维码"
    PAYLOAD_TOO_LARGE = enum.auto(), 413, "请求体超过 1 MiB"
    URI_TOO_LONG = enum.auto(), 414, "请求地址过长（至多 4096 字节）"
    UNSUPPORTED_MEDIA_TYPE = enum.auto(), 415, "不支持的内容类型"
    REQUESTED_RANGE_NOT_SATISFIABLE = enum.auto(), 416, "Range 请求头超出了文件的范围"
    EXPECTATION_FAILED = enum.auto(), 417, "不支持该 Expect 请求头"
    VALIDATION_ERROR = enum.auto(), 422, "请求参数有误：details 按字段列出原因"
    RATE_LIMITED = enum.auto(), 429, "请求过于频繁，请按 Retry-After 秒数稍后再试"
    HEADERS_TOO_LARGE = enum.auto(), 431, "请求头过长（每行至多 8190 字节）"
    # 5xx
    INTERNAL_ERROR = enum.auto(), 500, "服务器内部错误；details.request_id 供排查"
    NOT_IMPLEMENTED = enum.auto(), 501, "不支持该传输编码"
    WECHAT_UNAVAILABLE = enum.auto(), 503, "微信服务繁忙或无法连接，请稍后再试"
    SERVICE_UNAVAILABLE = enum.auto(), 503, "数据库等依赖暂时不可用；按 Retry-After 头稍后重试"


class DomainError(Exception):
    """`code` is a `Code` member (a bare string is a TypeError: a code the enum
    does not know cannot be raised). `keep_changes` marks a refusal whose record
    must survive it (a refused scan's log row, a revoked token family): the
    request commits what was flushed before the error instead of rolling it back."""

    keep_changes = False

    def __init__(self, code: Code, message: str | None = None, *, keep_changes: bool = False,
                 **details):
        if not isinstance(code, Code):
            raise TypeError(f"an error code is a core.errors.Code member, not {code!r}")
        message = code.meaning if message is None else message
        super().__init__(message)
        self.code = code
        self.message = message
        self.keep_changes = keep_changes
        self.details = details


class NotFound(DomainError):
    def __init__(self, what: str, message: str | None = None, **details):
        super().__init__(Code.NOT_FOUND, message or "对象不存在", **details)


class Forbidden(DomainError):
    def __init__(self, message: str = "没有权限", code: Code = Code.FORBIDDEN, **details):
        super().__init__(code, message, **details)


class Invalid(DomainError):
    """A well-formed request whose content the domain rejects (HTTP 422).

    `fields` maps a field name to a list of messages, like schema errors do.
    """

    def __init__(self, fields: dict[str, list[str]], message: str = "请求参数有误"):
        super().__init__(Code.VALIDATION_ERROR, message, **fields)


class Conflict(DomainError):
    def __init__(self, code: Code = Code.CONFLICT, message: str = "请求与当前状态冲突", **details):
        super().__init__(code, message, **details)
