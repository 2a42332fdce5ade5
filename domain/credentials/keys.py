"""Issuing organisations' signing keys: created, rotated, published (JWKS, did:web) and used for JWS.

* Ed25519 by default; ES256 or RS256 by choice (1EdTech's Open Badges conformance suite uses RS256).
* The JWS ``alg`` name of an Ed25519 key is the issuer's setting: "EdDSA" (RFC 8037, the default: the
  name every JOSE library and VC verifier knows, PyJWT and did-jwt included) or "Ed25519" (RFC 9864).
  A rotation keeps the setting unless told otherwise; keys made before "EdDSA" became the default keep
  "Ed25519". ``signing_keys.alg`` always holds the JWS ``alg`` header, so the setting needs no column.
* A key's verification method in the DID document is ``{did}#key-{kid}`` (``multikey``); VC-JWTs name
  their key by that DID URL.
* Private keys are encrypted at rest with AES-256-GCM under the master key (``domain.keys``).
* Rotation retires the current key but keeps publishing it, so credentials signed with it still verify.
* Only organisations that issue or co-sign credentials hold keys (``SIGNING_KINDS``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlsplit
from uuid import UUID

import anyio.to_thread
import msgspec
from joserfc import jws
from joserfc.errors import InvalidKeyCurveError, JoseError
from joserfc.jwa import JWSAlgModel
from joserfc.jwk import ECKey, KeyParameters, OKPKey, RSAKey
from joserfc.jws import JWSRegistry
from joserfc.registry import HeaderParameter, is_str

from domain.credentials.multikey import (
    VERIFICATION_METHOD_PREFIX,
    kid_of_verification_method,
    public_key_multibase,
    verification_method_id,
)
from domain.db import Connection, Database
from domain.errors import Conflict, InvalidInput, NotFound
from domain.keys import decrypt, encrypt
from domain.sql import load_queries
from domain.structs import Input, Model
from domain.writes import Actor, IdempotencyKey, write

q = load_queries(__file__, "keys.sql")

KeyAlgorithm = Literal["Ed25519", "ES256", "RS256"]
Ed25519HeaderAlg = Literal["EdDSA", "Ed25519"]
JwsAlgorithm = Literal["Ed25519", "EdDSA", "ES256", "RS256"]
DEFAULT_ED25519_HEADER_ALG: Ed25519HeaderAlg = "EdDSA"
RSA_KEY_BITS = 2048  # what RS256 verifiers, 1EdTech's conformance suite included, all accept

# Providers, employers and their associations issue; chambers, authorities and QA bodies issue
# (recognition, endorsements) and co-sign. Social partners co-author and approve programmes but
# neither issue nor co-sign, so they hold no keys.
SIGNING_KINDS = frozenset({"vet_provider", "employer", "employer_association", "chamber", "authority", "qa_body"})

JoseKey = OKPKey | ECKey | RSAKey


class SignatureInvalid(InvalidInput):
    """A JWS that is malformed, names no published key, or whose signature does not verify."""

    title = "Invalid signature"


# --- API records ------------------------------------------------------------------------------


class SigningKeyOptions(Input):
    """Which key to make. A rotation keeps the current key's algorithm and header name unless given."""

    alg: Annotated[KeyAlgorithm | None, msgspec.Meta(description="Key algorithm (default Ed25519)")] = None
    header_alg: Annotated[
        Ed25519HeaderAlg | None,
        msgspec.Meta(
            description='JWS "alg" name for an Ed25519 key: "EdDSA" (RFC 8037, the default for a new key, '
            'known to every JOSE library) or "Ed25519" (RFC 9864). A rotation keeps the current key\'s name'
        ),
    ] = None


class IssuerSigningKey(Model):
    """A signing key's public part and status; the private part never leaves the server."""

    kid: str
    alg: KeyAlgorithm
    header_alg: Annotated[JwsAlgorithm, msgspec.Meta(description='The JWS "alg" header of its signatures')]
    status: Literal["current", "retired"]
    created_at: datetime
    retired_at: datetime | None
    public_jwk: dict[str, Any]


class IssuerSigningKeyList(Model):
    items: list[IssuerSigningKey]


class IssuerJsonWebKeySet(msgspec.Struct):
    """RFC 7517 JWKS; each key also carries its ``status`` ("current" or "retired")."""

    keys: list[dict[str, Any]]


