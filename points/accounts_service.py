"""Reading balances and statements, and who may read whose.

Reads never create accounts: a person who never earned has no account and
reads as zero. A balance is the account row's cached figures (one indexed
lookup), whatever the number of entries behind it.
"""
import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from core.db import db
from core.errors import NotFound
from core.paging import Page, keyset_page
from orgs.models import Org
from orgs.scope import require
from people.models import User

from . import ledger
from .models import Entry


def get_person(user_id: int) -> User:
    """Raises NOT_FOUND for an unknown user."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("user", "用户不存在")
    return user


def home_org_of(user: User) -> Org | None:
    """The user's home org; a user without one counts as under the city root."""
    if user.home_org_id is not None:
        return db.session.get(Org, user.home_org_id)
    return db.session.scalar(sa.select(Org).where(Org.parent_id.is_(None)).order_by(Org.id))


def person_in_scope(user_id: int, *, actor, action: str = "operate") -> User:
    """The user, if the actor is that user or staff (`action`) over the user's home org.

    Raises NOT_FOUND for an unknown user, then FORBIDDEN.
    """
    user = get_person(user_id)
    if actor is None or actor.id != user.id:
        require(actor, action, home_org_of(user))
    return user


def points_of(user_id: int) -> dict:
    """`{balance, held, available}` from the cached figures on the account."""
    account = ledger.find_person_account(user_id)
    if account is None:
        return {"balance": 0, "held": 0, "available": 0}
    return {"balance": account.balance, "held": account.held, "available": ledger.available(account)}


def entries_of(user_id: int, *, cursor: str | None, limit: int) -> Page:
    """The person's entries, newest first, each with its transfer's kind, memo and cause."""
    account = ledger.find_person_account(user_id)
    stmt = sa.select(Entry).options(joinedload(Entry.transfer))
    # No account yet: an empty statement still checks the cursor like any other.
    stmt = stmt.where(Entry.account_id == account.id) if account else stmt.where(sa.false())
    return keyset_page(stmt, order=[Entry.id], cursor=cursor, limit=limit, descending=True)
