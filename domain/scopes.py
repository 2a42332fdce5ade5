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
    "portfolio:write": "Add credentials of other issuers to your own portfolio, and remove them",
    "admin": "Operate the platform: create organisations (command-line grant only)",
}

# 1EdTech Open Badges 3.0 API (§6): a person's own credentials and profile, for wallets and hosts acting for
# that person (authorization code only). Self-registered clients (RFC 7591) may hold these and nothing else.
OB_SCOPE_BASE = "https://purl.imsglobal.org/spec/ob/v3p0/scope/"
OB_CREDENTIAL_READONLY = OB_SCOPE_BASE + "credential.readonly"
OB_CREDENTIAL_UPSERT = OB_SCOPE_BASE + "credential.upsert"
OB_PROFILE_READONLY = OB_SCOPE_BASE + "profile.readonly"
OB_PROFILE_UPDATE = OB_SCOPE_BASE + "profile.update"
OB_SCOPES: dict[str, str] = {
    OB_CREDENTIAL_READONLY: "Permission to read AchievementCredentials for the authenticated entity",
    OB_CREDENTIAL_UPSERT: "Permission to create or update AchievementCredentials for the authenticated entity",
    OB_PROFILE_READONLY: "Permission to read the profile for the authenticated entity",
    OB_PROFILE_UPDATE: "Permission to update the profile for the authenticated entity",
}
SCOPES.update(OB_SCOPES)
# What an organisation's admins may give their own clients: the Open Badges scopes are for self-registered
# wallets acting for a person, never for an organisation's client.
API_GRANTABLE_SCOPES = frozenset(SCOPES) - {"admin"} - frozenset(OB_SCOPES)


def satisfies(granted: frozenset[str], required: str) -> bool:
    """A `:write` scope includes the matching `:read`; `admin` includes everything."""
    if required in granted or "admin" in granted:
        return True
    area, _, action = required.partition(":")
    return action == "read" and f"{area}:write" in granted
