from flask_smorest import Blueprint

from api.auth import current_user, load, login_required
from api.openapi import errors_doc
from api.schemas.common import PageArgs, page_of
from api.schemas.orgs import OrgIn, OrgListArgs, OrgOut, PasswordResetIn, StaffIn, StaffOut
from core import clock
from orgs import services

blp = Blueprint("orgs", __name__, url_prefix="/api/v1", description="The three-tier service system")


@blp.route("/orgs", methods=["POST"])
@errors_doc("NOT_FOUND", "FORBIDDEN", "CONFLICT")
@login_required
@blp.arguments(OrgIn)
@blp.response(201, OrgOut)
def create_org(body):
    """Create a district, station or room under its parent.

    Admins of the parent or above. `kind` must be exactly one level below the parent's (422);
    `NOT_FOUND`: no such parent; `CONFLICT`: the parent already has an organisation of that name.
    """
    return services.create_org(actor=current_user(), now=clock.now(), **body)


@blp.route("/orgs", methods=["GET"])
@blp.arguments(OrgListArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(OrgOut))
def list_orgs(filters, page):
    """List organisations, by id; filter by parent or kind."""
    return services.list_orgs(**filters, **page)


@blp.route("/orgs/<int:org_id>", methods=["GET"])
@load(services.get_org, "org_id", as_name="org")
@blp.response(200, OrgOut)
def get_org(org):
    """One organisation."""
    return org


@blp.route("/orgs/<int:org_id>/staff", methods=["POST"])
@login_required
@load(services.get_org, "org_id", as_name="org", action="manage")
@blp.arguments(StaffIn)
@blp.response(201, StaffOut)
@blp.alt_response(200, schema=StaffOut, description="That person already has a role here; unchanged")
def add_staff(body, org):
    """Give a person a staff role on the organisation.

    Admins of the org or above. Creates the person if the phone is new (an existing person's
    name and password are left as they are); the same person again answers 200, unchanged.
    """
    staff_role, created = services.add_staff(actor=current_user(), org=org, now=clock.now(), **body)
    return staff_role, 201 if created else 200


@blp.route("/orgs/<int:org_id>/staff/<int:user_id>/password", methods=["POST"])
@login_required
@load(services.get_org, "org_id", as_name="org", action="manage")
@blp.arguments(PasswordResetIn)
@blp.response(200, StaffOut)
def reset_staff_password(body, org, user_id):
    """Reset a staff member's password.

    Admins of the org or above, for someone with a role on it (forgotten, or leaving):
    every session of theirs ends. `NOT_FOUND` also when the person has no role on the org.
    """
    return services.reset_staff_password(actor=current_user(), org=org, user_id=user_id,
                                         password=body["new_password"], now=clock.now())
