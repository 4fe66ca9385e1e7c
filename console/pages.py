"""The public pages: the door screen and where a door QR's link leads.

The door screen is opened from a staff-issued kiosk link, `/kiosk#<token>` (no
sign-in on the tablet). The token is the URL's fragment, which a browser never
sends, so it stays out of access logs (and Referer headers): the page's script
(static/kiosk.js) reads it and sends it in the `X-Kiosk-Token` header when it
polls `/kiosk/state` (api/views/kiosk.py). It swaps the image in place just
after each rotation, well before the shown code expires (the previous code
stays valid for one more period), so the screen never reloads.
"""
from flask import Blueprint, make_response, render_template

blp = Blueprint("console", __name__, template_folder="templates", static_folder="static",
                static_url_path="/console/static")


def _page(template: str, status: int = 200, **headers):
    response = make_response(render_template(template), status)
    response.mimetype = "text/html"
    response.headers.update(headers)
    return response


@blp.route("/kiosk", methods=["GET"])
def kiosk_page():
    """The same page for every link: its script reads the token from the link's
    fragment and fills the page in from `/kiosk/state`."""
    return _page("console/kiosk.html", **{"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


@blp.route("/kiosk/<path:old>", methods=["GET"])
def old_kiosk_link(old):
    """`/kiosk/<token>` links put the token in access logs; they open nothing now."""
    return _page("console/kiosk_link_gone.html", 404)


@blp.route("/c/<code>", methods=["GET"])
def checkin_link_page(code):
    """Where a door QR's link leads a camera other than WeChat's: WeChat's camera opens
    the mini-program on this link instead; any other camera lands here and is told to
    use WeChat. The code is not checked here."""
    return _page("console/use_wechat.html", **{"Cache-Control": "no-store"})
