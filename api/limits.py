"""Rate limits: one small interface over the `limits` library, counted in Redis
when configured.

A view is limited by `@rate_limited(counter, ...)`; a `Counter` names the
setting its figure is read from (at request time, so tests and deployments
tune it without code changes), what it counts by (the address, the phone, the
signed-in user), and whether it counts every attempt or only failed ones.
Counting uses `limits`' public API only: a storage from `RATELIMIT_STORAGE_URI`
under `RATELIMIT_KEY_PREFIX` and the fixed-window strategy over it. Nothing runs
on a request that has no limit.

Settings: `RATELIMIT_ENABLED` (default on), `RATELIMIT_STORAGE_URI` (default
`REDIS_URL`, else in memory), `RATELIMIT_STORAGE_OPTIONS` (passed to the Redis
client), `RATELIMIT_KEY_PREFIX`, `RATELIMIT_IN_MEMORY_FALLBACK_ENABLED` (while
the store is unreachable, count in this process), `RATELIMIT_SWALLOW_ERRORS`
(without that fallback, let requests through rather than fail them),
`RATELIMIT_HEADERS_ENABLED` (X-RateLimit-* headers on limits not counted
locally first).
"""
import functools
import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app, g, request
from limits import RateLimitItem
from limits import parse as parse_limit
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

from core.errors import DomainError
from core.keys import derive_key

log = logging.getLogger(__name__)

EXTENSION = "linli.rate_limits"


def store():
    """The store of the running app (Redis, or the in-process substitute)."""
    return current_app.extensions["linli.kv"]

def remote_address() -> str:
    return request.remote_addr or "127.0.0.1"
@functools.lru_cache(maxsize=64)
def _parsed(limit: str) -> RateLimitItem:
    return parse_limit(limit)
# -- counting --------------------------------------------------------------------------------

# A key's attempts are told to the shared counter only past this many per
# process and window (at most a sixteenth of the limit): see LocalCounts.
LOCAL_ALLOWANCE_CAP = 10
_MAX_LOCAL_KEYS = 50_000
# While the store is unreachable it is asked again after 1, 2, 4... seconds, at most this many.
MAX_STORE_RETRY_SECONDS = 64
class LocalCounts:
    """Attempts per key counted in this process first.

    A person scanning once or twice at the door never reaches the shared
    counter in Redis: no round trip, which was a third of a check-in's time.
    From the allowance on, attempts are added to the shared counter in one
    step, and once it says the limit is passed the key is refused here, with
    no round trip either, until its window ends. So a key can pass its limit
    by at most its allowance per process and window; a client hammering is
    still stopped, and a limit under 16 is exact (no allowance).
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._entries = {}  # key -> [window_end, unflushed, blocked_until]

    def attempt(self, key, *, allowance: int, period: int, now: float) -> tuple[str, float]:
        """("local", 0): under the allowance; ("flush", n): add n to the shared
        counter; ("blocked", seconds): refused until the window ends."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or now >= entry[0]:
                if len(self._entries) >= _MAX_LOCAL_KEYS:
                    self._entries = {k: e for k, e in self._entries.items() if now < e[0]}
                entry = self._entries[key] = [now + period, 0, 0.0]
            if now < entry[2]:
                return "blocked", entry[2] - now
            entry[1] += 1
            if entry[1] <= allowance:
                return "local", 0
            flushed, entry[1] = entry[1], 0
            return "flush", flushed

    def block(self, key, *, until: float) -> None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                entry[2] = until
