from flask import Response, current_app, request
from flask_smorest import Blueprint

from activities import attendance as attendance_service
from activities import checkin, door_scan, kiosk, offline, passes
from activities.checkin import Scan
from api import examples
from api.auth import claimed_user_id, current_user, load, login_required, token_required
from api.limits import checkin_limits, staff_scan_limits
from api.openapi import errors_doc
from api.settings import current_settings
from api.schemas.activities import (AttendanceOut, CheckinIn, CheckinOut, CodeOut, KioskLinkOut,
                                    ManualCheckinIn, OfflineResultsOut, OfflineScansIn, PassOut,
                                    RegistrationOut, ScanLogOut, StaffScanIn)
from api.schemas.common import PageArgs, page_of
from core import clock, qr

from .activities import org_of_activity, visible_activity

POSITION = 60  # its section's place in the API reference
blp = Blueprint("checkins", __name__, url_prefix="/api/v1", description="QR check-in and check-out")

STAFF_ACTIVITY = dict(as_name="activity", action="operate", org_of=org_of_activity)


def _scan(body, method: str, actor_id: int, **position) -> Scan:
    """What the log keeps about the attempt: the client's device id, else its User-Agent."""
    return Scan(method=method, action=body["action"], actor_id=actor_id,
                device=body.get("device_id") or request.headers.get("User-Agent"),
                client_at=body.get("client_time"), **position)


@blp.route("/checkins", methods=["POST"])
@errors_doc("CODE_INVALID", "CODE_EXPIRED", "CHECKIN_NOT_OPEN", "OUT_OF_AREA", "NOT_REGISTERED",
            "NOT_CHECKED_IN")
@checkin_limits
@token_required
@blp.arguments(CheckinIn(), example=examples.CHECKIN_IN)  # an instance: webargs would build one per request
@blp.response(200, CheckinOut, example=examples.CHECKIN_OUT)
def self_checkin(body):
    """Check in or out by the code scanned at the door.

    The resident posts the activity's code (or the link the door QR carries). A repeat changes
    nothing and answers `first: false`. Every attempt, refused or not, is logged; rate-limited
    per user.
    """
    user_id = claimed_user_id()  # the service checks the account in its one lookup
    return door_scan.self_checkin(user_id=user_id, code=body["code"], activity_id=body["activity_id"],
                                  scan=_scan(body, "self", user_id, lat=body["lat"], lng=body["lng"]),
                                  now=clock.now(), settings=current_settings(),
                                  facts_cache=current_app.extensions[door_scan.FACTS_CACHE])


@blp.route("/activities/<int:activity_id>/scan", methods=["POST"])
@errors_doc("CODE_INVALID", "CODE_EXPIRED", "CHECKIN_NOT_OPEN", "NOT_REGISTERED", "NOT_CHECKED_IN")
@staff_scan_limits
@login_required
@load(visible_activity, "activity_id", **STAFF_ACTIVITY)
@blp.arguments(StaffScanIn)
@blp.response(200, CheckinOut)
def staff_scan(body, activity):
    """Staff: check a resident in or out by scanning their pass.

    Answers as `POST /checkins` does, for the pass's owner. No geofence.
    """
    actor = current_user()
    return checkin.staff_scan(actor=actor, activity=activity, code=body["code"],
                              scan=_scan(body, "staff", actor.id), now=clock.now(),
                              settings=current_settings())


@blp.route("/activities/<int:activity_id>/registrations/<int:registration_id>/checkin",
           methods=["POST"])
@errors_doc("CHECKIN_NOT_OPEN", "NOT_REGISTERED", "NOT_CHECKED_IN")
@staff_scan_limits
@login_required
@load(visible_activity, "activity_id", **STAFF_ACTIVITY)
@blp.arguments(ManualCheckinIn)
@blp.response(200, CheckinOut)
def manual_checkin(body, activity, registration_id):
    """Staff: check a registered person in or out by hand (no phone needed)."""
    actor = current_user()
    return checkin.manual_checkin(actor=actor, activity=activity, registration_id=registration_id,
                                  scan=_scan(body, "manual", actor.id), now=clock.now())


@blp.route("/activities/<int:activity_id>/scans/offline", methods=["POST"])
@staff_scan_limits
@login_required
@load(visible_activity, "activity_id", **STAFF_ACTIVITY)
@blp.arguments(OfflineScansIn)
@blp.response(200, OfflineResultsOut)
def upload_offline_scans(body, activity):
    """Staff: upload the scans a device made without a network.

    Each is judged as of its `scanned_at`: one result per scan, in the order sent, refusals
    included (as results, not errors). Uploading the same batch again is harmless.
    """
    scans = [offline.OfflineScan(**scan) for scan in body["scans"]]
    return {"results": offline.upload(actor=current_user(), activity=activity, scans=scans,
                                      device=body["device_id"] or request.headers.get("User-Agent"),
                                      now=clock.now(), settings=current_settings())}


