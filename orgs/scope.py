"""The one permission check every feature uses: can this person do this here?

A role on an organisation applies to its whole subtree, so a station's worker
runs activities in every room below the station.
"""
from core.errors import Forbidden

from .models import Org

# What each action needs. `manage` changes the structure, staff and balances;
# `operate` is day-to-day work: activities, check-in, settlement, fulfilment.
ACTION_ROLES = {
    "manage": frozenset({"admin"}),
    "operate": frozenset({"admin", "worker"}),
}


def can(actor, action: str, org: Org) -> bool:
    if actor is None or org is None:
        return False
    allowed = ACTION_ROLES[action]
    return any(
        role.role in allowed and org.path.startswith(role.org.path) for role in actor.roles
    )


def require(actor, action: str, org: Org) -> None:
    """Raises FORBIDDEN unless `can(actor, action, org)`."""
    if not can(actor, action, org):
        raise Forbidden(f"需要该机构或其上级机构的{'管理员' if action == 'manage' else '工作人员'}权限")


def is_staff(actor) -> bool:
    return bool(actor is not None and actor.roles)


def scope_paths(actor, action: str = "operate") -> list[str]:
    """Path prefixes of the subtrees the actor may act on, for filtering lists."""
    allowed = ACTION_ROLES[action]
    return [role.org.path for role in (actor.roles if actor else []) if role.role in allowed]
