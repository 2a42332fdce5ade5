"""Runs the independent checkers in ``tests/node`` (Node 20, pinned by its package-lock.json).

A checker is an ES module script in ``tests/node/`` that reads one JSON document on stdin and
writes one JSON document on stdout. These tests never skip: `make test` installs the packages, and a
missing Node or package fails loudly.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

NODE_DIR = Path(__file__).resolve().parent / "node"
# A checker loads its packages and canonicalises a few documents: seconds, never a minute.
CHECKER_SECONDS = 60.0


def node_binary() -> str:
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("Node 20 is needed for the independent checkers (tests/node); install it")
    if not (NODE_DIR / "node_modules").is_dir():
        raise RuntimeError("tests/node/node_modules is missing: run `make node` (or `make test`)")
    return node


async def run_checker(script: str, payload: Any, env: Mapping[str, str] | None = None) -> Any:
    """``node tests/node/<script>`` with ``payload`` as JSON on stdin; its JSON answer.

    ``env`` adds to the environment (``NODE_EXTRA_CA_CERTS`` for a test server's https, say).
    """
    process = await asyncio.create_subprocess_exec(
        node_binary(),
        str(NODE_DIR / script),
        cwd=NODE_DIR,
        env={**os.environ, **env} if env else None,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(CHECKER_SECONDS):
        stdout, stderr = await process.communicate(json.dumps(payload).encode())
    if process.returncode != 0:
        raise AssertionError(f"{script} exited {process.returncode}: {stderr.decode()[-4000:]}")
    return json.loads(stdout)
