from flask_smorest import Blueprint

from api import examples
from api.auth import current_user, load, login_required
from api.openapi import errors_doc
from api.settings import current_settings
from api.schemas.common import PageArgs, page_of
from api.schemas.points import (AdjustmentIn, AdjustmentOut, EntryOut, ExpiringOut, PointsOut, ReverseIn,
                                TransferOut)
from core import clock
from points import accounts_service, adjustments, expiry

POSITION = 90  # its section's place in the API reference
blp = Blueprint("points", __name__, url_prefix="/api/v1", description="The points ledger")


def _person_readable(user_id):
    return accounts_service.person_in_scope(user_id, actor=current_user())


def _transfer_reversible(transfer_id):
    return adjustments.transfer_in_scope(transfer_id, actor=current_user())


@blp.route("/me/points", methods=["GET"])
@login_required
@blp.response(200, PointsOut, example=examples.POINTS_OUT)
def my_points():
    """The caller's points: balance, held by open redemptions, available."""
    return accounts_service.points_of(current_user().id)


@blp.route("/me/points/expiring", methods=["GET"])
@login_required
@blp.response(200, ExpiringOut)
def my_expiring_points():
    """The caller's points that expire within 30 days, and when.

    The oldest points earned are spent first.
    """
    return expiry.expiring_soon(current_user().id, now=clock.now(), settings=current_settings())


@blp.route("/me/points/entries", methods=["GET"])
@login_required
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(EntryOut))
def my_entries(page):
    """The caller's points statement, newest first."""
    return accounts_service.entries_of(current_user().id, **page)


@blp.route("/users/<int:user_id>/points", methods=["GET"])
@errors_doc("FORBIDDEN")
@login_required
@load(_person_readable, "user_id", as_name="person")
@blp.response(200, PointsOut)
def user_points(person):
    """A user's points.

    That user, or staff whose subtree holds the user's home org (a user without one counts as
    under the city root).
    """
    return accounts_service.points_of(person.id)


@blp.route("/users/<int:user_id>/points/entries", methods=["GET"])
@errors_doc("FORBIDDEN")
@login_required
@load(_person_readable, "user_id", as_name="person")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(EntryOut))
def user_entries(page, person):
    """A user's points statement, newest first.

    Who may read it: as for `GET /users/{user_id}/points`.
    """
    return accounts_service.entries_of(person.id, **page)


@blp.route("/points/adjustments", methods=["POST"])
@errors_doc("NOT_FOUND", "FORBIDDEN", "IDEMPOTENCY_CONFLICT", "INSUFFICIENT_POINTS")
@login_required
@blp.arguments(AdjustmentIn)
@blp.response(201, AdjustmentOut)
@blp.alt_response(200, schema=AdjustmentOut, description="The same key and body again: the same transfer")
def create_adjustment(body):
    """Admin: correct a person's points (e.g. back-entry of paper records).

    Admins over the person's home org, not for themselves. The same `idempotency_key` and body
    again answer 200 and the same transfer; the key with another body is `IDEMPOTENCY_CONFLICT`.
    """
    result = adjustments.adjust(actor=current_user(), now=clock.now(), **body)
    return result, 201 if result.created else 200


@blp.route("/points/transfers/<int:transfer_id>/reverse", methods=["POST"])
@errors_doc("FORBIDDEN", "ALREADY_REVERSED", "INSUFFICIENT_POINTS")
@login_required
@load(_transfer_reversible, "transfer_id", as_name="original")
@blp.arguments(ReverseIn)
@blp.response(201, TransferOut)
def reverse_transfer(body, original):
    """Admin: undo a transfer with a linked transfer the other way, once.

    `INSUFFICIENT_POINTS`: the person has spent the points since.
    """
    return adjustments.reverse_transfer(actor=current_user(), original=original, now=clock.now(), **body)
