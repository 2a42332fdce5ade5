"""The `guildhall` command: help everywhere, one-line errors, the admin commands as real processes, and
`guildhall dev` starting and stopping everything it runs."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import click
import psutil
import pytest
from click.testing import CliRunner
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api import dev as dev_module
from api.cli import cli
from api.settings import decode_master_key
from domain.db import Database
from domain.oauth.clients import secret_matches
from domain.people import check_login

GUILDHALL = str(Path(sys.executable).with_name("guildhall"))
SETTINGS_NAMES = (
    "DATABASE_URL",
    "REDIS_URL",
    "GUILDHALL_MASTER_KEY",
    "GUILDHALL_PUBLIC_URL",
    "PORT",
    "GUILDHALL_DATA_DIR",
    "SMTP_URL",
    "GUILDHALL_DEV_MAIL_DIR",
)


def command_paths(group: click.Group = cli, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield prefix
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from command_paths(command, (*prefix, name))
        else:
            yield (*prefix, name)


@pytest.mark.parametrize("path", list(command_paths()), ids=lambda p: " ".join(p) or "guildhall")
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"], prog_name="guildhall")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: guildhall {' '.join(path)}".rstrip())


@dataclass
class Finished:
    code: int
    out: str
    err: str
    uncaught: BaseException | None = None  # an exception the command let escape (a traceback)

    def json(self) -> Any:
        return json.loads(self.out)


def clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_NAMES}
    return {**env, **values}


async def guildhall(*args: str, env: dict[str, str], stdin: str | None = None) -> Finished:
    """`guildhall` as a real process: what an operator sees."""
    process = await asyncio.create_subprocess_exec(
        GUILDHALL, *args, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await process.communicate(stdin.encode() if stdin is not None else None)
    assert process.returncode is not None
    return Finished(process.returncode, out.decode(), err.decode())


def invoke(*args: str, stdin: str | None = None, **env: str) -> Finished:
    """`guildhall` in this process (no interpreter start-up): the settings unset but for ``env``."""
    unset: dict[str, str | None] = dict.fromkeys(SETTINGS_NAMES)
    result = CliRunner(env={**unset, **env}).invoke(cli, list(args), input=stdin, prog_name="guildhall")
    uncaught = None if result.exception is None or isinstance(result.exception, SystemExit) else result.exception
    return Finished(result.exit_code, result.stdout, result.stderr, uncaught)


async def invoke_async(*args: str, stdin: str | None = None, **env: str) -> Finished:
    # In a thread: the command runs its own event loop with asyncio.run.
    return await asyncio.to_thread(invoke, *args, stdin=stdin, **env)


def assert_one_line_error(result: Finished, code: int, *words: str) -> None:
    assert result.uncaught is None, repr(result.uncaught)
    assert result.code == code, result
    assert result.out == ""
    assert "Traceback" not in result.err and len(result.err.strip().splitlines()) == 1, result.err
    for word in words:
        assert word in result.err


async def test_serve_without_settings_names_what_is_missing() -> None:
    result = await guildhall("serve", env=clean_env())
    assert_one_line_error(result, 2, "DATABASE_URL", "REDIS_URL", "GUILDHALL_MASTER_KEY")


def test_a_malformed_master_key_is_a_one_line_error() -> None:
    env = {"DATABASE_URL": "postgresql://x/y", "REDIS_URL": "redis://x", "GUILDHALL_MASTER_KEY": "too-short"}
    assert_one_line_error(invoke("worker", **env), 2, "GUILDHALL_MASTER_KEY")


def test_admin_commands_need_the_database_url_when_make_run_is_not_running(tmp_path: Path) -> None:
    # No embedded PostgreSQL runs in an empty data folder.
    result = invoke(
        "org", "create", "--kind", "chamber", "--name", "IHK", "--country", "DE", GUILDHALL_DATA_DIR=str(tmp_path)
    )
    assert_one_line_error(result, 2, "DATABASE_URL")


def test_keygen_prints_a_new_usable_master_key_each_time() -> None:
    first, second = invoke("keygen").out.strip(), invoke("keygen").out.strip()
    assert len(decode_master_key(first)) == 32
    assert first != second


async def test_migrate_reports_status_and_refuses_a_database_ahead_of_the_code(isolated_database_url: str) -> None:
    up_to_date = await invoke_async("migrate", DATABASE_URL=isolated_database_url)
    assert up_to_date.code == 0 and up_to_date.json() == {"applied": None, "status": "current"}
    status = await invoke_async("migrate", "--status", DATABASE_URL=isolated_database_url)
    assert status.json()["current"] is True and status.json()["pending"] == []

    conn = await asyncpg.connect(isolated_database_url)
    try:
        await conn.execute("INSERT INTO schema_migrations (version) VALUES ('99991231000000')")
    finally:
        await conn.close()
    refused = await guildhall("migrate", env=clean_env(DATABASE_URL=isolated_database_url))
    assert_one_line_error(refused, 1, "ahead of this code", "99991231000000")
    status = await invoke_async("migrate", "--status", DATABASE_URL=isolated_database_url)
    assert status.json()["unknown"] == ["99991231000000"]


async def test_org_member_and_client_from_the_command_line(
    database_url: str, db: Database, client: AsyncTestClient[Litestar]
) -> None:
    env = clean_env(DATABASE_URL=database_url)
    org_args = "org create --kind employer_association --name TEKNIQ --name-lang da --country DK --region DK-84"
    created = await guildhall(*org_args.split(), "--website", "https://www.tekniq.dk", env=env)
    assert created.code == 0, created.err
    organisation = created.json()
    assert organisation["kind"] == "employer_association"
    assert organisation["name"] == {"da": "TEKNIQ"} and organisation["defaultLanguage"] == "da"
    org_id = organisation["id"]

    member_args = f"member add --org {org_id} --email anna@tekniq.dk --name Anna --roles admin,author"
    added = await guildhall(*member_args.split(), "--password-stdin", env=env, stdin="correct horse battery staple\n")
    assert added.code == 0, added.err
    member = added.json()
    assert member["roles"] == ["admin", "author"] and member["email"] == "anna@tekniq.dk"
    async with db.connection() as conn:
        assert await check_login(conn, "anna@tekniq.dk", "correct horse battery staple") == UUID(member["personId"])

    client_args = ("client", "create", "--org", org_id, "--name", "Operator console")
    registered = await guildhall(*client_args, "--scopes", "organisations:write admin", env=env)
    assert registered.code == 0, registered.err
    credentials = registered.json()
    assert credentials["clientId"].startswith("gh_") and credentials["clientSecret"]
    assert credentials["scopes"] == ["admin", "organisations:write"]
    assert credentials["grantTypes"] == ["client_credentials"]
    async with db.connection() as conn:
        row = await conn.fetchrow("SELECT * FROM oauth_clients WHERE client_id = $1", credentials["clientId"])
    assert row["organisation_id"] == UUID(org_id)
    assert secret_matches(credentials["clientSecret"], row["secret_hash"])  # stored hashed, shown once
    # The printed client gets a token and, with the operator's `admin` scope, reads the members.
    token = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(credentials["clientId"], credentials["clientSecret"]),
    )
    assert token.status_code == 200, token.text
    members = await client.get(
        f"/organisations/{org_id}/members", headers={"Authorization": f"Bearer {token.json()['access_token']}"}
    )
    assert members.status_code == 200, members.text
    assert [m["email"] for m in members.json()["items"]] == ["anna@tekniq.dk"]
    async with db.connection() as conn:
        audit = await conn.fetch(
            "SELECT action, request_id FROM audit_log WHERE organisation_id = $1 ORDER BY id", UUID(org_id)
        )
    assert [(r["action"], r["request_id"]) for r in audit] == [
        ("organisation.created", "cli"),
        ("member.added", "cli"),
        ("client.created", "cli"),
    ]


async def test_admin_commands_refuse_bad_input_in_one_line(database_url: str) -> None:
    nobody = "00000000-0000-0000-0000-000000000000"
    member = ("member", "add", "--org", nobody, "--email", "a@b.dk", "--name", "A", "--roles", "viewer")
    client = ("client", "create", "--org", nobody, "--name", "x", "--scopes")
    cases = [
        (("org", "create", "--kind", "chamber", "--name", "IHK", "--country", "XX"), None, 1, ["XX"]),
        (member, None, 1, ["no organisation"]),
        ((*member, "--password-stdin"), "short\n", 1, ["at least"]),
        ((*client, "everything"), None, 1, ["not grantable here: everything"]),
        ((*client, "Everything!"), None, 2, ["invalid input", "scopes"]),
    ]
    for args, stdin, code, words in cases:
        result = await invoke_async(*args, stdin=stdin, DATABASE_URL=database_url)
        assert_one_line_error(result, code, *words)


# --- guildhall dev -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 (a local http URL)
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def servers_using(folder: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        if (
            process.info["name"] in ("postgres", "redis-server")
            and str(folder) in " ".join(process.info["cmdline"] or [])
            and running(process.pid)
        ):
            found.append(process)
    return found


@pytest.fixture
def scratch_dir() -> Iterator[Path]:
    # Not pytest's tmp_path: a concurrent pytest session prunes old basetemp folders, and with
    # them a running PostgreSQL's data directory.
    with tempfile.TemporaryDirectory(prefix="guildhall-dev-test-") as folder:
        yield Path(folder)


def test_dev_runs_everything_and_stops_everything_on_ctrl_c(scratch_dir: Path) -> None:
    data, port = scratch_dir / "data", free_port()
    log_path = scratch_dir / "dev.log"
    with log_path.open("wb") as log_file:
        env = clean_env(GUILDHALL_DATA_DIR=str(data), PORT=str(port))
        dev = subprocess.Popen(  # noqa: S603 (our own console script)
            [GUILDHALL, "dev"], env=env, stdout=log_file, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 60
            while "Guildhall is ready" not in log_path.read_text():  # dev saw /readyz answer 200
                assert dev.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "not ready within 60 s:\n" + log_path.read_text()
                time.sleep(0.3)
            assert ready(f"http://127.0.0.1:{port}/readyz")
            # A second terminal without DATABASE_URL reaches the same (embedded) database.
            admin = subprocess.run(  # noqa: S603 (our own console script)
                [GUILDHALL, "org", "create", "--kind", "chamber", "--name", "IHK", "--country", "DE"],
                env=clean_env(GUILDHALL_DATA_DIR=str(data)),
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
            assert admin.returncode == 0, admin.stderr
            assert json.loads(admin.stdout)["kind"] == "chamber"
            dev.send_signal(signal.SIGINT)
            assert dev.wait(15) == 0, log_path.read_text()
        finally:
            if dev.poll() is None:
                dev.kill()
                dev.wait()

    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    by_message = {line["message"]: line for line in lines}
    assert any(m.startswith("Guildhall is ready") and f":{port}/schema" in m for m in by_message)
    pids = [
        by_message["embedded PostgreSQL is up"]["pid"],
        by_message["embedded Redis is up"]["pid"],
        *by_message["started the API and the worker"]["pids"].values(),
    ]
    assert not [pid for pid in pids if running(pid)], log_path.read_text()
    assert not servers_using(data)
    assert (data / "master.key").stat().st_mode & 0o777 == 0o600
    assert (data / "postgres" / "PG_VERSION").exists() and (data / "redis").is_dir()  # kept for the next run


@pytest.mark.parametrize(
    ("public_url", "insecure"),
    [
        ("http://127.0.0.1:8000", True),
        ("http://localhost:8000", True),
        ("http://[::1]:8000", True),
        ("https://127.0.0.1:8000", False),
        ("http://guildhall.example", False),
    ],
)
def test_dev_allows_oauth_over_plain_http_on_this_machine_only(
    monkeypatch: pytest.MonkeyPatch, public_url: str, insecure: bool
) -> None:
    monkeypatch.delenv("AUTHLIB_INSECURE_TRANSPORT", raising=False)
    monkeypatch.delenv("GUILDHALL_ENV", raising=False)
    monkeypatch.setenv("GUILDHALL_PUBLIC_URL", public_url)
    env = dev_module.child_environment("postgresql://db", "redis://r", "key", 8000)
    assert ("AUTHLIB_INSECURE_TRANSPORT" in env) is insecure
    assert env["GUILDHALL_ENV"] == "development"


def test_dev_points_the_demo_env_at_the_api_it_serves(tmp_path: Path) -> None:
    env_file = tmp_path / "demo.env"
    dev_module.point_demo_env_at(env_file, "http://127.0.0.1:8123")  # no demo: nothing to do
    assert not env_file.exists()
    env_file.write_text("# demo\nexport API=http://127.0.0.1:8000\nexport FESTO_ORG=x\n")
    env_file.chmod(0o600)
    dev_module.point_demo_env_at(env_file, "http://127.0.0.1:8123")
    assert env_file.read_text() == "# demo\nexport API=http://127.0.0.1:8123\nexport FESTO_ORG=x\n"
    assert env_file.stat().st_mode & 0o777 == 0o600  # it holds secrets


def test_dev_generates_the_master_key_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("GUILDHALL_MASTER_KEY", raising=False)
    key = dev_module.master_key(tmp_path)
    assert dev_module.master_key(tmp_path) == key  # survives restarts
    assert len(decode_master_key(key)) == 32
    monkeypatch.setenv("GUILDHALL_MASTER_KEY", "from-the-environment")
    assert dev_module.master_key(tmp_path) == "from-the-environment"


async def test_profiles_are_imported_from_the_esco_layout(database_url: str, tmp_path: Path) -> None:
    env = clean_env(DATABASE_URL=database_url)
    imported = await guildhall("profiles", "import", "--sample", env=env)
    assert imported.code == 0, imported.err
    titles = sorted(p["title"]["en"] for p in imported.json())
    assert len(titles) == 3 and any("elder" in t for t in titles)
    again = await guildhall("profiles", "import", "--sample", env=env)
    assert [p["id"] for p in again.json()] == [p["id"] for p in imported.json()]  # nothing new
    bad = await guildhall("profiles", "import", "--dir", str(tmp_path), env=env)
    assert bad.code == 2 and "--occupation" in bad.err


async def test_invitations_and_verification_from_the_command_line(
    database_url: str, db: Database, client: AsyncTestClient[Litestar]
) -> None:
    """The operator invites (the worker mails the link), lists, resends and revokes; a member added without a
    password is invited; `person verify` vouches for an address."""
    env = clean_env(DATABASE_URL=database_url, GUILDHALL_PUBLIC_URL="https://guildhall.example")
    org_id = (await guildhall(*"org create --kind chamber --name IHK --country DE".split(), env=env)).json()["id"]
    invited = await guildhall(
        *f"invitation create --org {org_id} --email sabine@ihk.example --name Sabine --roles signatory".split(),
        "--language",
        "de",
        env=env,
    )
    assert invited.code == 0, invited.err
    invitation = invited.json()
    assert invitation["status"] == "pending" and invitation["roles"] == ["signatory"]
    listed = await guildhall("invitation", "list", "--org", org_id, env=env)
    assert [i["id"] for i in listed.json()["items"]] == [invitation["id"]]
    resent = await guildhall("invitation", "resend", "--org", org_id, "--id", invitation["id"], env=env)
    assert resent.json()["sentCount"] == 2
    revoked = await guildhall("invitation", "revoke", "--org", org_id, "--id", invitation["id"], env=env)
    assert revoked.json()["status"] == "revoked"
    async with db.connection() as conn:
        mails = await conn.fetch("SELECT subject, text_body FROM mail_messages ORDER BY created_at")
    assert len(mails) == 2 and all("https://guildhall.example/invitations/" in m["text_body"] for m in mails)
    assert mails[0]["subject"] == "IHK lädt Sie zu Guildhall ein"

    member_args = f"member add --org {org_id} --email ole@ihk.example --name Ole --roles viewer"
    assert (await guildhall(*member_args.split(), env=env)).code == 0
    pending = (await guildhall("invitation", "list", "--org", org_id, env=env)).json()["items"]
    assert [i["email"] for i in pending if i["status"] == "pending"] == ["ole@ihk.example"]

    verified = await guildhall("person", "verify", "--email", "OLE@ihk.example", env=env)
    assert verified.code == 0 and verified.json()["emailVerified"] is True
    nobody = await guildhall("person", "verify", "--email", "nobody@ihk.example", env=env)
    assert nobody.code == 1 and "no person" in nobody.err


async def test_the_esco_classification_is_imported_from_the_command_line(database_url: str, tmp_path: Path) -> None:
    env = clean_env(DATABASE_URL=database_url)
    fixture = str(Path(__file__).parent / "fixtures" / "esco")
    imported = await guildhall("esco", "import", "--dir", fixture, "--version", "v1", env=env)
    assert imported.code == 0, imported.err
    result = imported.json()
    assert result["languages"] == ["de", "en", "pl"] and result["relations"] == 46
    assert result["changes"]["skills"] == {"added": 38, "changed": 0, "removed": 0}
    again = await guildhall("esco", "import", "--dir", fixture, "--version", "v1", env=env)
    assert again.json()["alreadyImported"] is True
    empty = await guildhall("esco", "import", "--dir", str(tmp_path), "--version", "v2", env=env)
    assert_one_line_error(empty, 1, "has no ESCO CSV files")
    sample = await guildhall("esco", "import", "--sample", env=env)
    assert sample.code == 0 and sample.json()["version"] == "sample", sample.err
    neither = await guildhall("esco", "import", env=env)
    assert neither.code == 2 and "--sample" in neither.err
