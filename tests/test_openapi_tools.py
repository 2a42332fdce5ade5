"""The OpenAPI document as independent tools read it, served by a real server (uvicorn on a loopback port):

* openapi-python-client generates a Python client from ``/schema/openapi.json``, and every operation is in
  it as a module with its functions, and the generated package imports;
* Redocly CLI lints the document with the recommended ruleset plus the rules of ``tests/node/redocly.yaml``,
  at zero errors.

Found by the review: two schemas titled ``Decision`` made openapi-python-client drop both ``POST …/decisions``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import urllib.request
from pathlib import Path
from typing import Any

from openapi_python_client.strings import snake_case

from api.app import create_app
from api.settings import Settings
from tests.live_server import LoopbackServer
from tests.node_checkers import NODE_DIR, node_binary

TOOL_SECONDS = 180
HTTP_METHODS = {"get", "put", "post", "patch", "delete"}
# What openapi-python-client 0.29 cannot model: bodies that are not JSON, forms or files. It says so and still
# generates the operation (with the JSON forms of its body or answer); any other warning fails the test.
UNSUPPORTED_MEDIA_TYPES = {"text/csv", "application/vc+jwt", "text/plain", "application/dc+sd-jwt"}
# The one Redocly warning left, on purpose: a row of a result batch is "JsonRow, or any other value" (anyOf with an
# empty schema), since a malformed row is accepted and reported with its reason rather than failing the batch.
ACCEPTED_WARNINGS = {"no-illogical-composition-keywords"}
ACCEPTED_WARNING_COUNT = 1


async def _run(*command: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """The command's exit status, standard output and standard error."""
    process = await asyncio.create_subprocess_exec(
        *command, cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        async with asyncio.timeout(TOOL_SECONDS):
            output, errors = await process.communicate()
    except TimeoutError:
        process.kill()
        output, errors = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace"), errors.decode(errors="replace")


def _operation_ids(document: dict[str, Any]) -> list[str]:
    return [
        operation["operationId"]
        for item in document["paths"].values()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def _fetch(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (our own loopback server)
        document: dict[str, Any] = json.load(response)
    return document


async def test_openapi_python_client_generates_every_operation(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("post_hooks: []\n")  # no formatter run: the test reads the code as made
    async with LoopbackServer(create_app(settings)) as server:
        url = f"{server.url}/schema/openapi.json"
        document = await asyncio.to_thread(_fetch, url)
        status, output, errors = await _run(
            str(Path(sys.executable).with_name("openapi-python-client")),
            *("generate", "--url", url, "--meta", "none", "--output-path", "guildhall_client"),
            *("--config", "config.yaml"),
            cwd=tmp_path,
        )
    output += errors
    assert status == 0, output
    assert "Unable to parse" not in output and "will not be generated" not in output, output
    for warning in output.split("WARNING parsing ")[1:]:
        media_types = set(re.findall(r"Unsupported content[ _]type ([\w.+/-]+)", warning))
        assert media_types and media_types <= UNSUPPORTED_MEDIA_TYPES, warning

    modules = {path.stem: path for path in (tmp_path / "guildhall_client" / "api").rglob("*.py")}
    operation_ids = _operation_ids(document)
    assert len(operation_ids) > 100
    missing = [op for op in operation_ids if snake_case(op) not in modules]
    assert missing == [], f"operations the generated client lacks: {missing}"
    for operation_id in operation_ids:
        code = modules[snake_case(operation_id)].read_text()
        assert "def sync_detailed(" in code and "async def asyncio_detailed(" in code, operation_id
    assert "decide_on_programme_version" in modules and "decide_on_qualification_version" in modules

    # The generated package imports: its models and every operation module are valid Python.
    check = (
        "import importlib, pkgutil, guildhall_client.api as api\n"
        "names = [m.name for m in pkgutil.walk_packages(api.__path__, 'guildhall_client.api.')]\n"
        "[importlib.import_module(n) for n in names]\n"
        "print(len(names))\n"
    )
    status, output, errors = await _run(sys.executable, "-c", check, cwd=tmp_path)
    assert status == 0, output + errors
    assert int(output.strip().splitlines()[-1]) >= len(operation_ids)


async def test_redocly_lints_the_document_without_errors(settings: Settings, tmp_path: Path) -> None:
    async with LoopbackServer(create_app(settings)) as server:
        document = await asyncio.to_thread(_fetch, f"{server.url}/schema/openapi.json")
    (tmp_path / "openapi.json").write_text(json.dumps(document))
    env = {**os.environ, "REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true", "NO_COLOR": "1"}
    status, output, errors = await _run(
        node_binary(),
        str(NODE_DIR / "node_modules" / "@redocly" / "cli" / "bin" / "cli.js"),
        *("lint", str(tmp_path / "openapi.json"), "--config", str(NODE_DIR / "redocly.yaml"), "--format", "json"),
        cwd=tmp_path,
        env=env,
    )
    assert output.strip(), errors
    report = json.loads(output)
    errors = [p for p in report["problems"] if p["severity"] == "error"]
    assert status == 0 and report["totals"]["errors"] == 0, json.dumps(errors[:10], indent=1)
    warned = [p for p in report["problems"] if p["severity"] == "warn"]
    assert {p["ruleId"] for p in warned} <= ACCEPTED_WARNINGS, [
        p for p in warned if p["ruleId"] not in ACCEPTED_WARNINGS
    ]
    assert len(warned) <= ACCEPTED_WARNING_COUNT, json.dumps(warned, indent=1)
