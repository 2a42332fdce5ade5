"""The scopes a token can carry and the roles a member can hold — the vocabulary of every guard."""

from __future__ import annotations

from typing import Literal

Role = Literal["admin", "author", "assessor", "signatory", "viewer"]
ROLES: tuple[Role, ...] = ("admin", "author", "assessor", "signatory", "viewer")

# Scope -> what it lets a token do. `admin` is the platform operator's scope: it is granted
# only from the command line, never through the API, and stands in for every other scope.
SCOPES: dict[str, str] = {
    "organisations:read": "Read organisations, their members, clients and audit trail",
    "organisations:write": "Create and change organisations, members, accreditations and clients",
    "programmes:read": "Read programmes, including drafts the organisation co-authors",
    "programmes:write": "Draft, comment on, propose and approve programmes",
    "assessments:read": "Read learners, enrolments and attempts",
    "assessments:write": "Enrol learners and record assessment results",
    "credentials:read": "Read issued credentials",
    "credentials:issue": "Issue, hold, release and re-issue credentials",
    "credentials:cosign": "Co-sign or refuse credentials as a chamber",
    "credentials:revoke": "Revoke, suspend and reinstate credentials",
    "webhooks:manage": "Subscribe to events and manage webhook endpoints",
    "admin": "Operate the platform: create organisations (command-line grant only)",
}
API_GRANTABLE_SCOPES = frozenset(SCOPES) - {"admin"}


def satisfies(granted: frozenset[str], required: str) -> bool:
    """A `:write` scope includes the matching `:read`; `admin` includes everything."""
    if required in granted or "admin" in granted:
        return True
    area, _, action = required.partition(":")
    return action == "read" and f"{area}:write" in granted
