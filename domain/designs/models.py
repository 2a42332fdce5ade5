"""Records of designs (programmes and qualifications), their versions, co-authors, comments, approvals."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from domain.designs.content import ProgrammeContent, QualificationContent
from domain.designs.coverage import CoverageReport
from domain.designs.diff import Change
from domain.organisations.models import Organisation
from domain.structs import Input, Model, Page

DesignKind = Literal["programme", "qualification"]
CoauthorRole = Literal["author", "approver", "cosigner"]
VersionStatus = Literal["draft", "proposed", "published"]


class Coauthor(Model):
    organisation_id: UUID
    name: dict[str, str]
    kind: str
    roles: list[CoauthorRole]


class Approval(Model):
    organisation_id: UUID
    approval_round: int
    decision: Literal["approved", "changes_requested"]
    reason: str | None
    person_id: UUID | None
    client_id: str | None
    decided_at: datetime


class VersionSummary(Model):
    number: int
    status: VersionStatus
    revision: int
    created_at: datetime
    proposed_at: datetime | None
    published_at: datetime | None


class Design(Model):
    id: UUID
    kind: DesignKind
    lead_organisation_id: UUID
    coauthors: list[Coauthor]
    versions: list[VersionSummary]
    created_at: datetime
    # Withdrawn from the public register (and the Europass dataset) by the lead, until a new version is published.
    withdrawn_at: datetime | None = None
    withdrawal_reason: str | None = None


class Withdrawal(Input):
    """Why the programme (or qualification) leaves the public register."""

    reason: Annotated[str, Meta(min_length=1, max_length=1000)]


class DesignPage(Page):
    items: list[Design]


class VersionBase(Model):
    id: UUID
    design_id: UUID
    kind: DesignKind
    number: int
    status: VersionStatus
    revision: int
    based_on_number: int | None
    lead_organisation_id: UUID
    coauthors: list[Coauthor]
    approval_round: int
    approvals: list[Approval]  # of the current round
    awaiting_approval_from: list[UUID]  # approvers that have not decided in the current round
    created_at: datetime
    proposed_at: datetime | None
    published_at: datetime | None


class ProgrammeVersion(VersionBase):
    content: ProgrammeContent


class QualificationVersion(VersionBase):
    content: QualificationContent


AnyVersion = ProgrammeVersion | QualificationVersion
VERSION_TYPES: dict[str, type[ProgrammeVersion] | type[QualificationVersion]] = {
    "programme": ProgrammeVersion,
    "qualification": QualificationVersion,
}


class ChangeRecord(Model):
    revision: int
    organisation_id: UUID | None
    person_id: UUID | None
    client_id: str | None
    changed_at: datetime
    changes: list[Change]


class ChangeLog(Model):
    number: int
    changes: list[ChangeRecord]


class Comparison(Model):
    from_number: int
    to_number: int
    changes: list[Change]


class Comment(Model):
    id: UUID
    organisation_id: UUID
    person_id: UUID | None
    client_id: str | None
    target: str
    body: str
    created_at: datetime


class CommentPage(Page):
    items: list[Comment]


# Request bodies

ActingFor = Annotated[UUID | None, Meta(description="The co-authoring organisation you act for (people in several)")]


class CoauthorSet(Input):
    roles: Annotated[list[CoauthorRole], Meta(min_length=1)]


class CommentCreate(Input):
    body: Annotated[str, Meta(min_length=1, max_length=10_000)]
    target: Annotated[
        str,
        Meta(
            pattern=r"^(programme|qualification|unit:[a-z0-9][a-z0-9_.-]{0,63}"
            r"|outcome:[a-z0-9][a-z0-9_.-]{0,63}/[a-z0-9][a-z0-9_.-]{0,63})$",
            description="'programme', 'unit:<key>' or 'outcome:<unit key>/<outcome key>'",
        ),
    ] = "programme"
    acting_for: ActingFor = None


class VersionDecision(Input):
    """A co-author's decision on a proposed version: approve it, or request changes with a reason."""

    decision: Literal["approve", "request_changes"]
    reason: Annotated[str, Meta(min_length=1, max_length=5_000)] | None = None
    acting_for: ActingFor = None


class NewVersion(Input):
    acting_for: ActingFor = None


class ProgrammeRegisterView(Model):
    """A published programme version as the public register shows it."""

    version: ProgrammeVersion
    awarding_body: Organisation | None
    coverage: CoverageReport | None
    published_versions: list[int]


class QualificationRegisterView(Model):
    version: QualificationVersion
    awarding_body: Organisation | None
    published_versions: list[int]


class ProgrammeCreate(Input):
    lead_organisation_id: ActingFor = None
    content: ProgrammeContent = msgspec.field(default_factory=ProgrammeContent)


class QualificationCreate(Input):
    lead_organisation_id: ActingFor = None
    content: QualificationContent = msgspec.field(default_factory=QualificationContent)
