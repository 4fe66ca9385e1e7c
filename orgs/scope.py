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


def may_act_for(actor, target_roles) -> bool:
    """Whether `actor` may act on the account of a person holding `target_roles`
    (reset the password, end the sessions, remove a role): each of those roles
    must lie inside what one of the actor's admin roles manages — on an org
    strictly below it, or on the same org as a worker. So an admin never acts
    for a fellow admin of the same org or anyone above, nor for someone who also
    works outside their subtree; and never for themselves (their own topmost
    admin role lies inside none of theirs). A person with no role is nobody's to act for.
    """
    if actor is None or not target_roles:
        return False
    managed = [role.org.path for role in actor.roles if role.role == "admin"]

    def inside(role) -> bool:
        return any(role.org.path.startswith(path) and (role.org.path != path or role.role == "worker")
                   for path in managed)

    return all(inside(role) for role in target_roles)
