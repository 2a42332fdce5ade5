"""Fixtures: a real PostgreSQL database per test, a real Redis, and the app behind AsyncTestClient."""

from __future__ import annotations

import base64
import itertools
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from api.app import create_app
from api.settings import Settings
from domain.db import Database
from domain.oauth import clients
from domain.oauth.models import ClientCreate
from domain.organisations import members, service
from domain.organisations.models import MemberCreate, Organisation, OrganisationCreate
from domain.people import set_password
from domain.writes import Actor
from tests import services, smtp_server

os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")  # the test client speaks plain http
# GUILDHALL_TEST_PGBOUNCER=1 (`make test-pgbouncer`): the app, its workers and the tests' own pools reach each
# test database through a real PgBouncer in transaction mode (tests/pgbouncer.py) with no named prepared
# statements, as an operator runs it; the template and the clones are made on the direct connection.
THROUGH_PGBOUNCER = os.environ.get("GUILDHALL_TEST_PGBOUNCER") == "1"
if THROUGH_PGBOUNCER:
    os.environ["DB_STATEMENT_CACHE_SIZE"] = "0"  # read by Database.connect and by servers the tests start

TEST_MASTER_KEY = base64.urlsafe_b64encode(b"k" * 32).decode()
BASE_URL = "http://testserver.local"
OPERATOR = Actor(client_id=None, person_id=None, organisation_id=None, request_id="test-setup")
_counter = itertools.count()


@pytest.fixture(scope="session")
def server_urls() -> tuple[str, str]:
    return services.server_urls()


@pytest.fixture(scope="session")
def run_id(testrun_uid: str) -> str:
    """Names this run's databases, so that test runs side by side on one server leave each other alone."""
    return f"{testrun_uid[:8]}_{services.worker_index()}"


@pytest.fixture(scope="session")
def template_database(server_urls: tuple[str, str], run_id: str) -> Iterator[str]:
    """A migrated database that nothing connects to, to clone from."""
    name = f"guildhall_test_template_{run_id}"
    services.run(services.create_template(server_urls[0], name))
    yield name
    services.run(services.drop(server_urls[0], name))


@pytest.fixture(scope="session")
def pgbouncer_port(server_urls: tuple[str, str]) -> Iterator[int | None]:
    """This xdist worker's PgBouncer (transaction mode) in front of the server, with GUILDHALL_TEST_PGBOUNCER=1."""
    if not THROUGH_PGBOUNCER:
        yield None
        return
    from tests.pgbouncer import available, pgbouncer

    assert available(), "GUILDHALL_TEST_PGBOUNCER=1 needs the pgbouncer package (apt-get install pgbouncer)"
    with pgbouncer(server_urls[0]) as port:
        yield port


@pytest.fixture(scope="session")
def worker_database(
    server_urls: tuple[str, str], template_database: str, run_id: str, pgbouncer_port: int | None
) -> Iterator[str]:
    """This xdist worker's database, emptied before each test (far cheaper than a clone per test); its URL goes
    through PgBouncer with GUILDHALL_TEST_PGBOUNCER=1."""
    name = f"guildhall_test_{run_id}"
    services.run(services.clone(server_urls[0], template_database, name))
    url = services.with_database(server_urls[0], name)
    if pgbouncer_port is not None:
        from tests.pgbouncer import through

        url = through(url, pgbouncer_port)
    yield url
    services.run(services.drop(server_urls[0], name))


@pytest.fixture
async def database_url(worker_database: str) -> str:
    await services.empty(worker_database)
    return worker_database


@pytest.fixture
async def isolated_database_url(
    server_urls: tuple[str, str], template_database: str, run_id: str
) -> AsyncIterator[str]:
    """A database of the test's own, for tests that change the schema itself."""
    name = f"guildhall_test_{run_id}_{next(_counter)}"
    await services.clone(server_urls[0], template_database, name)
    yield services.with_database(server_urls[0], name)
    await services.drop(server_urls[0], name)


