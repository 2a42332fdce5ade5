"""The co-design workflow: drafting, co-authors, comments, proposal, approvals, publication, new drafts."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from domain.db import Connection, Database
from domain.designs import access, references, register
from domain.designs.completeness import gaps_of
from domain.designs.content import CONTENT_TYPES, ProgrammeContent, QualificationContent
from domain.designs.coverage import CoverageReport, coverage
from domain.designs.diff import Change, diff
from domain.designs.models import (
    VERSION_TYPES,
    AnyVersion,
    Approval,
    ChangeLog,
    ChangeRecord,
    Coauthor,
    CoauthorSet,
    Comment,
    CommentCreate,
    CommentPage,
    Comparison,
    Design,
    DesignKind,
    DesignPage,
    ProgrammeRegisterView,
    ProgrammeVersion,
    QualificationRegisterView,
    VersionDecision,
    VersionSummary,
)
from domain.errors import Conflict, Forbidden, InvalidInput, NotFound, PreconditionFailed
from domain.oauth.principals import Principal
from domain.organisations.service import fetch_organisation
from domain.pagination import decode_cursor, next_cursor
from domain.profiles.service import fetch_profile_version
from domain.sql import load_queries
from domain.structs import from_row
from domain.writes import IdempotencyKey, Write, write

q = load_queries(__file__)
Content = ProgrammeContent | QualificationContent


async def _coauthors(conn: Connection, design_id: UUID) -> list[Coauthor]:
    return [from_row(Coauthor, r) for r in await conn.fetch(q.select_coauthors, design_id)]


async def _design_row(conn: Connection, kind: DesignKind, design_id: UUID, *, lock: bool = False) -> Any:
    row = await conn.fetchrow(q.lock_design if lock else q.select_design, design_id, kind)
    if row is None:
        raise NotFound(f"there is no {kind} {design_id}")
    return row


async def _version(
    conn: Connection, kind: DesignKind, design_id: UUID, number: int, coauthors: list[Coauthor]
) -> AnyVersion:
    row = await conn.fetchrow(q.select_version, design_id, kind, number)
    if row is None:
        raise NotFound(f"{kind} {design_id} has no version {number}")
    approvals = [from_row(Approval, a) for a in await conn.fetch(q.select_approvals, row["id"], row["approval_round"])]
    decided = {a.organisation_id for a in approvals}
    awaiting = (
        [c.organisation_id for c in coauthors if "approver" in c.roles and c.organisation_id not in decided]
        if row["status"] == "proposed"
        else []
    )
    return from_row(
        VERSION_TYPES[kind], {**row, "coauthors": coauthors, "approvals": approvals, "awaiting_approval_from": awaiting}
    )


async def _visible_version(
    conn: Connection, principal: Principal, kind: DesignKind, design_id: UUID, number: int
) -> AnyVersion:
    """A published version is visible to every caller; an open one only to its co-authors."""
    await _design_row(conn, kind, design_id)
    coauthors = await _coauthors(conn, design_id)
    version = await _version(conn, kind, design_id, number, coauthors)
    if version.status != "published" and not access.can_see_drafts(principal, coauthors):
        raise NotFound(f"{kind} {design_id} has no version {number} that you may see")
    return version


def _stale(kind: DesignKind, version: AnyVersion, expected: int) -> PreconditionFailed:
    return PreconditionFailed(
        f"{kind} version {version.number} is at revision {version.revision}, not {expected}: a co-author changed "
        "it; read it again and re-apply your change",
        currentRevision=version.revision,
        versionNumber=version.number,
    )


def _must_be_draft(kind: DesignKind, version: AnyVersion) -> None:
    if version.status == "proposed":
        raise Conflict(
            f"{kind} version {version.number} is proposed for approval and frozen; an approver can "
            "request changes to reopen it"
        )
    if version.status == "published":
        raise Conflict(f"{kind} version {version.number} is published and cannot change; start a new draft")


async def create_design(
    db: Database,
    principal: Principal,
    kind: DesignKind,
    lead: UUID | None,
    content: Content,
    idempotency: IdempotencyKey | None = None,
) -> AnyVersion:
    """Creates a programme or qualification led by the caller's organisation, with a first draft."""
    candidates = sorted(principal.organisations())
    if lead is None:
        if len(candidates) != 1:
            raise InvalidInput("say which of your organisations leads it with leadOrganisationId")
        lead = candidates[0]
    elif lead not in principal.organisations():
        raise Forbidden(f"you do not act for organisation {lead}")
    principal.require_role(lead, access.EDITING_MEMBER_ROLES)
    async with write(db, principal.actor(), idempotency=idempotency) as w:
        if w.replayed is not None:
            return w.replay(VERSION_TYPES[kind])
        await references.check(w.conn, content)
        design_id = await w.conn.fetchval(q.insert_design, kind, lead)
        await w.conn.execute(q.upsert_coauthor, design_id, lead, ["author"])
        version_id = await w.conn.fetchval(q.insert_version, design_id, 1, content, None)
        await w.conn.execute(
            q.insert_change,
            version_id,
            1,
            lead,
            principal.person_id,
            principal.client_id,
            diff({}, msgspec.to_builtins(content)),
        )
        await w.audit(f"{kind}.created", kind, design_id, lead)
        version = await _version(w.conn, kind, design_id, 1, await _coauthors(w.conn, design_id))
        await w.remember(version)
    return version


