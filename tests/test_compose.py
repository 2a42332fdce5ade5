"""compose.yaml and the Dockerfile agree with the code: commands exist, settings are real, services are checked."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from api import settings as settings_module
from api.cli import cli
from api.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
SERVICES: dict[str, Any] = COMPOSE["services"]
OURS = [name for name, service in SERVICES.items() if "build" in service]  # built from our Dockerfile


def settings_env_names() -> set[str]:
    """The environment variables Settings.from_env reads: the upper-case strings in the settings module's code
    (from_env and the helpers it reads groups of settings with)."""
    tree = ast.parse(inspect.getsource(settings_module))
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and re.fullmatch(r"[A-Z][A-Z0-9_]+", node.value)
    }


def as_compose_runs_it(environment: dict[str, str]) -> dict[str, str]:
    """The environment with compose's `${NAME:-default}` interpolation done for an empty shell environment
    (`${NAME:-}` unset variables become empty strings, which Settings treats as unset)."""
    expand = re.compile(r"\$\{[A-Z0-9_]+(?::?-([^}]*))?\}")
    values = {name: expand.sub(lambda m: m.group(1) or "", value) for name, value in environment.items()}
    return {name: value for name, value in values.items() if value}


def resolve(args: list[str]) -> click.Command:
    """The command `guildhall <args>` runs, failing on an unknown sub-command or option."""
    command: click.Command = cli
    for arg in args:
        if arg.startswith("--"):
            options = {opt for param in command.params for opt in param.opts}
            assert arg.split("=")[0] in options, f"`{command.name}` has no option {arg}"
        elif isinstance(command, click.Group):
            assert arg in command.commands, f"`guildhall` has no command {arg!r}"
            command = command.commands[arg]
    return command


def test_the_six_services() -> None:
    assert set(SERVICES) == {"postgres", "pgbouncer", "redis", "migrate", "api", "worker"}
    assert sorted(OURS) == ["api", "migrate", "worker"]
    assert SERVICES["postgres"]["image"] == "postgres:16"
    assert SERVICES["redis"]["image"] == "redis:7"


@pytest.mark.parametrize("name", OURS)
def test_each_command_is_a_guildhall_command(name: str) -> None:
    resolve(SERVICES[name]["command"])


def test_the_commands_are_the_ones_asked_for() -> None:
    assert SERVICES["migrate"]["command"] == ["migrate"]
    serve = ["serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]  # noqa: S104 (in a container)
    assert SERVICES["api"]["command"] == serve
    assert SERVICES["worker"]["command"] == ["worker"]


@pytest.mark.parametrize("name", OURS)
def test_environment_names_are_settings_the_code_reads(name: str) -> None:
    environment = SERVICES[name]["environment"]
    unknown = set(environment) - settings_env_names()
    assert not unknown, f"{name} sets {sorted(unknown)}, which Settings.from_env does not read"
    assert "DATABASE_URL" in environment


def test_the_api_and_worker_get_every_required_setting_and_the_key_is_never_defaulted() -> None:
    for name in ("api", "worker"):
        environment = SERVICES[name]["environment"]
        assert {"DATABASE_URL", "REDIS_URL", "GUILDHALL_MASTER_KEY", "GUILDHALL_PUBLIC_URL"} <= set(environment)
        assert environment["GUILDHALL_MASTER_KEY"].startswith("${GUILDHALL_MASTER_KEY:?")


def test_health_checks_and_start_order() -> None:
    checks = {name: " ".join(s["healthcheck"]["test"]) for name, s in SERVICES.items() if "healthcheck" in s}
    assert set(checks) == {"postgres", "redis", "api", "worker"}  # migrate runs once and exits
    assert "pg_isready" in checks["postgres"]
    assert "redis-cli ping" in checks["redis"]
    assert "/readyz" in checks["api"]
    worker_check = SERVICES["worker"]["healthcheck"]["test"]
    assert worker_check[:2] == ["CMD", "guildhall"]
    resolve(worker_check[2:])  # `worker --check` exists

    assert SERVICES["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in ("api", "worker"):
        assert SERVICES[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"},
            "pgbouncer": {"condition": "service_started"},
            "redis": {"condition": "service_healthy"},
        }
    assert SERVICES["pgbouncer"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}


def test_the_api_and_workers_go_through_pgbouncer_in_transaction_mode_and_migrate_goes_direct() -> None:
    pgbouncer = SERVICES["pgbouncer"]["environment"]
    assert pgbouncer["POOL_MODE"] == "transaction"
    assert pgbouncer["DB_HOST"] == "postgres"
    direct = SERVICES["migrate"]["environment"]["DATABASE_URL"]
    assert "@postgres:5432/" in direct
    for name in ("api", "worker"):
        environment = SERVICES[name]["environment"]
        assert "@pgbouncer:" in environment["DATABASE_URL"]
        assert environment["DATABASE_DIRECT_URL"] == direct  # a session of its own, when one is needed
        assert environment["DB_STATEMENT_CACHE_SIZE"] == "0"  # no named prepared statements through PgBouncer
        as_run = {**as_compose_runs_it(environment), "GUILDHALL_MASTER_KEY": "a" * 43}
        assert Settings.from_env(as_run).db_statement_cache_size == 0


def test_the_dockerfile() -> None:
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()]
    instructions = [line for line in lines if line and not line.startswith("#")]
    assert instructions[0] == "FROM python:3.11-slim"
    assert 'ENTRYPOINT ["guildhall"]' in instructions
    users = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    text = "\n".join(instructions)
    assert "COPY migrations" in text and "GUILDHALL_MIGRATIONS_DIR=/app/migrations" in text
    assert (ROOT / ".dockerignore").read_text(encoding="utf-8").count(".venv")
