"""Status anyone can read: suspended, revoked, withdrawn and refused credentials as independent status checkers
read them (Digital Bazaar's vc-bitstring-status-list, and the checker the Learner Credential Wallet's
verifier-core picks), while the credential stays valid against the 1EdTech Open Badges 3.0 schema; and
expiry, as Guildhall's own verifier, the public page and the records see it, and as the date checks of
@digitalbazaar/vc and of the VC library verifier-core runs see it."""

from __future__ import annotations

import copy
from typing import Any

from jsonschema import Draft201909Validator
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.settings import Settings
from domain.credentials import envelopes, keys, service
from domain.db import Database
from tests.conftest import Bootstrap
from tests.node_checkers import run_checker
from tests.scenarios import Classroom
from tests.test_credential_schema import assert_valid, validator  # noqa: F401 (a fixture)
from tests.test_verification import awaiting, check, cosigned, verify


async def published(client: AsyncTestClient[Litestar], document: dict[str, Any]) -> dict[str, Any]:
    """The status list the credential names, as the server publishes it (the JSON form)."""
    url = document["credentialStatus"]["statusListCredential"]
    response = await client.get(url, headers={"Accept": "application/json"})
    assert response.status_code == 200, response.text
    return {url: response.json()}


async def signer_did_document(client: AsyncTestClient[Litestar], lists: dict[str, Any]) -> dict[str, Any]:
    """The DID document of the organisation that signed the list (a did:web of this server)."""
    [status_list] = lists.values()
    did: str = status_list["issuer"] if isinstance(status_list["issuer"], str) else status_list["issuer"]["id"]
    response = await client.get(f"/organisations/{did.rsplit(':', 1)[1]}/did.json")
    assert response.status_code == 200, response.text
    return {did: response.json()}


async def independent(client: AsyncTestClient[Litestar], document: dict[str, Any]) -> dict[str, Any]:
    lists = await published(client, document)
    payload = {"credential": document, "lists": lists, "dids": await signer_did_document(client, lists)}
    result: dict[str, Any] = await run_checker("status_check.mjs", payload)
    return result


def bit_set(result: dict[str, Any]) -> bool:
    """What both checkers say, which must agree: True when the credential's bit is set (not valid)."""
    digitalbazaar, core = result["digitalbazaar"], result["verifierCore"]
    assert "error" not in digitalbazaar and "error" not in core, result
    assert digitalbazaar["verified"] is True, result  # the check ran; the status is in the statuses
    [db_status] = digitalbazaar["statuses"]
    [core_status] = core["statuses"]
    assert db_status["purpose"] == core_status["purpose"] == "revocation"
    assert core["verified"] is (not db_status["status"]) and core_status["valid"] is (not db_status["status"])
    return bool(db_status["status"])


async def record(client: AsyncTestClient[Litestar], room: Classroom, credential_id: str) -> dict[str, Any]:
    response = await client.get(f"/credentials/{credential_id}", headers=room.provider.headers)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def test_suspended_and_revoked_credentials_are_not_valid_to_independent_checkers(
    client: AsyncTestClient[Litestar],
    bootstrap: Bootstrap,
    db: Database,
    settings: Settings,
    validator: Draft201909Validator,  # noqa: F811
) -> None:
    room, credential = await cosigned(client, bootstrap, db, settings)
    document = credential["credential"]
    assert_valid(validator, document, "a credential with its status entry")
    status = document["credentialStatus"]
    assert isinstance(status, dict) and status["type"] == "BitstringStatusListEntry"
    assert status["statusPurpose"] == "revocation"
    url = f"/credentials/{credential['id']}"
    jwt = (await client.get(f"{url}/vc-jwt", headers=room.provider.headers)).text

    assert not bit_set(await independent(client, document))

    suspended = await client.post(f"{url}/suspension", json={"reason": "Under review"}, headers=room.provider.headers)
    assert suspended.status_code == 200, suspended.text
    assert bit_set(await independent(client, document))
    ours = await verify(client, jwt)  # Guildhall tells suspended from revoked
    assert ours["verdict"] == "suspended" and check(ours, "status")["status"] == "failed", ours
    page = await client.get(f"/c/{credential['id']}")
    assert page.status_code == 200 and "suspended" in page.text.lower()

    reinstated = await client.delete(f"{url}/suspension", headers=room.provider.headers)
    assert reinstated.status_code == 200, reinstated.text
    assert not bit_set(await independent(client, document))
    assert (await verify(client, jwt))["verdict"] == "valid"

    revoked = await client.post(f"{url}/revocation", json={"reason": "Issued in error"}, headers=room.provider.headers)
    assert revoked.status_code == 200, revoked.text
    assert bit_set(await independent(client, document))
    assert (await verify(client, jwt))["verdict"] == "revoked"


