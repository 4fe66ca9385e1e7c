"""The served OpenAPI document, completed from the views themselves.

flask-smorest documents schemas and success responses. Everything else a client
must know is derived here, once, when the document is built:

- `security`: from the token decorators of `api.auth` found on the view;
- error responses, each with its business codes and the error envelope: the
  codes a view declares with `@errors_doc(...)`, plus the generic ones its
  decorators, path and arguments imply (400/413 for every write, 401 behind a
  token, 403 where `load(..., action=...)` checks a role, 404 for integer path
  ids, 422 for a body, query or header schema, 429 behind a rate limit, 500
  everywhere);
- `summary`: the first line of the view's docstring; `description`: the rest.

A code's HTTP status comes from one place, `status_of`.
"""
import inspect
from dataclasses import dataclass, field

from apispec import BasePlugin
from flask_smorest import Api

from core.errors import Code

from . import auth, limits
from .errors import status_of
from .schemas.common import ErrorEnvelope

ENVELOPE_REF = {"$ref": "#/components/schemas/ErrorEnvelope"}
WRITE_METHODS = {"post", "put", "patch", "delete"}
INTERNAL_ERROR = Code.INTERNAL_ERROR  # the catch-all handler's code; never raised by name


STATUS_TITLES = {
    400: "请求有误", 401: "未登录或登录失效", 403: "没有权限", 404: "不存在", 409: "与当前状态冲突",
    410: "已过期", 413: "请求体过大", 422: "参数校验失败", 429: "请求过于频繁", 500: "服务器内部错误",
    503: "依赖的服务暂不可用",
}

EXAMPLE_DETAILS = {
    "VALIDATION_ERROR": {"phone": ["缺少必填字段"]},
    "INTERNAL_ERROR": {"request_id": "3f2a9c0d4b6e4e1f8a7b5c3d2e1f0a9b"},
    "CHECKIN_NOT_OPEN": {"opens_at": "2026-12-01T08:30:00+08:00", "closes_at": "2026-12-01T11:30:00+08:00"},
}


def meaning_of(code: str) -> str:
    """What a code means, as a client developer reads it next to the status."""
    return Code[code].meaning


# -- what a view declares ------------------------------------------------------------

ERROR_CODES_ATTR = "_linli_error_codes"
TOKEN_ATTR = "_linli_token"


def errors_doc(*codes: str, token: str | None = None):
    """Declares the error codes a view answers with beyond the generic ones this
    module derives. `token="optional"`: the view reads a bearer token when one is
    sent (and refuses a bad one, 401) but works without.

    Stacks anywhere below `@blp.route`; an unknown code fails at import.
    """
    for code in codes:
        status_of(code)
    if token not in (None, "optional"):
        raise ValueError(f"token must be None or 'optional', not {token!r}")

    def decorator(view):
        setattr(view, ERROR_CODES_ATTR, tuple(getattr(view, ERROR_CODES_ATTR, ())) + codes)
        if token is not None:
            setattr(view, TOKEN_ATTR, token)
        return view

    return decorator


# -- what a view's decorators imply ------------------------------------------------------

def _wrapper_code(decorator):
    """The code object of the wrapper `decorator` makes: every view it wraps
    carries the same one, which is how it is recognised on a view."""
    def probe():
        """probe"""

    return decorator(probe).__code__


TOKEN_DECORATORS = (auth.login_required, auth.token_required)
_TOKEN_CODES = {_wrapper_code(decorator) for decorator in TOKEN_DECORATORS}
_RATE_LIMIT_CODE = _wrapper_code(limits.per_user_limit("RATELIMIT_LOGIN"))  # every limit's wrapper
_LOAD_CODE = _wrapper_code(auth.load(lambda value: value, "value", as_name="value"))


@dataclass
class ViewFacts:
    token: str | None = None  # "required", "optional" or None
    role_checked: bool = False  # load(..., action=...): 403 before the body is parsed
    rate_limited: bool = False
    codes: list = field(default_factory=list)
    doc: str = ""


def _closure(function) -> dict:
    cells = function.__closure__ or ()
    return dict(zip(function.__code__.co_freevars, (cell.cell_contents for cell in cells)))


def view_facts(view) -> ViewFacts:
    """Walks the view's decorator chain (functools.wraps' `__wrapped__`)."""
    facts = ViewFacts(doc=inspect.getdoc(view) or "")
    function = view
    while function is not None:
        code = getattr(function, "__code__", None)
        if code in _TOKEN_CODES:
            facts.token = "required"
        elif code is _RATE_LIMIT_CODE:
            facts.rate_limited = True
        elif code is _LOAD_CODE and _closure(function).get("action") is not None:
            facts.role_checked = True
        for code_name in getattr(function, ERROR_CODES_ATTR, ()):
            if code_name not in facts.codes:
                facts.codes.append(code_name)
        if facts.token is None and getattr(function, TOKEN_ATTR, None):
            facts.token = getattr(function, TOKEN_ATTR)
        function = getattr(function, "__wrapped__", None)
    return facts


# -- the plugin that writes it into the document -------------------------------------------

def split_docstring(doc: str) -> tuple[str, str]:
    """(summary, description): the first line without its full stop (nor code marks,
    which a summary shows as they are), and the rest."""
    lines = doc.strip().splitlines()
    if not lines:
        return "", ""
    summary = lines[0].strip().rstrip(".。").replace("`", "")
    return summary, "\n".join(lines[1:]).strip()


def _sort_statuses(responses: dict) -> dict:
    normalised = {str(status): response for status, response in responses.items()}
    return dict(sorted(normalised.items(), key=lambda item: (not item[0].isdigit(), item[0])))


