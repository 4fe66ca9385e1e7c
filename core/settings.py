"""The settings the services read: one frozen object, each setting's default here once.

The app factory builds it once from the app's config (`from_config`) and keeps it
in `app.extensions["linli.settings"]`; views and commands hand it to services as
`settings=`. Domain packages never look configuration up themselves (no flask).
"""
import dataclasses
import functools
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

EXTENSION = "linli.settings"


@functools.lru_cache(maxsize=8)
def zone_named(name: str) -> ZoneInfo:
    """The one time-zone helper: every local date or time goes through a
    Settings' `zone`, which is this."""
    return ZoneInfo(name)


@dataclass(frozen=True)
class Settings:
    # Every signing and encryption key is derived from it (core.keys).
    secret_key: str
    # The local zone of days, months and years: service dates, monthly limits, daily caps.
    timezone: str = "Asia/Shanghai"
    # Encrypts ID numbers at rest; SECRET_KEY when unset.
    id_number_key: str | None = None
    # How often check-in codes and passes rotate; the previous one stays valid one more period.
    code_period_seconds: int = 30
    # A URL prefix door QRs carry before the code, e.g. https://linli.example.cn/c/ ("": the bare code).
    checkin_link_base: str = ""
    # How old a scan a staff device kept offline may be when uploaded.
    offline_scan_max_hours: int = 72
    # Days a reserved benefit waits for pickup before it expires (stock and points released).
    redemption_pickup_days: int = 7
    # Months after which unspent points expire, oldest first (None: never; hours never expire).
    points_expire_months: int | None = None
    # Most points one person may earn from activities starting on one local day (None: no cap).
    points_daily_cap: int | None = None

    zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        # Resolved once: a misspelt TIMEZONE stops the app at start, not a request later.
        object.__setattr__(self, "zone", zone_named(self.timezone))

    def local(self, moment: datetime) -> datetime:
        """`moment` (aware) as local wall time."""
        return moment.astimezone(self.zone)

    @property
    def id_number_secret(self) -> str:
        return self.id_number_key or self.secret_key

    @classmethod
    def from_config(cls, config: Mapping) -> "Settings":
        """From a Flask-style config: each setting under its upper-case name;
        one that is absent keeps the default above."""
        values = {f.name: config[f.name.upper()] for f in _SETTABLE if f.name.upper() in config}
        return cls(**values)


_SETTABLE = [f for f in dataclasses.fields(Settings) if f.init]

# How an environment variable's text becomes each setting (the rest are text).
_PARSERS = {int: int, int | None: int, str | None: str}


def from_environment(env: Mapping[str, str]) -> dict:
    """The settings the environment sets, under their config names (TIMEZONE,
    CODE_PERIOD_SECONDS...), parsed; an unset or empty variable is left out,
    so the default above holds. SECRET_KEY is api.config's (it checks it)."""
    found = {}
    for f in _SETTABLE:
        name = f.name.upper()
        text = env.get(name)
        if name == "SECRET_KEY" or not text:
            continue
        found[name] = _PARSERS.get(f.type, str)(text)
    return found


def of(app) -> Settings:
    """The settings an app factory built (`app.extensions[EXTENSION]`)."""
    return app.extensions[EXTENSION]


# Settings by the engine an app factory made, for the few rules that run inside
# SQLAlchemy's flush (a row numbered on insert) where no caller can pass them.
_BY_ENGINE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def bind_engine(engine, settings: Settings) -> None:
    _BY_ENGINE[engine] = settings


def zone_of_engine(engine) -> ZoneInfo:
    """The local zone of the app whose engine this is (the default zone for an
    engine no app factory made)."""
    settings = _BY_ENGINE.get(engine)
    return settings.zone if settings is not None else zone_named(_DEFAULT_TIMEZONE)


_DEFAULT_TIMEZONE = next(f.default for f in _SETTABLE if f.name == "timezone")