async def test_a_withdrawn_or_refused_cosignature_sets_the_published_bit(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room, credential = await cosigned(client, bootstrap, db, settings)
    document = credential["credential"]
    withdrawn = await client.post(
        f"/credentials/{credential['id']}/revocation",
        json={"reason": "Exam irregularity"},
        headers=room.chamber.headers,
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert bit_set(await independent(client, document))
    after = await record(client, room, credential["id"])
    assert after["state"] == "issued" and after["valid"] is False  # the awarding body did not revoke it

    room, credential = await awaiting(client, bootstrap, db, settings)
    document = credential["credential"]
    assert not bit_set(await independent(client, document))
    refused = await client.post(
        f"/credentials/{credential['id']}/cosignature-refusal", json={"reason": "No"}, headers=room.chamber.headers
    )
    assert refused.status_code == 200, refused.text
    assert bit_set(await independent(client, document))
    async with db.connection() as conn:  # a copy handed out before is no longer valid anywhere
        copy_of_awaiting = service.jws_json(await service.fetch_row(conn, credential["id"]))
    ours = await verify(client, copy_of_awaiting)
    assert ours["verdict"] == "invalid" and ours["summary"] == "IHK Region Stuttgart refused to co-sign this credential"
    assert "refused" in check(ours, "status")["message"], ours


async def test_both_checkers_verify_the_lists_own_data_integrity_proof(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    """Asked to verify the status list credential's own proof too, both checkers accept the list's
    DataIntegrityProof (its JSON form) through the signer's DID document, and read the same bit."""
    _, credential = await cosigned(client, bootstrap, db, settings)
    result = await independent(client, credential["credential"])
    signed = result["signedList"]
    for checker in ("digitalbazaar", "verifierCore"):
        assert signed[checker].get("verified") is True, signed
    assert signed["digitalbazaar"]["statuses"] == result["digitalbazaar"]["statuses"]
    assert signed["verifierCore"]["statuses"] == result["verifierCore"]["statuses"]


async def test_an_expired_credential_is_expired_at_verify_on_its_page_and_in_its_record(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    """A credential whose validUntil has passed, as issued and recorded here (dates moved into the past and
    signed again by both organisations, as if it had been issued four years ago)."""
    room, credential = await cosigned(client, bootstrap, db, settings)
    document = copy.deepcopy(credential["credential"])
    document["validFrom"], document["validUntil"] = "2021-01-04T09:00:00Z", "2024-01-04T09:00:00Z"
    payload = envelopes.encode_payload(document)
    async with db.transaction() as conn:
        for organisation_id, role in ((room.provider.org_id, "issuer"), (room.chamber.org_id, "cosigner")):
            key = await keys.current_signing_key(conn, settings.master_key, organisation_id)
            token = await envelopes.sign(key, payload, keys.did_web(settings.issuer, organisation_id))
            signature = envelopes.Signature.from_compact(token)
            await conn.execute(
                "UPDATE credential_signatures SET protected = $3, signature = $4"
                " WHERE credential_id = $1 AND role = $2",
                credential["id"],
                role,
                signature.protected,
                signature.signature,
            )
        await conn.execute(
            "UPDATE credentials SET payload = $2, issued_at = $3::text::timestamptz, valid_until = $4::text::timestamptz"
            " WHERE id = $1",
            credential["id"],
            payload,
            "2021-01-04T09:00:00Z",
            "2024-01-04T09:00:00Z",
        )
    dates = await run_checker("credential_dates.mjs", {"credential": credential["credential"]})
    assert dates["digitalbazaar"]["ok"] and dates["verifierCore"]["ok"], dates  # as issued: valid now
    dates = await run_checker("credential_dates.mjs", {"credential": document})
    for checker in ("digitalbazaar", "verifierCore"):
        assert not dates[checker]["ok"] and 'is after "validUntil" (2024-01-04T09:00:00Z)' in dates[checker]["error"]
    assert {"id": "expiration", "valid": False} in dates["verifierCore"]["log"], dates

    url = f"/credentials/{credential['id']}"
    headers = room.provider.headers
    # The JWS forms carry the signatures made above; the JSON form's proofs are those of its own format.
    for form in ("vc-jwt", "jws"):
        response = await client.get(f"{url}/{form}", headers=headers)
        assert response.status_code == 200, response.text  # complete, so handed out; it says it expired
        sent = response.text if form == "vc-jwt" else response.json()
        result = await verify(client, sent)
        assert result["verdict"] == "expired" and result["summary"] == "expired on 2024-01-04", (form, result)
    assert (await record(client, room, credential["id"]))["valid"] is False
    page = await client.get(f"/c/{credential['id']}")
    assert page.status_code == 200 and "expired on 2024-01-04" in page.text
