import io

import qrcode
from flask import Response
from flask_smorest import Blueprint

from api import examples
from api.auth import current_user, load, login_required
from api.openapi import errors_doc
from api.settings import current_settings
from api.schemas.benefits import (BenefitIn, BenefitListArgs, BenefitOut, BenefitPatch, CorrectIn,
                                  FulfilIn, IdempotencyHeader, RedemptionListArgs, RedemptionOut,
                                  RestockIn, SummaryArgs, SummaryOut)
from api.schemas.common import PageArgs, page_of
from core import clock
from orgs.services import get_org
from points import benefits, books, redemption

POSITION = 100  # its section's place in the API reference
blp = Blueprint("benefits", __name__, url_prefix="/api/v1",
                description="Benefits and redemption (以服务换福利)")


def _org_of_benefit(benefit):
    return benefit.org


def _org_of_redemption(item):
    return item.benefit.org


# -- benefits -----------------------------------------------------------------

@blp.route("/orgs/<int:org_id>/benefits", methods=["POST"])
@login_required
@load(get_org, "org_id", as_name="org", action="operate")
@blp.arguments(BenefitIn)
@blp.response(201, BenefitOut)
def create_benefit(body, org):
    """Staff: offer a benefit from the organisation (stock null = unlimited)."""
    return benefits.create_benefit(actor=current_user(), org=org, now=clock.now(), **body)


@blp.route("/benefits", methods=["GET"])
@errors_doc("NOT_FOUND", token="optional")
@blp.arguments(BenefitListArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(BenefitOut))
def list_benefits(filters, page):
    """List benefits of an organisation's subtree, with the stock left.

    Staff in scope also see withdrawn benefits and redemption counts; 404 for an unknown org.
    """
    return benefits.list_benefits(actor=current_user(optional=True), now=clock.now(), **filters, **page)


@blp.route("/benefits/<int:benefit_id>", methods=["GET"])
@errors_doc(token="optional")
@load(benefits.get_benefit, "benefit_id", as_name="benefit")
@blp.response(200, BenefitOut)
def get_benefit(benefit):
    """One benefit (staff in scope also see its redemption counts)."""
    return benefits.describe_benefit(actor=current_user(optional=True), benefit=benefit, now=clock.now())


@blp.route("/benefits/<int:benefit_id>", methods=["PATCH"])
@login_required
@load(benefits.get_benefit, "benefit_id", as_name="benefit", action="operate", org_of=_org_of_benefit)
@blp.arguments(BenefitPatch)
@blp.response(200, BenefitOut)
def update_benefit(body, benefit):
    """Staff: change a benefit's description, cost, limits or window."""
    return benefits.update_benefit(actor=current_user(), benefit=benefit, now=clock.now(), **body)


@blp.route("/benefits/<int:benefit_id>/withdraw", methods=["POST"])
@login_required
@load(benefits.get_benefit, "benefit_id", as_name="benefit", action="operate", org_of=_org_of_benefit)
@blp.response(200, BenefitOut)
def withdraw_benefit(benefit):
    """Staff: withdraw a benefit; open reservations stay valid."""
    return benefits.withdraw_benefit(actor=current_user(), benefit=benefit, now=clock.now())


@blp.route("/benefits/<int:benefit_id>/restock", methods=["POST"])
@login_required
@load(benefits.get_benefit, "benefit_id", as_name="benefit", action="operate", org_of=_org_of_benefit)
@blp.arguments(RestockIn)
@blp.response(200, BenefitOut)
def restock_benefit(body, benefit):
    """Staff: add goods received (e.g. a donation) to the stock.

    422 for a benefit with unlimited stock.
    """
    return benefits.restock(actor=current_user(), benefit=benefit, now=clock.now(), **body)


# -- redemptions ------------------------------------------------------------------

@blp.route("/benefits/<int:benefit_id>/redemptions", methods=["POST"])
@errors_doc("NOT_ELIGIBLE", "BENEFIT_UNAVAILABLE", "OUT_OF_STOCK", "LIMIT_REACHED", "INSUFFICIENT_POINTS",
            "IDEMPOTENCY_CONFLICT")
@login_required
@load(benefits.get_benefit, "benefit_id", as_name="benefit")
@blp.arguments(IdempotencyHeader, location="headers")
@blp.response(201, RedemptionOut, example=examples.REDEMPTION_OUT)
@blp.alt_response(200, schema=RedemptionOut, description="Same Idempotency-Key again: the original")
def redeem(headers, benefit):
    """Redeem points for a benefit: reserve one unit.

    Stock is taken and points held at once; pick it up with the code before `expires_at`.
    Checked in this order: `NOT_ELIGIBLE`, `BENEFIT_UNAVAILABLE`, `OUT_OF_STOCK`, `LIMIT_REACHED`,
    `INSUFFICIENT_POINTS`. The same `Idempotency-Key` again answers 200 and the same
    redemption; on another benefit it is `IDEMPOTENCY_CONFLICT`.
    """
    made, created = redemption.redeem(actor=current_user(), benefit=benefit, now=clock.now(),
                                       settings=current_settings(), **headers)
    return made, 201 if created else 200


