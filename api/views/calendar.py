from flask_smorest import Blueprint

from api.auth import current_user, login_required
from api.schemas.calendar import CalendarYearIn, CalendarYearOut
from core import clock
from volunteers import calendar

blp = Blueprint("calendar", __name__, url_prefix="/api/v1",
                description="Working-day calendar: public holidays and swapped workdays")


@blp.route("/calendar/<int:year>", methods=["GET"])
@login_required
@blp.response(200, CalendarYearOut)
def year_of(year):
    """The year's exceptions to Monday-to-Friday, in date order."""
    return {"year": year, "days": calendar.year_of(year)}


@blp.route("/calendar/<int:year>", methods=["PUT"])
@login_required
@blp.arguments(CalendarYearIn)
@blp.response(200, CalendarYearOut)
def set_year(body, year):
    """City administrators enter the State Council's arrangement for the year (replacing it)."""
    return {"year": year, "days": calendar.set_year(actor=current_user(), year=year, days=body["days"],
                                                    now=clock.now())}
