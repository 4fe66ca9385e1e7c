"""The door screen: a plain page that shows the activity's rotating check-in QR.

Opened from a staff-issued kiosk link, `/kiosk#<token>` (no sign-in on the
tablet). The token is the URL's fragment, which a browser never sends, so it
stays out of access logs (and Referer headers): the page's script reads it
and sends it in the `X-Kiosk-Token` header when it polls `/kiosk/state`. It
swaps the image in place just after each rotation, well before the shown code
expires (the previous code stays valid for one more period), so the screen
never reloads.
"""
import base64

from flask import Response, jsonify, render_template_string, request
from flask_smorest import Blueprint

from activities import kiosk, passes
from api.openapi import errors_doc
from api.settings import current_settings
from api.schemas.common import Instant
from core import clock, qr

POSITION = 70  # its section's place in the API reference
blp = Blueprint("kiosk", __name__, url_prefix="/kiosk", description="Door screen (HTML)")
link_blp = Blueprint("checkin_link", __name__, url_prefix="/c",
                     description="Where a door QR's link leads a camera other than WeChat's (HTML)")
API_BLUEPRINTS = [blp, link_blp]

_instant = Instant()


def _state(token: str) -> dict:
    settings = current_settings()
    state = kiosk.kiosk_state(token=token, now=clock.now(), settings=settings)
    for key in ("starts_at", "ends_at", "refresh_at", "expires_at", "server_time"):
        state[key] = _instant._serialize(state[key], key, None)
    state["link"] = passes.checkin_link(state["code"], settings=settings)
    image = qr.png(passes.checkin_qr_text(state["code"], settings=settings))
    state["qr"] = "data:image/png;base64," + base64.b64encode(image).decode()
    return state


def _html(description: str) -> dict:
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


@blp.route("/state", methods=["GET"])
@errors_doc("NOT_FOUND")
@blp.doc(parameters=[{"in": "header", "name": "X-Kiosk-Token", "required": True, "schema": {"type": "string"},
                      "description": "门口屏链接的令牌（链接的 # 片段）"}],
         responses={"200": {
             "description": "title, location, starts_at, ends_at, code, qr (a PNG data URL), link, "
                            "refresh_at, expires_at, server_time, attendance",
             "content": {"application/json": {"schema": {"type": "object"}}}}})
def state():
    """What the door screen shows now: the current code as a QR, and the attendance.

    Polled by the page just after each rotation; NOT_FOUND for a missing,
    unknown or revoked token.
    """
    response = jsonify(_state(request.headers.get("X-Kiosk-Token", "")))
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.route("", methods=["GET"])
@blp.doc(responses={"200": _html("The door screen page")})
def page():
    """The door screen: a page for a tablet at the door, showing the rotating check-in QR.

    The same page for every link: its script reads the token from the link's
    fragment and fills the page in from `/kiosk/state`.
    """
    response = Response(PAGE, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@blp.route("/<path:old>", methods=["GET"])
@blp.doc(responses={"404": _html("An old link: a page saying it no longer opens")})
def old_link(old):
    """`/kiosk/<token>` links put the token in access logs; they open nothing now."""
    return Response(OLD_LINK_PAGE, status=404, mimetype="text/html")


@link_blp.route("/<code>", methods=["GET"])
@link_blp.doc(responses={"200": _html("A page telling the visitor to scan with WeChat")})
def checkin_link_page(code):
    """Where a door QR's link leads a camera other than WeChat's.

    WeChat's camera opens the mini-program on this link instead; any other camera lands here
    and is told to use WeChat. The code is not checked here.
    """
    response = Response(render_template_string(USE_WECHAT_PAGE), mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


USE_WECHAT_PAGE = """<!doctype html><html lang="zh-CN"><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>邻里 · 活动签到</title><body style="font-family:sans-serif;text-align:center;padding-top:20vh">
<h1>请用微信“扫一扫”签到</h1><p>这是社区活动的签到码：请打开微信，用“扫一扫”扫描门口屏幕上的二维码，
将在“邻里”小程序中完成签到。</p></body></html>"""

OLD_LINK_PAGE = """<!doctype html><html lang="zh-CN"><meta charset="utf-8">
<title>链接已停用</title><body style="font-family:sans-serif;text-align:center;padding-top:20vh">
<h1>此签到展示链接已停用</h1><p>请联系社工在后台重新生成展示链接。</p></body></html>"""

PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>签到</title>
<style>
  body { margin: 0; font-family: "PingFang SC", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif;
         background: #f6f3ea; color: #222; text-align: center; }
  h1 { font-size: 5vmin; margin: 3vmin 2vmin 1vmin; }
  .where { font-size: 2.8vmin; color: #555; }
  #qr { width: 62vmin; height: 62vmin; image-rendering: pixelated; background: #fff;
        margin: 2vmin auto; display: block; border: 1vmin solid #fff; }
  .hint { font-size: 3.2vmin; margin: 1vmin; }
  .counts { display: flex; justify-content: center; gap: 6vmin; font-size: 3vmin; margin-top: 2vmin; }
  .counts b { display: block; font-size: 6vmin; }
  #status { font-size: 2.2vmin; color: #a33; min-height: 3vmin; }
</style>
</head>
<body>
  <h1 id="title"></h1>
  <div class="where" id="where"></div>
  <img id="qr" alt="签到二维码" data-code="" data-version="0" style="visibility: hidden">
  <div class="hint">请打开“邻里”小程序，扫描二维码签到</div>
  <div class="counts">
    <div>已报名<b id="registered">–</b></div>
    <div>已签到<b id="checked-in">–</b></div>
    <div>在场<b id="inside">–</b></div>
  </div>
  <div id="status">正在加载…</div>
<script>
(function () {
  // The link is /kiosk#<token>: the fragment never leaves the browser, so the
  // token goes to the server only in a header, and into no access log.
  var token = decodeURIComponent(location.hash.slice(1));
  var img = document.getElementById("qr");
  var statusLine = document.getElementById("status");
  var version = 0;
  function gone() {
    statusLine.textContent = "此签到展示链接无效或已被撤销，请联系社工重新获取链接";
    img.style.visibility = "hidden";
  }
  function show(state) {
    document.getElementById("title").textContent = state.title;
    document.getElementById("where").textContent = state.location || "";
    document.title = "签到 · " + state.title;
    if (state.code !== img.dataset.code) {
      img.src = state.qr;            // swap in place: no page reload
      img.dataset.code = state.code;
      version += 1;
      img.dataset.version = String(version);
      img.style.visibility = "visible";
    }
    var a = state.attendance;
    document.getElementById("registered").textContent = a.registered.participants + a.registered.volunteers;
    document.getElementById("checked-in").textContent = a.checked_in;
    document.getElementById("inside").textContent = a.inside_now;
    statusLine.textContent = "";
  }
  function nextDelay(state) {
    // Just after the next code is out; counts refresh at least every 5 s.
    var untilRotation = Date.parse(state.refresh_at) - Date.parse(state.server_time) + 250;
    return Math.max(300, Math.min(5000, untilRotation));
  }
  function poll() {
    fetch("/kiosk/state", {cache: "no-store", headers: {"X-Kiosk-Token": token}})
      .then(function (response) {
        if (response.status === 404) {
          gone();
          return null;
        }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (state) {
        if (state === null) { return; }
        show(state);
        setTimeout(poll, nextDelay(state));
      })
      .catch(function () {
        statusLine.textContent = "网络异常，正在重试…";
        setTimeout(poll, 2000);
      });
  }
  if (token) { poll(); } else { gone(); }
})();
</script>
</body>
</html>
"""
