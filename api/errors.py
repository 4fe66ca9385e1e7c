"""Every error leaves as `{"error": {"code", "message", "details"}}` with its status."""
import logging

from flask import current_app, g, jsonify
from werkzeug.exceptions import HTTPException

from core.db import db
from core.errors import Code, DomainError
from core.outages import unavailable_dependency

log = logging.getLogger("linli.errors")

def status_of(code: str) -> int:
    """The HTTP status an error code is answered with, from the code's `Code`
    member (KeyError: no such code). The one lookup of a status by name."""
    return Code[code].status


# What a 503 tells a client to wait before trying again.
RETRY_AFTER_SECONDS = 5

# The code of an HTTP-level error (404 from routing, 405, 413, 429 from the limiter...).
HTTP_CODES = {code.status: code for code in (
    Code.BAD_REQUEST, Code.UNAUTHENTICATED, Code.FORBIDDEN, Code.NOT_FOUND, Code.METHOD_NOT_ALLOWED,
    Code.CONFLICT, Code.PAYLOAD_TOO_LARGE, Code.URI_TOO_LONG, Code.UNSUPPORTED_MEDIA_TYPE,
    Code.REQUESTED_RANGE_NOT_SATISFIABLE, Code.EXPECTATION_FAILED, Code.VALIDATION_ERROR,
    Code.RATE_LIMITED, Code.HEADERS_TOO_LARGE, Code.INTERNAL_ERROR, Code.NOT_IMPLEMENTED,
    Code.SERVICE_UNAVAILABLE,
)}

# What a person sees for an HTTP-level error (werkzeug's descriptions are English).
HTTP_MESSAGES = {
    400: "请求有误",
    401: "请先登录",
    403: "没有权限",
    404: "请求的地址不存在",
    405: "不支持该请求方法",
    409: "请求与当前状态冲突",
    413: "请求体过大（上限 1 MiB）",
    415: "不支持的内容类型",
    422: "请求参数有误",
    429: "请求过于频繁，请稍后再试",
}


def envelope(status: int, code: Code, message: str, details: dict | None = None, headers=None):
    response = jsonify({"error": {"code": code, "message": message, "details": details or {}}})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def flatten_messages(messages) -> dict:
    """webargs groups field errors by location ({"json": {...}}); clients want fields."""
    if not isinstance(messages, dict):
        return {"_schema": messages}
    flat = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            flat.update(fields)
        else:
            flat[location] = fields
    return flat


def _end_transaction(keep: bool) -> None:
    try:
        db.session.commit() if keep else db.session.rollback()
    except Exception:  # the error being reported matters more than this one
        log.exception("could not end the transaction of a failed request")
        db.session.rollback()


def handle_domain_error(exc: DomainError):
    _end_transaction(exc.keep_changes)
    status = exc.code.status
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else None
    return envelope(status, exc.code, exc.message, exc.details, headers)


def http_code(status: int) -> Code:
    """The code of an HTTP error status; a status no member answers (one werkzeug
    knows but nothing here raises) becomes the generic code of its class, whose
    status the response then takes, so a response's status is always its code's."""
    return HTTP_CODES.get(status) or (Code.BAD_REQUEST if status < 500 else Code.INTERNAL_ERROR)


def handle_http_exception(exc: HTTPException):
    _end_transaction(False)
    code = http_code(exc.code or 500)
    status = code.status
    details = {}
    message = HTTP_MESSAGES.get(status, "请求无法处理")
    data = getattr(exc, "data", None) or {}
    if status == 422:
        details = flatten_messages(data.get("messages", {}))
    elif status == 400 and data.get("messages"):
        details = flatten_messages(data["messages"])
        message = "请求体不是有效的 JSON 对象"
    headers = {}
    if status == 405 and exc.valid_methods:
        headers["Allow"] = ", ".join(exc.valid_methods)
    if status == 429 and hasattr(exc, "get_headers"):
        headers.update({k: v for k, v in exc.get_headers() if k.lower() == "retry-after"})
    return envelope(status, code, message, details, headers)


def handle_unexpected(exc: Exception):
    dependency = unavailable_dependency(exc)
    if dependency is not None:  # not a bug: 503 in tests too
        return handle_outage(exc, dependency)
    if current_app.config.get("TESTING") and not current_app.config.get("TEST_SHOW_500"):
        raise exc
    _end_transaction(False)
    request_id = g.get("request_id", "-")
    log.exception("unexpected error, request %s", request_id)
    return envelope(500, Code.INTERNAL_ERROR, "服务器内部错误，请稍后再试", {"request_id": request_id})


def handle_outage(exc: Exception, dependency: str):
    """A dependency is down: 503 SERVICE_UNAVAILABLE, which a client retries.

    One line per request, without a traceback (an outage fails every request
    alike) and without the statement: the driver's own message says why."""
    try:
        db.session.rollback()  # gives the broken connection back to the pool, which discards it
    except Exception:  # the database is down; there is nothing to roll back to
        pass
    request_id = g.get("request_id", "-")
    cause = getattr(exc, "orig", None) or exc
    reason = (str(cause).strip().splitlines() or [""])[0]
    log.error("%s unavailable: %s: %s", dependency, type(cause).__name__, reason)  # the line names the request
    return envelope(503, Code.SERVICE_UNAVAILABLE, "服务暂时不可用，请稍后重试",
                    {"down": [dependency], "request_id": request_id},
                    {"Retry-After": str(RETRY_AFTER_SECONDS)})


def register(app) -> None:
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
