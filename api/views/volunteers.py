import functools

from flask_smorest import Blueprint

from api.auth import current_user, load, login_required
from api.openapi import errors_doc
from api.settings import current_settings
from api.schemas.common import PageArgs, page_of
from api.schemas.volunteers import (CertificateOut, PublicCertificateOut, ServiceRecordPage,
                                    StaffVolunteerOut, StatusChangeIn, VolunteerIn, VolunteerListArgs,
                                    VolunteerOut, VolunteerPatchIn)
from core import clock
from volunteers import certificates, profiles, records

POSITION = 40  # its section's place in the API reference
blp = Blueprint("volunteers", __name__, url_prefix="/api/v1",
                description="Volunteer profiles, service records, star levels, certificates")


@blp.route("/me/volunteer", methods=["POST"])
@errors_doc("ID_NUMBER_IN_USE")
@login_required
@blp.arguments(VolunteerIn)
@blp.response(201, VolunteerOut)
@blp.alt_response(200, schema=VolunteerOut, description="Already a volunteer; the profile, unchanged")
def register(body):
    """Register as a volunteer (志愿者登记).

    Phone a mainland mobile, ID number checked (GB 11643); a child under 14 needs a guardian's
    consent. Registering again answers 200 and the existing profile, unchanged.
    """
    profile, created = profiles.register(user=current_user(), now=clock.now(), settings=current_settings(), **body)
    return profile, 201 if created else 200


@blp.route("/me/volunteer", methods=["GET"])
@errors_doc("NOT_FOUND")
@login_required
@blp.response(200, VolunteerOut)
def my_profile():
    """The caller's volunteer profile (404 when not a volunteer)."""
    return profiles.my_profile(user=current_user())


def _with_my_profile(view):
    """The caller's own profile (404 without one), found before the body is parsed."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        return view(*args, profile=profiles.my_profile(user=current_user()), **kwargs)

    return wrapper


@blp.route("/me/volunteer", methods=["PATCH"])
@errors_doc("NOT_FOUND", "ID_NUMBER_IN_USE")
@login_required
@_with_my_profile
@blp.arguments(VolunteerPatchIn)
@blp.response(200, VolunteerOut)
def update(body, profile):
    """Change the caller's volunteer profile (404 when not a volunteer)."""
    return profiles.update(profile=profile, now=clock.now(), settings=current_settings(), **body)


@blp.route("/me/service-records", methods=["GET"])
@login_required
@blp.arguments(PageArgs, location="query")
@blp.response(200, ServiceRecordPage)
def my_service_records(page):
    """The caller's service records (志愿服务记录), newest first.

    `totals` cover every record, with the star level (星级).
    """
    return records.records_with_totals(user_id=current_user().id, **page)


@blp.route("/me/service-records/certificate", methods=["GET"])
@errors_doc("NOT_FOUND")
@login_required
@blp.response(200, CertificateOut)
def my_certificate():
    """The caller's service certificate (志愿服务证明).

    The same certificate until the totals change; 404 when the caller is not a volunteer.
    """
    return certificates.issue(user=current_user(), now=clock.now())


@blp.route("/certificates/<code>", methods=["GET"])
@errors_doc("NOT_FOUND")
@blp.response(200, PublicCertificateOut)
def verify_certificate(code):
    """Check a service certificate by its code.

    Anyone; the name is shown masked.
    """
    return certificates.verify(code)


@blp.route("/volunteers", methods=["GET"])
@errors_doc("NOT_FOUND", "FORBIDDEN")
@login_required
@blp.arguments(VolunteerListArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(StaffVolunteerOut))
def list_volunteers(filters, page):
    """Staff: list volunteers whose home organisation is in a subtree.

    `org_id` (default: every subtree the caller is staff of); phones masked.
    """
    return profiles.list_for_staff(actor=current_user(), **filters, **page)


@blp.route("/volunteers/<int:profile_id>", methods=["GET"])
@login_required
@load(profiles.get_profile, "profile_id", as_name="profile", action="operate",
      org_of=profiles.home_org_of)
@blp.response(200, StaffVolunteerOut)
def get_volunteer(profile):
    """Staff: one volunteer's profile."""
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


suspend = _status_route("suspend", "suspended", """Staff: suspend a volunteer.

    No volunteer places until reactivated; suspending again changes nothing.""")
reactivate = _status_route("reactivate", "active", "Staff: reactivate a suspended volunteer.")


@blp.route("/volunteers/<int:profile_id>/service-records", methods=["GET"])
@login_required
@load(profiles.get_profile, "profile_id", as_name="profile", action="operate",
      org_of=profiles.home_org_of)
@blp.arguments(PageArgs, location="query")
@blp.response(200, ServiceRecordPage)
def volunteer_service_records(page, profile):
    """Staff: a volunteer's service records and totals, as the volunteer sees them."""
    return records.records_with_totals(user_id=profile.user_id, **page)