async def _design(conn: Connection, principal: Principal, kind: DesignKind, design_id: UUID) -> Design:
    row = await _design_row(conn, kind, design_id)
    coauthors = await _coauthors(conn, design_id)
    summaries = [from_row(VersionSummary, r) for r in await conn.fetch(q.select_version_summaries, design_id)]
    if not access.can_see_drafts(principal, coauthors):
        summaries = [s for s in summaries if s.status == "published"]
        if not summaries:
            raise NotFound(f"there is no {kind} {design_id} that you may see")
    return Design(
        id=row["id"],
        kind=row["kind"],
        lead_organisation_id=row["lead_organisation_id"],
        coauthors=coauthors,
        versions=summaries,
        created_at=row["created_at"],
        withdrawn_at=row["withdrawn_at"],
        withdrawal_reason=row["withdrawal_reason"],
    )


async def get_design(db: Database, principal: Principal, kind: DesignKind, design_id: UUID) -> Design:
    async with db.connection() as conn:
        return await _design(conn, principal, kind, design_id)


async def list_designs(
    db: Database, principal: Principal, kind: DesignKind, *, cursor: str | None, limit: int
) -> DesignPage:
    """The programmes (or qualifications) the caller's organisations co-author."""
    after = decode_cursor(cursor)
    async with db.connection() as conn:
        rows = await conn.fetch(
            q.designs_coauthored_by,
            kind,
            list(principal.organisations()),
            after[0] if after else None,
            after[1] if after else None,
            limit + 1,
        )
        items = [await _design(conn, principal, kind, r["id"]) for r in rows[:limit]]
    return DesignPage(items=items, next_cursor=next_cursor(rows, limit))


async def get_version(db: Database, principal: Principal, kind: DesignKind, design_id: UUID, number: int) -> AnyVersion:
    async with db.connection() as conn:
        version = await _visible_version(conn, principal, kind, design_id, number)
    if access.can_see_drafts(principal, version.coauthors):
        return version
    # Which organisations approved is public; which of their people and clients did is the drafting's.
    approvals = [msgspec.structs.replace(a, person_id=None, client_id=None) for a in version.approvals]
    return msgspec.structs.replace(version, approvals=approvals)


async def _locked_open_version(
    w: Write,
    principal: Principal,
    kind: DesignKind,
    design_id: UUID,
    number: int,
) -> tuple[AnyVersion, list[Coauthor]]:
    await _design_row(w.conn, kind, design_id)
    await w.conn.fetchrow(q.lock_version, design_id, number)
    coauthors = await _coauthors(w.conn, design_id)
    version = await _version(w.conn, kind, design_id, number, coauthors)
    if version.status != "published" and not access.can_see_drafts(principal, coauthors):
        raise NotFound(f"there is no {kind} here that your organisation co-authors")
    return version, coauthors


