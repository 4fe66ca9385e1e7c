import functools

from flask import current_app
from flask_smorest import Blueprint

from api.auth import current_user, login_required
from api.limits import limiter, login_limits, per_user_limit
from api.schemas.auth import (DevLoginIn, LoginIn, MePatchIn, PasswordChangeIn, RefreshIn, TokenPairOut,
                              UserOut, WechatLoginIn)
from api.tokens import decode, refresh_ttl, token_pair
from api.wechat import code_to_session
from core import clock
from core.errors import NotFound
from volunteers import accounts

blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="Sign-in and the current user")


def _signed_in(user, now):
    return token_pair(user, accounts.start_refresh_family(user=user, now=now, ttl=refresh_ttl()), now)


@blp.route("/auth/login", methods=["POST"])
@login_limits
@blp.arguments(LoginIn)
@blp.response(200, TokenPairOut)
def login(body):
    """Staff sign-in with phone and password."""
    now = clock.now()
    return _signed_in(accounts.login_with_password(**body), now)


@blp.route("/auth/wechat", methods=["POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"])
@blp.arguments(WechatLoginIn)
@blp.response(200, TokenPairOut)
def wechat_login(body):
    """Resident sign-in with a `wx.login` code."""
    now = clock.now()
    identity = code_to_session(body["code"])
    return _signed_in(accounts.login_with_wechat(**identity, now=now), now)


def _dev_login_enabled(view):
    """Without DEV_LOGIN the endpoint does not exist (404), before any parsing."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not current_app.config["DEV_LOGIN"]:
            raise NotFound("endpoint", "The requested URL was not found on the server.")
        return view(*args, **kwargs)

    return wrapper


@blp.route("/auth/dev", methods=["POST"])
@_dev_login_enabled
@blp.arguments(DevLoginIn)
@blp.response(200, TokenPairOut)
def dev_login(body):
    """Demo sign-in without WeChat (only when DEV_LOGIN is on)."""
    now = clock.now()
    return _signed_in(accounts.login_dev(**body, now=now), now)


@blp.route("/auth/refresh", methods=["POST"])
@blp.arguments(RefreshIn)
@blp.response(200, TokenPairOut)
def refresh(body):
    """A new token pair for a refresh token, which is used up."""
    now = clock.now()
    claims = decode(body["refresh_token"], "refresh")
    successor = accounts.rotate_refresh(jti=claims["jti"], now=now, ttl=refresh_ttl())
    return token_pair(accounts.get_user(successor.user_id), successor, now)


@blp.route("/me", methods=["GET"])
@login_required
@blp.response(200, UserOut)
def me():
    return current_user()


@blp.route("/me", methods=["PATCH"])
@login_required
@blp.arguments(MePatchIn)
@blp.response(200, UserOut)
def patch_me(body):
    return accounts.update_profile(user=current_user(), **body)


@blp.route("/me/password", methods=["POST"])
@per_user_limit("RATELIMIT_LOGIN")  # a stolen access token must not guess the password freely
@login_required
@blp.arguments(PasswordChangeIn)
@blp.response(200, TokenPairOut)
def change_password(body):
    """Changes the caller's password and signs every session out; answers with a new one."""
    now = clock.now()
    user = accounts.change_password(user=current_user(), now=now, **body)
    return _signed_in(user, now)