class VerificationMethod(Model):
    """An issuer key as the DID document lists it: a Multikey (Ed25519, P-256) or a JSON Web Key (RSA)."""

    id: Annotated[str, msgspec.Meta(description="The DID URL {did}#key-{kid}, kid the key's RFC 7638 thumbprint")]
    type: Literal["Multikey", "JsonWebKey2020"]
    controller: str
    public_key_multibase: Annotated[
        str | msgspec.UnsetType, msgspec.Meta(description="Multikey: z + base58btc(multicodec prefix + public key)")
    ] = msgspec.UNSET
    public_key_jwk: Annotated[
        dict[str, Any] | msgspec.UnsetType, msgspec.Meta(description="JsonWebKey2020 (RSA keys): the public JWK")
    ] = msgspec.UNSET


class DidDocument(Model):
    """A did:web DID document (W3C DID 1.0): the organisation's keys as verification methods."""

    context: list[str] = msgspec.field(name="@context")
    id: str
    verification_method: list[VerificationMethod]
    assertion_method: list[str]
    authentication: list[str]


# --- JOSE -------------------------------------------------------------------------------------


class _EdDSAForEd25519(JWSAlgModel):
    """The RFC 8037 name "EdDSA", restricted to Ed25519 keys.

    joserfc warns on "EdDSA" because RFC 9864 deprecates it: the name leaves the curve open. Pinned
    to Ed25519 it means exactly what "Ed25519" means, so there is nothing left to warn about; it is
    the default name because PyJWT, did-jwt and most wallets know no other. Signing and verifying are
    joserfc's Ed25519.
    """

    name = "EdDSA"
    description = "EdDSA with the Ed25519 curve only"
    key_type = "OKP"
    _ed25519 = JWSRegistry.algorithms["Ed25519"]

    def check_key(self, key: OKPKey) -> None:
        super().check_key(key)  # use "sig", kty OKP, and the JWK's alg (if any) is "EdDSA"
        if key.curve_name != "Ed25519":
            raise InvalidKeyCurveError('"EdDSA" is accepted here for Ed25519 keys only')

    def sign(self, msg: bytes, key: OKPKey) -> bytes:
        return self._ed25519.sign(msg, key)

    def verify(self, msg: bytes, sig: bytes, key: OKPKey) -> bool:
        return self._ed25519.verify(msg, sig, key)


class _Registry(JWSRegistry):
    algorithms = {**JWSRegistry.algorithms, "EdDSA": _EdDSAForEd25519()}


# One registry per JWS alg: a signature is checked with its key's algorithm and no other. "iss" in the
# protected header names the signer's DID (RFC 7519 §5.3), so a co-signature says whose key it is.
_HEADERS = {"iss": HeaderParameter("Issuer", is_str)}
_REGISTRIES = {
    alg: _Registry(header_registry=_HEADERS, algorithms=[alg]) for alg in ("Ed25519", "EdDSA", "ES256", "RS256")
}


def jws_registry(alg: str, headers: Mapping[str, HeaderParameter] | None = None) -> JWSRegistry:
    """A registry that verifies ``alg`` and no other ("EdDSA" pinned to Ed25519, as for our own keys), with
    ``headers`` declared beside the registered header parameters."""
    return _Registry(header_registry=dict(headers or {}), algorithms=[alg])


_KEY_ALGORITHMS: dict[str, KeyAlgorithm] = {
    "Ed25519": "Ed25519",
    "EdDSA": "Ed25519",
    "ES256": "ES256",
    "RS256": "RS256",
}


def _key_algorithm(jws_alg: str) -> KeyAlgorithm:
    return _KEY_ALGORITHMS[jws_alg]


def _generate(alg: KeyAlgorithm, jws_alg: str) -> JoseKey:
    # The kid is the RFC 7638 thumbprint: unique, and anyone can recompute it from the public key.
    parameters: KeyParameters = {"use": "sig", "alg": jws_alg}
    if alg == "Ed25519":
        return OKPKey.generate_key("Ed25519", parameters, private=True, auto_kid=True)
    if alg == "ES256":
        return ECKey.generate_key("P-256", parameters, private=True, auto_kid=True)
    return RSAKey.generate_key(RSA_KEY_BITS, parameters, private=True, auto_kid=True)


def _import(alg: KeyAlgorithm, jwk: dict[str, Any]) -> JoseKey:
    if alg == "Ed25519":
        return OKPKey.import_key(jwk)
    if alg == "ES256":
        return ECKey.import_key(jwk)
    return RSAKey.import_key(jwk)