async def _editable_draft(
    w: Write,
    principal: Principal,
    kind: DesignKind,
    design_id: UUID,
    number: int,
    expected_revision: int,
    acting_for: UUID | None,
) -> tuple[AnyVersion, list[Coauthor], Coauthor]:
    """The locked draft at the revision the caller read, and the authoring co-author the caller acts for."""
    version, coauthors = await _locked_open_version(w, principal, kind, design_id, number)
    author = access.acting_coauthor(
        principal, coauthors, acting_for, design_role="author", member_roles=access.EDITING_MEMBER_ROLES, what=kind
    )
    _must_be_draft(kind, version)
    if version.revision != expected_revision:
        raise _stale(kind, version, expected_revision)
    return version, coauthors, author


async def save_content(
    db: Database,
    principal: Principal,
    kind: DesignKind,
    design_id: UUID,
    number: int,
    expected_revision: int,
    content: Content,
    acting_for: UUID | None = None,
) -> AnyVersion:
    """Replaces a draft's content; the change is kept with a structured diff."""
    async with write(db, principal.actor()) as w:
        version, coauthors, editor = await _editable_draft(
            w, principal, kind, design_id, number, expected_revision, acting_for
        )
        await references.check(w.conn, content)
        changes = diff(msgspec.to_builtins(version.content), msgspec.to_builtins(content))
        if not changes:
            return version
        revision = await w.conn.fetchval(q.update_content, version.id, expected_revision, content)
        await w.conn.execute(
            q.insert_change,
            version.id,
            revision,
            editor.organisation_id,
            principal.person_id,
            principal.client_id,
            changes,
        )
        await w.audit(
            f"{kind}.edited",
            kind,
            design_id,
            editor.organisation_id,
            {"version": number, "revision": revision, "paths": [c.path for c in changes][:50]},
        )
        return await _version(w.conn, kind, design_id, number, coauthors)


async def change_log(db: Database, principal: Principal, kind: DesignKind, design_id: UUID, number: int) -> ChangeLog:
    async with db.connection() as conn:
        version = await _visible_version(conn, principal, kind, design_id, number)
        # The published content is public; its drafting (before/after values, editors) is not.
        if not access.can_see_drafts(principal, version.coauthors):
            raise NotFound(f"the change log of {kind} {design_id} is for its co-authors")
        rows = await conn.fetch(q.select_changes, version.id)
    return ChangeLog(number=number, changes=[from_row(ChangeRecord, r) for r in rows])


async def compare(
    db: Database, principal: Principal, kind: DesignKind, design_id: UUID, from_number: int, to_number: int
) -> Comparison:
    async with db.connection() as conn:
        old = await _visible_version(conn, principal, kind, design_id, from_number)
        new = await _visible_version(conn, principal, kind, design_id, to_number)
    changes: list[Change] = diff(msgspec.to_builtins(old.content), msgspec.to_builtins(new.content))
    return Comparison(from_number=from_number, to_number=to_number, changes=changes)


async def set_coauthor(
    db: Database, principal: Principal, kind: DesignKind, design_id: UUID, organisation_id: UUID, data: CoauthorSet
) -> Design:
    """Adds a co-author or changes its roles; only the lead organisation does this."""
    async with write(db, principal.actor()) as w:
        row = await _design_row(w.conn, kind, design_id, lock=True)
        coauthors = await _coauthors(w.conn, design_id)
        _require_lead(principal, row, coauthors, kind)
        await _refuse_while_proposed(w.conn, kind, design_id)
        roles = sorted(set(data.roles))
        if organisation_id == row["lead_organisation_id"] and "author" not in roles:
            raise InvalidInput("the lead organisation always keeps the role 'author'")
        if not await w.conn.fetch(q.organisations_exist, [organisation_id]):
            raise NotFound(f"there is no organisation {organisation_id}")
        await w.conn.execute(q.upsert_coauthor, design_id, organisation_id, roles)
        await w.audit(
            f"{kind}.coauthor_set",
            kind,
            design_id,
            row["lead_organisation_id"],
            {"organisationId": str(organisation_id), "roles": roles},
        )
    return await get_design(db, principal, kind, design_id)


