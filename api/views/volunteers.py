import functools

from flask_smorest import Blueprint

from api.auth import current_user, load, login_required
from api.schemas.common import PageArgs, page_of
from api.schemas.volunteers import (CertificateOut, PublicCertificateOut, ServiceRecordPage,
                                    StaffVolunteerOut, StatusChangeIn, VolunteerIn, VolunteerListArgs,
                                    VolunteerOut, VolunteerPatchIn)
from core import clock
from volunteers import certificates, profiles, records

blp = Blueprint("volunteers", __name__, url_prefix="/api/v1",
                description="Volunteer profiles, service records, star levels, certificates")


@blp.route("/me/volunteer", methods=["POST"])
@login_required
@blp.arguments(VolunteerIn)
@blp.response(201, VolunteerOut)
@blp.alt_response(200, schema=VolunteerOut, description="Already a volunteer; the profile, unchanged")
def register(body):
    """Register as a volunteer (志愿者登记)."""
    profile, created = profiles.register(user=current_user(), now=clock.now(), **body)
    return profile, 201 if created else 200


@blp.route("/me/volunteer", methods=["GET"])
@login_required
@blp.response(200, VolunteerOut)
def my_profile():
    return profiles.my_profile(user=current_user())


def _with_my_profile(view):
    """The caller's own profile (404 without one), found before the body is parsed."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        return view(*args, profile=profiles.my_profile(user=current_user()), **kwargs)

    return wrapper


@blp.route("/me/volunteer", methods=["PATCH"])
@login_required
@_with_my_profile
@blp.arguments(VolunteerPatchIn)
@blp.response(200, VolunteerOut)
def update(body, profile):
    return profiles.update(profile=profile, now=clock.now(), **body)


@blp.route("/me/service-records", methods=["GET"])
@login_required
@blp.arguments(PageArgs, location="query")
@blp.response(200, ServiceRecordPage)
def my_service_records(page):
    """Newest first; `totals` cover every record, with the star level (星级)."""
    return records.records_with_totals(user_id=current_user().id, **page)


@blp.route("/me/service-records/certificate", methods=["GET"])
@login_required
@blp.response(200, CertificateOut)
def my_certificate():
    """A service certificate (志愿服务证明); the same one until the totals change."""
    return certificates.issue(user=current_user(), now=clock.now())


@blp.route("/certificates/<code>", methods=["GET"])
@blp.response(200, PublicCertificateOut)
def verify_certificate(code):
    """Anyone can check a certificate by its code; the name is shown masked."""
    return certificates.verify(code)


@blp.route("/volunteers", methods=["GET"])
@login_required
@blp.arguments(VolunteerListArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(StaffVolunteerOut))
def list_volunteers(filters, page):
    """Staff: volunteers whose home organisation is in `org_id`'s subtree."""
    return profiles.list_for_staff(actor=current_user(), **filters, **page)


@blp.route("/volunteers/<int:profile_id>", methods=["GET"])
@login_required
@load(profiles.get_profile, "profile_id", as_name="profile", action="operate",
      org_of=profiles.home_org_of)
@blp.response(200, StaffVolunteerOut)
def get_volunteer(profile):
    return profile


def _status_route(path: str, status: str, doc: str):
    @blp.route(f"/volunteers/<int:profile_id>/{path}", methods=["POST"], endpoint=path)
    @login_required
    @load(profiles.get_profile, "profile_id", as_name="profile", action="operate",
          org_of=profiles.home_org_of)
    @blp.arguments(StatusChangeIn)
    @blp.response(200, StaffVolunteerOut)
    def change(body, profile):
        return profiles.set_status(actor=current_user(), profile=profile, status=status,
                                   now=clock.now(), **body)

    change.__doc__ = doc
    return change


suspend = _status_route("suspend", "suspended", "Staff: suspend a volunteer (no volunteer places until reactivated).")
reactivate = _status_route("reactivate", "active", "Staff: reactivate a suspended volunteer.")


@blp.route("/volunteers/<int:profile_id>/service-records", methods=["GET"])
@login_required
@load(profiles.get_profile, "profile_id", as_name="profile", action="operate",
      org_of=profiles.home_org_of)
@blp.arguments(PageArgs, location="query")
@blp.response(200, ServiceRecordPage)
def volunteer_service_records(page, profile):
    """Staff: a volunteer's records and totals, as the volunteer sees them."""
    return records.records_with_totals(user_id=profile.user_id, **page)
