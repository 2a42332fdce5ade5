"""The `guildhall` command: run the API and the worker, migrate, and the operator's admin commands.

Errors are one line on stderr: exit 2 for missing or malformed settings and options, 1 for
anything refused or unreachable. Admin commands print JSON and act as the platform operator.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import re
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, get_args
from uuid import UUID

import asyncpg
import click
import msgspec

from api.settings import Settings, SettingsError
from domain import migrations, people
from domain.db import Database, statement_cache_size_from_env
from domain.errors import DomainError, NotFound
from domain.organisations.models import OrganisationKind
from domain.writes import Actor, write

T = TypeVar("T")
OPERATOR = Actor(request_id="cli")


class InputError(click.ClickException):
    """A setting or an option value is missing or malformed: one line, exit 2."""

    exit_code = 2


def _json_logs(level: str) -> None:
    # Imported here: api.observability pulls in Litestar, which the admin commands do not need.
    from api.observability import configure_logging

    configure_logging(level)


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise InputError(str(exc)) from exc


def _database_url(*, session: bool = False) -> str:
    """DATABASE_URL, or the embedded PostgreSQL of a running `guildhall dev` (`make run`). ``session``: for work
    that needs a session of its own (migrations hold a session advisory lock), DATABASE_DIRECT_URL when set —
    a direct connection where DATABASE_URL goes through PgBouncer in transaction mode."""
    from api.dev import running_dev_database

    direct = os.environ.get("DATABASE_DIRECT_URL") if session else None
    url = direct or os.environ.get("DATABASE_URL") or running_dev_database()
    if not url:
        raise InputError(
            "set DATABASE_URL in the environment (without it, the embedded PostgreSQL of a running `make run` is used)"
        )
    return url


@contextmanager
def _one_line_errors() -> Iterator[None]:
    """What the operator can act on, without a traceback."""
    try:
        yield
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    except migrations.MigrationError as exc:
        raise click.ClickException(str(exc)) from exc
    except msgspec.ValidationError as exc:
        raise InputError(f"invalid input: {exc}") from exc
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise click.ClickException(f"database unreachable or refused the request: {exc}") from exc


def _run(coro: Coroutine[Any, Any, T]) -> T:
    with _one_line_errors():
        return asyncio.run(coro)


async def _with_db(url: str, work: Callable[[Database], Awaitable[T]]) -> T:
    db = await Database.connect(url, min_size=1, max_size=2)
    try:
        return await work(db)
    finally:
        await db.close()


def _echo_json(value: Any) -> None:
    click.echo(msgspec.json.encode(value).decode())


def _words(value: str) -> list[str]:
    """'a b' or 'a,b' -> ['a', 'b']."""
    return [word for word in re.split(r"[\s,]+", value) if word]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Guildhall: co-designed training programmes, assessments and signed micro-credentials."""


# --- Running ---------------------------------------------------------------------------------------


def app_from_env() -> Any:
    """uvicorn's app factory, called in each server process: settings and JSON logs of its own."""
    from api.app import create_app

    settings = Settings.from_env()
    _json_logs(settings.log_level)
    app = create_app(settings)
    _freeze_what_lasts()
    return app


# Objects allocated between two collections of the youngest generation (Python's default is 700). A request
# allocates a few thousand, nearly all gone when it ends: at 700 the collector ran several times per request, each
# time walking what the requests in flight still held (py-spy: 3% of a recording's CPU). 10,000 of them hold a
# megabyte or two until the next collection.
YOUNG_COLLECTION_THRESHOLD = 10_000


def _freeze_what_lasts() -> None:
    """What a server or worker process built at startup (routes, handlers, schemas, codecs, imported modules)
    lives as long as the process: frozen, the cyclic collector stops walking it at every full collection —
    pauses of a millisecond or two in the latency tail (bench/record.py: p99 at 8 clients ~1 ms lower). And the
    young generation is collected less often (YOUNG_COLLECTION_THRESHOLD)."""
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, envvar="PORT", help="Port (or $PORT).")
@click.option("--workers", default=1, show_default=True, help="Server processes.")
def serve(host: str, port: int, workers: int) -> None:
    """Run the HTTP API (production). Needs DATABASE_URL, REDIS_URL and GUILDHALL_MASTER_KEY.

    Trusts X-Forwarded-* headers from the addresses in FORWARDED_ALLOW_IPS (default 127.0.0.1).
    The API refuses to start while the database schema is not current: run `guildhall migrate`.
    """
    import uvicorn

    settings = _settings()
    _json_logs(settings.log_level)
    uvicorn.run(
        "api.cli:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,  # JSON logs; the app writes its own access log
        proxy_headers=True,
        timeout_graceful_shutdown=10,
        server_header=False,
    )


