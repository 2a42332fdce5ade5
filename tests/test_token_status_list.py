"""The IETF Status List Token as served: at the revocation list's URL with ``Accept: application/statuslist+jwt``,
verified by PyJWT with the key of the issuer's JWT VC Issuer Metadata, cached and signed again only when the
bits change or the token is past half its life, and in step with the W3C lists (one index serves both)."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import jwt
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.settings import Settings
from domain.credentials import keys, status_lists
from domain.credentials.sd_jwt import token_status_list as tsl
from domain.db import Database
from tests.conftest import BASE_URL, Bootstrap
from tests.test_status_lists import issuer

ACCEPT = {"Accept": "application/statuslist+jwt"}


async def read_token(client: AsyncTestClient[Litestar], org_id: UUID, list_id: UUID) -> tuple[dict[str, Any], str]:
    """The token's claims as PyJWT verifies them, with the key the issuer's metadata publishes; and its ETag."""
    response = await client.get(f"/status-lists/{list_id}", headers=ACCEPT)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/statuslist+jwt"
    assert response.headers["vary"] == "Accept" and response.headers["cache-control"] == "public, max-age=60"
    header = jwt.get_unverified_header(response.text)
    assert header["typ"] == "statuslist+jwt"
    metadata = (await client.get(f"/.well-known/jwt-vc-issuer/organisations/{org_id}")).json()
    [key] = [k for k in metadata["jwks"]["keys"] if k["kid"] == header["kid"]]
    public = {n: v for n, v in key.items() if n != "status"}
    claims: dict[str, Any] = jwt.decode(
        response.text,
        jwt.PyJWK(public, algorithm=header["alg"]).key,
        algorithms=[header["alg"]],
        subject=f"{BASE_URL}/status-lists/{list_id}",
        issuer=metadata["issuer"],
        options={"require": ["sub", "iat", "exp"]},
    )
    return claims, response.headers["etag"]


async def test_the_token_reads_each_slot_as_the_w3c_lists_do_and_is_cached(
    client: AsyncTestClient[Litestar],
    bootstrap: Bootstrap,
    db: Database,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    org_id = await issuer(bootstrap, db, settings)
    async with db.transaction() as conn:
        slots = [await status_lists.allocate(conn, org_id) for _ in range(3)]
    list_id = slots[0].revocation_list_id
    assert {s.revocation_list_id for s in slots} == {list_id}
    signed: list[bytes] = []
    sign = keys.sign_compact

    async def counting_sign(key: keys.IssuerKey, payload: bytes, header: Any = None) -> str:
        signed.append(payload)
        return await sign(key, payload, header)

    monkeypatch.setattr(keys, "sign_compact", counting_sign)

    claims, etag = await read_token(client, org_id, list_id)
    assert claims["iss"] == f"{BASE_URL}/organisations/{org_id}"
    assert claims["exp"] - claims["iat"] == tsl.TOKEN_LIFETIME and claims["ttl"] == tsl.TTL
    assert claims["status_list"]["bits"] == 2
    values = tsl.decode_lst(claims["status_list"]["lst"])
    assert len(values) == tsl.LIST_BYTES and not any(values)
    again, same = await read_token(client, org_id, list_id)
    assert again == claims and same == etag and len(signed) == 1  # cached
    not_modified = await client.get(f"/status-lists/{list_id}", headers={**ACCEPT, "If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""
    # The W3C form at the same URL is unchanged by the token beside it.
    assert (await client.get(f"/status-lists/{list_id}")).headers["content-type"].startswith("application/vc+jwt")

    first, second, _ = slots
    async with db.transaction() as conn:
        await status_lists.set_status(conn, org_id, first.number, first.index, "suspension", True)
        await status_lists.set_status(conn, org_id, second.number, second.index, "revocation", True)
        await status_lists.set_status(conn, org_id, second.number, second.index, "suspension", True)
    claims, changed = await read_token(client, org_id, list_id)
    assert changed != etag and len(signed) == 2
    values = tsl.decode_lst(claims["status_list"]["lst"])
    assert [tsl.status_at(values, s.index) for s in slots] == [tsl.Status.SUSPENDED, tsl.Status.INVALID, 0]
    async with db.connection() as conn:
        for slot, expected in zip(slots, [(False, True), (True, True), (False, False)], strict=True):
            assert await status_lists.status_of(conn, org_id, slot.number, slot.index) == expected
    stale = await client.get(f"/status-lists/{list_id}", headers={**ACCEPT, "If-None-Match": etag})
    assert stale.status_code == 200

    async with db.transaction() as conn:  # reinstated
        await status_lists.set_status(conn, org_id, first.number, first.index, "suspension", False)
    claims, _ = await read_token(client, org_id, list_id)
    values = tsl.decode_lst(claims["status_list"]["lst"])
    assert [tsl.status_at(values, s.index) for s in slots] == [0, tsl.Status.INVALID, 0] and len(signed) == 3

    # A token past half its life is signed anew, even with the same bits (a consumer must never be handed
    # an expired one); the ETag changes with it.
    async with db.connection() as conn:
        await conn.execute(
            "UPDATE status_lists SET token_expires_at = now() + interval '1 hour' WHERE id = $1", list_id
        )
    _, renewed = await read_token(client, org_id, list_id)
    assert len(signed) == 4
    _, kept = await read_token(client, org_id, list_id)
    assert kept == renewed and len(signed) == 4


async def test_only_a_revocation_list_s_url_serves_a_token(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    org_id = await issuer(bootstrap, db, settings)
    async with db.transaction() as conn:
        slot = await status_lists.allocate(conn, org_id)
    suspension = await client.get(f"/status-lists/{slot.suspension_list_id}", headers=ACCEPT)
    assert suspension.status_code == 404 and "revocation list" in suspension.json()["detail"]
    unknown = await client.get(f"/status-lists/{uuid4()}", headers=ACCEPT)
    assert unknown.status_code == 404 and unknown.headers["content-type"] == "application/problem+json"


async def test_issuer_and_type_metadata_are_public_and_unknown_ones_are_not_found(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    org_id = await issuer(bootstrap, db, settings)
    metadata = await client.get(f"/.well-known/jwt-vc-issuer/organisations/{org_id}")
    assert metadata.status_code == 200 and metadata.headers["cache-control"] == "public, max-age=300"
    body = metadata.json()
    assert body["issuer"] == f"{BASE_URL}/organisations/{org_id}"
    assert [k["status"] for k in body["jwks"]["keys"]] == ["current"]
    assert (await client.get(f"/.well-known/jwt-vc-issuer/organisations/{uuid4()}")).status_code == 404
    for kind in ("unit", "programme", "qualification"):
        document = await client.get(f"/vct/{kind}")
        assert document.status_code == 200 and document.json()["vct"] == f"{BASE_URL}/vct/{kind}"
    assert (await client.get("/vct/diploma")).status_code == 404
