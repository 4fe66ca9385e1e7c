"""JWT access and refresh tokens, HS256 only."""
import re
import secrets
from datetime import timedelta

import jwt
from flask import current_app

from core.errors import Code, DomainError
from core.keys import derive_key

from core.bounds import INT_LIMIT

ALGORITHM = "HS256"
# A user id as this server writes it: ASCII digits, no sign, no leading zero.
_SUBJECT = re.compile(r"[1-9][0-9]{0,9}")


def _key() -> bytes:
    # A key of its own, derived from SECRET_KEY: always 32 bytes, and a leak of
    # one derived key (codes, ID numbers) says nothing about the others.
    return derive_key(current_app.config["SECRET_KEY"], "jwt")


def access_ttl() -> timedelta:
    return timedelta(minutes=current_app.config["ACCESS_TOKEN_MINUTES"])


def refresh_ttl() -> timedelta:
    return timedelta(days=current_app.config["REFRESH_TOKEN_DAYS"])


def encode_access(user_id: int, now, version: int = 0) -> str:
    """`ver` is the user's token version when issued: raising it ends the token."""
    claims = {"sub": str(user_id), "typ": "access", "iat": now, "exp": now + access_ttl(),
              "jti": secrets.token_hex(8), "ver": version}
    return jwt.encode(claims, _key(), algorithm=ALGORITHM)


def encode_refresh(user_id: int, jti: str, expires_at, now) -> str:
    claims = {"sub": str(user_id), "typ": "refresh", "iat": now, "exp": expires_at, "jti": jti}
    return jwt.encode(claims, _key(), algorithm=ALGORITHM)


def decode(token: str, expected_type: str) -> dict:
    """The claims of a valid token of `expected_type`; UNAUTHENTICATED otherwise.

    Only HS256 is accepted, so `alg: none` and algorithm-confusion tokens fail
    signature checking like any forgery.
    """
    try:
        claims = jwt.decode(token, _key(), algorithms=[ALGORITHM],
                            options={"require": ["exp", "sub", "typ", "jti"]})
    except jwt.ExpiredSignatureError:
        raise DomainError(Code.UNAUTHENTICATED, "登录已过期", reason="expired")
    except jwt.PyJWTError:
        raise DomainError(Code.UNAUTHENTICATED, "无效的登录凭证", reason="invalid")
    if claims.get("typ") != expected_type:
        raise DomainError(Code.UNAUTHENTICATED, "无效的登录凭证", reason="wrong_type")
    # Signed tokens come only from this server, but a claim is still checked
    # before it reaches int() or a 32-bit id column (a 500 otherwise).
    sub, version = claims["sub"], claims.get("ver", 0)
    if not (isinstance(sub, str) and _SUBJECT.fullmatch(sub) and int(sub) <= INT_LIMIT):
        raise DomainError(Code.UNAUTHENTICATED, "无效的登录凭证", reason="bad_subject")
    if type(version) is not int or not 0 <= version <= INT_LIMIT:
        raise DomainError(Code.UNAUTHENTICATED, "无效的登录凭证", reason="bad_version")
    return claims


def subject(claims: dict) -> int:
    """The user id of claims that `decode` accepted."""
    return int(claims["sub"])


def token_pair(user, refresh_token_row, now) -> dict:
    return {
        "access_token": encode_access(user.id, now, user.token_version),
        "refresh_token": encode_refresh(user.id, refresh_token_row.jti,
                                        refresh_token_row.expires_at, now),
        "token_type": "Bearer",
        "expires_in": int(access_ttl().total_seconds()),
        "user": user,
    }
