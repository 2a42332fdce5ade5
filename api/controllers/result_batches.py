"""Bulk uploads of results (JSON or CSV) and their progress."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody, Schema
from litestar.params import FromPath

from api.auth import secured
from api.controllers.learners import RECORDING_ROLES
from api.errors import problem_response, problem_spec
from api.http import actor
from api.routing import get, post
from domain.attempts import bulk, csv_rows
from domain.attempts.bulk_models import ResultBatch
from domain.attempts.bulk_rows import MAX_ROWS, Format, JsonBatch, MalformedBatch, TooManyRows
from domain.oauth.principals import Principal

MAX_BODY_BYTES = 64 * 1024 * 1024  # 50,000 JSON rows with evidence fit; the app's default (10 MiB) does not
MEDIA_TYPES: dict[str, Format] = {"application/json": "json", "text/csv": "csv"}

DESCRIPTION = f"""Upload many results at once; every row is checked as a single attempt would be.

Send `application/json` — `{{"rows": [...]}}`, one attempt per row, the learner by `learnerId` or by
`learner: {{scheme, value}}`, the enrolment by `enrolmentId` or by `programmeId` — or `text/csv` (UTF-8),
one row per learner and criterion or outcome, with these columns (header row first):

| Column | Meaning |
|---|---|
{chr(10).join(f"| `{name}` | {meaning} |" for name, meaning in csv_rows.COLUMNS.items())}

CSV rows with the same learner, programme_id, enrolment_id, unit_key and assessed_at form one attempt.

Up to {bulk.INLINE_LIMIT:,} rows are decided at once: **201** with the report. Larger batches (up to
{MAX_ROWS:,} rows) are queued: **202** with `Location` to poll. The same upload again answers **200** with the
first batch's report and records nothing; a row recorded before (in any batch) is listed under
`alreadyRecorded` with the attempt it duplicates. Rejected rows are listed with their reason; rows are numbered
from 1 (for CSV, the header is row 1)."""


def _inlined(node: Any, definitions: dict[str, Any]) -> Any:
    """msgspec's JSON Schema with every ``$ref`` to its ``$defs`` replaced by the definition itself (the
    batch's structs do not recurse), so that it stands on its own inside the OpenAPI document."""
    if isinstance(node, dict):
        if set(node) == {"$ref"}:
            return _inlined(definitions[node["$ref"].rsplit("/", 1)[1]], definitions)
        return {k: _inlined(v, definitions) for k, v in node.items()}
    if isinstance(node, list):
        return [_inlined(v, definitions) for v in node]
    return node


def _json_batch_schema() -> dict[str, Any]:
    document = msgspec.json.schema(JsonBatch)
    definitions = document.pop("$defs")
    inlined: dict[str, Any] = _inlined(document, definitions)
    # Each row is read on its own: one that is not a JsonRow is rejected in the report, the batch is not.
    rows = inlined["properties"]["rows"]
    rows["items"] = {
        "description": "An attempt, as JsonRow describes it; any other value is rejected, as its row, with the reason",
        "anyOf": [rows["items"], {}],
    }
    return inlined


@dataclass
class _GivenSchema(Schema):
    """A schema written out as JSON Schema, rendered as it is."""

    document: dict[str, Any] = field(default_factory=dict)

    def to_schema(self) -> dict[str, Any]:
        return self.document


@dataclass
class _UploadOperation(Operation):
    """The handler reads the body itself (JSON or CSV), so Litestar cannot infer it: it is described here."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            description="The batch, as JSON or as CSV",
            content={
                "application/json": OpenAPIMediaType(schema=_GivenSchema(document=_json_batch_schema())),
                "text/csv": OpenAPIMediaType(
                    schema=_GivenSchema(document={"type": "string", "description": "CSV; see the columns above"})
                ),
            },
        )


def _malformed(_: Request[Any, Any, Any], exc: MalformedBatch) -> Response[dict[str, Any]]:
    return problem_response(400, exc.message, slug="malformed-batch", title=exc.title, **exc.extra)


def _too_large(_: Request[Any, Any, Any], exc: TooManyRows) -> Response[dict[str, Any]]:
    return problem_response(413, exc.message, slug="too-many-rows", title=exc.title, **exc.extra)


def _format(request: Request[Any, Any, Any]) -> Format:
    media_type, options = request.content_type
    found = MEDIA_TYPES.get(media_type.lower())
    if found is None or options.get("charset", "utf-8").lower() not in ("utf-8", "utf8"):
        raise HTTPException(status_code=415, detail="send the batch as application/json or as text/csv, in UTF-8")
    return found


def _upload_responses() -> dict[int, ResponseSpec]:
    secured_ = secured("assessments:write", roles=RECORDING_ROLES, member_of_path_org=True, errors=[404])
    return {
        **secured_["responses"],
        200: ResponseSpec(ResultBatch, description="The same upload was received before: its batch's report."),
        202: ResponseSpec(ResultBatch, description="Queued for the worker: poll the Location for progress."),
        400: problem_spec("The upload cannot be read: not JSON or CSV, or a column missing; `line` says where."),
        413: problem_spec(f"More than {MAX_ROWS:,} rows, or a body over {MAX_BODY_BYTES // 2**20} MiB."),
        415: problem_spec("Neither application/json nor text/csv (UTF-8)."),
    }


class ResultBatchController(Controller):
    path = "/organisations/{org_id:uuid}/result-batches"
    tags = ["Attempts"]
    exception_handlers = {MalformedBatch: _malformed, TooManyRows: _too_large}

    @post(
        "/",
        operation_id="uploadResults",
        summary="Upload many results at once, as JSON or CSV; each rejected row is named with its reason",
        description=DESCRIPTION,
        status_code=201,
        request_max_body_size=MAX_BODY_BYTES,
        operation_class=_UploadOperation,
        **{
            **secured("assessments:write", roles=RECORDING_ROLES, member_of_path_org=True),
            "responses": _upload_responses(),
        },
    )
    async def upload(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal], org_id: FromPath[UUID]
    ) -> Response[ResultBatch]:
        format = _format(request)
        result = await bulk.upload(
            request.app.state.db,
            actor(principal),
            org_id,
            format,
            await request.body(),
            dispatcher=request.app.state.jobs,
        )
        status = 200 if result.replayed else 202 if result.batch.status == "queued" else 201
        location = f"/organisations/{org_id}/result-batches/{result.batch.id}"
        return Response(result.batch, status_code=status, headers={"Location": location})

    @get(
        "/{batch_id:uuid}",
        operation_id="getResultBatch",
        summary="A batch's progress (rowsDone of rowsTotal) and, once done, its report",
        **secured("assessments:read", member_of_path_org=True, errors=[404]),
    )
    async def read(
        self, request: Request[Any, Any, Any], org_id: FromPath[UUID], batch_id: FromPath[UUID]
    ) -> ResultBatch:
        return await bulk.get_batch(request.app.state.db, org_id, batch_id)
