from flask_smorest import Blueprint

from activities import registration, report, services
from api import examples
from api.auth import current_user, load, login_required
from api.openapi import errors_doc
from api.settings import current_settings
from api.schemas.activities import (ActivityDetailOut, ActivityIn, ActivityListArgs, ActivityOut,
                                    CancelledOut, RegistrationIn, RegistrationOut, ReportArgs, ReportOut)
from api.schemas.common import PageArgs, page_of
from core import clock
from orgs.services import get_org

POSITION = 50  # its section's place in the API reference
blp = Blueprint("activities", __name__, url_prefix="/api/v1",
                description="Activities, registration and the waitlist")


def visible_activity(activity_id: int):
    """404 for an unknown activity, and for a draft unless the caller is its staff."""
    return services.get_activity(activity_id, actor=current_user(optional=True))


def org_of_activity(activity):
    return activity.org


@blp.route("/orgs/<int:org_id>/activities", methods=["POST"])
@login_required
@load(get_org, "org_id", as_name="org", action="operate")
@blp.arguments(ActivityIn)
@blp.response(201, ActivityOut)
def create_activity(body, org):
    """Create a draft activity of the organisation.

    Staff of the org or above. Past times are allowed (back-entry of paper records);
    `capacity` and `volunteer_slots` of 0 mean no places of that kind.
    """
    return services.create_activity(actor=current_user(), org=org, now=clock.now(), **body)


@blp.route("/activities/<int:activity_id>/publish", methods=["POST"])
@errors_doc("CONFLICT")
@login_required
@load(visible_activity, "activity_id", as_name="activity", action="operate", org_of=org_of_activity)
@blp.response(200, ActivityOut)
def publish(activity):
    """Publish a draft activity.

    Staff. Publishing again returns it unchanged; `CONFLICT` once cancelled or settled.
    """
    return services.publish(actor=current_user(), activity=activity, now=clock.now())


@blp.route("/activities/<int:activity_id>/cancel", methods=["POST"])
@errors_doc("CONFLICT")
@login_required
@load(visible_activity, "activity_id", as_name="activity", action="operate", org_of=org_of_activity)
@blp.response(200, ActivityOut)
def cancel(activity):
    """Cancel an activity and every registration.

    Staff. Cancelling again changes nothing; `CONFLICT` once settled.
    """
    return services.cancel(actor=current_user(), activity=activity, now=clock.now())


@blp.route("/activities", methods=["GET"])
@errors_doc("NOT_FOUND", token="optional")
@blp.arguments(ActivityListArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(ActivityOut), example=examples.ACTIVITY_PAGE_OUT)
def list_activities(filters, page):
    """List activities, by start time.

    `org_id` includes its subtree (404 for an unknown org); `from`/`to` bound `starts_at` as
    [from, to). Drafts are listed only to staff of their organisation, so send the token if any.
    """
    return services.list_activities(actor=current_user(optional=True), **filters, **page)


@blp.route("/activities/<int:activity_id>", methods=["GET"])
@errors_doc(token="optional")
@load(visible_activity, "activity_id", as_name="activity")
@blp.response(200, ActivityDetailOut)
def get_activity(activity):
    """One activity, with its registration counts.

    A draft is 404 except to staff of its organisation.
    """
    return services.detail(activity)


@blp.route("/activities/<int:activity_id>/registrations", methods=["POST"])
@errors_doc("FORBIDDEN", "NOT_A_VOLUNTEER", "REGISTRATION_CLOSED", "ALREADY_REGISTERED")
@login_required
@load(visible_activity, "activity_id", as_name="activity")
@blp.arguments(RegistrationIn, example=examples.REGISTRATION_IN)
@blp.response(201, RegistrationOut, example=examples.REGISTRATION_OUT)
@blp.alt_response(200, schema=RegistrationOut, description="Already registered in that role; unchanged")
def register(body, activity):
    """Register for an activity, or (staff, with `user_id`) enrol someone.

    A full role puts the caller on its waitlist (`status: "waitlisted"`); registering again in
    the same role answers 200 and the same registration. Staff enrolment is confirmed even past
    capacity, until the activity is settled (`FORBIDDEN` for a non-staff caller with `user_id`).
    """
    reg, created = registration.register(actor=current_user(), activity=activity, now=clock.now(), **body)
    return reg, 201 if created else 200


@blp.route("/activities/<int:activity_id>/registrations/me", methods=["DELETE"])
@errors_doc("REGISTRATION_CLOSED")
@login_required
@load(visible_activity, "activity_id", as_name="activity")
@blp.response(200, CancelledOut)
def cancel_registration(activity):
    """Cancel the caller's registration.

    Until the activity starts; the oldest waitlisted of that role moves up. 404 when the caller
    never registered; cancelling again changes nothing.
    """
    return registration.cancel_mine(actor=current_user(), activity=activity, now=clock.now())


@blp.route("/activities/<int:activity_id>/registrations", methods=["GET"])
@login_required
@load(visible_activity, "activity_id", as_name="activity", action="operate", org_of=org_of_activity)
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(RegistrationOut))
def list_registrations(page, activity):
    """Staff: the activity's registrations, with check-in and check-out times."""
    return registration.list_for_activity(actor=current_user(), activity=activity, **page)


@blp.route("/me/registrations", methods=["GET"])
@login_required
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(RegistrationOut))
def my_registrations(page):
    """The caller's registrations."""
    return registration.list_mine(actor=current_user(), **page)


@blp.route("/orgs/<int:org_id>/report", methods=["GET"])
@login_required
@load(get_org, "org_id", as_name="org", action="operate")
@blp.arguments(ReportArgs, location="query")
@blp.response(200, ReportOut)
def work_report(args, org):
    """Work report (绩效评价台账) of an organisation's subtree over a period.

    Activities by direction, attendance, volunteer hours and record timeliness, points and
    benefits over [from, to) (`to` defaults to now; at most three years), for the subtree and
    for each organisation directly below. Staff of the org or above.
    """
    return report.report(actor=current_user(), org=org, since=args["since"],
                         until=args["until"] or clock.now(), settings=current_settings())
