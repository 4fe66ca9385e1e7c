"""Error codes are one enum that carries each code's HTTP status (house rule 12):
every code has a status and a meaning, an error cannot be built from a bare
string, and the codes API.md names answer with the statuses it documents."""
import re
import runpy
from pathlib import Path

import pytest
from werkzeug.exceptions import default_exceptions

from api.errors import HTTP_CODES, http_code, status_of
from core.errors import Code, Conflict, DomainError, Forbidden

ROOT = Path(__file__).resolve().parent.parent
CHINESE = re.compile(r"[\u4e00-\u9fff]")

# Every code /work/shared/API.md names, with the status it documents for it.
API_MD_CODES = {
    "BAD_REQUEST": 400, "CODE_INVALID": 400,
    "UNAUTHENTICATED": 401, "BAD_CREDENTIALS": 401, "WECHAT_LOGIN_FAILED": 401,
    "FORBIDDEN": 403, "NOT_A_VOLUNTEER": 403, "NOT_REGISTERED": 403, "OUT_OF_AREA": 403,
    "NOT_FOUND": 404,
    "CONFLICT": 409, "REGISTRATION_CLOSED": 409, "ALREADY_REGISTERED": 409, "CHECKIN_NOT_OPEN": 409,
    "NOT_CHECKED_IN": 409, "NOT_ENDED": 409, "ALREADY_SETTLED": 409, "IDEMPOTENCY_CONFLICT": 409,
    "INSUFFICIENT_POINTS": 409, "OUT_OF_STOCK": 409, "LIMIT_REACHED": 409, "ALREADY_FULFILLED": 409,
    "REDEMPTION_CANCELLED": 409, "REDEMPTION_EXPIRED": 409, "CAPACITY_BELOW_CONFIRMED": 409,
    "NEED_TAKEN": 409,
    "CODE_EXPIRED": 410,
    "PAYLOAD_TOO_LARGE": 413,
    "VALIDATION_ERROR": 422,
    "RATE_LIMITED": 429,
    "WECHAT_UNAVAILABLE": 503,
}


@pytest.mark.parametrize("code", list(Code), ids=str)
def test_every_code_has_a_status_and_a_chinese_meaning(code):
    assert code.value == code.name and re.fullmatch(r"[A-Z][A-Z_]*[A-Z]", code.name)
    assert 400 <= code.status <= 599
    assert CHINESE.search(code.meaning), code.meaning


def test_the_codes_api_md_names_answer_with_its_statuses():
    assert {name: status_of(name) for name in API_MD_CODES} == API_MD_CODES


def test_the_http_generic_codes_are_members():
    assert {name: Code[name].status for name in [
        "NOT_FOUND", "METHOD_NOT_ALLOWED", "RATE_LIMITED", "URI_TOO_LONG", "HEADERS_TOO_LARGE",
        "SERVICE_UNAVAILABLE", "INTERNAL_ERROR"]} == {
        "NOT_FOUND": 404, "METHOD_NOT_ALLOWED": 405, "RATE_LIMITED": 429, "URI_TOO_LONG": 414,
        "HEADERS_TOO_LARGE": 431, "SERVICE_UNAVAILABLE": 503, "INTERNAL_ERROR": 500}


def test_status_of_knows_only_members():
    assert status_of("OUT_OF_STOCK") == 409 and status_of(Code.CODE_EXPIRED) == 410
    with pytest.raises(KeyError):
        status_of("NO_SUCH_CODE")


@pytest.mark.parametrize("build", [
    lambda: DomainError("OUT_OF_STOCK", "该福利已兑完"),
    lambda: Conflict("IDEMPOTENCY_CONFLICT", "该幂等键已用于另一笔不同的操作"),
    lambda: Forbidden("仅限本社区居民兑换", code="NOT_ELIGIBLE"),
    lambda: DomainError(409, "冲突"),
], ids=["DomainError", "Conflict", "Forbidden", "number"])
def test_an_error_is_built_from_a_member_only(build):
    with pytest.raises(TypeError):
        build()


def test_an_error_carries_its_member():
    error = Conflict(Code.OUT_OF_STOCK, "该福利已兑完", benefit_id=3)
    assert error.code is Code.OUT_OF_STOCK and error.code == "OUT_OF_STOCK"
    assert (error.message, error.details) == ("该福利已兑完", {"benefit_id": 3})
    assert DomainError(Code.NOT_ENDED).message == Code.NOT_ENDED.meaning  # the default message


@pytest.mark.parametrize("status", sorted(default_exceptions))
def test_every_http_error_answers_with_a_member_of_its_own_status(status):
    code = http_code(status)
    assert isinstance(code, Code)
    if status in HTTP_CODES:
        assert code.status == status
    else:  # nothing raises it; it takes its class's generic code and status
        assert code in (Code.BAD_REQUEST, Code.INTERNAL_ERROR)


def test_gunicorns_own_answers_use_members_with_their_statuses():
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert {status: Code[code].status for status, (code, _) in config["_CODES"].items()} == {
        status: status for status in config["_CODES"]}


def test_every_reason_the_check_in_decision_gives_is_a_code():
    """The decision module imports nothing outside the standard library, so it
    names its reasons as strings; the doors turn them into members by name."""
    text = (ROOT / "activities" / "decision.py").read_text(encoding="utf-8")
    reasons = set(re.findall(r'Decision\(REFUSED, "([A-Z_]+)"', text))
    assert "NOT_REGISTERED" in reasons  # the scan itself works
    assert {reason: status_of(reason) for reason in reasons}  # KeyError: not a code
