"""The one place that reads the wall clock; services receive `now` instead."""
from datetime import datetime, timezone


def now() -> datetime:
    return datetime.now(timezone.utc)
