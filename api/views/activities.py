from flask_smorest import Blueprint

from activities import registration, report, services
from api.auth import current_user, load, login_required
from api.schemas.activities import (ActivityDetailOut, ActivityIn, ActivityListArgs, ActivityOut,
                                    CancelledOut, RegistrationIn, RegistrationOut, ReportArgs, ReportOut)
from api.schemas.common import PageArgs, page_of
from core import clock
from orgs.services import get_org

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
    """A draft activity of the org (staff of the org or above)."""
    return services.create_activity(actor=current_user(), org=org, now=clock.now(), **body)


@blp.route("/activities/<int:activity_id>/publish", methods=["POST"])
@login_required
@load(visible_activity, "activity_id", as_name="activity", action="operate", org_of=org_of_activity)
@blp.response(200, ActivityOut)
def publish(activity):
    return services.publish(actor=current_user(), activity=activity, now=clock.now())


@blp.route("/activities/<int:activity_id>/cancel", methods=["POST"])
@login_required
@load(visible_activity, "activity_id", as_name="activity", action="operate", org_of=org_of_activity)
@blp.response(200, ActivityOut)
def cancel(activity):
    """Cancels the activity and every registration."""
    return services.cancel(actor=current_user(), activity=activity, now=clock.now())


@blp.route("/activities", methods=["GET"])
@blp.arguments(ActivityListArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(ActivityOut))
def list_activities(filters, page):
    """By start time; `org_id` includes its subtree; `from`/`to` bound `starts_at` as [from, to)."""
    return services.list_activities(actor=current_user(optional=True), **filters, **page)


@blp.route("/activities/<int:activity_id>", methods=["GET"])
@load(visible_activity, "activity_id", as_name="activity")
@blp.response(200, ActivityDetailOut)
def get_activity(activity):
    return services.detail(activity)


@blp.route("/activities/<int:activity_id>/registrations", methods=["POST"])
@login_required
@load(visible_activity, "activity_id", as_name="activity")
@blp.arguments(RegistrationIn)
@blp.response(201, RegistrationOut)
@blp.alt_response(200, schema=RegistrationOut, description="Already registered in that role; unchanged")
def register(body, activity):
    """Registers the caller, or (staff, with `user_id`) enrols someone."""
    reg, created = registration.register(actor=current_user(), activity=activity, now=clock.now(), **body)
    return reg, 201 if created else 200


@blp.route("/activities/<int:activity_id>/registrations/me", methods=["DELETE"])
@login_required
@load(visible_activity, "activity_id", as_name="activity")
@blp.response(200, CancelledOut)
def cancel_registration(activity):
    """Frees the caller's place; the oldest waitlisted of that role moves up."""
    return registration.cancel_mine(actor=current_user(), activity=activity, now=clock.now())


@blp.route("/activities/<int:activity_id>/registrations", methods=["GET"])
@login_required
@load(visible_activity, "activity_id", as_name="activity", action="operate", org_of=org_of_activity)
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(RegistrationOut))
def list_registrations(page, activity):
    return registration.list_for_activity(actor=current_user(), activity=activity, **page)


@blp.route("/me/registrations", methods=["GET"])
@login_required
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(RegistrationOut))
def my_registrations(page):
    return registration.list_mine(actor=current_user(), **page)


@blp.route("/orgs/<int:org_id>/report", methods=["GET"])
@login_required
@load(get_org, "org_id", as_name="org", action="operate")
@blp.arguments(ReportArgs, location="query")
@blp.response(200, ReportOut)
def work_report(args, org):
    """Activities by direction, attendance, volunteer hours and record timeliness, points and
    benefits for the subtree over [from, to) (to: now), and the same for each org directly below."""
    return report.report(actor=current_user(), org=org, since=args["since"],
                         until=args["until"] or clock.now())