@cli.command()
@click.option("--check", is_flag=True, help="Exit 0 if a running worker's health key is fresh, else 1.")
def worker(check: bool) -> None:
    """Run the background worker: outbox events and the sweep that re-dispatches missed ones."""
    from redis.exceptions import RedisError

    from api import worker as worker_module
    from api.worker_supervision import read_health

    settings = _settings()
    _json_logs(settings.log_level)
    try:
        if check:
            if settings.worker_health_file:
                sys.exit(0 if read_health(Path(settings.worker_health_file)) else 1)
            sys.exit(0 if _run(worker_module.check_health(settings)) else 1)
        _run(_run_worker(settings))
    except RedisError as exc:
        raise click.ClickException(f"Redis unreachable or refused the request: {exc}") from exc


async def _run_worker(settings: Settings) -> None:
    import signal

    from api.worker import create_worker
    from api.worker_supervision import supervise

    health_file = settings.worker_health_file
    main = asyncio.current_task()
    assert main is not None
    loop = asyncio.get_running_loop()
    for stop in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(stop, main.cancel)
    _freeze_what_lasts()
    # A new arq worker whenever one ends on an outage of Redis or PostgreSQL; SIGINT/SIGTERM is a normal stop.
    with contextlib.suppress(asyncio.CancelledError):
        await supervise(
            settings, lambda: create_worker(settings, handle_signals=False), Path(health_file) if health_file else None
        )


@cli.command()
@click.option("--port", default=8000, show_default=True, envvar="PORT", help="Port (or $PORT).")
def dev(port: int) -> None:
    """Run API and worker for development, with an embedded PostgreSQL and Redis unless
    DATABASE_URL / REDIS_URL are set. Data is kept in .data/ (or GUILDHALL_DATA_DIR)."""
    from api import dev as dev_module

    _json_logs(os.environ.get("LOG_LEVEL", "INFO").upper())
    sys.exit(dev_module.run(port))


@cli.command()
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the clients as shell exports (default: .data/demo.env, or GUILDHALL_DATA_DIR/demo.env).",
)
@click.option("--if-empty", is_flag=True, help="Load only into a database with no organisations; else do nothing.")
def demo(env_file: Path | None, if_empty: bool) -> None:
    """Load the demo scenario (Danish welding, German automation; credentials issued, co-signed and
    revoked) through the API, and print the clients and URLs to try."""
    from api import demo as demo_module
    from api import dev as dev_module
    from api.app import create_app

    settings = _settings()
    if dev_module.is_loopback_http(settings.issuer):
        os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")  # OAuth over plain http, on this machine only
    target = env_file or dev_module.data_dir() / "demo.env"

    async def load(db: Database) -> demo_module.Demo | None:
        if if_empty and not await demo_module.is_empty(db):
            return None
        return await demo_module.load(db, settings, create_app(settings))

    with _one_line_errors():
        try:
            loaded = _run(_with_db(settings.database_url, load))
        except demo_module.DemoError as exc:
            raise click.ClickException(str(exc)) from exc
    if loaded is None:
        click.echo("The database already holds organisations; the demo was not loaded.")
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(loaded.exports())
    target.chmod(0o600)  # it holds client secrets
    click.echo(demo_module.summary(loaded, target))


# --- Schema --------------------------------------------------------------------------------------


