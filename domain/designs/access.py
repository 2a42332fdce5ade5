"""Who may do what on a design: the organisation's role on it and the member's role in the organisation."""

from __future__ import annotations

from uuid import UUID

from domain.designs.models import Coauthor
from domain.errors import Forbidden, InvalidInput, NotFound
from domain.oauth.principals import Principal
from domain.scopes import Role

EDITING_MEMBER_ROLES: frozenset[Role] = frozenset({"admin", "author"})
APPROVING_MEMBER_ROLES: frozenset[Role] = frozenset({"admin", "author", "signatory"})


def coauthoring_organisations(principal: Principal, coauthors: list[Coauthor]) -> list[UUID]:
    ids = {c.organisation_id for c in coauthors}
    return [org for org in sorted(principal.organisations()) if org in ids]


def can_see_drafts(principal: Principal, coauthors: list[Coauthor]) -> bool:
    return principal.is_operator or bool(coauthoring_organisations(principal, coauthors))


def acting_coauthor(
    principal: Principal,
    coauthors: list[Coauthor],
    acting_for: UUID | None,
    *,
    design_role: str | None,
    member_roles: frozenset[Role] | None,
    what: str,
) -> Coauthor:
    """The co-author the caller acts for, checked for its role on the design and the caller's role in it.

    A caller who co-authors nothing gets NotFound, as if the draft did not exist: drafts are private.
    """
    by_id = {c.organisation_id: c for c in coauthors}
    mine = coauthoring_organisations(principal, coauthors)
    if acting_for is not None:
        if acting_for not in principal.organisations() or acting_for not in by_id:
            raise Forbidden(f"you do not act for a co-author {acting_for} of this {what}")
        chosen = acting_for
    elif len(mine) == 1:
        chosen = mine[0]
    elif not mine:
        raise NotFound(f"there is no {what} here that your organisation co-authors")
    else:
        raise InvalidInput(
            f"you belong to several co-authors of this {what} ({', '.join(map(str, mine))}); "
            "say which one you act for with actingFor"
        )
    coauthor = by_id[chosen]
    if design_role is not None and design_role not in coauthor.roles:
        raise Forbidden(
            f"organisation {chosen} is a co-author with roles {', '.join(coauthor.roles)}; "
            f"this needs the role {design_role!r}"
        )
    principal.require_role(chosen, member_roles)
    return coauthor
