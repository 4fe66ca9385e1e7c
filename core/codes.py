"""Signed short codes: activity check-in codes and personal passes.

A code is base64url (no padding) of 21 bytes, so 28 characters of
`[A-Za-z0-9_-]`, short enough for a mini-program code's `scene` (32 max):

    kind (1) | subject id (4, big-endian) | window (4) | HMAC-SHA256 truncated (12)

The window is `unix time // period`; the current and the previous window are
accepted, so a code shown just before a rotation still works for one more
period. The MAC key is derived from SECRET_KEY and the tag covers the
subject's own secret, so rotating that secret revokes every code of the
subject. Nothing personal is inside: an id and a time.
"""
import base64
import binascii
import hashlib
import hmac
import struct
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from core.errors import Code, DomainError
from core.keys import derive_key
from core.settings import Settings

KINDS = {"checkin": 1, "pass": 2}
_KIND_NAMES = {number: name for name, number in KINDS.items()}
_HEADER = struct.Struct(">BII")
_TAG_BYTES = 12  # 96 bits: forging one by guessing is out of reach
CODE_BYTES = _HEADER.size + _TAG_BYTES
MAX_CODE_LENGTH = 32
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class IssuedCode:
    code: str
    refresh_at: datetime  # the next code is out
    expires_at: datetime  # this code stops being accepted


@dataclass(frozen=True)
class ParsedCode:
    kind: str
    subject_id: int
    window: int
    tag: bytes


def _window_of(now: datetime, period: int) -> int:
    return int((now - _EPOCH).total_seconds()) // period


def _tag(kind: str, subject_id: int, window: int, subject_secret: str, secret_key: str) -> bytes:
    key = derive_key(secret_key, "short-codes")
    message = _HEADER.pack(KINDS[kind], subject_id, window) + subject_secret.encode()
    return hmac.new(key, message, hashlib.sha256).digest()[:_TAG_BYTES]


def issue(kind: str, subject_id: int, subject_secret: str, *, now: datetime, settings: Settings,
          period: int | None = None) -> IssuedCode:
    """The code of the window `now` falls in, with when it rotates and expires
    (every `settings.code_period_seconds` unless `period` is given)."""
    period = period or settings.code_period_seconds
    window = _window_of(now, period)
    tag = _tag(kind, subject_id, window, subject_secret, settings.secret_key)
    raw = _HEADER.pack(KINDS[kind], subject_id, window) + tag
    code = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return IssuedCode(code=code,
                      refresh_at=_EPOCH + timedelta(seconds=(window + 1) * period),
                      expires_at=_EPOCH + timedelta(seconds=(window + 2) * period))


def invalid(message: str = "无效的二维码") -> DomainError:
    return DomainError(Code.CODE_INVALID, message)


def parse(code, expected_kind: str) -> ParsedCode:
    """Unpacks a code without trusting it yet; CODE_INVALID for garbage or another kind."""
    if not isinstance(code, str) or not 0 < len(code) <= MAX_CODE_LENGTH or "=" in code:
        raise invalid()
    try:
        raw = base64.urlsafe_b64decode(code + "=" * (-len(code) % 4))
    except (binascii.Error, ValueError):
        raise invalid()
    if len(raw) != CODE_BYTES:
        raise invalid()
    kind_number, subject_id, window = _HEADER.unpack(raw[:_HEADER.size])
    if _KIND_NAMES.get(kind_number) != expected_kind:
        raise invalid("这不是此处可用的二维码")
    return ParsedCode(expected_kind, subject_id, window, raw[_HEADER.size:])


def verify(parsed: ParsedCode, subject_secret: str, *, now: datetime, settings: Settings,
           period: int | None = None) -> None:
    """Raises CODE_INVALID for a wrong tag or a window from the far future,
    CODE_EXPIRED for a genuine code older than the previous window."""
    period = period or settings.code_period_seconds
    expected = _tag(parsed.kind, parsed.subject_id, parsed.window, subject_secret, settings.secret_key)
    if not hmac.compare_digest(expected, parsed.tag):
        raise invalid()
    current = _window_of(now, period)
    if parsed.window > current + 1:  # one window of clock skew between app servers
        raise invalid()
    if parsed.window < current - 1:
        raise DomainError(Code.CODE_EXPIRED, "二维码已过期，请扫描最新的二维码")