@cli.command()
@click.option("--status", "show_status", is_flag=True, help="Print applied, pending and unknown versions.")
@click.option(
    "--dump-schema",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the normalised schema of DATABASE_URL's database to this file.",
)
@click.option(
    "--fresh",
    is_flag=True,
    help="With --dump-schema: dump a new database, migrated on the embedded PostgreSQL of "
    "the bundled pg_dump's version, instead of DATABASE_URL's (what `make schema` does).",
)
def migrate(show_status: bool, dump_schema: Path | None, fresh: bool) -> None:
    """Apply pending migrations (prints one JSON line per version applied)."""
    if fresh and dump_schema is None:
        raise click.UsageError("--fresh goes with --dump-schema")
    if dump_schema is not None:
        _dump_schema(dump_schema, fresh)
    elif show_status:
        state = _run(_status(_database_url()))
        _echo_json(
            {"applied": state.applied, "pending": state.pending, "unknown": state.unknown, "current": state.current}
        )
    else:
        applied = _run(migrations.migrate(_database_url(session=True)))
        for version in applied:
            _echo_json({"applied": version})
        if recanonicalised := _run(_with_db(_database_url(), _recanonicalise)):
            _echo_json({"emailsRecanonicalised": recanonicalised})
        if not applied:
            _echo_json({"applied": None, "status": "current"})


async def _recanonicalise(db: Database) -> int:
    """What SQL could not: the canonical form of non-ASCII e-mail addresses (see domain.people)."""
    async with db.connection() as conn:
        return await people.recanonicalise_emails(conn)


async def _status(url: str) -> migrations.MigrationStatus:
    conn = await asyncpg.connect(url, statement_cache_size=statement_cache_size_from_env())
    try:
        return await migrations.status(conn)
    finally:
        await conn.close()


def _dump_schema(path: Path, fresh: bool) -> None:
    from api import dev as dev_module

    try:
        if fresh:
            with dev_module.embedded_postgres(dev_module.data_dir() / "postgres") as server_url:
                text = _run(dev_module.scratch_schema(server_url))
        else:
            text = _run(dev_module.dump_schema(_database_url(session=True)))
    except dev_module.SchemaDumpError as exc:
        raise click.ClickException(str(exc)) from exc
    path.write_text(text, encoding="utf-8")
    _echo_json({"schema": str(path)})


@cli.command()
def keygen() -> None:
    """Print a new random GUILDHALL_MASTER_KEY (32 bytes, base64url)."""
    from api.dev import new_master_key

    click.echo(new_master_key())


# --- Admin: organisations, members, clients (as the platform operator) ----------------------------


@cli.group()
def org() -> None:
    """Organisations."""


@org.command("create")
@click.option("--kind", required=True, type=click.Choice(get_args(OrganisationKind)))
@click.option("--name", required=True, help="The name, in --name-lang.")
@click.option("--name-lang", default="en", show_default=True, help="ISO 639 code of --name's language.")
@click.option("--country", required=True, help="ISO 3166-1 alpha-2, e.g. DK.")
@click.option("--region", help="ISO 3166-2, e.g. DK-84.")
@click.option("--website", help="http(s) address.")
def org_create(kind: str, name: str, name_lang: str, country: str, region: str | None, website: str | None) -> None:
    """Create an organisation; prints it as JSON."""
    from domain.organisations.models import OrganisationCreate
    from domain.organisations.service import create_organisation

    url = _database_url()
    with _one_line_errors():
        data = msgspec.convert(
            {
                "kind": kind,
                "name": {name_lang: name},
                "defaultLanguage": name_lang,
                "country": country,
                "region": region,
                "website": website,
            },
            OrganisationCreate,
        )
    _echo_json(_run(_with_db(url, lambda db: create_organisation(db, OPERATOR, data))))


@cli.group()
def member() -> None:
    """Members of organisations."""


@member.command("add")
@click.option("--org", "organisation_id", required=True, type=click.UUID, help="Organisation id.")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--roles", required=True, help="Comma-separated: admin, author, assessor, signatory, viewer.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Also set the person's password, read from stdin (the operator vouches for the address: it counts as "
    "verified). Without it, a person with no login is mailed an invitation to choose one.",
)
def member_add(organisation_id: UUID, email: str, name: str, roles: str, password_stdin: bool) -> None:
    """Add a person (found by e-mail, or created) to an organisation; prints the membership."""
    from domain.organisations.members import add_member
    from domain.organisations.models import MemberCreate
    from domain.people import check_password_strength, set_password

    url = _database_url()
    password = sys.stdin.read().rstrip("\r\n") if password_stdin else None
    with _one_line_errors():
        data = msgspec.convert({"email": email, "name": name, "roles": _words(roles)}, MemberCreate)
        if password is not None:
            check_password_strength(password)  # before anything is written

    async def add(db: Database) -> Any:
        invite_url = None if password is not None else _public_url()
        added = await add_member(db, OPERATOR, organisation_id, data, invite_url=invite_url)
        if password is not None:
            await set_password(db, OPERATOR, email, password)
        return added

    _echo_json(_run(_with_db(url, add)))