@dataclass(frozen=True)
class IssuerKey:
    """A decrypted signing key, ready for ``sign_compact``."""

    kid: str
    organisation_id: UUID
    alg: KeyAlgorithm
    header_alg: str
    jwk: JoseKey = field(repr=False)  # private: kept out of logs and tracebacks


def _sign(key: IssuerKey, payload: bytes, protected: dict[str, Any]) -> str:
    return jws.serialize_compact(protected, payload, key.jwk, registry=_REGISTRIES[key.header_alg])


async def sign_compact(key: IssuerKey, payload: bytes, header: Mapping[str, Any] | None = None) -> str:
    """A compact JWS of ``payload``; the key sets ``alg`` and ``kid``, ``header`` adds the rest (``typ``...).

    ``header`` may name the key by its DID URL (``{did}#key-{kid}``) instead of the bare kid.
    """
    protected = dict(header or {})
    if protected.get("alg", key.header_alg) != key.header_alg:
        raise ValueError(f"the header's alg {protected['alg']!r} is not the key's {key.header_alg!r}")
    kid = protected.get("kid", key.kid)
    if kid != key.kid and not (isinstance(kid, str) and kid.endswith(VERIFICATION_METHOD_PREFIX + key.kid)):
        raise ValueError(f"the header's kid {kid!r} does not name the key {key.kid!r}")
    protected["alg"], protected["kid"] = key.header_alg, kid
    if key.alg == "RS256":  # ~0.7 ms of CPU: off the event loop
        return await anyio.to_thread.run_sync(_sign, key, payload, protected)
    return _sign(key, payload, protected)


def verify_compact(token: str, jwks: Mapping[str, Any], did: str | None = None) -> tuple[dict[str, Any], bytes]:
    """The protected header and payload of a compact JWS signed by a key of ``jwks``.

    The key is found by ``kid``: its thumbprint, or its DID URL ``{did}#key-{kid}`` (of ``did``, when
    the DID whose keys these are is given). It must be published with the header's ``alg``: a token
    cannot choose how it is verified. Retired keys verify too; what they signed stays valid.
    """
    try:
        header = jws.extract_compact(token.encode()).protected
    except (JoseError, ValueError) as exc:
        raise SignatureInvalid("this is not a compact JWS") from exc
    kid, alg = header.get("kid"), header.get("alg")
    if isinstance(kid, str) and VERIFICATION_METHOD_PREFIX in kid:
        if did is not None:
            kid = kid_of_verification_method(did, kid) or kid
        else:  # the caller chose whose keys: the DID URL's fragment names one of them
            kid = kid.rsplit(VERIFICATION_METHOD_PREFIX, 1)[1]
    jwk = next((k for k in jwks.get("keys", []) if isinstance(kid, str) and k.get("kid") == kid), None)
    if jwk is None:
        raise SignatureInvalid(f"no published key has the kid {kid!r}")
    if jwk.get("alg") != alg or alg not in _REGISTRIES:
        raise SignatureInvalid(f"the key {kid} signs with {jwk.get('alg')!r}, not {alg!r}")
    try:
        public = _import(_key_algorithm(alg), {n: v for n, v in jwk.items() if n != "status"})
        verified = jws.deserialize_compact(token, public, registry=_REGISTRIES[alg])
    except (JoseError, ValueError) as exc:
        raise SignatureInvalid("the signature does not verify") from exc
    return dict(verified.protected), verified.payload


# --- Decrypted keys, cached -------------------------------------------------------------------

# Key material never changes once created, so a decrypted key stays good for the life of the
# process (retirement is a row's state, checked on every lookup). Bounded: least recently used go.
_CACHE_SIZE = 1024
_decrypted: OrderedDict[str, IssuerKey] = OrderedDict()


def decrypted_key(row: Mapping[str, Any], master_key: bytes) -> IssuerKey:
    """The issuer key of a ``signing_keys`` row (``kid``, ``organisation_id``, ``alg``,
    ``private_key_ciphertext``), decrypted once per process and kept among the recently used."""
    return _decrypt(row, row["organisation_id"], master_key)


def _decrypt(row: Mapping[str, Any], organisation_id: UUID, master_key: bytes) -> IssuerKey:
    kid: str = row["kid"]
    cached = _decrypted.get(kid)
    if cached is not None:
        _decrypted.move_to_end(kid)
        return cached
    private = msgspec.json.decode(decrypt(master_key, row["private_key_ciphertext"], kid.encode()))
    alg = _key_algorithm(row["alg"])
    key = IssuerKey(kid, organisation_id, alg, row["alg"], _import(alg, private))
    _decrypted[kid] = key
    if len(_decrypted) > _CACHE_SIZE:
        _decrypted.popitem(last=False)
    return key