class RateLimits:
    """An app's counters: the shared store and its strategy, an in-process
    fallback for while the store is unreachable, and the local first counts."""

    def __init__(self, config):
        self.enabled = bool(config.get("RATELIMIT_ENABLED", True))
        options = dict(config.get("RATELIMIT_STORAGE_OPTIONS") or {})
        self.storage = storage_from_string(config["RATELIMIT_STORAGE_URI"],
                                           key_prefix=config["RATELIMIT_KEY_PREFIX"], **options)
        self.shared = FixedWindowRateLimiter(self.storage)
        self.fallback = (FixedWindowRateLimiter(MemoryStorage())
                         if config.get("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED") else None)
        self.swallow_errors = bool(config.get("RATELIMIT_SWALLOW_ERRORS"))
        self.local = LocalCounts()
        self._lock = threading.Lock()
        self._down_since = None  # when the store was found unreachable; None: it answers
        self._retry_at = 0.0
        self._retries = 0

    def reset(self) -> None:
        """Forgets every count of this app (its own key prefix only)."""
        self.storage.reset()
        if self.fallback is not None:
            self.fallback.storage.reset()
        self.local = LocalCounts()
        with self._lock:
            self._down_since, self._retries = None, 0

    def _strategy(self) -> FixedWindowRateLimiter | None:
        """The shared counter, or while it is down the fallback (None: none)."""
        with self._lock:
            if self._down_since is None:
                return self.shared
            if time.time() < self._retry_at:
                return self.fallback
            self._retries += 1
            self._retry_at = time.time() + min(2 ** self._retries, MAX_STORE_RETRY_SECONDS)
        if self.storage.check():
            with self._lock:
                self._down_since, self._retries = None, 0
            log.warning("rate limit storage reachable again")
            return self.shared
        return self.fallback

    def _store_failed(self) -> FixedWindowRateLimiter | None:
        with self._lock:
            if self._down_since is None:
                self._down_since, self._retries, self._retry_at = time.time(), 0, time.time() + 1
        log.warning("rate limit storage unreachable", exc_info=True)
        return self.fallback

    def _call(self, method: str, item: RateLimitItem, *identifiers: str, **kwargs):
        """`strategy.method(item, *identifiers)` on the shared counter, or on the
        fallback when it is unreachable; None when neither answers (let through)."""
        strategy = self._strategy()
        if strategy is self.shared:
            try:
                return getattr(strategy, method)(item, *identifiers, **kwargs)
            except Exception:  # unreachable: the fallback counts, or the request passes
                strategy = self._store_failed()
                if strategy is None and not self.swallow_errors:
                    raise
        if strategy is None:
            return None
        return getattr(strategy, method)(item, *identifiers, **kwargs)

    def hit(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        """Counts `cost` attempts; False when that passes the limit."""
        return self._call("hit", item, *identifiers, cost=cost) is not False

    def test(self, item: RateLimitItem, *identifiers: str) -> bool:
        """Whether one more attempt stays within the limit, counting nothing."""
        return self._call("test", item, *identifiers) is not False

    def window(self, item: RateLimitItem, *identifiers: str):
        """(reset time, remaining) of the counter; None when nothing answers."""
        return self._call("get_window_stats", item, *identifiers)
def rate_limits(app=None) -> RateLimits:
    return (app or current_app).extensions[EXTENSION]
# -- what a view is limited by ----------------------------------------------------------------

@dataclass(frozen=True)
class Counter:
    """One limit on a view.

    `setting`: the config name of its figure ("10 per minute"); `name`: the
    counter's own name in the store (views sharing a name share the count);
    `key`: what it counts by, None to skip; `failures_only`: count an attempt
    only once its answer is a 401, and refuse once the count is full (an attempt
    refused by a limit, 429, counts against nothing); `exempt_when`: skipped when
    true; `local_first`: counted in the process first (LocalCounts).
    """

    setting: str
    name: str
    key: Callable[[], str | None]
    failures_only: bool = False
    exempt_when: Callable[[], bool] | None = None
    local_first: bool = False
def _refuse(reset_at: float, now: float):
    raise TooManyRequests(retry_after=max(1, int(reset_at - now) + 1))
def _check_local_first(limits: RateLimits, counter: Counter, item: RateLimitItem, key: str) -> None:
    ids = (counter.name, key)
    now = time.time()
    decision, amount = limits.local.attempt(ids, allowance=min(LOCAL_ALLOWANCE_CAP, item.amount // 16),
                                            period=item.get_expiry(), now=now)
    if decision == "local":
        return
    if decision == "blocked":
        raise TooManyRequests(retry_after=max(1, int(amount) + 1))
    if limits.hit(item, *ids, cost=amount):
        return
    window = limits.window(item, *ids)
    reset_at = window.reset_time if window is not None else now + item.get_expiry()
    limits.local.block(ids, until=reset_at)
    _refuse(reset_at, now)
def _check(limits: RateLimits, counter: Counter, item: RateLimitItem, key: str) -> None:
    ids = (counter.name, key)
    within = limits.test(item, *ids) if counter.failures_only else limits.hit(item, *ids)
    if not within:
        window = limits.window(item, *ids)
        now = time.time()
        _refuse(window.reset_time if window is not None else now + item.get_expiry(), now)
def _headers(limits: RateLimits, item: RateLimitItem, ids) -> dict:
    window = limits.window(item, *ids)
    if window is None:
        return {}
    return {"X-RateLimit-Limit": str(item.amount), "X-RateLimit-Remaining": str(window.remaining),
            "X-RateLimit-Reset": str(int(window.reset_time))}
def rate_limited(*counters: Counter):
    """Checks `counters` in order before the view; the first one passed answers
    429 RATE_LIMITED with Retry-After. Failure counters count after the view."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            limits = rate_limits()
            if not limits.enabled:
                return view(*args, **kwargs)
            active = []
            for counter in counters:
                if counter.exempt_when is not None and counter.exempt_when():
                    continue
                key = counter.key()
                if key is None:
                    continue
                item = _parsed(current_app.config[counter.setting])
                if counter.local_first:
                    _check_local_first(limits, counter, item, key)
                else:
                    _check(limits, counter, item, key)
                active.append((counter, item, key))
            try:
                response = view(*args, **kwargs)
            except DomainError as error:
                if error.code.status == 401:
                    for counter, item, key in active:
                        if counter.failures_only:
                            limits.hit(item, counter.name, key)
                raise
            finally:
                plain = [(item, (c.name, key)) for c, item, key in active if not c.local_first]
                if plain and current_app.config.get("RATELIMIT_HEADERS_ENABLED"):
                    g.rate_limit_headers = _headers(limits, *plain[0])
            return response

        return wrapper

    return decorator
def _add_headers(response):
    for name, value in (g.pop("rate_limit_headers", None) or {}).items():
        response.headers.setdefault(name, value)
    return response
# -- the limits Linli has -----------------------------------------------------------------------

def _login_phone_tag() -> str | None:
    """A keyed hash of the phone a sign-in names (the number itself stays out of
    the limit store); None without one (the body is then refused as 422)."""
    body = request.get_json(silent=True)
    phone = body.get("phone") if isinstance(body, dict) else None
    if not isinstance(phone, str):
        return None
    key = derive_key(current_app.config["SECRET_KEY"], "login-limits")
    return hmac.new(key, phone.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:24]  # 422 follows
def _login_phone_from_address() -> str:
    tag = _login_phone_tag()
    return f"phone-ip:{tag}:{remote_address()}" if tag else f"no-phone:{remote_address()}"
def _login_phone() -> str:
    tag = _login_phone_tag()
    return f"phone:{tag}" if tag else f"no-phone:{remote_address()}"
# An address the phone signed in from is remembered this long; from it, the
# owner is not held by the per-phone ceiling (see login_limits).
KNOWN_ADDRESS_SECONDS = 30 * 24 * 3600
def _known_address_key() -> str | None:
    tag = _login_phone_tag()
    return f"login-known:{tag}:{remote_address()}" if tag else None
def _from_known_address() -> bool:
    key = _known_address_key()
    return key is not None and store().get(key) is not None
def _remember_address(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        response = view(*args, **kwargs)  # BAD_CREDENTIALS raises: only a success gets here
        key = _known_address_key()
        if key is not None:
            store().set(key, "1", ex=KNOWN_ADDRESS_SECONDS)
        return response

    return wrapper
def _address() -> str:
    return f"ip:{remote_address()}"
def login_limits(view):
    """Password sign-in, three counters (README, "Sign-in limits"):

    - per address, every attempt (RATELIMIT_LOGIN): one caller cannot spray phones;
    - per phone from one address, failures only (RATELIMIT_LOGIN): guessing from
      one place stops, and a stranger's failures elsewhere do not count against
      the owner's address;
    - per phone from all addresses, failures only (RATELIMIT_LOGIN_PHONE, higher):
      a ceiling on guessing from many addresses at once. It does not apply from an
      address the phone signed in from in the last 30 days, so reaching it cannot
      shut the owner out of their usual places.

    Failures are counted after the answer, so an attempt the limits refuse (429)
    counts against nothing.
    """
    return rate_limited(
        Counter("RATELIMIT_LOGIN", "login", _address),
        Counter("RATELIMIT_LOGIN", "login-phone-ip", _login_phone_from_address, failures_only=True),
        Counter("RATELIMIT_LOGIN_PHONE", "login-phone", _login_phone, failures_only=True,
                exempt_when=_from_known_address),
    )(_remember_address(view))
def per_address_limit(config_name: str, name: str):
    """Every attempt per client address, the figure read from config `config_name`."""
    return rate_limited(Counter(config_name, name, _address))
def _signed_in_user() -> str:
    from .auth import claimed_user_id

    try:
        return f"user:{claimed_user_id()}"
    except DomainError:  # the view answers 401; count the attempt against the address
        return _address()
def per_user_limit(config_name: str):
    """Requests per signed-in user, the figure read from config `config_name`
    (e.g. RATELIMIT_CHECKIN); views with the same setting share the count.

    Check-in is the hot path of the door-side rush, so attempts are counted in
    the process first (LocalCounts), then in the shared store, without
    X-RateLimit headers, which would cost a round trip each (bench/bench_checkin.py).
    """
    return rate_limited(Counter(config_name, config_name, _signed_in_user, local_first=True))
checkin_limits = per_user_limit("RATELIMIT_CHECKIN")
staff_scan_limits = per_user_limit("RATELIMIT_STAFF_SCAN")
def init_app(app) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"] or "memory://")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", app.config["REDIS_PREFIX"] + "rl")
    app.extensions[EXTENSION] = RateLimits(app.config)
    app.after_request(_add_headers)
