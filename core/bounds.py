"""What a value from outside may be before it reaches the database.

Each bound stands where a driver or the standard library would otherwise
fail with an exception (a 500), not with an answer:
- text: PostgreSQL refuses NUL in text; a lone UTF-16 surrogate (JSON's
  "\\ud800") cannot be encoded as UTF-8 by any driver;
- ids and counts are 32-bit columns;
- instants: a year near 1 or 9999 overflows when moved to UTC; nothing the
  community does happens outside 2000-2100 (the working-day calendar keeps
  the same years).
"""
from datetime import datetime

INT_LIMIT = 2**31 - 1
FIRST_YEAR, LAST_YEAR = 2000, 2100

TEXT_PROBLEM = "不能含空字符（\\u0000）或不成对的 UTF-16 代理项"
INSTANT_PROBLEM = f"须在 {FIRST_YEAR}–{LAST_YEAR} 年之间"


def is_storable_text(value: str) -> bool:
    """No NUL and no lone surrogate (the UTF-8 codec refuses exactly those)."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(value: str) -> str:
    """`value` with NUL and lone surrogates escaped, safe to echo in an error."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def is_sane_instant(value: datetime) -> bool:
    """Aware, and in FIRST_YEAR..LAST_YEAR in its own offset (so it converts to UTC)."""
    return value.tzinfo is not None and value.utcoffset() is not None \
        and FIRST_YEAR <= value.year <= LAST_YEAR
