"""Rate limits (Flask-Limiter), counted in Redis when configured.

Limits read their figures from config at request time, so tests and
deployments tune them without code changes.
"""
import functools
import hashlib
import hmac
import logging
import threading
import time

from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse as parse_limit
from werkzeug.exceptions import TooManyRequests

from core.keys import derive_key

log = logging.getLogger(__name__)

limiter = Limiter(key_func=get_remote_address, default_limits=[])


def store():
    """The store of the running app (Redis, or the in-process substitute)."""
    return current_app.extensions["linli.kv"]


def _login_phone_tag() -> str | None:
    """A keyed hash of the phone a sign-in names (the number itself stays out of
    the limit store); None without one (the body is then refused as 422)."""
    body = request.get_json(silent=True)
    phone = body.get("phone") if isinstance(body, dict) else None
    if not isinstance(phone, str):
        return None
    key = derive_key(current_app.config["SECRET_KEY"], "login-limits")
    return hmac.new(key, phone.encode(), hashlib.sha256).hexdigest()[:24]


def _login_phone_from_address() -> str:
    tag = _login_phone_tag()
    return f"phone-ip:{tag}:{get_remote_address()}" if tag else f"no-phone:{get_remote_address()}"


def _login_phone() -> str:
    tag = _login_phone_tag()
    return f"phone:{tag}" if tag else f"no-phone:{get_remote_address()}"


def _login_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


def _login_phone_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN_PHONE"]


def _failed(response) -> bool:
    return response.status_code == 401


# An address the phone signed in from is remembered this long; from it, the
# owner is not held by the per-phone ceiling (see login_limits).
KNOWN_ADDRESS_SECONDS = 30 * 24 * 3600


def _known_address_key() -> str | None:
    tag = _login_phone_tag()
    return f"login-known:{tag}:{get_remote_address()}" if tag else None


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

    Failures are counted after the answer (`deduct_when`), so an attempt the
    limits refuse (429) counts against nothing.
    """
    view = _remember_address(view)
    view = limiter.limit(_login_phone_limit, key_func=_login_phone, deduct_when=_failed,
                         exempt_when=_from_known_address)(view)
    view = limiter.limit(_login_limit, key_func=_login_phone_from_address, deduct_when=_failed)(view)
    return limiter.limit(_login_limit)(view)


def init_app(app) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"] or "memory://")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", app.config["REDIS_PREFIX"] + "rl")
    limiter.init_app(app)
    # Linli has no default limits: every limit is a decorator on its view, and a
    # decorator checks its own limits when the view runs. Flask-Limiter's
    # before-request check then only finds nothing to do, at a quarter of a
    # trivial request's CPU (90 µs), on every request; it is taken off.
    hooks = app.before_request_funcs.get(None, [])
    hooks[:] = [hook for hook in hooks if getattr(hook, "__func__", None) is not Limiter._check_request_limit]


@functools.lru_cache(maxsize=16)
def _parsed(limit: str):
    return parse_limit(limit)


def _signed_in_user() -> str:
    from core.errors import DomainError

    from .auth import claimed_user_id

    try:
        return f"user:{claimed_user_id()}"
    except DomainError:  # the view answers 401; count the attempt against the address
        return f"ip:{get_remote_address()}"


# A key's attempts are told to the shared counter only past this many per
# process and window (at most a sixteenth of the limit): see LocalCounts.
LOCAL_ALLOWANCE_CAP = 10
_MAX_LOCAL_KEYS = 50_000


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


def local_counts(app) -> LocalCounts:
    return app.extensions.setdefault("linli.local_limits", LocalCounts())


def _hit_user_limit(name: str) -> None:
    if not limiter.enabled:
        return
    item = _parsed(current_app.config[name])
    key = (current_app.config["RATELIMIT_KEY_PREFIX"], _signed_in_user(), name)
    now, counts = time.time(), local_counts(current_app)
    decision, amount = counts.attempt(key, allowance=min(LOCAL_ALLOWANCE_CAP, item.amount // 16),
                                      period=item.get_expiry(), now=now)
    if decision == "local":
        return
    if decision == "blocked":
        raise TooManyRequests(retry_after=max(1, int(amount) + 1))
    try:
        strategy = limiter.limiter
        if strategy.hit(item, *key, cost=amount):
            return
        reset_at = strategy.get_window_stats(item, *key).reset_time
    except Exception:  # storage unreachable: let the scan through, it is logged anyway
        log.warning("check-in rate limit storage unavailable", exc_info=True)
        return
    counts.block(key, until=reset_at)
    raise TooManyRequests(retry_after=max(1, int(reset_at - now) + 1))


def per_user_limit(config_name: str):
    """Requests per signed-in user, the figure read from config `config_name`
    (e.g. RATELIMIT_CHECKIN).

    Check-in is the hot path of the door-side rush, so attempts are counted
    in the process first (LocalCounts) and then in Flask-Limiter's own storage
    and strategy, without its per-request bookkeeping and X-RateLimit headers,
    which measured a quarter of a check-in's CPU (bench/bench_checkin.py).
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            _hit_user_limit(config_name)
            return view(*args, **kwargs)

        return wrapper

    return decorator


checkin_limits = per_user_limit("RATELIMIT_CHECKIN")
staff_scan_limits = per_user_limit("RATELIMIT_STAFF_SCAN")