async def remove_coauthor(
    db: Database, principal: Principal, kind: DesignKind, design_id: UUID, organisation_id: UUID
) -> Design:
    async with write(db, principal.actor()) as w:
        row = await _design_row(w.conn, kind, design_id, lock=True)
        coauthors = await _coauthors(w.conn, design_id)
        _require_lead(principal, row, coauthors, kind)
        await _refuse_while_proposed(w.conn, kind, design_id)
        if organisation_id == row["lead_organisation_id"]:
            raise InvalidInput("the lead organisation cannot be removed")
        if await w.conn.fetchval(q.delete_coauthor, design_id, organisation_id) is None:
            raise NotFound(f"organisation {organisation_id} is not a co-author of {kind} {design_id}")
        await w.audit(
            f"{kind}.coauthor_removed",
            kind,
            design_id,
            row["lead_organisation_id"],
            {"organisationId": str(organisation_id)},
        )
    return await get_design(db, principal, kind, design_id)


async def withdraw(
    db: Database,
    principal: Principal,
    kind: DesignKind,
    design_id: UUID,
    reason: str,
    *,
    idempotency: IdempotencyKey | None = None,
) -> Design:
    """Takes a published design out of the public register and the Europass dataset (the lead organisation);
    issued credentials stay as they are, and publishing a new version lists it again."""
    async with write(db, principal.actor(), idempotency=idempotency) as w:
        if w.replayed is None:
            row = await _design_row(w.conn, kind, design_id, lock=True)
            coauthors = await _coauthors(w.conn, design_id)
            _require_lead(principal, row, coauthors, kind)
            if not await register.published_numbers(w.conn, kind, design_id):
                raise Conflict(f"{kind} {design_id} has no published version: there is nothing to withdraw")
            if await w.conn.fetchval(q.withdraw_design, design_id, reason) is None:
                raise Conflict(f"{kind} {design_id} is already withdrawn")
            await register.withdraw(w.conn, design_id)
            await w.audit(f"{kind}.withdrawn", kind, design_id, row["lead_organisation_id"], {"reason": reason})
            await w.remember({"id": str(design_id)})
    return await get_design(db, principal, kind, design_id)


def _require_lead(principal: Principal, row: Any, coauthors: list[Coauthor], kind: DesignKind) -> None:
    lead = row["lead_organisation_id"]
    if not access.can_see_drafts(principal, coauthors):
        raise NotFound(f"there is no {kind} here that your organisation co-authors")
    if lead not in principal.organisations() and not principal.is_operator:
        raise Forbidden(f"only the lead organisation {lead} chooses the co-authors")
    principal.require_role(lead, access.EDITING_MEMBER_ROLES)


async def _refuse_while_proposed(conn: Connection, kind: DesignKind, design_id: UUID) -> None:
    for summary in await conn.fetch(q.select_version_summaries, design_id):
        if summary["status"] == "proposed":
            raise Conflict(
                f"version {summary['number']} is proposed: the co-authors and approvers are frozen until it is decided"
            )


async def add_comment(
    db: Database, principal: Principal, kind: DesignKind, design_id: UUID, number: int, data: CommentCreate
) -> Comment:
    async with write(db, principal.actor()) as w:
        version, coauthors = await _locked_open_version(w, principal, kind, design_id, number)
        author = access.acting_coauthor(
            principal, coauthors, data.acting_for, design_role=None, member_roles=None, what=kind
        )
        if version.status == "published":
            raise Conflict(f"{kind} version {number} is published; comment on a new draft")
        _check_comment_target(data.target, version.content)
        row = await w.conn.fetchrow(
            q.insert_comment,
            version.id,
            author.organisation_id,
            principal.person_id,
            principal.client_id,
            data.target,
            data.body,
        )
        await w.audit(
            f"{kind}.commented", kind, design_id, author.organisation_id, {"version": number, "target": data.target}
        )
        return from_row(Comment, row)


def _check_comment_target(target: str, content: Content) -> None:
    if target in ("programme", "qualification"):
        return
    units = {u.key: u for u in content.units} if isinstance(content, ProgrammeContent) else {}
    kind, _, ref = target.partition(":")
    unit_key, _, outcome_key = ref.partition("/")
    unit = units.get(unit_key)
    if unit is None:
        raise InvalidInput(f"comment target {target!r}: there is no unit {unit_key!r}")
    if kind == "outcome" and outcome_key not in {o.key for o in unit.learning_outcomes}:
        raise InvalidInput(f"comment target {target!r}: unit {unit_key!r} has no learning outcome {outcome_key!r}")


