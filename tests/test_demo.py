"""`guildhall demo` loads its scenario through the API: credentials issued, co-signed and revoked."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from api import demo
from api.app import create_app
from api.settings import Settings
from domain.db import Database
from tests.smtp_server import Inbox


async def test_the_demo_loads_once_with_issued_cosigned_and_revoked_credentials(
    client: AsyncTestClient[Litestar], db: Database, settings: Settings, inbox: Inbox
) -> None:
    loaded = await demo.load(db, settings, create_app(settings))
    assert set(loaded.parties) == {"tekniq", "metal", "amu", "authority", "festo", "ihk"}
    async with db.connection() as conn:
        states = sorted(
            (r["state"], r["count"]) for r in await conn.fetch("SELECT state, count(*) FROM credentials GROUP BY state")
        )
        failed = await conn.fetchval("SELECT count(*) FROM attempts WHERE NOT passed")
    assert states == [("issued", 2), ("revoked", 1)]  # Mette's welding, Jonas's co-signed; Sophie's revoked
    assert failed == 2  # Lars's weld under the bead minimum, Jonas's first simulator run
    # Its invitations went out through the SMTP server, in Polish, Danish and German.
    subjects = {str(inbox.to(email)[-1]["Subject"]) for _, email, *_ in demo.DEMO_INVITATIONS}
    assert subjects == {
        "AMU Syd zaprasza Cię do Guildhall",
        "TEKNIQ Arbejdsgiverne inviterer dig til Guildhall",
        "IHK Region Stuttgart lädt Sie zu Guildhall ein",
    }

    page = await client.get(f"/credentials/{loaded.ids['cosigned_credential']}", headers={})
    assert page.status_code == 401
    exports = loaded.exports()
    assert f"export FESTO_ORG={loaded.parties['festo'].organisation_id}" in exports
    assert "export COSIGNED_CREDENTIAL=" in exports
    for role in ("ASSOCIATION", "UNION", "PROVIDER", "CHAMBER"):  # what the README's tour by topic uses
        assert f"export {role}_ORG=$" in exports and f"{role}_TOKEN=$(guildhall_token " in exports
    assert "export TOKEN " in exports and f"export API={settings.issuer}" in exports

    try:
        await demo.load(db, settings, create_app(settings))
    except demo.DemoError as exc:
        assert "already loaded" in str(exc)
    else:
        raise AssertionError("the demo loaded twice")
