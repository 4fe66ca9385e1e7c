from flask_smorest import Blueprint

from api.auth import current_user, login_required
from api.openapi import errors_doc
from api.schemas.calendar import CalendarYearIn, CalendarYearOut
from core import clock
from volunteers import calendar

POSITION = 110  # its section's place in the API reference
blp = Blueprint("calendar", __name__, url_prefix="/api/v1",
                description="Working-day calendar: public holidays and swapped workdays")


@blp.route("/calendar/<int:year>", methods=["GET"])
@errors_doc("VALIDATION_ERROR")
@login_required
@blp.response(200, CalendarYearOut)
def year_of(year):
    """A year's public holidays and swapped workdays, in date order.

    The exceptions to Monday-to-Friday; the year between 2000 and 2100.
    """
    return {"year": year, "days": calendar.year_of(year)}


@blp.route("/calendar/<int:year>", methods=["PUT"])
@errors_doc("FORBIDDEN")
@login_required
@blp.arguments(CalendarYearIn)
@blp.response(200, CalendarYearOut)
def set_year(body, year):
    """City admins: enter the year's holiday arrangement (replacing it).

    The State Council's arrangement: holidays on weekdays, workdays on weekends.
    """
    return {"year": year, "days": calendar.set_year(actor=current_user(), year=year, days=body["days"],
                                                    now=clock.now())}
