"""The README, run as a newcomer would paste it: `guildhall dev` (what `make run` starts) loads the demo and
writes `.data/demo.env`, then EVERY shell block of the README runs in order, in one bash with
`set -euo pipefail`, against it (curl, jq and the admin CLI). A block that is not meant to run after `make run`
says so in an HTML comment on the line before its fence, `<!-- skip-walkthrough: <name> (why) -->`; the names
are listed here, so that skipping a block is a visible decision."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.test_cli import GUILDHALL, clean_env, free_port, ready

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
SHELLS = {"sh", "bash", "shell", "console", "zsh"}
# The blocks that do not run after `make run`, by name: `make run` and `make test` themselves.
SKIPPED = {"two-commands"}
_FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})(?P<info>[^`\n]*)$")
_SKIP = re.compile(r"^<!--\s*skip-walkthrough:\s*(?P<name>[a-z0-9-]+)\b.*-->$")


@dataclass(frozen=True)
class Block:
    line: int  # of its opening fence, 1-based
    language: str
    code: str
    skipped_as: str | None


def blocks(text: str) -> list[Block]:
    """Every fenced code block of a Markdown text, with the skip marker the line before it carries."""
    found: list[Block] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        fence, info = opening["fence"], opening["info"].strip()
        body: list[str] = []
        end = index + 1
        while end < len(lines) and not (lines[end].startswith(fence) and not lines[end].strip(fence[0]).strip()):
            body.append(lines[end])
            end += 1
        assert end < len(lines), f"README line {index + 1}: the code block is never closed"
        previous = next((line.strip() for line in reversed(lines[:index]) if line.strip()), "")
        marker = _SKIP.match(previous)
        found.append(
            Block(
                index + 1, info.split()[0] if info else "", "\n".join(body) + "\n", marker["name"] if marker else None
            )
        )
        index = end + 1
    return found


def shell_blocks() -> list[Block]:
    every = blocks(README.read_text())
    unlabelled = [b.line for b in every if not b.language]
    assert not unlabelled, f"README code blocks without a language (say sh, json, text ...) at lines {unlabelled}"
    return [b for b in every if b.language in SHELLS]


def script(to_run: list[Block]) -> str:
    """One bash script: each block after a marker on stderr that names it, so a failure says which block."""
    parts = ["set -euo pipefail"]
    for number, block in enumerate(to_run, 1):
        parts.append(f"printf '\\n>>> README block {number} (line {block.line})\\n' >&2")
        parts.append(block.code)
    return "\n".join(parts) + "\n"


def test_every_shell_block_runs_unless_marked_and_the_marked_ones_are_few_and_named() -> None:
    found = shell_blocks()
    skipped = {b.skipped_as for b in found if b.skipped_as is not None}
    assert skipped == SKIPPED, "a README shell block is skipped by the walkthrough test: name it in SKIPPED"
    assert len([b for b in found if b.skipped_as]) <= 2
    run = [b for b in found if b.skipped_as is None]
    assert len(run) >= 10, "the walkthrough and the tour by topic"
    assert run[0].code.startswith("source .data/demo.env"), "the first block the reader runs sources the demo's env"
    first = script(run).splitlines()
    assert first[0] == "set -euo pipefail"


def test_the_blocks_are_found_as_markdown_shows_them() -> None:
    text = "\n".join(
        [
            "<!-- skip-walkthrough: setup (the server) -->",
            "```sh",
            "make run",
            "```",
            "",
            "````bash",
            "echo '```'",
            "````",
            "```json",
            "{}",
            "```",
        ]
    )
    assert blocks(text) == [
        Block(2, "sh", "make run\n", "setup"),
        Block(6, "bash", "echo '```'\n", None),
        Block(9, "json", "{}\n", None),
    ]


@pytest.fixture
def checkout() -> Iterator[Path]:
    """A folder standing in for the newcomer's checkout: the project's files the README uses (the venv with
    the `guildhall` command, docs/examples), and a `.data` of its own, which is what `make run` writes."""
    with tempfile.TemporaryDirectory(prefix="guildhall-walkthrough-") as folder:
        path = Path(folder)
        for name in (".venv", "docs"):
            (path / name).symlink_to(REPO / name)
        yield path


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="the README's commands need curl and jq")
def test_every_shell_block_of_the_readme_runs_against_make_run(
    checkout: Path, database_url: str, redis_url: str
) -> None:
    port = free_port()
    log_path = checkout / "dev.log"
    servers = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "GUILDHALL_DATA_DIR": str(checkout / ".data")}
    env = clean_env(**servers, PORT=str(port))
    to_run = [b for b in shell_blocks() if b.skipped_as is None]
    with log_path.open("wb") as log_file:
        dev = subprocess.Popen([GUILDHALL, "dev"], env=env, stdout=log_file, stderr=subprocess.STDOUT)  # noqa: S603
        try:
            deadline = time.monotonic() + 90
            while not ready(f"http://127.0.0.1:{port}/readyz"):
                assert dev.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "not ready within 90 s:\n" + log_path.read_text()
                time.sleep(0.3)
            assert (checkout / ".data" / "demo.env").exists(), log_path.read_text()
            # The port it serves, whatever it is: the README's commands read it from here.
            assert f"export API=http://127.0.0.1:{port}\n" in (checkout / ".data" / "demo.env").read_text()
            # The reader's shell: the servers `make run` was given (or none: it found its own in .data).
            shell_env = {k: v for k, v in clean_env(**servers).items() if not k.startswith("GUILDHALL_TEST")}
            shell_env.pop("PORT", None)
            run = subprocess.run(  # noqa: S603
                ["bash", "-c", script(to_run)],  # noqa: S607 (bash from PATH, as the reader's shell)
                cwd=checkout,
                env=shell_env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            if run.returncode != 0:
                failed = re.findall(r">>> README block (\d+ \(line \d+\))", run.stderr)
                where = f"block {failed[-1]}" if failed else "before the first block"
                pytest.fail(
                    f"README {where} exited with {run.returncode}:\n--- stdout\n{run.stdout[-4000:]}\n"
                    f"--- stderr\n{run.stderr[-4000:]}\n--- guildhall dev\n{log_path.read_text()[-3000:]}"
                )
        finally:
            dev.terminate()
            dev.wait(20)
    markers = re.findall(r">>> README block (\d+)", run.stderr)
    assert markers == [str(n) for n in range(1, len(to_run) + 1)], "every block ran, in order"
    lines = run.stdout.splitlines()
    expected = [
        "published",  # the walkthrough: Festo's programme, approved by IHK
        "awaiting_cosignature",
        '{"state":"issued","valid":true}',
        "Anna Becker",
        "revoked",
        "revoked",
        "draft",  # the tour: the programme's content saved ...
        "proposed",  # ... proposed ...
        "proposed",  # ... approved by the union ...
        "published",  # ... and published by the chamber's approval
        "MIG-svejsning af stålkonstruktioner",  # found in the register
        "[\"criterion 'Weld bead geometry' reached level 2 of 4; the minimum is 3\"]",
    ]
    position = 0
    for line in lines:
        if position < len(expected) and line == expected[position]:
            position += 1
    assert position == len(expected), f"missing, in order, from {expected[position:]}:\n{run.stdout}"
    # The VC-JWT names its key by a DID URL that Festo's DID document lists as a Multikey.
    header = next(json.loads(line) for line in lines if line.startswith('{"alg":'))
    assert header["alg"] == "EdDSA" and header["kid"].startswith("did:web:") and "#key-" in header["kid"]
    claims = next(json.loads(line) for line in lines if line.startswith('{"iss":'))
    assert claims["iss"] == header["kid"].split("#")[0] and claims["jti"].startswith("urn:uuid:")
    assert isinstance(claims["nbf"], int) and claims["iat"] == claims["nbf"] and claims["exp"] > claims["nbf"]
    assert {"type": "Multikey", "controller": claims["iss"]} in [
        json.loads(x) for x in lines if x.startswith('{"type":')
    ]
    for written in ("client.json", "credential.jwt", "programme.json"):
        assert (checkout / ".data" / written).is_file(), f"the tour writes {written} under .data/"
    assert sorted(p.name for p in checkout.iterdir()) == [".data", ".venv", "dev.log", "docs"], "nothing else"
    assert os.stat(checkout / ".data" / "demo.env").st_mode & 0o077 == 0, "demo.env holds secrets: yours only"


@pytest.mark.skipif(not (REPO / ".git").exists() or not shutil.which("git"), reason="not a git checkout")
def test_git_ignores_the_files_the_tour_writes() -> None:
    """The tour writes under .data/ (a client secret, a credential, a programme): never committed by mistake."""
    written = [".data/demo.env", ".data/client.json", ".data/credential.jwt", ".data/programme.json", "client.json"]
    checked = subprocess.run(  # noqa: S603
        ["git", "check-ignore", "--no-index", *written],  # noqa: S607
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.stdout.split() == written, checked.stderr
