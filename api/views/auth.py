import functools

from flask import current_app
from flask_smorest import Blueprint

from api import examples
from api.auth import current_user, login_required
from api.limits import login_limits, per_address_limit, per_user_limit
from api.openapi import errors_doc
from api.schemas.auth import (DevLoginIn, LoginIn, MePatchIn, PasswordChangeIn, RefreshIn, TokenPairOut,
                              UserOut, WechatLoginIn)
from api.tokens import decode, refresh_ttl, token_pair
from api.wechat import code_to_session
from core import clock
from core.errors import NotFound
from people import accounts
from orgs import services as org_services

POSITION = 20  # its section's place in the API reference
blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="Sign-in and the current user")


def _signed_in(user, now):
    return token_pair(user, accounts.start_refresh_family(user=user, now=now, ttl=refresh_ttl()), now)


@blp.route("/auth/login", methods=["POST"])
@errors_doc("BAD_CREDENTIALS")
@login_limits
@blp.arguments(LoginIn, example=examples.STAFF_LOGIN_IN)
@blp.response(200, TokenPairOut, example=examples.TOKEN_PAIR_OUT)
def login(body):
    """Staff sign-in with phone and password.

    Answers an access token (`expires_in` seconds) and a refresh token; limited per phone and per address.
    """
    now = clock.now()
    return _signed_in(accounts.login_with_password(**body), now)


@blp.route("/auth/wechat", methods=["POST"])
@errors_doc("WECHAT_LOGIN_FAILED", "BAD_CREDENTIALS", "WECHAT_UNAVAILABLE")
@per_address_limit("RATELIMIT_LOGIN", "wechat")
@blp.arguments(WechatLoginIn, example=examples.WECHAT_LOGIN_IN)
@blp.response(200, TokenPairOut, example=examples.TOKEN_PAIR_OUT)
def wechat_login(body):
    """Resident sign-in with a `wx.login` code.

    The server exchanges the code with WeChat (`jscode2session`) and finds or creates the
    resident by openid. A code works once. `BAD_CREDENTIALS`: the account was deactivated.
    """
    now = clock.now()
    identity = code_to_session(body["code"])
    return _signed_in(accounts.login_with_wechat(**identity, now=now), now)


def _dev_login_enabled(view):
    """Without DEV_LOGIN the endpoint does not exist (404), before any parsing."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not current_app.config["DEV_LOGIN"]:
            raise NotFound("endpoint", "请求的地址不存在")
        return view(*args, **kwargs)

    return wrapper


@blp.route("/auth/dev", methods=["POST"])
@errors_doc("NOT_FOUND")
@_dev_login_enabled
@blp.arguments(DevLoginIn)
@blp.response(200, TokenPairOut)
def dev_login(body):
    """Demo sign-in without WeChat.

    Only when DEV_LOGIN is on (the embedded demo); otherwise 404, as if it did not exist.
    """
    now = clock.now()
    return _signed_in(accounts.login_dev(**body, now=now), now)


@blp.route("/auth/refresh", methods=["POST"])
@errors_doc("UNAUTHENTICATED")
@blp.arguments(RefreshIn)
@blp.response(200, TokenPairOut)
def refresh(body):
    """A new token pair for a refresh token.

    The refresh token is used up; using it again ends every session of its family (401).
    """
    now = clock.now()
    claims = decode(body["refresh_token"], "refresh")
    successor = accounts.rotate_refresh(jti=claims["jti"], now=now, ttl=refresh_ttl())
    return token_pair(accounts.get_user(successor.user_id), successor, now)


@blp.route("/me", methods=["GET"])
@login_required
@blp.response(200, UserOut)
def me():
    """The signed-in user, with roles and volunteer profile (phone masked)."""
    return current_user()


@blp.route("/me", methods=["PATCH"])
@errors_doc("NOT_FOUND", "PHONE_IN_USE")
@login_required
@blp.arguments(MePatchIn)
@blp.response(200, UserOut)
def patch_me(body):
    """Change the caller's nickname, phone or home organisation.

    `NOT_FOUND`: no organisation with that `home_org_id`.
    """
    return org_services.update_user_profile(user=current_user(), **body)


@blp.route("/me/password", methods=["POST"])
@errors_doc("WRONG_PASSWORD")
@per_user_limit("RATELIMIT_LOGIN")  # a stolen access token must not guess the password freely
@login_required
@blp.arguments(PasswordChangeIn)
@blp.response(200, TokenPairOut)
def change_password(body):
    """Change the caller's password.

    Every session is signed out; the answer is a new token pair for this one.
    """
    now = clock.now()
    user = accounts.change_password(user=current_user(), now=now, **body)
    return _signed_in(user, now)