@blp.route("/benefits/<int:benefit_id>/redemptions", methods=["GET"])
@login_required
@load(benefits.get_benefit, "benefit_id", as_name="benefit", action="operate", org_of=_org_of_benefit)
@blp.arguments(RedemptionListArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(RedemptionOut))
def list_benefit_redemptions(filters, page, benefit):
    """Staff: a benefit's redemptions, newest first."""
    return redemption.list_for_benefit(actor=current_user(), benefit=benefit, **filters, **page)


@blp.route("/me/redemptions", methods=["GET"])
@login_required
@blp.arguments(RedemptionListArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(RedemptionOut))
def my_redemptions(filters, page):
    """The caller's redemptions, newest first (overdue reservations show as expired)."""
    return redemption.list_mine(actor=current_user(), now=clock.now(), **filters, **page)


@blp.route("/redemptions/<int:redemption_id>", methods=["GET"])
@errors_doc("FORBIDDEN")
@login_required
@load(redemption.get_redemption, "redemption_id", as_name="item")
@blp.response(200, RedemptionOut)
def get_redemption(item):
    """One redemption, for its owner or staff of the benefit's organisation."""
    return redemption.view(actor=current_user(), redemption=item, now=clock.now())


@blp.route("/redemptions/<int:redemption_id>/code.png", methods=["GET"])
@errors_doc("FORBIDDEN", "ALREADY_FULFILLED", "REDEMPTION_CANCELLED", "REDEMPTION_EXPIRED")
@login_required
@load(redemption.get_redemption, "redemption_id", as_name="item")
@blp.doc(responses={"200": {"description": "QR of the pickup code",
                            "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}}})
def redemption_code_png(item):
    """The pickup code as a QR image (PNG), for its owner to show at the room."""
    code = redemption.pickup_code(actor=current_user(), redemption=item, now=clock.now())
    image = qrcode.make(code, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return Response(buffer.getvalue(), mimetype="image/png", headers={"Cache-Control": "no-store"})


@blp.route("/redemptions/fulfil", methods=["POST"])
@errors_doc("NOT_FOUND", "FORBIDDEN", "ALREADY_FULFILLED", "REDEMPTION_CANCELLED", "REDEMPTION_EXPIRED")
@login_required
@blp.arguments(FulfilIn)
@blp.response(200, RedemptionOut)
def fulfil(body):
    """Staff: hand a benefit over for the owner's pickup code.

    The held points are spent. 404 for an unknown code; staff of the benefit's org or above.
    """
    return redemption.fulfil(actor=current_user(), now=clock.now(), **body)


@blp.route("/redemptions/<int:redemption_id>/cancel", methods=["POST"])
@errors_doc("FORBIDDEN", "ALREADY_FULFILLED", "REDEMPTION_EXPIRED")
@login_required
@load(redemption.get_redemption, "redemption_id", as_name="item")
@blp.response(200, RedemptionOut)
def cancel(item):
    """Cancel a reservation: the stock and the points are released.

    Its owner, or staff of the benefit's organisation; cancelling again changes nothing.
    """
    return redemption.cancel(actor=current_user(), redemption=item, now=clock.now())


@blp.route("/redemptions/<int:redemption_id>/correct", methods=["POST"])
@errors_doc("NOT_FULFILLED", "ALREADY_REVERSED")
@login_required
@load(redemption.get_redemption, "redemption_id", as_name="item", action="operate",
      org_of=_org_of_redemption)
@blp.arguments(CorrectIn)
@blp.response(200, RedemptionOut)
def correct(body, item):
    """Staff: correct a fulfilled redemption; the points go back by a ledger reversal.

    The goods are not restocked.
    """
    return redemption.correct(actor=current_user(), redemption=item, now=clock.now(), **body)


# -- books --------------------------------------------------------------------------

@blp.route("/orgs/<int:org_id>/points/summary", methods=["GET"])
@login_required
@load(get_org, "org_id", as_name="org", action="operate")
@blp.arguments(SummaryArgs, location="query")
@blp.response(200, SummaryOut)
def points_summary(args, org):
    """Staff: the room books of an organisation's subtree.

    Points issued, redeemed, expired, held and outstanding over the period; stock per benefit.
    """
    return books.summary(actor=current_user(), org=org, now=clock.now(), **args)
