"""Every kind of credential in every form, as others check it: the gaps the per-part tests left (issue 11).

* The JWS JSON General Serialization form (``/jws``), which no independent library checked: jose (panva),
  each signature's ``kid`` a DID URL looked up in its signer's DID document, each signature verified alone and
  the whole JWS with each signer's key, a changed payload refused (``tests/node/jws_json.mjs``); jwcrypto
  verifies the same JWS with each organisation's published JWK. For every kind (unit, programme,
  qualification, co-signed) and every issuer algorithm (EdDSA, Ed25519, ES256, RS256).
* The signed payload of the VC-JWT and of the JWS JSON (the credential and the JWT registered claims), and the
  status list credential, expanded in JSON-LD safe mode with nothing dropped (``jti`` was, until Guildhall's
  context defined it). The RS256 issuer's ``JwtProof2020`` in the JSON form checked as the JWS it is.
* A suspended and a revoked credential's JSON form (Data Integrity proof set) checked whole, status included, by
  ``@digitalcredentials/verifier-core``'s ``verifyCredential`` (what the Learner Credential Wallet runs) and
  by ``@digitalbazaar/vc`` with ``@digitalbazaar/vc-bitstring-status-list`` as its status check (the list's
  own proof verified too), beside credentials of the same lists that stay valid.
* An ES256 issuer's JSON form (``ecdsa-rdfc-2019``) valid, revoked and expired for ``@digitalbazaar/vc``, and an
  issuer signing JWTs as ``Ed25519``'s JSON form for both Data Integrity verifiers.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from jwcrypto import jwk as jwcrypto_jwk
from jwcrypto import jws as jwcrypto_jws
from jwcrypto.common import JWException
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.settings import Settings
from domain.credentials import envelopes, keys, multikey
from domain.credentials.data_integrity import proofs
from domain.db import Database
from tests.conftest import Bootstrap, Integrator
from tests.node_checkers import run_checker
from tests.outbox_drain import drain
from tests.scenarios import Classroom, classroom
from tests.test_attempts import welding
from tests.test_credential_schema import cosign_everything, publish_qualification, signing_key
from tests.test_credentials_festo import credentials_of, simulator_pass
from tests.test_data_integrity import CHECKER, _served, _standard_contexts

JWT_CLAIMS = {"iss", "jti", "sub", "nbf", "iat", "exp"}


async def every_kind(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> Classroom:
    """Two unit credentials, the programme's and the qualification's, all co-signed where the chamber co-signs."""
    room = await classroom(client, bootstrap)
    await publish_qualification(client, room)
    recorded = await client.post(
        room.attempts_url, json=room.attempt(welding("l3", "l4", 10)), headers=room.provider.headers
    )
    assert recorded.status_code == 201, recorded.text
    await simulator_pass(client, room)
    for _ in range(3):  # the unit credentials, then the programme's, then the qualification's
        await drain(db, settings)
        await cosign_everything(client, room)
    await drain(db, settings)
    return room


async def one_unit(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings, key: dict[str, str]
) -> Classroom:
    """A co-signed unit credential of a provider that signs with a key made from ``key``."""
    room = await classroom(client, bootstrap)
    await signing_key(client, room.provider, key)
    await simulator_pass(client, room)
    await drain(db, settings)
    await cosign_everything(client, room)
    return room


async def did_documents(client: AsyncTestClient[Litestar], settings: Settings, *rooms: Classroom) -> dict[str, Any]:
    found = {}
    for room in rooms:
        for organisation in (room.provider, room.chamber):
            response = await client.get(f"/organisations/{organisation.org_id}/did.json")
            assert response.status_code == 200, response.text
            found[keys.did_web(settings.issuer, organisation.org_id)] = response.json()
    return found


async def published_jwks(client: AsyncTestClient[Litestar], organisation: Integrator) -> list[dict[str, Any]]:
    response = await client.get(f"/organisations/{organisation.org_id}/jwks.json")
    assert response.status_code == 200, response.text
    return [{n: v for n, v in k.items() if n != "status"} for k in response.json()["keys"]]


def jwcrypto_verifies(jws_json: dict[str, Any], public: dict[str, Any]) -> bool:
    """jwcrypto's JWS over the General Serialization: True when a signature verifies with ``public``."""
    token = jwcrypto_jws.JWS()
    token.deserialize(json.dumps(jws_json))
    alg = public.get("alg")
    if alg:
        token.allowed_algs = [*token.allowed_algs, alg]
    try:
        token.verify(jwcrypto_jwk.JWK(**public))
    except JWException:
        return False
    return True


