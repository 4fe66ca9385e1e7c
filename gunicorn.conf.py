"""gunicorn settings (gunicorn reads ./gunicorn.conf.py by default; or `-c gunicorn.conf.py`).

Every answer leaves in the API's error envelope, including the ones about the
request head. The app itself refuses a URL over 4096 bytes (414 URI_TOO_LONG),
a header line over 8190 (431 HEADERS_TOO_LARGE) and NUL in a header (400), see
api/parsing.check_request_head; gunicorn's own limits below sit above those,
so such requests reach the app. What gunicorn still refuses before the app sees
it (a request line over 8190 bytes, its hard maximum; a header over 16 KiB; a
malformed request) is answered by `write_error` below in the same envelope,
instead of gunicorn's HTML page (which also echoed the offending request line).
"""
import json

from gunicorn import util

limit_request_line = 8190  # gunicorn's maximum short of 0, which means unbounded
limit_request_field_size = 16384  # above the app's 8190, so the app answers first
limit_request_fields = 100

_CODES = {
    400: ("BAD_REQUEST", "请求格式错误"),
    403: ("FORBIDDEN", "请求被拒绝"),
    414: ("URI_TOO_LONG", "请求地址过长"),
    417: ("EXPECTATION_FAILED", "不支持该 Expect 请求头"),
    431: ("HEADERS_TOO_LARGE", "请求头过长"),
    500: ("INTERNAL_ERROR", "服务器内部错误，请稍后再试"),
    501: ("NOT_IMPLEMENTED", "不支持该传输编码"),
}


def write_error(sock, status_int, reason, mesg):
    """gunicorn's error page, as `{"error": {code, message, details}}`. `mesg` (which
    quotes the request) is left out: it may carry personal data, and is logged anyway."""
    code, message = _CODES.get(status_int, ("BAD_REQUEST", "请求格式错误"))
    body = json.dumps({"error": {"code": code, "message": message, "details": {}}},
                      ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    util.write_nonblock(sock, head.encode("latin-1") + body)


# Workers are forked from the process that read this file, so they all write errors this way.
util.write_error = write_error
