"""WeChat mini-program login: exchange a `wx.login` code for the user's openid.

`session_key` comes back too; Linli never stores, returns or logs it.
"""
import logging

import requests
from flask import current_app

from core.errors import Code, DomainError

log = logging.getLogger(__name__)

# errcodes that mean the code itself is bad: the user must call wx.login again.
BAD_CODE = {40029, 40163, 40226}



def code_to_session(code: str) -> dict:
    """Returns {"openid", "unionid"?}. Raises WECHAT_LOGIN_FAILED for an invalid
    or used code, WECHAT_UNAVAILABLE when WeChat is busy, rate-limits us, is
    unreachable, or answers something unreadable."""
    config = current_app.config
    try:
        response = requests.get(
            config["WECHAT_API_BASE"].rstrip("/") + "/sns/jscode2session",
            params={"appid": config["WECHAT_APPID"], "secret": config["WECHAT_SECRET"],
                    "js_code": code, "grant_type": "authorization_code"},
            timeout=config["WECHAT_TIMEOUT_SECONDS"],
        )
        answer = response.json()
    except (requests.RequestException, ValueError) as exc:
        log.warning("jscode2session unreachable or unreadable: %s", type(exc).__name__)
        raise DomainError(Code.WECHAT_UNAVAILABLE, "微信服务暂时不可用，请稍后再试")
    if not isinstance(answer, dict):
        raise DomainError(Code.WECHAT_UNAVAILABLE, "微信服务暂时不可用，请稍后再试")
    errcode = answer.get("errcode") or 0
    if errcode in BAD_CODE:
        raise DomainError(Code.WECHAT_LOGIN_FAILED, "微信登录凭证无效或已使用，请重新登录",
                          wechat_errcode=errcode)
    openid = answer.get("openid")
    if errcode != 0 or not isinstance(openid, str) or not openid:
        # -1 busy, 45011 rate limit, and anything we do not understand: retry later.
        log.warning("jscode2session refused: errcode %s", errcode)
        raise DomainError(Code.WECHAT_UNAVAILABLE, "微信服务繁忙，请稍后再试", wechat_errcode=errcode)
    unionid = answer.get("unionid")
    return {"openid": openid, "unionid": unionid if isinstance(unionid, str) else None}
