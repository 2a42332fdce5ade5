"""Schemathesis against a real server: no input gets a 5xx, and every answer is what the OpenAPI document says.

The app runs under uvicorn on a free loopback port with this test's database and Redis (its lifespan
creates the asyncpg pool, as in production). Schemathesis' command line loads the app's own
``/schema/openapi.json`` and calls every operation — examples, boundary values (its coverage phase),
random and invalid inputs, and chains of calls — with a token that holds every scope, ``admin``
included, so that it gets past the guards into the handlers. The run is deterministic (Hypothesis
derandomized: the same cases every run, so a failure in CI is a failure on every machine) and
bounded: a number of cases per operation, a timeout per request and one for the whole run.

The command line rather than schemathesis' pytest plugin: the plugin's lazily loaded schemas
(``from_fixture``) do not run under pytest 9.2, and the command line is what an operator would run
against a deployment, with the same report.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from api.app import create_app
from api.settings import Settings
from domain.db import Database
from domain.scopes import SCOPES
from tests.conftest import Bootstrap
from tests.live_server import LoopbackServer

MAX_EXAMPLES = 20  # per operation and generation mode; boundary values come on top
# One: with more, schemathesis' threads parse lambdas' source at once, which CPython 3.11's ast.parse does
# not survive ("AST constructor recursion depth mismatch"), and the order of calls, so the run, varies.
WORKERS = 1
REQUEST_TIMEOUT = 10  # seconds: a request that takes longer fails the run
RUN_TIMEOUT = 240  # seconds for the whole run, far above its usual 40-60 s

# The authorization pages are HTML forms for people's browsers, and /metrics is Prometheus' text format:
# neither is an API operation (both are left out of the document), and their answers are no problem
# documents. Excluded too, so that documenting them one day does not start fuzzing them.
NOT_FUZZED = r"^/(oauth/authorize|metrics)$"

# A rejection of a request that breaks the schema may also be 412 (an If-Match that names no version)
# or 413 (a batch too large), besides schemathesis' usual 4xx.
REJECTIONS = ["400", "401", "403", "404", "405", "406", "409", "412", "413", "415", "422", "428", "429"]


def schemathesis_config(token: str, organisation_id: str, spare_client_id: str) -> str:
    """schemathesis.toml for the run.

    Every check runs — no 5xx, status codes, content types (problem documents are
    application/problem+json), response schemas and headers, invalid requests refused, methods and
    Allow, authentication — except ``positive_data_acceptance``: it expects a 2xx for any request the
    schema allows, but an opaque cursor, a claim code, an ETag or a client secret can be well-formed
    and still not name anything, and the API then answers with a documented 4xx, as it should.
    """
    return f"""
headers = {{ Authorization = "Bearer {token}" }}
request-timeout = {REQUEST_TIMEOUT}
workers = {WORKERS}

[cache]
enabled = false  # replaying earlier runs' failures would make this run depend on them

[generation]
max-examples = {MAX_EXAMPLES}
deterministic = true
database = "none"

[checks.positive_data_acceptance]
enabled = false

[checks.negative_data_rejection]
expected-statuses = {REJECTIONS!r}

[parameters]
# The token's organisation, so that organisation-scoped operations reach real data rather than a 404.
"path.org_id" = "{organisation_id}"
# A client the fuzzer may read and disable: left to itself it finds the token's own client (through
# /oauth/whoami) and disables it, which revokes the token and ends the run in 401s.
"path.client_id" = "{spare_client_id}"
"""


async def run_schemathesis(config: Path, schema_url: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "schemathesis.cli", "--no-color", "--config-file", str(config)),
        *("run", schema_url, "--exclude-path-regex", NOT_FUZZED),
        cwd=config.parent,  # whatever it writes stays out of the work tree
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), RUN_TIMEOUT)
    except TimeoutError:
        process.kill()
        output, _ = await process.communicate()
        return -1, f"schemathesis ran over {RUN_TIMEOUT} s\n{output.decode(errors='replace')}"
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


async def test_no_input_gets_a_server_error_or_an_answer_the_document_does_not_describe(
    settings: Settings, bootstrap: Bootstrap, db: Database, tmp_path: Path
) -> None:
    operator = await bootstrap.integrator(list(SCOPES), name="Fuzzing Operator")
    spare_client_id, _ = await bootstrap.oauth_client(operator.org_id, ["programmes:read"])
    config = tmp_path / "schemathesis.toml"
    config.write_text(schemathesis_config(operator.token, str(operator.org_id), spare_client_id))

    async with LoopbackServer(create_app(settings)) as server:
        status, report = await run_schemathesis(config, f"{server.url}/schema/openapi.json")

    assert status == 0, report
    # The token got the fuzzer into the handlers: it changed things, and the audit trail says so.
    writes = await db.pool.fetchval("SELECT count(*) FROM audit_log WHERE actor_client_id = $1", operator.client_id)
    assert writes > 10, report
