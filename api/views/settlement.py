from flask_smorest import Blueprint

from activities import settlement
from api.auth import current_user, load, login_required
from api.openapi import errors_doc
from api.settings import current_settings
from api.schemas.settlement import SettleIn, SettlementOut
from api.views.activities import org_of_activity, visible_activity
from core import clock

POSITION = 80  # its section's place in the API reference
blp = Blueprint("settlement", __name__, url_prefix="/api/v1",
                description="Settlement: verified service becomes service records and points")


@blp.route("/activities/<int:activity_id>/settle", methods=["POST"])
@errors_doc("CONFLICT", "NOT_ENDED", "ALREADY_SETTLED")
@login_required
@load(visible_activity, "activity_id", as_name="activity", action="operate", org_of=org_of_activity)
@blp.arguments(SettleIn)
@blp.response(200, SettlementOut)
def settle(body, activity):
    """Staff: settle an ended activity (以服务换积分).

    Minutes from the check-in log clipped to the schedule, or an adjustment with a note, become
    service records and points, once. The same body again replays the result; another body is
    `ALREADY_SETTLED`; a draft or cancelled activity is `CONFLICT`.
    """
    return settlement.settle(actor=current_user(), activity=activity, now=clock.now(),
                             **body, settings=current_settings())


@blp.route("/activities/<int:activity_id>/settlement/preview", methods=["POST"])
@errors_doc("CONFLICT", "NOT_ENDED")
@login_required
@load(visible_activity, "activity_id", as_name="activity", action="operate", org_of=org_of_activity)
@blp.arguments(SettleIn)
@blp.response(200, SettlementOut)
def preview(body, activity):
    """Staff: what settling with these adjustments would post, without posting.

    Lets the worker see unverified check-ins and fix them with adjustments first.
    """
    return settlement.preview(actor=current_user(), activity=activity, now=clock.now(),
                              **body, settings=current_settings())
