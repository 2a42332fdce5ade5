"""Multikey encodings of issuer keys agree with Digital Bazaar's key libraries and with the spec's prefixes."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from joserfc.jwk import ECKey, OKPKey, RSAKey

from domain.credentials.keys import DID_CONTEXT, MULTIKEY_CONTEXT, did_document
from domain.credentials.multikey import (
    base58btc,
    base58btc_decode,
    kid_of_verification_method,
    public_key_multibase,
    verification_method_id,
)
from tests.node_checkers import run_checker


def _public(key: OKPKey | ECKey) -> dict[str, Any]:
    return dict(key.as_dict(private=False))


def _from_base58(text: str) -> bytes:
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    number = 0
    for char in text:
        number = number * 58 + alphabet.index(char)
    zeros = len(text) - len(text.lstrip("1"))
    return b"\0" * zeros + number.to_bytes((number.bit_length() + 7) // 8, "big")


def test_base58btc_known_values() -> None:
    # Values from the base58 draft (draft-msporny-base58-03 §5).
    assert base58btc(b"Hello World!") == "2NEpo7TZRRrLZSi2U"
    assert (
        base58btc(b"The quick brown fox jumps over the lazy dog.")
        == "USm3fpXnKG5EUBx2ndxBDMPVciP5hGey2Jh4NDv6gmeo1LkMeiKrLJUUBk6Z"
    )
    assert base58btc(bytes.fromhex("0000287fb4cd")) == "11233QC4"
    assert base58btc(b"") == ""


def test_base58btc_decodes_what_it_encodes_and_refuses_other_characters() -> None:
    assert base58btc_decode("2NEpo7TZRRrLZSi2U") == b"Hello World!"
    assert base58btc_decode("11233QC4") == bytes.fromhex("0000287fb4cd")
    assert base58btc_decode("") == b""
    with pytest.raises(ValueError, match="not a base58btc character"):
        base58btc_decode("0OIl")


def test_ed25519_and_p256_prefixes_and_points() -> None:
    ed = OKPKey.generate_key("Ed25519", private=False)
    encoded = public_key_multibase(_public(ed))
    assert encoded.startswith("z6Mk")
    decoded = _from_base58(encoded[1:])
    assert decoded[:2] == b"\xed\x01" and len(decoded) == 34

    ec = ECKey.generate_key("P-256", private=False)
    encoded = public_key_multibase(_public(ec))
    assert encoded.startswith("zDn")
    decoded = _from_base58(encoded[1:])
    raw = ec.public_key
    assert isinstance(raw, EllipticCurvePublicKey)
    assert decoded == b"\x80\x24" + raw.public_bytes(Encoding.X962, PublicFormat.CompressedPoint)


def test_other_keys_have_no_multikey_form() -> None:
    with pytest.raises(ValueError, match="no Multikey form"):
        public_key_multibase(dict(RSAKey.generate_key(2048, private=False).as_dict(private=False)))
    with pytest.raises(ValueError, match="no Multikey form"):
        public_key_multibase(dict(ECKey.generate_key("P-384", private=False).as_dict(private=False)))
    with pytest.raises(ValueError, match="32 bytes"):
        public_key_multibase({"kty": "OKP", "crv": "Ed25519", "x": "AAAA"})


def test_verification_method_ids() -> None:
    did = "did:web:example.org%3A8443:organisations:42"
    assert verification_method_id(did, "abc") == f"{did}#key-abc"
    assert kid_of_verification_method(did, f"{did}#key-abc") == "abc"
    assert kid_of_verification_method(did, f"{did}#abc") is None
    assert kid_of_verification_method(did, f"{did}#key-") is None
    assert kid_of_verification_method("did:web:other", f"{did}#key-abc") is None


async def test_digital_bazaar_multikey_libraries_agree() -> None:
    keys = [OKPKey.generate_key("Ed25519", private=False) for _ in range(3)]
    keys += [ECKey.generate_key("P-256", private=False) for _ in range(5)]  # both parities of y, likely
    jwks = [_public(k) for k in keys]
    answer = await run_checker(
        "multikey.mjs", {"keys": [{"jwk": jwk, "publicKeyMultibase": public_key_multibase(jwk)} for jwk in jwks]}
    )
    for jwk, checked in zip(jwks, answer["keys"], strict=True):
        assert checked["fromJwk"] == public_key_multibase(jwk)
        assert {n: checked["toJwk"][n] for n in ("kty", "crv", "x")} == {n: jwk[n] for n in ("kty", "crv", "x")}
        assert checked["toJwk"].get("y") == jwk.get("y")


async def test_a_did_document_of_multikeys_expands_in_json_ld_safe_mode() -> None:
    did = "did:web:example.org:organisations:1"
    published = [
        _public(OKPKey.generate_key("Ed25519", private=False)),
        _public(ECKey.generate_key("P-256", private=False)),
    ]
    for index, jwk in enumerate(published):
        jwk["kid"] = f"k{index}"
    document = msgspec.to_builtins(did_document(did, {"keys": published}))
    assert document["@context"] == [DID_CONTEXT, MULTIKEY_CONTEXT]
    answer = await run_checker("did_document.mjs", {"document": document})
    assert answer["ok"] is True, answer
    [expanded] = answer["expanded"]
    methods = expanded["https://w3id.org/security#verificationMethod"]
    assert [m["@id"] for m in methods] == [f"{did}#key-k0", f"{did}#key-k1"]
    assert {t for m in methods for t in m["@type"]} == {"https://w3id.org/security#Multikey"}
    assert [m["https://w3id.org/security#publicKeyMultibase"][0]["@value"] for m in methods] == [
        public_key_multibase(jwk) for jwk in published
    ]
    for relation in ("assertionMethod", "authenticationMethod"):
        assert [r["@id"] for r in expanded[f"https://w3id.org/security#{relation}"]] == [m["@id"] for m in methods]
