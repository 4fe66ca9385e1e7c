"""Every error code raised anywhere has an HTTP status in api/errors.py."""
import re
from pathlib import Path

from api.errors import STATUS_BY_CODE

ROOT = Path(__file__).resolve().parent.parent
RAISED = re.compile(r'(?:DomainError|Conflict|Forbidden)\(\s*"([A-Z][A-Z_]+)"')
CODE_KW = re.compile(r'code="([A-Z][A-Z_]+)"')


def raised_codes():
    codes = set()
    # Every top-level package (people, console... included), found rather than listed.
    packages = [init.parent for init in ROOT.glob("*/__init__.py") if init.parent.name not in {"tests", "bench"}]
    for package in packages:
        for path in package.rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            codes |= set(RAISED.findall(text)) | set(CODE_KW.findall(text))
    return codes


def test_every_raised_code_has_a_status():
    codes = raised_codes()
    assert "BAD_CREDENTIALS" in codes  # the scan itself works
    assert sorted(codes - set(STATUS_BY_CODE)) == []
