from zoneinfo import ZoneInfo

from flask import current_app
from flask_smorest import Blueprint

from activities import settlement
from api.auth import current_user, load, login_required
from api.schemas.settlement import SettleIn, SettlementOut
from api.views.activities import org_of_activity, visible_activity
from core import clock

blp = Blueprint("settlement", __name__, url_prefix="/api/v1",
                description="Settlement: verified service becomes service records and points")


def _rules() -> dict:
    return {"daily_cap": current_app.config["POINTS_DAILY_CAP"],
            "zone": ZoneInfo(current_app.config["TIMEZONE"])}


@blp.route("/activities/<int:activity_id>/settle", methods=["POST"])
@login_required
@load(visible_activity, "activity_id", as_name="activity", action="operate", org_of=org_of_activity)
@blp.arguments(SettleIn)
@blp.response(200, SettlementOut)
def settle(body, activity):
    """Settles an ended activity once; the same body again replays the result."""
    return settlement.settle(actor=current_user(), activity=activity, now=clock.now(),
                             **body, **_rules())


@blp.route("/activities/<int:activity_id>/settlement/preview", methods=["POST"])
@login_required
@load(visible_activity, "activity_id", as_name="activity", action="operate", org_of=org_of_activity)
@blp.arguments(SettleIn)
@blp.response(200, SettlementOut)
def preview(body, activity):
    """What settling with these adjustments would post, without posting: lets the
    worker see unverified check-ins and fix them with adjustments first."""
    return settlement.preview(actor=current_user(), activity=activity, now=clock.now(),
                              **body, **_rules())
