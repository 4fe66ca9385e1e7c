"""Signed short codes (core/codes.py)."""
import base64
import re
from datetime import datetime, timedelta, timezone

import pytest

from core import codes
from core.errors import DomainError
from core.settings import Settings

SETTINGS = Settings(secret_key="a-secret-key-for-the-short-codes-tests")
T0 = datetime(2026, 12, 1, 1, 0, 0, tzinfo=timezone.utc)


def reason(fn):
    with pytest.raises(DomainError) as caught:
        fn()
    return caught.value.code


def test_code_is_short_url_safe_and_round_trips():
    issued = codes.issue("checkin", 123456, "secret-a", now=T0, settings=SETTINGS, period=30)
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,32}", issued.code)
    assert issued.refresh_at == T0 + timedelta(seconds=30)
    assert issued.expires_at == T0 + timedelta(seconds=60)
    parsed = codes.parse(issued.code, "checkin")
    assert parsed.subject_id == 123456
    codes.verify(parsed, "secret-a", now=T0, settings=SETTINGS, period=30)


def test_previous_window_accepted_older_expired():
    code = codes.issue("checkin", 7, "s", now=T0, settings=SETTINGS, period=30).code
    parsed = codes.parse(code, "checkin")
    codes.verify(parsed, "s", now=T0 + timedelta(seconds=59), settings=SETTINGS, period=30)
    assert reason(lambda: codes.verify(parsed, "s", now=T0 + timedelta(seconds=60), settings=SETTINGS, period=30)) \
        == "CODE_EXPIRED"


def test_forged_tampered_other_secret_and_other_kind_are_invalid():
    code = codes.issue("checkin", 7, "s", now=T0, settings=SETTINGS, period=30).code
    raw = bytearray(base64.urlsafe_b64decode(code + "=" * (-len(code) % 4)))
    raw[2] ^= 1  # another subject id, same tag
    tampered = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    assert reason(lambda: codes.verify(codes.parse(tampered, "checkin"), "s", now=T0, settings=SETTINGS, period=30)) \
        == "CODE_INVALID"
    # Rotating the subject's secret revokes its codes.
    assert reason(lambda: codes.verify(codes.parse(code, "checkin"), "s2", now=T0, settings=SETTINGS, period=30)) \
        == "CODE_INVALID"
    assert reason(lambda: codes.parse(code, "pass")) == "CODE_INVALID"
    for garbage in ["", "x" * 33, "!!!!", "abc=", code[:-1], 12, None]:
        assert reason(lambda: codes.parse(garbage, "checkin")) == "CODE_INVALID"


def test_future_window_is_invalid_and_no_personal_data_inside():
    code = codes.issue("pass", 42, "s", now=T0 + timedelta(minutes=5), settings=SETTINGS, period=30).code
    assert reason(lambda: codes.verify(codes.parse(code, "pass"), "s", now=T0, settings=SETTINGS, period=30)) \
        == "CODE_INVALID"
    raw = base64.urlsafe_b64decode(code + "=" * (-len(code) % 4))
    assert len(raw) == codes.CODE_BYTES  # kind, id, window, tag: nothing else fits
