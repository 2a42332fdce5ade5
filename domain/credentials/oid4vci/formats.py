"""The credential in the format a wallet asked for, bound to the wallet's key.

* ``jwt_vc_json``: the Open Badges 3.0 VC-JWT with ``credentialSubject.id`` (and so ``sub``) the holder's DID,
  signed anew by the awarding body's current key. A compact JWS has one signature: the chamber's co-signature
  travels in ``termsOfUse`` and in the ``ldp_vc`` form.
* ``ldp_vc``: the credential JSON bound to the holder's DID with every Data Integrity proof (the awarding
  body's, the co-signing chamber's) made again over it (``data_integrity.holder_binding``).
* ``dc+sd-jwt``: the SD-JWT VC with the holder's key in ``cnf.jwk`` (``sd_jwt.issuance``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.credentials import envelopes, keys
from domain.credentials.data_integrity.holder_binding import HolderBindingUnavailable, bound_to_holder
from domain.credentials.keys import did_web
from domain.credentials.oid4vci.errors import CredentialRequestDenied
from domain.credentials.oid4vci.metadata import JWT_VC_JSON, LDP_VC
from domain.credentials.oid4vci.proofs import Holder
from domain.credentials.sd_jwt.issuance import issue_sd_jwt_vc
from domain.db import Connection, Database
from domain.errors import Conflict


def bound_document(row: Mapping[str, Any], holder: Holder) -> dict[str, Any]:
    """The credential as signed, with ``credentialSubject.id`` the holder's DID."""
    document = envelopes.credential_json(row["payload"])
    document["credentialSubject"] = {**document["credentialSubject"], "id": holder.did}
    return document


async def jwt_vc_json(
    conn: Connection, row: Mapping[str, Any], holder: Holder, *, issuer: str, master_key: bytes
) -> str:
    document = bound_document(row, holder)
    key = await keys.current_signing_key(conn, master_key, row["awarding_body_id"])
    return await envelopes.sign(key, envelopes.encode_payload(document), did_web(issuer, row["awarding_body_id"]))


async def credential_in(
    configuration_id: str,
    db: Database,
    conn: Connection,
    row: Mapping[str, Any],
    holder: Holder,
    *,
    issuer: str,
    master_key: bytes,
) -> Any:
    """The credential of ``row`` in the configuration's format, bound to ``holder``."""
    try:
        if configuration_id == JWT_VC_JSON:
            return await jwt_vc_json(conn, row, holder, issuer=issuer, master_key=master_key)
        if configuration_id == LDP_VC:
            return await bound_to_holder(db, row, holder.did, master_key=master_key, public_url=issuer)
        return await issue_sd_jwt_vc(conn, row["id"], holder.jwk, public_url=issuer, master_key=master_key)
    except (HolderBindingUnavailable, Conflict) as refused:
        raise CredentialRequestDenied(str(refused)) from None