def _public_url() -> str:
    """Where the links in mail point: GUILDHALL_PUBLIC_URL, else the local server on PORT."""
    return os.environ.get("GUILDHALL_PUBLIC_URL") or f"http://127.0.0.1:{os.environ.get('PORT', '8000')}"


@cli.group()
def invitation() -> None:
    """Invitations to organisations (mailed by the worker)."""


@invitation.command("create")
@click.option("--org", "organisation_id", required=True, type=click.UUID, help="Organisation id.")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--roles", required=True, help="Comma-separated: admin, author, assessor, signatory, viewer.")
@click.option("--language", help="Of the mail and pages (en, de, da, pl); default the person's or the organisation's.")
def invitation_create(organisation_id: UUID, email: str, name: str, roles: str, language: str | None) -> None:
    """Invite a person by e-mail with roles; the worker mails the one-time link. Prints the invitation."""
    from domain.organisations.invitations import InvitationCreate, create_invitation

    url = _database_url()
    with _one_line_errors():
        fields = {"email": email, "name": name, "roles": _words(roles), "language": language}
        data = msgspec.convert(fields, InvitationCreate)
    _echo_json(
        _run(
            _with_db(
                url,
                lambda db: create_invitation(
                    db, OPERATOR, organisation_id, data, public_url=_public_url(), ttl=7 * 24 * 3600
                ),
            )
        )
    )


@invitation.command("list")
@click.option("--org", "organisation_id", required=True, type=click.UUID, help="Organisation id.")
def invitation_list(organisation_id: UUID) -> None:
    """The organisation's invitations, newest first."""
    from domain.organisations.invitations import list_invitations

    _echo_json(_run(_with_db(_database_url(), lambda db: list_invitations(db, organisation_id))))


@invitation.command("revoke")
@click.option("--org", "organisation_id", required=True, type=click.UUID, help="Organisation id.")
@click.option("--id", "invitation_id", required=True, type=click.UUID, help="Invitation id.")
def invitation_revoke(organisation_id: UUID, invitation_id: UUID) -> None:
    """Revoke an invitation: its link stops working."""
    from domain.organisations.invitations import revoke_invitation

    _echo_json(
        _run(_with_db(_database_url(), lambda db: revoke_invitation(db, OPERATOR, organisation_id, invitation_id)))
    )


@invitation.command("resend")
@click.option("--org", "organisation_id", required=True, type=click.UUID, help="Organisation id.")
@click.option("--id", "invitation_id", required=True, type=click.UUID, help="Invitation id.")
def invitation_resend(organisation_id: UUID, invitation_id: UUID) -> None:
    """Mail the invitation again with a new link (the old one stops working)."""
    from domain.organisations.invitations import resend_invitation

    _echo_json(
        _run(
            _with_db(
                _database_url(),
                lambda db: resend_invitation(
                    db, OPERATOR, organisation_id, invitation_id, public_url=_public_url(), ttl=7 * 24 * 3600
                ),
            )
        )
    )


@cli.group()
def person() -> None:
    """People's logins."""


@person.command("verify")
@click.option("--email", required=True)
def person_verify(email: str) -> None:
    """Mark a person's e-mail address verified: the operator vouches for it (as `member add --password-stdin`
    does). Prints the person's id."""
    from domain.people import canonical_email

    async def verify(db: Database) -> Any:
        async with write(db, OPERATOR) as w:
            person_id = await w.conn.fetchval(
                "UPDATE persons SET email_verified_at = coalesce(email_verified_at, now()) "
                "WHERE email_canonical = $1 RETURNING id",
                canonical_email(email),
            )
            if person_id is None:
                raise NotFound(f"there is no person with e-mail {email}")
            await w.audit("person.email_verified", "person", person_id, None, {"by": "operator"})
        return {"personId": str(person_id), "emailVerified": True}

    with _one_line_errors():
        _echo_json(_run(_with_db(_database_url(), verify)))


@cli.group()
def client() -> None:
    """OAuth clients."""