def error_response(status: int, codes: list[str]) -> dict:
    lines = [f"**{STATUS_TITLES.get(status, '错误')}**", ""]
    lines += [f"- `{code}`：{meaning_of(code)}" for code in codes]
    examples = {code: {"summary": meaning_of(code),
                       "value": {"error": {"code": code, "message": meaning_of(code),
                                           "details": EXAMPLE_DETAILS.get(code, {})}}}
                for code in codes}
    response = {
        "description": "\n".join(lines),
        "content": {"application/json": {"schema": ENVELOPE_REF, "examples": examples}},
        "x-error-codes": list(codes),
    }
    if status == 429:
        response["headers"] = {"Retry-After": {"description": "多少秒后可以再试",
                                               "schema": {"type": "integer"}}}
    return response


class TruthPlugin(BasePlugin):
    """Adds security, error responses, summaries and operation ids to every operation."""

    def __init__(self, app):
        super().__init__()
        self.app = app
        self.spec = None

    def init_spec(self, spec):
        super().init_spec(spec)
        self.spec = spec

    def _integer_path_args(self, rule) -> list[str]:
        flask_plugin = next(p for p in self.spec.plugins if hasattr(p, "rule_to_params"))
        return [p["name"] for p in flask_plugin.rule_to_params(rule)
                if p.get("schema", p).get("type") == "integer"]

    def operation_helper(self, path=None, operations=None, rule=None, **kwargs):
        if rule is None or operations is None:
            return
        facts = view_facts(self.app.view_functions[rule.endpoint])
        has_ids = bool(self._integer_path_args(rule))
        for method, operation in operations.items():
            summary, description = split_docstring(facts.doc)
            if summary:
                operation["summary"] = summary
            if description:
                operation["description"] = description
            else:
                operation.pop("description", None)
            operation.setdefault("operationId", rule.endpoint.replace(".", "_")
                                 + (f"_{method}" if len(rule.methods - {"HEAD", "OPTIONS"}) > 1 else ""))
            if facts.token == "required":
                operation["security"] = [{"bearerAuth": []}]
            elif facts.token == "optional":
                operation["security"] = [{}, {"bearerAuth": []}]
            self._add_errors(operation, method, facts, has_ids)

    def _add_errors(self, operation: dict, method: str, facts: ViewFacts, has_ids: bool) -> None:
        generic = []
        if method in WRITE_METHODS:
            generic += ["BAD_REQUEST", "PAYLOAD_TOO_LARGE"]
        if facts.token is not None:
            generic.append("UNAUTHENTICATED")
        if has_ids:
            generic.append("NOT_FOUND")
        if facts.role_checked:
            generic.append("FORBIDDEN")
        takes_input = "requestBody" in operation or any(
            isinstance(p, dict) and p.get("in") != "path" for p in operation.get("parameters", []))
        if takes_input:
            generic.append("VALIDATION_ERROR")
        if facts.rate_limited:
            generic.append("RATE_LIMITED")
        by_status: dict[int, list[str]] = {}
        for code in generic + facts.codes + [INTERNAL_ERROR, "SERVICE_UNAVAILABLE"]:  # any operation, in an outage
            codes = by_status.setdefault(status_of(code), [])
            if code not in codes:
                codes.append(code)
        responses = _sort_statuses(operation.get("responses", {}))
        responses.pop("default", None)
        for status, codes in by_status.items():
            declared = responses.get(str(status))
            if isinstance(declared, dict) and "x-error-codes" not in declared:
                continue  # the view documents this status itself (e.g. an HTML page)
            responses[str(status)] = error_response(status, codes)
        operation["responses"] = _sort_statuses(responses)


# -- the Api ---------------------------------------------------------------------------------

def code_table() -> str:
    """Every error code with its status, for the document's introduction."""
    rows = sorted(Code, key=lambda code: (status_of(code), code))
    lines = [f"<details><summary>全部错误码（{len(rows)} 个）</summary>", "",
             "| HTTP | code | 含义 |", "|---|---|---|"]
    lines += [f"| {status_of(code)} | `{code}` | {meaning_of(code)} |" for code in rows]
    return "\n".join(lines + ["", "</details>"])


INTRODUCTION = """邻里（Linli）社区社工服务系统的 HTTP 接口：小程序与工作人员后台共用。

- 认证：`Authorization: Bearer <access_token>`（`POST /auth/login`、`/auth/wechat` 取得）。
  标有锁的接口必须带令牌；“可选”的接口不带也能用，带了就按登录者返回（例如工作人员能看到草稿）。
- 时间一律 ISO 8601 带时区（`2026-12-01T09:00:00+08:00`）；积分是整数；时长是整分钟。
- 列表返回 `{"items": [...], "next": 游标或 null}`，用 `?cursor=` 翻页，`?limit=` 每页条数（默认 20，最多 100）。
- 出错时一律返回 `{"error": {"code", "message", "details"}}`，客户端按 `code` 判断；
  每个接口列出它可能返回的状态码与 code。几种错误同时成立时，按 401 → 404 → 403 → 422 → 409 的顺序取第一个。
- 各枚举值的中文名称：`GET /api/v1/meta/enums`。

"""


class LinliApi(Api):
    ERROR_SCHEMA = ErrorEnvelope
    DEFAULT_ERROR_RESPONSE_NAME = None  # every operation lists its own errors instead


def make_api(app) -> Api:
    api = LinliApi(app, spec_kwargs={"extra_plugins": [TruthPlugin(app)],
                                     "info": {"description": INTRODUCTION + code_table()}})
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                       "description": "登录接口返回的 access_token"})
    return api
