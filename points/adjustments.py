"""Staff corrections of balances: adjustments and reversals, both audited.

Every correction is a new transfer that names who made it (`actor_id`), when
(`created_at`) and why (`memo`: the reason as typed); nothing is edited.

Which account an adjustment moves points against: the issuing account of the
org nearest to the person (walking up from the person's home org, a person
without one counting as under the city root) on which the actor is admin.
A room admin's correction thus weighs on the room; a city admin's on the city.
"""
from dataclasses import dataclass

from core.db import db
from core.errors import Forbidden, Invalid, NotFound
from orgs.models import Org
from orgs.scope import require
from people.models import User

from . import ledger
from .accounts_service import home_org_of, person_in_scope
from .models import PERSON, Account, Transfer

MAX_ADJUSTMENT = 1_000_000


@dataclass
class Adjustment:
    transfer: Transfer
    user_id: int
    amount: int  # signed, as seen by the person
    reason: str
    created: bool


def _nearest_admin_org(actor, home: Org) -> int:
    administered = {role.org_id for role in actor.roles if role.role == "admin"}
    ancestry = [int(part) for part in home.path.strip("/").split("/")]
    return next(org_id for org_id in reversed(ancestry) if org_id in administered)


def adjust(*, actor, user_id: int, amount: int, reason: str, idempotency_key: str, now) -> Adjustment:
    """Credits (amount > 0) or debits (amount < 0) a person's points, once per key.

    The key is the actor's own: the same key with the same body returns the
    first adjustment (`created` False). Raises NOT_FOUND (unknown user),
    FORBIDDEN (not admin over the user's home org), VALIDATION_ERROR (amount 0
    or beyond ±1,000,000), IDEMPOTENCY_CONFLICT (key used for another body),
    INSUFFICIENT_POINTS (a debit beyond the available balance).
    """
    user = person_in_scope(user_id, actor=actor, action="manage")
    if actor.id == user.id:
        # Four eyes: an admin's own balance is corrected by another admin.
        raise Forbidden("不能调整自己的积分")
    if amount == 0 or abs(amount) > MAX_ADJUSTMENT:
        raise Invalid({"amount": [f"须为非零整数，且在 ±{MAX_ADJUSTMENT} 之内"]})
    issuing = ledger.issuing_account(_nearest_admin_org(actor, home_org_of(user)), now=now)
    person = ledger.person_account(user.id, now=now)
    debit, credit = (issuing, person) if amount > 0 else (person, issuing)
    created = ledger.transfer(
        debit=debit, credit=credit, amount=abs(amount), kind="adjustment", memo=reason,
        idempotency_key=f"adjustment:{actor.id}:{idempotency_key}", now=now, actor_id=actor.id,
        fingerprint=ledger.fingerprint_of({"user_id": user.id, "amount": amount, "reason": reason}))
    return Adjustment(created, user.id, amount, created.memo, not created.replayed)


def _orgs_of(transfer: Transfer) -> list[Org | None]:
    """The org each side of the transfer answers to."""
    orgs = []
    for account_id in (transfer.debit_account_id, transfer.credit_account_id):
        account = db.session.get(Account, account_id)
        if account.kind == PERSON:
            orgs.append(home_org_of(db.session.get(User, account.user_id)))
        else:
            orgs.append(db.session.get(Org, account.org_id))
    return orgs


def transfer_in_scope(transfer_id: int, *, actor) -> Transfer:
    """The transfer, if the actor is admin over both of its sides (each person's
    home org, each org account's org). Raises NOT_FOUND, then FORBIDDEN."""
    transfer = db.session.get(Transfer, transfer_id)
    if transfer is None:
        raise NotFound("transfer", "积分流水不存在")
    for org in _orgs_of(transfer):
        require(actor, "manage", org)
    return transfer


def reverse_transfer(*, actor, original: Transfer, reason: str, now) -> Transfer:
    """Undoes a transfer with a linked transfer the other way, at most once.

    Raises ALREADY_REVERSED (reversed before, or itself a reversal),
    INSUFFICIENT_POINTS (the person has spent the points since).
    """
    return ledger.reverse(original=original, reason=reason, actor_id=actor.id, now=now)