async def current_signing_key(conn: Connection, master_key: bytes, organisation_id: UUID) -> IssuerKey:
    row = await conn.fetchrow(q.current_key, organisation_id)
    if row is None:
        raise Conflict(f"organisation {organisation_id} has no signing key yet; create one first")
    return _decrypt(row, organisation_id, master_key)


async def ensure_signing_key(conn: Connection, master_key: bytes, organisation_id: UUID) -> IssuerKey:
    """The current key, made (Ed25519, the default) when an issuing organisation signs for the first time."""
    row = await conn.fetchrow(q.current_key, organisation_id)
    if row is None:
        await _check_issuer(conn, organisation_id)
        row = await conn.fetchrow(q.current_key, organisation_id)  # a concurrent first signature made it
        if row is None:
            await _insert(conn, master_key, organisation_id, "Ed25519", DEFAULT_ED25519_HEADER_ALG)
            row = await conn.fetchrow(q.current_key, organisation_id)
    return _decrypt(row, organisation_id, master_key)


# --- Creating and rotating --------------------------------------------------------------------


def _header_alg(alg: KeyAlgorithm, header_alg: Ed25519HeaderAlg | None, inherited: str | None = None) -> str:
    if alg != "Ed25519":
        if header_alg is not None:
            raise InvalidInput(f"headerAlg applies to Ed25519 keys only; an {alg} key signs with alg {alg!r}")
        return alg
    return header_alg or (inherited if inherited in ("Ed25519", "EdDSA") else DEFAULT_ED25519_HEADER_ALG)


async def _check_issuer(conn: Connection, organisation_id: UUID) -> None:
    await conn.execute(q.lock_issuer, organisation_id)
    kind = await conn.fetchval(q.organisation_kind, organisation_id)
    if kind is None:
        raise NotFound(f"there is no organisation {organisation_id}")
    if kind not in SIGNING_KINDS:
        raise Conflict(f"a {kind} organisation neither issues nor co-signs credentials, so it holds no signing keys")


def _view(row: Mapping[str, Any]) -> IssuerSigningKey:
    return IssuerSigningKey(
        kid=row["kid"],
        alg=_key_algorithm(row["alg"]),
        header_alg=row["alg"],
        status="current" if row["retired_at"] is None else "retired",
        created_at=row["created_at"],
        retired_at=row["retired_at"],
        public_jwk=row["public_jwk"],
    )


async def _insert(
    conn: Connection, master_key: bytes, organisation_id: UUID, alg: KeyAlgorithm, jws_alg: str
) -> IssuerSigningKey:
    # Generated after the checks, so a refused request costs nothing; RSA (tens of ms) in a thread.
    key = await anyio.to_thread.run_sync(_generate, alg, jws_alg) if alg == "RS256" else _generate(alg, jws_alg)
    kid = key.kid
    assert kid is not None  # auto_kid
    private = msgspec.json.encode(key.as_dict(private=True))
    row = await conn.fetchrow(
        q.insert_key,
        kid,
        organisation_id,
        jws_alg,
        key.as_dict(private=False),
        encrypt(
            master_key, private, kid.encode()
        ),  # the kid as associated data: a ciphertext moved to another row fails
    )
    return _view(row)


async def create_key(
    db: Database,
    actor: Actor,
    organisation_id: UUID,
    alg: KeyAlgorithm = "Ed25519",
    header_alg: Ed25519HeaderAlg | None = None,
    *,
    master_key: bytes,
    idempotency: IdempotencyKey | None = None,
) -> IssuerSigningKey:
    """The organisation's first signing key; once it has one, keys change by rotation."""
    jws_alg = _header_alg(alg, header_alg)
    async with write(db, actor, idempotency=idempotency) as w:
        if w.replayed is not None:
            return w.replay(IssuerSigningKey)
        await _check_issuer(w.conn, organisation_id)
        if await w.conn.fetchrow(q.current_key, organisation_id) is not None:
            raise Conflict(f"organisation {organisation_id} already has a signing key; rotate it to get a new one")
        created = await _insert(w.conn, master_key, organisation_id, alg, jws_alg)
        await w.audit("signing_key.created", "signing_key", created.kid, organisation_id, {"alg": jws_alg})
        await w.remember(created)
        return created


