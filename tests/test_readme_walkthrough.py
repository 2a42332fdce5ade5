"""The README's walkthrough, run as a newcomer would: `guildhall dev` (what `make run` starts) loads the
demo, then the walkthrough's shell blocks run in order with bash, curl and jq against it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_cli import GUILDHALL, clean_env, free_port, ready

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- walkthrough -->", "<!-- /walkthrough -->"


def walkthrough() -> str:
    text = README.read_text()
    section = text[text.index(START) : text.index(END)]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
    assert blocks, "the README's walkthrough has no sh blocks"
    return "\n".join(blocks)


@pytest.fixture
def checkout() -> Iterator[Path]:
    """A folder standing in for the newcomer's checkout; `.data` in it is what `make run` writes."""
    with tempfile.TemporaryDirectory(prefix="guildhall-walkthrough-") as folder:
        yield Path(folder)


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="the walkthrough needs curl and jq")
def test_the_readme_walkthrough_runs_against_make_run(checkout: Path, database_url: str, redis_url: str) -> None:
    port = free_port()
    log_path = checkout / "dev.log"
    env = clean_env(
        DATABASE_URL=database_url, REDIS_URL=redis_url, GUILDHALL_DATA_DIR=str(checkout / ".data"), PORT=str(port)
    )
    with log_path.open("wb") as log_file:
        dev = subprocess.Popen([GUILDHALL, "dev"], env=env, stdout=log_file, stderr=subprocess.STDOUT)  # noqa: S603
        try:
            deadline = time.monotonic() + 90
            while not ready(f"http://127.0.0.1:{port}/readyz"):
                assert dev.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "not ready within 90 s:\n" + log_path.read_text()
                time.sleep(0.3)
            assert (checkout / ".data" / "demo.env").exists(), log_path.read_text()
            script = "set -euo pipefail\n" + walkthrough()
            run = subprocess.run(  # noqa: S603
                ["bash", "-c", script],  # noqa: S607 (bash from PATH, as the reader's shell)
                cwd=checkout,
                env=clean_env(),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert run.returncode == 0, f"{run.stdout}\n{run.stderr}\n{log_path.read_text()[-5000:]}"
        finally:
            dev.terminate()
            dev.wait(20)
    lines = run.stdout.splitlines()
    assert "published" in lines
    assert "awaiting_cosignature" in lines
    assert '{"state":"issued","valid":true}' in lines
    assert "Anna Becker" in lines
    # The VC-JWT names its key by a DID URL that Festo's DID document lists as a Multikey.
    header = next(json.loads(line) for line in lines if line.startswith('{"alg":'))
    assert header["alg"] == "EdDSA" and header["kid"].startswith("did:web:") and "#key-" in header["kid"]
    claims = next(json.loads(line) for line in lines if line.startswith('{"iss":'))
    assert claims["iss"] == header["kid"].split("#")[0] and claims["jti"].startswith("urn:uuid:")
    assert isinstance(claims["nbf"], int) and claims["iat"] == claims["nbf"] and claims["exp"] > claims["nbf"]
    assert {"type": "Multikey", "controller": claims["iss"]} in [
        json.loads(x) for x in lines if x.startswith('{"type":')
    ]
    assert lines[-2:] == ["revoked", "revoked"]
