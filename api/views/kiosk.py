"""What the door screen shows, as JSON: the page itself (`/kiosk#<token>`) and
its script are console's (console/pages.py, console/static/kiosk.js), which
polls this with the link's token in the `X-Kiosk-Token` header."""
from flask import jsonify, request
from flask_smorest import Blueprint

from activities import kiosk
from api.openapi import errors_doc
from api.settings import current_settings
from api.schemas.activities import KioskStateOut
from core import clock

POSITION = 70  # its section's place in the API reference
blp = Blueprint("kiosk", __name__, url_prefix="/kiosk", description="Door screen")

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
    state = kiosk.kiosk_state(token=request.headers.get("X-Kiosk-Token", ""), now=clock.now(),
                              settings=current_settings())
    response = jsonify(KioskStateOut().dump(state))
    response.headers["Cache-Control"] = "no-store"
    return response