async def downloads(client: AsyncTestClient[Litestar], room: Classroom) -> list[dict[str, Any]]:
    """Each credential of the room: its record, ``/jws`` and ``/vc-jwt``."""
    found = []
    for credential in await credentials_of(client, room):
        assert credential["state"] == "issued", credential
        base = f"/credentials/{credential['id']}"
        jws = await client.get(f"{base}/jws", headers=room.provider.headers)
        jwt = await client.get(f"{base}/vc-jwt", headers=room.provider.headers)
        assert jws.status_code == 200 and jwt.status_code == 200, (jws.text, jwt.text)
        found.append({"record": credential, "jws": jws.json(), "jwt": jwt.text})
    return found


def name_of(credential: dict[str, Any]) -> str:
    return f"{credential['kind']} {credential.get('unitKey') or ''}".strip()


async def test_every_kind_and_issuer_algorithm_in_the_jws_json_form_verifies_signature_by_signature(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    rooms = {"EdDSA": await every_kind(client, bootstrap, db, settings)}
    for alg, key in (("Ed25519", {"headerAlg": "Ed25519"}), ("ES256", {"alg": "ES256"}), ("RS256", {"alg": "RS256"})):
        rooms[alg] = await one_unit(client, bootstrap, db, settings, key)
    items, expected = [], {}
    for alg, room in rooms.items():
        for seen in await downloads(client, room):
            name = f"{alg} {name_of(seen['record'])}"
            items.append({"name": name, "jws": seen["jws"]})
            expected[name] = (alg, room, seen)
    # The RS256 issuer's JSON form keeps its signature as a JwtProof2020 holding its VC-JWT: checked as a JWS too.
    [(_, rs256_room, rs256)] = [v for n, v in expected.items() if n.startswith("RS256")]
    rs256_json = await client.get(f"/credentials/{rs256['record']['id']}/json", headers=rs256_room.provider.headers)
    old_proof = rs256_json.json()["proof"][0]
    assert old_proof["type"] == "JwtProof2020" and old_proof["jwt"] == rs256["jwt"]
    head, body, signature = old_proof["jwt"].split(".")
    as_jws = {"payload": body, "signatures": [{"protected": head, "signature": signature}]}
    items.append({"name": "RS256 JwtProof2020", "jws": as_jws})
    expected["RS256 JwtProof2020"] = ("RS256", rs256_room, {**rs256, "jws": as_jws})
    assert sorted(n for n in expected if n.startswith("EdDSA")) == [
        "EdDSA programme",
        "EdDSA qualification",
        "EdDSA unit sim",
        "EdDSA unit u1",
    ]
    answer = await run_checker(
        "jws_json.mjs", {"dids": await did_documents(client, settings, *rooms.values()), "items": items}
    )

    cosigned = 0
    for checked in answer["items"]:
        alg, room, seen = expected[checked["name"]]
        document = seen["record"]["credential"]
        assert envelopes.credential_json(json.dumps(checked["payload"]).encode()) == document, checked["name"]
        signers = [keys.did_web(settings.issuer, room.provider.org_id)]
        if len(checked["signatures"]) == 2:
            signers.append(keys.did_web(settings.issuer, room.chamber.org_id))
            cosigned += 1
        assert [s["kid"].split("#")[0] for s in checked["signatures"]] == signers, checked
        algs = [alg] + (["EdDSA"] if len(signers) == 2 else [])
        assert [s["alg"] for s in checked["signatures"]] == algs, checked
        for signature in checked["signatures"]:
            where = f"{checked['name']}: {signature['kid']}"
            assert signature["methodType"] == ("JsonWebKey2020" if signature["alg"] == "RS256" else "Multikey"), where
            assert signature["alone"] == {"ok": True}, where
            assert signature["general"] == {"ok": True}, where
            assert signature["tampered"]["ok"] is False, where
            assert signature["tampered"]["code"] == "ERR_JWS_SIGNATURE_VERIFICATION_FAILED", where
        # The VC-JWT is the awarding body's signature of the same payload.
        assert seen["jwt"].split(".")[0] == seen["jws"]["signatures"][0]["protected"], checked["name"]
        assert seen["jwt"].split(".")[1] == seen["jws"]["payload"], checked["name"]
        # jwcrypto: the General JWS verifies with each signer's published key, and not with another's.
        for organisation, signs in ((room.provider, True), (room.chamber, len(signers) == 2)):
            [public] = await published_jwks(client, organisation)
            assert jwcrypto_verifies(seen["jws"], public) is signs, (checked["name"], organisation.org_id)
    single = [c["name"] for c in answer["items"] if len(c["signatures"]) == 1]
    # The chamber co-signs every programme credential, not the qualification; the JwtProof2020 is one signature.
    assert single == ["EdDSA qualification", "RS256 JwtProof2020"]
    assert cosigned == len(items) - 2
    stranger = (await published_jwks(client, rooms["ES256"].provider))[0]
    assert not jwcrypto_verifies(expected["EdDSA unit u1"][2]["jws"], stranger)


async def test_the_signed_payload_of_the_vc_jwt_and_the_jws_json_expands_in_safe_mode(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    """The VC-JWT's and the JWS JSON's payload is the credential plus the JWT registered claims (VC-JOSE-COSE,
    OB 3.0 §8.2). Read as JSON-LD it expands in safe mode with nothing dropped: the VC 2.0 context defines
    ``iss``, ``sub``, ``nbf``, ``iat`` and ``exp``, Guildhall's context ``jti`` (found missing by this test).
    The credential each form carries, the payload without those claims, does too; so does the status list
    credential the credentials name (its JSON form)."""
    room = await every_kind(client, bootstrap, db, settings)
    seen = await downloads(client, room)
    credentials = []
    for item in seen:
        payload = json.loads(envelopes.b64url_decode(item["jwt"].split(".")[1]))
        assert set(payload) - set(item["record"]["credential"]) == JWT_CLAIMS & set(payload) >= {"iss", "jti", "nbf"}
        credentials.append({"name": f"payload {name_of(item['record'])}", "credential": payload, "only": "safe"})
        carried = {k: v for k, v in payload.items() if k not in JWT_CLAIMS}
        credentials.append({"name": f"carried {name_of(item['record'])}", "credential": carried, "only": "safe"})
    documents = await _served(client, settings, room, [i["record"]["credential"] for i in seen])
    lists = {e["statusListCredential"] for i in seen for e in [i["record"]["credential"]["credentialStatus"]]}
    for url in lists:  # the status list credential's JSON form, with its Data Integrity proof
        credentials.append({"name": f"status list {url}", "credential": documents[url], "only": "safe"})
    answer = await run_checker(
        CHECKER, {"documents": documents, "contexts": _standard_contexts(), "credentials": credentials}
    )
    assert len(answer["results"]) == 8 + len(lists)
    for result in answer["results"]:
        assert result["safe"]["ok"], (result["name"], result["safe"])


async def test_suspended_and_revoked_json_forms_fail_the_status_step_of_verifier_core_and_digitalbazaar_vc(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    room = await every_kind(client, bootstrap, db, settings)
    by_name = {name_of(c): c for c in await credentials_of(client, room)}
    actions = {
        "unit sim": ("suspension", {"reason": "Under review"}, "suspended"),
        "programme": ("revocation", {"reason": "Issued in error"}, "revoked"),
    }
    forms = {}
    for name, credential in by_name.items():  # the JSON forms the learner's wallet holds, fetched before
        response = await client.get(f"/credentials/{credential['id']}/json", headers=room.provider.headers)
        assert response.status_code == 200, response.text
        forms[name] = response.json()
    for name, (action, body, _) in actions.items():
        done = await client.post(
            f"/credentials/{by_name[name]['id']}/{action}", json=body, headers=room.provider.headers
        )
        assert done.status_code == 200, done.text

    documents = await _served(client, settings, room, list(forms.values()))  # the status lists as published now
    payload = {
        "documents": documents,
        "contexts": _standard_contexts(),
        "credentials": [{"name": n, "credential": f, "status": True} for n, f in forms.items()],
    }
    results = {r["name"]: r for r in (await run_checker(CHECKER, payload))["results"]}
    for name, result in results.items():
        set_bit = name in actions
        core = result["verifierCore"]
        assert core["signatureValid"], (name, core)  # the proofs are fine: the status is what fails
        assert {"id": "revocation_status", "valid": not set_bit} in core["log"], (name, core)
        checked = result["vc"]
        # The signature and the status check ran (the list's own proof verified, its issuer the credential's);
        # vc-bitstring-status-list reports the bit as the status, true when revoked or suspended.
        assert checked["verified"], (name, checked)
        assert checked["status"]["verified"], (name, checked)
        assert checked["status"]["results"] == [{"purpose": "revocation", "status": set_bit, "verified": True}], name

    for name, credential in by_name.items():  # the VC-JWT and JWS JSON name the same status entry
        jwt = await client.get(f"/credentials/{credential['id']}/vc-jwt", headers=room.provider.headers)
        claims = json.loads(envelopes.b64url_decode(jwt.text.split(".")[1]))
        assert claims["credentialStatus"] == forms[name]["credentialStatus"], name
    for name, (_, _, verdict) in actions.items():
        ours = (await client.post("/verify", json={"credential": forms[name]})).json()
        assert ours["verdict"] == verdict and ours["form"] == "data-integrity", (name, ours)
    assert (await client.post("/verify", json={"credential": forms["qualification"]})).json()["verdict"] == "valid"


async def test_es256_and_ed25519_header_issuers_json_forms_expired_and_revoked_with_digitalbazaar_vc(
    client: AsyncTestClient[Litestar], bootstrap: Bootstrap, db: Database, settings: Settings
) -> None:
    """An ES256 issuer's JSON form (``ecdsa-rdfc-2019``): valid, revoked (the status list it names carries an
    ``ecdsa-rdfc-2019`` proof too, verified by vc-bitstring-status-list) and, signed again with a validity that
    ended yesterday, expired for @digitalbazaar/vc. An issuer whose Ed25519 key signs JWTs as ``Ed25519``: its
    JSON form's proofs are ``eddsa-rdfc-2022`` as any Ed25519 key's, accepted by verifier-core too."""
    es256 = await one_unit(client, bootstrap, db, settings, {"alg": "ES256"})
    ed25519 = await one_unit(client, bootstrap, db, settings, {"headerAlg": "Ed25519"})
    held = {}
    for name, room in (("es256", es256), ("ed25519", ed25519)):
        [credential] = await credentials_of(client, room)
        response = await client.get(f"/credentials/{credential['id']}/json", headers=room.provider.headers)
        assert response.status_code == 200, response.text
        held[name] = (room, credential["id"], response.json())
    assert [p["cryptosuite"] for p in held["es256"][2]["proof"]] == ["ecdsa-rdfc-2019", "eddsa-rdfc-2022"]
    assert [p["cryptosuite"] for p in held["ed25519"][2]["proof"]] == ["eddsa-rdfc-2022", "eddsa-rdfc-2022"]

    # The ES256 issuer's credential with a validity that ended yesterday, proved by its P-256 key.
    room, credential_id, form = held["es256"]
    document = {k: v for k, v in form.items() if k != "proof"}
    yesterday = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    document["validFrom"] = document["awardedDate"] = (
        (yesterday - timedelta(days=365)).isoformat().replace("+00:00", "Z")
    )
    document["validUntil"] = yesterday.isoformat().replace("+00:00", "Z")
    async with db.connection() as conn:
        key = await keys.current_signing_key(conn, settings.master_key, room.provider.org_id)
    assert key.alg == "ES256"
    method = multikey.verification_method_id(keys.did_web(settings.issuer, room.provider.org_id), key.kid)
    private = envelopes.b64url_decode(key.jwk.as_dict(private=True)["d"])
    signer = proofs.Signer(proofs.SigningKey("ES256", private), method, document["validFrom"])
    expired = {**document, "proof": [proofs.create(document, signer, settings.issuer)]}

    live = {name: f for name, (_, _, f) in held.items()}
    documents = await _served(client, settings, es256, [live["es256"]])
    documents.update(await _served(client, settings, ed25519, [live["ed25519"]]))
    revoked = await client.post(
        f"/credentials/{credential_id}/revocation", json={"reason": "Issued in error"}, headers=room.provider.headers
    )
    assert revoked.status_code == 200, revoked.text
    revoked_documents = await _served(client, settings, es256, [live["es256"]])  # the list as published now
    payload = {
        "documents": documents,
        "contexts": _standard_contexts(),
        "credentials": [
            {"name": "es256", "credential": live["es256"], "status": True},
            {"name": "ed25519", "credential": live["ed25519"], "status": True},
            {"name": "expired", "credential": expired},
        ],
    }
    results = {r["name"]: r for r in (await run_checker(CHECKER, payload))["results"]}
    payload = {**payload, "documents": {**documents, **revoked_documents}, "credentials": payload["credentials"][:1]}
    [after] = (await run_checker(CHECKER, payload))["results"]

    for name in ("es256", "ed25519"):
        checked = results[name]["vc"]
        assert checked["verified"] and checked["status"]["results"][0]["status"] is False, (name, checked)
        assert all(p["verified"] for p in results[name]["proofs"]), (name, results[name]["proofs"])
        assert results[name]["safe"]["ok"] and results[name]["safeWithProof"]["ok"], name
    assert results["ed25519"]["verifierCore"]["signatureValid"], results["ed25519"]["verifierCore"]
    assert {"id": "revocation_status", "valid": True} in results["ed25519"]["verifierCore"]["log"]
    assert not results["es256"]["verifierCore"]["signatureValid"], "verifier-core knows eddsa-rdfc-2022 only"
    assert after["vc"]["verified"] and after["vc"]["status"]["results"][0]["status"] is True, after["vc"]
    assert not results["expired"]["vc"]["verified"], results["expired"]["vc"]
    assert any('is after "validUntil"' in e for e in results["expired"]["vc"]["errors"]), results["expired"]["vc"]
    assert results["expired"]["proofs"][0]["verified"], "its proof is fine: the dates are what fail"

    assert (await client.post("/verify", json={"credential": live["es256"]})).json()["verdict"] == "revoked"
    verdict = (await client.post("/verify", json={"credential": expired})).json()
    validity = next(c for c in verdict["checks"] if c["check"] == "validity")
    assert validity["status"] == "failed" and validity["message"].startswith("expired on"), verdict
