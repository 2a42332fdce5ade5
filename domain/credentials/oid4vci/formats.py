"""The credential in the format a wallet asked for, bound to the wallet's key.

* ``jwt_vc_json``: the Open Badges 3.0 VC-JWT with ``credentialSubject.id`` (and so ``sub``) the holder's DID,
  signed anew by the awarding body's current key. A compact JWS has one signature: the chamber's co-signature
  travels in ``termsOfUse`` and in the ``ldp_vc`` form.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.credentials import envelopes, keys
from domain.credentials.keys import did_web
from domain.credentials.oid4vci.proofs import Holder
from domain.db import Connection


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