@client.command("create")
@click.option("--org", "organisation_id", required=True, type=click.UUID, help="Organisation id.")
@click.option("--name", required=True)
@click.option("--scopes", required=True, help='Space- or comma-separated, e.g. "programmes:read admin".')
@click.option("--grant-types", help="Default client_credentials; also authorization_code, refresh_token.")
@click.option("--redirect-uri", "redirect_uris", multiple=True, help="Repeat for several.")
@click.option("--public", "public_client", is_flag=True, help="No secret (authorization code with PKCE).")
def client_create(
    organisation_id: UUID,
    name: str,
    scopes: str,
    grant_types: str | None,
    redirect_uris: tuple[str, ...],
    public_client: bool,
) -> None:
    """Register an OAuth client; prints it with its secret, which is shown this once only.

    Here, unlike through the API, the operator's `admin` scope can be granted."""
    from domain.oauth.clients import create_client
    from domain.oauth.models import ClientCreate

    url = _database_url()
    fields: dict[str, Any] = {
        "name": name,
        "scopes": _words(scopes),
        "redirectUris": list(redirect_uris),
        "tokenEndpointAuthMethod": "none" if public_client else "client_secret_basic",
    }
    if grant_types:
        fields["grantTypes"] = _words(grant_types)
    with _one_line_errors():
        data = msgspec.convert(fields, ClientCreate)
    _echo_json(
        _run(_with_db(url, lambda db: create_client(db, OPERATOR, organisation_id, data, allow_operator_scope=True)))
    )


@cli.group()
def profiles() -> None:
    """Occupational profiles."""


@profiles.command("import")
@click.option(
    "--dir",
    "folder",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A folder with ESCO's occupations_<lang>.csv, skills_<lang>.csv and occupationSkillRelations_<lang>.csv.",
)
@click.option("--occupation", "occupations", multiple=True, help="ESCO occupation URI to import; repeat for several.")
@click.option("--language", default="en", show_default=True, help="The language of the CSV files.")
@click.option("--sample", is_flag=True, help="Import the hand-made sample that ships with Guildhall.")
def profiles_import(folder: Path | None, occupations: tuple[str, ...], language: str, sample: bool) -> None:
    """Import occupational profiles from ESCO's CSV layout (nothing is downloaded); prints them as JSON.

    Importing the same occupations again changes nothing; changed content becomes a new version."""
    from domain.profiles import esco

    if sample == (folder is not None):
        raise click.UsageError("give either --dir with --occupation, or --sample")
    if folder is not None and not occupations:
        raise click.UsageError("name the occupations to import with --occupation")
    url = _database_url()

    async def run(db: Database) -> Any:
        if folder is None:
            return await esco.import_esco_sample(db, OPERATOR)
        return await esco.import_esco_folder(db, OPERATOR, folder, list(occupations), language)

    with _one_line_errors():
        _echo_json(_run(_with_db(url, run)))


@cli.group()
def esco() -> None:
    """The ESCO classification, for skills-gap guidance."""


@esco.command("import")
@click.option(
    "--dir",
    "folder",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="ESCO's CSV download: occupations_<lang>.csv, skills_<lang>.csv, occupationSkillRelations_<lang>.csv.",
)
@click.option("--version", "version", help="The ESCO release, e.g. v1.2.0: imported once.")
@click.option("--language", "languages", multiple=True, help="Only these languages of the folder (default: every one).")
@click.option(
    "--sample", is_flag=True, help="Import the hand-made sample that ships with Guildhall (release 'sample')."
)
def esco_import(folder: Path | None, version: str | None, languages: tuple[str, ...], sample: bool) -> None:
    """Import the whole ESCO classification in every language of the download (nothing is downloaded).

    A new release writes only the rows it changed; a release already imported writes nothing. Prints what
    changed as JSON."""
    from domain.guidance import classification
    from domain.profiles.esco import SAMPLE_DIR

    if sample == (folder is not None):
        raise click.UsageError("give either --dir with --version, or --sample")
    if folder is not None and not version:
        raise click.UsageError("name the ESCO release with --version (e.g. v1.2.0)")
    source, release = (SAMPLE_DIR, "sample") if folder is None else (folder, version or "")
    url = _database_url()
    with _one_line_errors():
        _echo_json(
            _run(_with_db(url, lambda db: classification.import_release(db, source, release, languages or None)))
        )


def main() -> None:
    cli(prog_name="guildhall")


if __name__ == "__main__":
    main()
