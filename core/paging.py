"""Keyset (cursor) pagination: stable under inserts, cheap at any depth.

The cursor is the sort key of the last item returned, base64url-encoded JSON;
clients treat it as opaque.
"""
import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from core.bounds import INT_LIMIT, is_sane_instant, is_storable_text
from core.db import UTCDateTime, db
from core.errors import Invalid

BIGINT_LIMIT = 2**63 - 1


@dataclass
class Page:
    items: list
    next: str | None


def encode_cursor(values: list) -> str:
    plain = [v.isoformat() if isinstance(v, date) else v for v in values]  # dates and datetimes
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, columns) -> list:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) != len(columns):
            raise ValueError("wrong length")
        return [_decoded(column, value) for column, value in zip(columns, values)]
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise Invalid({"cursor": ["不是本列表的翻页游标"]})


def _decoded(column, value):
    """A cursor is the client's to send back, so it is input like any other:
    each value must be what the column could hold (else the driver fails)."""
    if isinstance(column.type, UTCDateTime):
        value = datetime.fromisoformat(value)
        if not is_sane_instant(value):
            raise ValueError("instant out of range")
    elif isinstance(column.type, sa.Date):
        value = date.fromisoformat(value)
    elif isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError("wrong type")
    elif isinstance(value, int):
        limit = BIGINT_LIMIT if isinstance(column.type, sa.BigInteger) else INT_LIMIT
        if abs(value) > limit:
            raise ValueError("integer out of range")
    elif not is_storable_text(value):
        raise ValueError("unstorable text")
    return value


def keyset_page(stmt, *, order, cursor: str | None, limit: int, descending: bool = False,
                key=None) -> Page:
    """Runs `stmt` ordered by `order` (ending in a unique column) from `cursor` on.

    `key(item)` gives an item's values for `order`; by default the attributes
    of the same names.
    """
    if cursor:
        values = decode_cursor(cursor, order)
        row = sa.tuple_(*order)
        after = sa.tuple_(*[sa.literal(v, c.type) for c, v in zip(order, values)])
        stmt = stmt.where(row < after if descending else row > after)
    stmt = stmt.order_by(*[c.desc() if descending else c.asc() for c in order]).limit(limit + 1)
    items = list(db.session.scalars(stmt))
    if len(items) <= limit:
        return Page(items, None)
    items = items[:limit]
    key = key or (lambda item: [getattr(item, c.key) for c in order])
    return Page(items, encode_cursor(key(items[-1])))