@pytest.fixture
async def redis_url(server_urls: tuple[str, str]) -> AsyncIterator[str]:
    base = server_urls[1]
    index = 1 + services.worker_index() % 15
    url = f"{base}?db={index}" if base.startswith("unix://") else services.with_database(base, str(index))
    from api.queue import redis_settings

    s = redis_settings(url)
    redis = Redis(host=s.host, port=s.port, db=s.database, unix_socket_path=s.unix_socket_path)
    await redis.flushdb()
    await redis.aclose()
    yield url


@pytest.fixture(scope="session")
def mail_server() -> Iterator[tuple[smtp_server.Inbox, int]]:
    """A real SMTP server on loopback for this test process; the tests' settings send mail to it."""
    inbox = smtp_server.Inbox()
    controller = smtp_server.start(inbox)
    yield inbox, controller.port
    controller.stop()


@pytest.fixture
def inbox(mail_server: tuple[smtp_server.Inbox, int]) -> smtp_server.Inbox:
    return mail_server[0]


@pytest.fixture
def settings(database_url: str, redis_url: str, mail_server: tuple[smtp_server.Inbox, int]) -> Settings:
    return Settings.from_env(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "GUILDHALL_MASTER_KEY": TEST_MASTER_KEY,
            "GUILDHALL_PUBLIC_URL": BASE_URL,
            "GUILDHALL_ENV": "test",
            "SMTP_URL": f"smtp://127.0.0.1:{mail_server[1]}",
        },
        db_pool_min=1,
        db_pool_max=4,
        **({"db_statement_cache_size": 0} if THROUGH_PGBOUNCER else {}),
    )


@pytest.fixture
async def app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app, base_url=BASE_URL) as test_client:
        yield test_client


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """The test's own pool: the app runs on the test client's portal loop, the test on this one."""
    database = await Database.connect(database_url, min_size=1, max_size=2)
    yield database
    await database.close()


@dataclass
class Integrator:
    organisation: Organisation
    client_id: str
    client_secret: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def org_id(self) -> UUID:
        return self.organisation.id


class Bootstrap:
    """Sets up organisations, people and clients the way the admin CLI does, and gets tokens over HTTP."""

    def __init__(self, db: Database, client: AsyncTestClient[Litestar]) -> None:
        self.db = db
        self.http = client

    async def organisation(
        self, name: str = "Dansk Industri", kind: str = "employer_association", country: str = "DK", **extra: Any
    ) -> Organisation:
        data = OrganisationCreate(
            kind=kind,
            name={"en": name},
            default_language="en",  # type: ignore[arg-type]
            country=country,
            **extra,
        )
        return await service.create_organisation(self.db, OPERATOR, data)

    async def oauth_client(self, organisation_id: UUID, scopes: list[str], **extra: Any) -> tuple[str, str | None]:
        created = await clients.create_client(
            self.db,
            OPERATOR,
            organisation_id,
            ClientCreate(name="test client", scopes=scopes, **extra),
            allow_operator_scope=True,
        )
        return created.client_id, created.client_secret

    async def token(self, client_id: str, client_secret: str, scope: str | None = None) -> str:
        form = {"grant_type": "client_credentials"}
        if scope:
            form["scope"] = scope
        response = await self.http.post("/oauth/token", data=form, auth=(client_id, client_secret))
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    async def integrator(
        self, scopes: list[str], name: str = "Dansk Industri", kind: str = "employer_association", country: str = "DK"
    ) -> Integrator:
        organisation = await self.organisation(name, kind, country)
        client_id, secret = await self.oauth_client(organisation.id, scopes)
        assert secret is not None
        return Integrator(organisation, client_id, secret, await self.token(client_id, secret))

    async def member(
        self, organisation_id: UUID, email: str, roles: list[str], password: str | None = "correct horse battery staple"
    ) -> UUID:
        member = await members.add_member(
            self.db, OPERATOR, organisation_id, MemberCreate(email=email, name=email.split("@")[0], roles=roles)
        )  # type: ignore[arg-type]
        if password:
            await set_password(self.db, OPERATOR, email, password)
        return member.person_id


@pytest.fixture
def bootstrap(db: Database, client: AsyncTestClient[Litestar]) -> Bootstrap:
    return Bootstrap(db, client)