async def list_comments(
    db: Database,
    principal: Principal,
    kind: DesignKind,
    design_id: UUID,
    number: int,
    *,
    cursor: str | None,
    limit: int,
) -> CommentPage:
    after = decode_cursor(cursor)
    async with db.connection() as conn:
        version = await _visible_version(conn, principal, kind, design_id, number)
        if not access.can_see_drafts(principal, version.coauthors):
            raise NotFound(f"comments on {kind} {design_id} are for its co-authors")
        rows = await conn.fetch(
            q.select_comments, version.id, after[0] if after else None, after[1] if after else None, limit + 1
        )
    return CommentPage(items=[from_row(Comment, r) for r in rows[:limit]], next_cursor=next_cursor(rows, limit))


async def propose(
    db: Database,
    principal: Principal,
    kind: DesignKind,
    design_id: UUID,
    number: int,
    expected_revision: int,
    acting_for: UUID | None = None,
) -> AnyVersion:
    """Freezes a complete draft for approval; an incomplete one is refused with every gap listed."""
    async with write(db, principal.actor()) as w:
        version, coauthors, proposer = await _editable_draft(
            w, principal, kind, design_id, number, expected_revision, acting_for
        )
        gaps = gaps_of(version.content) + references.workflow_gaps(version.content, coauthors)
        if gaps:
            raise InvalidInput(
                f"{kind} version {number} is not complete: " + "; ".join(g.message for g in gaps),
                gaps=[msgspec.to_builtins(g) for g in gaps],
            )
        await w.conn.execute(q.set_proposed, version.id)
        await w.audit(f"{kind}.proposed", kind, design_id, proposer.organisation_id, {"version": number})
        proposed = await _version(w.conn, kind, design_id, number, coauthors)
        await w.emit(
            f"{kind}.proposed",
            f"{kind}/{design_id}/{number}",
            proposer.organisation_id,
            {
                "id": str(design_id),
                "version": number,
                "awaitingApprovalFrom": [str(o) for o in proposed.awaiting_approval_from],
            },
        )
        return proposed


async def decide(
    db: Database, principal: Principal, kind: DesignKind, design_id: UUID, number: int, data: VersionDecision
) -> AnyVersion:
    """An approver approves, or requests changes (the version returns to draft). The last required
    approval publishes the version."""
    if data.decision == "request_changes" and not data.reason:
        raise InvalidInput("say what must change: a reason is required when requesting changes")
    async with write(db, principal.actor()) as w:
        version, coauthors = await _locked_open_version(w, principal, kind, design_id, number)
        approver = access.acting_coauthor(
            principal,
            coauthors,
            data.acting_for,
            design_role="approver",
            member_roles=access.APPROVING_MEMBER_ROLES,
            what=kind,
        )
        if version.status != "proposed":
            raise Conflict(f"{kind} version {number} is {version.status}, not proposed: there is nothing to decide")
        decision = "approved" if data.decision == "approve" else "changes_requested"
        recorded = await w.conn.fetchval(
            q.insert_approval,
            version.id,
            version.approval_round,
            approver.organisation_id,
            decision,
            data.reason,
            principal.person_id,
            principal.client_id,
        )
        if recorded is None:
            raise Conflict(f"organisation {approver.organisation_id} has already decided on this proposal")
        await w.audit(
            f"{kind}.{decision}", kind, design_id, approver.organisation_id, {"version": number, "reason": data.reason}
        )
        subject = f"{kind}/{design_id}/{number}"
        if decision == "changes_requested":
            await w.conn.execute(q.set_draft, version.id)
        else:
            await w.emit(
                f"{kind}.approved",
                subject,
                approver.organisation_id,
                {"id": str(design_id), "version": number, "organisationId": str(approver.organisation_id)},
            )
            remaining = [o for o in version.awaiting_approval_from if o != approver.organisation_id]
            if not remaining:
                await w.conn.execute(q.set_published, version.id)
                await register.publish(w.conn, kind, design_id, number, version.id, version.content)
                await w.conn.execute(q.unwithdraw_design, design_id)  # a new version lists it again
                await w.audit(f"{kind}.published", kind, design_id, version.lead_organisation_id, {"version": number})
                await w.emit(
                    f"{kind}.published",
                    subject,
                    version.lead_organisation_id,
                    {"id": str(design_id), "version": number},
                )
        return await _version(w.conn, kind, design_id, number, coauthors)