@blp.route("/activities/<int:activity_id>/checkins", methods=["GET"])
@login_required
@load(visible_activity, "activity_id", **STAFF_ACTIVITY)
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(ScanLogOut))
def scan_log(page, activity):
    """Staff: the check-in log, newest first, refused scans included."""
    return attendance_service.list_log(actor=current_user(), activity=activity, **page)


@blp.route("/activities/<int:activity_id>/checkins/<int:scan_id>/annul", methods=["POST"])
@errors_doc("CONFLICT")
@login_required
@load(visible_activity, "activity_id", **STAFF_ACTIVITY)
@blp.response(200, RegistrationOut)
def annul_scan(activity, scan_id):
    """Staff: annul an accepted scan.

    A new log row; the registration's times are recomputed. `CONFLICT` for a scan that changed
    nothing or is already annulled.
    """
    return attendance_service.annul(actor=current_user(), activity=activity, scan_id=scan_id, now=clock.now(),
                         device=request.headers.get("User-Agent"))


@blp.route("/activities/<int:activity_id>/attendance", methods=["GET"])
@login_required
@load(visible_activity, "activity_id", **STAFF_ACTIVITY)
@blp.response(200, AttendanceOut)
def attendance(activity):
    """Staff: live attendance figures (registered, checked in and out, inside, refused)."""
    return attendance_service.attendance(actor=current_user(), activity=activity)


@blp.route("/activities/<int:activity_id>/checkin-code", methods=["GET"])
@login_required
@load(visible_activity, "activity_id", **STAFF_ACTIVITY)
@blp.response(200, CodeOut)
def checkin_code(activity):
    """Staff: the activity's current check-in code.

    `refresh_at`: the next code is out; `expires_at`: this one stops being accepted.
    """
    return passes.checkin_code(actor=current_user(), activity=activity, now=clock.now(),
                               settings=current_settings())


@blp.route("/activities/<int:activity_id>/checkin-code/rotate", methods=["POST"])
@login_required
@load(visible_activity, "activity_id", **STAFF_ACTIVITY)
@blp.response(200, CodeOut)
def rotate_checkin_code(activity):
    """Staff: revoke every check-in code shown so far.

    E.g. a photo of the QR went round; answers the new code.
    """
    return passes.rotate_checkin_code(actor=current_user(), activity=activity, now=clock.now(),
                                      settings=current_settings())


@blp.route("/activities/<int:activity_id>/checkin-code.png", methods=["GET"])
@login_required
@load(visible_activity, "activity_id", **STAFF_ACTIVITY)
@blp.response(200, content_type="image/png")
def checkin_code_png(activity):
    """Staff: the current check-in code as a QR image (PNG).

    `X-Code-Expires-At` says when it stops being accepted.
    """
    issued = passes.checkin_code(actor=current_user(), activity=activity, now=clock.now(),
                               settings=current_settings())
    return Response(qr.png(passes.checkin_qr_text(issued.code, settings=current_settings())), mimetype="image/png",
                    headers={"Cache-Control": "no-store", "X-Code-Expires-At": issued.expires_at.isoformat()})


@blp.route("/me/pass", methods=["GET"])
@login_required
@blp.response(200, PassOut)
def my_pass():
    """The caller's personal pass, for a worker to scan.

    Rotates like check-in codes.
    """
    return passes.my_pass(actor=current_user(), now=clock.now(), settings=current_settings())


@blp.route("/me/pass/rotate", methods=["POST"])
@login_required
@blp.response(200, PassOut)
def rotate_pass():
    """Revoke every pass shown so far (e.g. a screenshot went round)."""
    return passes.rotate_pass(actor=current_user(), now=clock.now(), settings=current_settings())


@blp.route("/activities/<int:activity_id>/kiosk-links", methods=["POST"])
@login_required
@load(visible_activity, "activity_id", **STAFF_ACTIVITY)
@blp.response(201, KioskLinkOut)
def create_kiosk_link(activity):
    """Staff: a link for the door screen.

    The tablet opens it with no sign-in; the token is shown only here. It is the
    link's fragment (`/kiosk#<token>`), which browsers never send, so it stays
    out of access logs.
    """
    link, token = kiosk.create_link(actor=current_user(), activity=activity, now=clock.now())
    return {"id": link.id, "activity_id": activity.id, "token": token,
            "url": f"{request.host_url.rstrip('/')}/kiosk#{token}", "created_at": link.created_at,
            "revoked_at": None}


@blp.route("/activities/<int:activity_id>/kiosk-links/<int:link_id>", methods=["DELETE"])
@login_required
@load(visible_activity, "activity_id", **STAFF_ACTIVITY)
@blp.response(200, KioskLinkOut)
def revoke_kiosk_link(activity, link_id):
    """Staff: revoke a door-screen link at once (again: unchanged)."""
    return kiosk.revoke_link(actor=current_user(), activity=activity, link_id=link_id, now=clock.now())
