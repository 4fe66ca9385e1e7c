import functools

from flask_smorest import Blueprint

from api.auth import current_user, load, login_required
from api.openapi import errors_doc
from api.schemas.common import PageArgs, page_of
from api.schemas.orgs import (OrgIn, OrgListArgs, OrgOut, PasswordResetIn, StaffIn, StaffListArgs,
                              StaffMemberOut, StaffOut)
from core import clock
from orgs import services

POSITION = 30  # its section's place in the API reference
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


def _staff_target(action: str):
    """Loads the org (404) and the person's role on it (404), and checks the
    caller may take `action` on that person (403), before the body is parsed:
    API.md's order 401 → 404 → 403 → 422. The service checks again."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, org_id, user_id, **kwargs):
            staff_role = services.get_staff(org=services.get_org(org_id), user_id=user_id)
            services.check_staff_action(actor=current_user(), staff_role=staff_role, action=action)
            return view(*args, org=staff_role.org, user_id=user_id, **kwargs)

        return wrapper

    return decorator


@blp.route("/orgs/<int:org_id>/staff", methods=["GET"])
@login_required
@load(services.get_org, "org_id", as_name="org", action="manage")
@blp.arguments(StaffListArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(StaffMemberOut))
def list_staff(filters, page, org):
    """Who holds a role on the org (`subtree=true`: on it and below), phones masked."""
    return services.list_staff(actor=current_user(), org=org, **filters, **page)


@blp.route("/orgs/<int:org_id>/staff/<int:user_id>/password", methods=["POST"])
@login_required
@_staff_target(services.RESET_PASSWORD)
@blp.arguments(PasswordResetIn)
@blp.response(200, StaffOut)
def reset_staff_password(body, org, user_id):
    """Reset a staff member's password.

    Admins of the org or above, for a staff-only account wholly inside their
    subtree (README: who may act for whom); every session of theirs ends.
    `NOT_FOUND` also when the person has no role on the org.
    """
    return services.reset_staff_password(actor=current_user(), org=org, user_id=user_id,
                                         password=body["new_password"], now=clock.now())


@blp.route("/orgs/<int:org_id>/staff/<int:user_id>/sessions", methods=["DELETE"])
@login_required
@_staff_target(services.END_SESSIONS)
@blp.response(200, StaffOut)
def end_staff_sessions(org, user_id):
    """Signs the person out everywhere (a lost phone): refresh and access tokens end."""
    return services.end_staff_sessions(actor=current_user(), org=org, user_id=user_id, now=clock.now())


@blp.route("/orgs/<int:org_id>/staff/<int:user_id>", methods=["DELETE"])
@login_required
@_staff_target(services.REMOVE_ROLE)
@blp.response(200, StaffOut)
def remove_staff(org, user_id):
    """Takes the person's role on the org away; every session of theirs ends. Returns the removed role."""
    return services.remove_staff(actor=current_user(), org=org, user_id=user_id, now=clock.now())