async def rotate_key(
    db: Database,
    actor: Actor,
    organisation_id: UUID,
    alg: KeyAlgorithm | None = None,
    header_alg: Ed25519HeaderAlg | None = None,
    *,
    master_key: bytes,
    idempotency: IdempotencyKey | None = None,
) -> IssuerSigningKey:
    """A new current key; the previous one is retired and stays published for verification."""
    async with write(db, actor, idempotency=idempotency) as w:
        if w.replayed is not None:
            return w.replay(IssuerSigningKey)
        await _check_issuer(w.conn, organisation_id)
        retired = await w.conn.fetchrow(q.retire_current, organisation_id)
        if retired is None:
            raise Conflict(f"organisation {organisation_id} has no signing key to rotate; create one first")
        new_alg = alg or _key_algorithm(retired["alg"])
        jws_alg = _header_alg(new_alg, header_alg, inherited=retired["alg"])
        created = await _insert(w.conn, master_key, organisation_id, new_alg, jws_alg)
        details = {"alg": jws_alg, "retiredKid": retired["kid"]}
        await w.audit("signing_key.rotated", "signing_key", created.kid, organisation_id, details)
        await w.remember(created)
        return created


# --- Publishing -------------------------------------------------------------------------------


async def list_keys(conn: Connection, organisation_id: UUID) -> list[IssuerSigningKey]:
    """Every key of the organisation, current first; NotFound for an unknown organisation."""
    rows = await conn.fetch(q.organisation_keys, organisation_id)
    if not rows:
        raise NotFound(f"there is no organisation {organisation_id}")
    return [_view(row) for row in rows if row["kid"] is not None]


async def published_keys(conn: Connection, organisation_id: UUID) -> dict[str, Any]:
    """The organisation's JWKS: public parts only, retired keys included with their status."""
    return {"keys": [{**k.public_jwk, "status": k.status} for k in await list_keys(conn, organisation_id)]}


def did_web(public_url: str, organisation_id: UUID) -> str:
    """``did:web:<host>[:<path>...]:organisations:<id>`` for the API at ``public_url``.

    A did:web resolver turns the method-specific id back into a URL: each ``:`` becomes ``/``, a
    percent-encoded port (``%3A8000``) is decoded, ``https://`` goes in front and, because the id has
    a path, ``/did.json`` at the end (not ``/.well-known/did.json``). So this DID resolves to
    ``https://<host>/organisations/<id>/did.json``, which the API serves.
    """
    parts = urlsplit(public_url)
    host = (parts.hostname or "localhost") + (f"%3A{parts.port}" if parts.port else "")
    segments = [quote(s, safe="") for s in parts.path.split("/") if s]
    return ":".join(["did", "web", host, *segments, "organisations", str(organisation_id)])


def organisation_of_did(public_url: str, did: str) -> UUID | None:
    """The organisation a did:web of this server names, else None (another server's DID, or not a DID)."""
    prefix = did_web(public_url, UUID(int=0)).rsplit(":", 1)[0] + ":"
    if not did.startswith(prefix):
        return None
    try:
        return UUID(did.removeprefix(prefix))
    except ValueError:
        return None


DID_CONTEXT = "https://www.w3.org/ns/did/v1"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"
JWS_2020_CONTEXT = "https://w3id.org/security/suites/jws-2020/v1"


def _verification_method(did: str, jwk: Mapping[str, Any]) -> VerificationMethod:
    method_id = verification_method_id(did, jwk["kid"])
    if jwk["kty"] == "RSA":
        public = {n: v for n, v in jwk.items() if n != "status"}
        return VerificationMethod(id=method_id, type="JsonWebKey2020", controller=did, public_key_jwk=public)
    return VerificationMethod(
        id=method_id, type="Multikey", controller=did, public_key_multibase=public_key_multibase(jwk)
    )


def did_document(did: str, jwks: Mapping[str, Any]) -> DidDocument:
    """Every published key as a verification method ``{did}#key-{kid}``, for assertions and authentication.

    Ed25519 and P-256 keys are Multikeys (what Data Integrity suites and did-jwt resolve); RSA keys,
    which have no Multikey form, stay JsonWebKey2020 with their JWK. Retired keys stay listed: a
    verifier checks a credential against the document as it is now, and what a retired key signed
    must keep verifying.
    """
    methods = [_verification_method(did, jwk) for jwk in jwks["keys"]]
    context = [DID_CONTEXT, MULTIKEY_CONTEXT]
    if any(m.type == "JsonWebKey2020" for m in methods):
        context.append(JWS_2020_CONTEXT)
    ids = [m.id for m in methods]
    return DidDocument(
        context=context, id=did, verification_method=methods, assertion_method=ids, authentication=list(ids)
    )