async def new_draft(
    db: Database, principal: Principal, kind: DesignKind, design_id: UUID, acting_for: UUID | None = None
) -> AnyVersion:
    """Starts the next version from the latest published one."""
    async with write(db, principal.actor()) as w:
        await _design_row(w.conn, kind, design_id, lock=True)
        coauthors = await _coauthors(w.conn, design_id)
        editor = access.acting_coauthor(
            principal, coauthors, acting_for, design_role="author", member_roles=access.EDITING_MEMBER_ROLES, what=kind
        )
        base = await w.conn.fetchrow(q.latest_published_version, design_id)
        if base is None:
            raise Conflict(f"{kind} {design_id} has no published version yet; keep editing its draft")
        number = await w.conn.fetchval(q.next_version_number, design_id)
        try:
            async with w.conn.transaction():
                version_id = await w.conn.fetchval(q.insert_version, design_id, number, base["content"], base["id"])
        except asyncpg.UniqueViolationError as exc:
            raise Conflict(f"{kind} {design_id} already has an open version; finish it first") from exc
        content = msgspec.convert(base["content"], CONTENT_TYPES[kind])
        await w.conn.execute(
            q.insert_change,
            version_id,
            1,
            editor.organisation_id,
            principal.person_id,
            principal.client_id,
            [Change(op="change", path="(copied)", before=None, after=f"version {base['number']}")],
        )
        await w.audit(
            f"{kind}.drafted",
            kind,
            design_id,
            editor.organisation_id,
            {"version": number, "basedOn": base["number"], "title": msgspec.to_builtins(content.title)},
        )
        return await _version(w.conn, kind, design_id, number, coauthors)


async def coverage_report(db: Database, principal: Principal, design_id: UUID, number: int) -> CoverageReport:
    async with db.connection() as conn:
        version = await _visible_version(conn, principal, "programme", design_id, number)
        return await _coverage(conn, version)


async def _coverage(conn: Connection, version: AnyVersion) -> CoverageReport:
    content = version.content
    if not isinstance(content, ProgrammeContent) or content.profile_version_id is None:
        raise Conflict(f"programme version {version.number} is tied to no occupational profile yet")
    return coverage(content, await fetch_profile_version(conn, content.profile_version_id))


async def published_view(
    db: Database, kind: DesignKind, design_id: UUID, number: int | None = None
) -> ProgrammeRegisterView | QualificationRegisterView:
    """A published version for the public register: co-authors, approvals, the awarding body with its
    accreditations, and (for programmes) the coverage of the occupational profile."""
    async with db.connection() as conn:
        await _design_row(conn, kind, design_id)
        numbers = await register.published_numbers(conn, kind, design_id)
        if not numbers or (number is not None and number not in numbers):
            raise NotFound(f"{kind} {design_id} has no published version" + (f" {number}" if number else ""))
        version = await _version(conn, kind, design_id, number or numbers[-1], await _coauthors(conn, design_id))
        body = version.content.awarding_body_id
        awarding_body = await fetch_organisation(conn, body) if body else None
        if isinstance(version, ProgrammeVersion):
            report = await _coverage(conn, version) if version.content.profile_version_id else None
            return ProgrammeRegisterView(
                version=version, awarding_body=awarding_body, coverage=report, published_versions=numbers
            )
        return QualificationRegisterView(version=version, awarding_body=awarding_body, published_versions=numbers)


async def require_coauthor(db: Database, principal: Principal, kind: DesignKind, design_id: UUID) -> None:
    """Raises NotFound unless the caller's organisation co-authors the design."""
    async with db.connection() as conn:
        await _design_row(conn, kind, design_id)
        if not access.can_see_drafts(principal, await _coauthors(conn, design_id)):
            raise NotFound(f"there is no {kind} here that your organisation co-authors")
