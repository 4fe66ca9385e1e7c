"""Who is calling: the bearer token, and decorators that check it first.

API.md orders errors 401 → 404 → 403 → 422 → 409, so these decorators sit
above the schema decorator of a view and run before the body is parsed.
"""
import functools

from flask import g, request

from core.errors import Code, DomainError
from orgs.scope import require
from people.accounts import get_user

from .tokens import decode, subject


def _token_user_id(optional: bool):
    """The user id the bearer token claims, decoded once per request, without
    a database query; None (or UNAUTHENTICATED unless `optional`) without a token."""
    if "claimed_user_id" not in g:
        header = request.headers.get("Authorization", "")
        user_id = version = None
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise DomainError(Code.UNAUTHENTICATED, "Authorization 头格式应为 Bearer <token>")
            claims = decode(token.strip(), "access")
            user_id, version = subject(claims), claims.get("ver", 0)
        g.claimed_user_id, g.claimed_token_version = user_id, version
    if g.claimed_user_id is None and not optional:
        raise DomainError(Code.UNAUTHENTICATED, "请先登录")
    return g.claimed_user_id


def current_user(optional: bool = False):
    """The signed-in user, loaded once per request; UNAUTHENTICATED if absent."""
    if "user" not in g:
        user_id = _token_user_id(optional=True)
        g.user = None if user_id is None else get_user(user_id)
        if user_id is not None and g.user is None:
            raise DomainError(Code.UNAUTHENTICATED, "账号不存在或已停用")
        if g.user is not None and g.user.token_version != g.claimed_token_version:
            # Issued before a password reset, a removed role or a sign-out everywhere.
            g.user = None
            raise DomainError(Code.UNAUTHENTICATED, "登录已失效，请重新登录", reason="revoked")
    if g.user is None and not optional:
        raise DomainError(Code.UNAUTHENTICATED, "请先登录")
    return g.user


def claimed_user_id() -> int:
    """The user id a valid access token claims, without a database query: for
    hot paths whose service checks the account itself (self check-in) and
    for per-user rate-limit keys. UNAUTHENTICATED without a valid token.
    The token version is not checked here (that needs the user's row):
    `current_user` checks it."""
    return _token_user_id(optional=False)


def token_required(view):
    """Like `login_required` (401 before anything else), but only checks the token."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        claimed_user_id()
        return view(*args, **kwargs)

    return wrapper


def login_required(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        current_user()
        return view(*args, **kwargs)

    return wrapper


def load(loader, arg: str, *, as_name: str, action: str | None = None, org_of=lambda obj: obj):
    """Loads the object named by URL argument `arg` (404) and, with `action`,
    checks the caller may do it on the object's organisation (403), before the
    body is parsed."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            obj = loader(kwargs.pop(arg))
            if action is not None:
                require(current_user(), action, org_of(obj))
            kwargs[as_name] = obj
            return view(*args, **kwargs)

        return wrapper

    return decorator
