"""Who a live access token stands for: a client acting for its organisation, or for a person."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from domain.db import Connection
from domain.errors import Forbidden, Unauthenticated
from domain.scopes import ROLES, Role, satisfies
from domain.sql import load_queries
from domain.writes import TOKEN_NOT_LIVE, Actor

q = load_queries(__file__, "principals.sql")


class SecondFactorRequired(Forbidden):
    """The organisation asks for a second factor here, and the token's sign-in had none (403)."""

    title = "Second factor required"


@dataclass(frozen=True)
class Principal:
    token_id: str
    client_id: str
    client_organisation_id: UUID
    scopes: frozenset[str]
    person_id: UUID | None = None
    memberships: dict[UUID, frozenset[Role]] = field(default_factory=dict)
    request_id: str | None = None  # of the request this principal made, for the audit trail
    amr: frozenset[str] = frozenset()  # how the person signed in for this token (RFC 8176): pwd, otp
    second_factor_organisations: frozenset[UUID] = frozenset()  # whose policy asks this person for one
    email_verified: bool = False  # the person's address (a client's own token: not a person)
    # False when the guard took a remembered client principal without asking PostgreSQL (api/auth.py): the
    # write this request makes must confirm the token is still live (Actor.token_to_confirm).
    token_confirmed: bool = True

    @property
    def is_operator(self) -> bool:
        return "admin" in self.scopes

    def has_scope(self, scope: str) -> bool:
        return satisfies(self.scopes, scope)

    def roles_in(self, organisation_id: UUID) -> frozenset[Role]:
        """A client acting on its own holds every role in its organisation (its scopes limit it);
        a person holds the roles of their membership."""
        if self.is_operator:
            return frozenset(ROLES)
        if self.person_id is None:
            return frozenset(ROLES) if organisation_id == self.client_organisation_id else frozenset()
        return self.memberships.get(organisation_id, frozenset())

    def require_role(self, organisation_id: UUID, allowed: frozenset[Role] | None = None) -> None:
        """Raises Forbidden unless the caller belongs to the organisation (with one of ``allowed``)."""
        held = self.roles_in(organisation_id)
        if not held:
            raise Forbidden(f"you are not a member of organisation {organisation_id}")
        if allowed and not (held & allowed) and "admin" not in held:
            raise Forbidden(
                f"this needs one of the roles {', '.join(sorted(allowed))} in organisation "
                f"{organisation_id}; you hold {', '.join(sorted(held))}"
            )

    def require_second_factor(self, organisation_id: UUID, action: str) -> None:
        """Refuses ``action`` for ``organisation_id`` when its policy asks this person for a second factor and
        the sign-in that obtained the token had none."""
        if self.person_id is None or organisation_id not in self.second_factor_organisations or "otp" in self.amr:
            return
        raise SecondFactorRequired(
            f"organisation {organisation_id} requires a second factor of its signatories and admins to {action}; "
            "this access token comes from a sign-in with a password only. Set up an authenticator app at "
            "/account/second-factor if you have none, then sign in again giving its code",
            amr=sorted(self.amr),
            organisationId=str(organisation_id),
        )

    def organisations(self) -> frozenset[UUID]:
        if self.person_id is None:
            return frozenset({self.client_organisation_id})
        return frozenset(self.memberships)

    def actor(self) -> Actor:
        return Actor(
            client_id=self.client_id,
            person_id=self.person_id,
            organisation_id=self.client_organisation_id,
            request_id=self.request_id,
            token_to_confirm=None if self.token_confirmed else self.token_id,
        )


async def principal_for_token(conn: Connection, jti: str, request_id: str | None = None) -> Principal:
    row = await conn.fetchrow(q.token_principal, jti)
    if row is None or not row["active"]:
        raise Unauthenticated(TOKEN_NOT_LIVE)
    return Principal(
        token_id=jti,
        client_id=row["client_id"],
        client_organisation_id=row["organisation_id"],
        scopes=frozenset(row["scope"].split()),
        person_id=row["person_id"],
        memberships={UUID(org): frozenset(roles) for org, roles in row["memberships"].items()},
        request_id=request_id,
        amr=frozenset(row["amr"]),
        second_factor_organisations=frozenset(row["second_factor_organisations"]),
        email_verified=row["email_verified"],
    )
