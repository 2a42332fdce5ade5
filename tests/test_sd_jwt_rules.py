"""The SD-JWT VC and Token Status List rules, pinned: the specifications' own examples, then Guildhall's choices.

Digests and disclosures against RFC 9901's examples; the status list's bit packing and ZLIB encoding against
draft-ietf-oauth-status-list's; which claims are always shown and which are disclosable; the holder keys a
credential can be bound to. The end-to-end checks by independent libraries are in ``test_sd_jwt_vc.py``.
"""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any
from uuid import UUID

import msgspec
import pytest
from joserfc.jwk import ECKey, OKPKey, RSAKey

from domain.credentials import status_lists
from domain.credentials.sd_jwt import claims, disclosures, issuance, issuer_metadata, type_metadata
from domain.credentials.sd_jwt import token_status_list as tsl
from domain.credentials.sd_jwt.disclosures import Disclosable
from domain.errors import InvalidInput

# --- RFC 9901 (SD-JWT) examples -----------------------------------------------------------------------


def test_digests_are_those_of_the_sd_jwt_specification() -> None:
    # RFC 9901 §4.2.1: an object property ("family_name": "Möbius") and §4.2.2: an array element ("FR").
    family_name = "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0"
    assert disclosures.decode_disclosure(family_name) == ["_26bc4LT-ac6q2KI6cBW5es", "family_name", "Möbius"]
    assert disclosures.digest(family_name) == "X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0"
    assert (
        disclosures.digest("WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIkZSIl0")
        == "w0I8EKcdCtUPkGCNUrfwVp2xEgNjtoIDlOxc9-PlOhs"
    )


def fixed_salts() -> disclosures.Salt:
    counter = itertools.count()
    return lambda: f"salt{next(counter)}"


def test_each_disclosable_claim_is_one_disclosure_whose_digest_the_payload_holds() -> None:
    payload, made = disclosures.issue(
        {"vct": "v", "name": Disclosable("Anna"), "results": Disclosable([Disclosable({"value": 1}), {"value": 2}])},
        salt=fixed_salts(),
    )
    decoded = [disclosures.decode_disclosure(d) for d in made]
    assert ["salt0", "name", "Anna"] in decoded and len({d[0] for d in decoded}) == len(made) == 3
    element = next(d for d in made if disclosures.decode_disclosure(d)[1:] == [{"value": 1}])
    results = next(d for d in made if disclosures.decode_disclosure(d)[1] == "results")
    assert disclosures.decode_disclosure(results)[2] == [{"...": disclosures.digest(element)}, {"value": 2}]
    assert payload["vct"] == "v" and payload["_sd_alg"] == "sha-256"
    assert payload["_sd"] == sorted(
        disclosures.digest(d) for d in made if disclosures.decode_disclosure(d)[1:2] != [{"value": 1}]
    )
    assert "name" not in payload and "results" not in payload
    # A holder who discloses everything sees the claims; one who discloses nothing sees none of them.
    assert disclosures.reveal(payload, made) == {"vct": "v", "name": "Anna", "results": [{"value": 1}, {"value": 2}]}
    assert disclosures.reveal(payload, []) == {"vct": "v"}
    assert disclosures.reveal(payload, [results]) == {"vct": "v", "results": [{"value": 2}]}
    assert disclosures.compact("h.p.s", made) == "h.p.s~" + "~".join(made) + "~"


@pytest.mark.parametrize("name", ["iss", "nbf", "exp", "cnf", "vct", "status", "_sd"])
def test_the_claims_an_sd_jwt_vc_never_hides_cannot_be_made_disclosable(name: str) -> None:
    with pytest.raises(ValueError, match="never selectively disclosable"):
        disclosures.issue({name: Disclosable("x")})


def test_decoys_pad_the_hidden_claims_to_a_fixed_count_and_reveal_nothing() -> None:
    payload, made = disclosures.issue({"name": Disclosable("Anna")}, min_digests=6)
    assert len(payload["_sd"]) == 6 and payload["_sd"] == sorted(payload["_sd"])
    assert disclosures.digest(made[0]) in payload["_sd"] and len(made) == 1
    assert disclosures.reveal(payload, made) == {"name": "Anna"}
    assert disclosures.issue({"a": Disclosable(1), "b": Disclosable(2)}, min_digests=1)[0]["_sd"].__len__() == 2


def test_salts_are_128_random_bits_so_two_copies_share_no_digest() -> None:
    first, second = disclosures.random_salt(), disclosures.random_salt()
    assert first != second and len(disclosures.b64url(b"\0" * 16)) == len(first) == 22


# --- draft-ietf-oauth-status-list examples --------------------------------------------------------------


def test_the_status_list_encoding_is_the_specification_s() -> None:
    # §4.1: one bit per status, and two bits per status (values 1,2,0,3,0,1,0,1,1,2,3,3).
    assert tsl.encode_lst(bytes([0xB9, 0xA3])) == "eNrbuRgAAhcBXQ"
    assert tsl.encode_lst(bytes([0xC9, 0x44, 0xF9])) == "eNo76fITAAPfAgc"
    two_bits = tsl.decode_lst("eNo76fITAAPfAgc")
    assert [tsl.status_at(two_bits, i) for i in range(12)] == [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]


def test_revoked_is_invalid_suspended_is_suspended_and_the_bit_orders_are_translated() -> None:
    size = 16
    revocation, suspension = bytes(size), bytes(size)
    revocation = status_lists.with_bit(revocation, 0, True)  # W3C: the most significant bit of byte 0
    suspension = status_lists.with_bit(suspension, 0, True)  # revoked and suspended: revoked wins
    suspension = status_lists.with_bit(suspension, 5, True)
    revocation = status_lists.with_bit(revocation, 127, True)
    packed = tsl.statuses(revocation, suspension)
    assert len(packed) == size * 2  # 2 bits a credential
    assert packed[0] == 0b01 and packed[1] == 0b10 << 2  # index 0 INVALID; index 5 SUSPENDED (byte 1, second pair)
    values = {i: tsl.status_at(packed, i) for i in range(size * 8) if tsl.status_at(packed, i)}
    assert values == {0: tsl.Status.INVALID, 5: tsl.Status.SUSPENDED, 127: tsl.Status.INVALID}
    assert tsl.decode_lst(tsl.encode_lst(packed)) == packed


def test_a_full_list_is_small_and_a_hostile_lst_is_refused() -> None:
    empty = tsl.statuses(bytes(status_lists.LIST_BYTES), bytes(status_lists.LIST_BYTES))
    assert len(empty) == tsl.LIST_BYTES == 32_768 and len(tsl.encode_lst(empty)) < 100
    for hostile in ("not base64!", "eNo", disclosures.b64url(b"\x78\x9c" + b"\0" * 8)):
        with pytest.raises(InvalidInput):
            tsl.decode_lst(hostile)


def test_the_token_claims() -> None:
    claims_ = tsl.token_claims(issuer="https://i", uri="https://i/status-lists/1", status_bytes=b"\0", issued_at=100)
    assert claims_ == {
        "iss": "https://i",
        "sub": "https://i/status-lists/1",
        "iat": 100,
        "exp": 100 + 86_400,
        "ttl": 60,
        "status_list": {"bits": 2, "lst": tsl.encode_lst(b"\0")},
    }


# --- Guildhall's choices ----------------------------------------------------------------------------------


CREDENTIAL: dict[str, Any] = {
    "id": "urn:uuid:0f6c",
    "issuer": {"id": "did:web:x:organisations:1", "name": "Festo Didactic"},
    "validFrom": "2026-11-20T11:00:00Z",
    "awardedDate": "2026-11-20T11:00:00Z",
    "credentialSubject": {
        "identifier": [
            {"type": "IdentityObject", "identityType": "name", "hashed": False, "identityHash": "Jonas Weber"},
            {"type": "IdentityObject", "identityType": "emailAddress", "hashed": True, "identityHash": "sha256$…"},
        ],
        "achievement": {"id": "https://x/register/programmes/1/versions/1#unit-u1", "name": "MIG welding"},
        "result": [{"type": ["Result"], "value": "86.67"}, {"type": ["Result"], "status": "Completed"}],
        "activityEndDate": "2026-11-20T10:00:00Z",
        "supervisionAndIdentityVerification": "supervised onsite with identity verification",
        "creditsEarned": 1.5,
    },
    "evidence": [{"type": ["Evidence"], "name": "Weld"}],
}


def test_the_achievement_and_awarding_body_are_always_shown_the_person_only_when_disclosed() -> None:
    body = claims.vc_claims(CREDENTIAL, birthdate=date(2001, 4, 12), cosigner={"id": "did:web:ihk", "name": "IHK"})
    shown = {name for name, value in body.items() if not isinstance(value, Disclosable)}
    hidden = {name for name, value in body.items() if isinstance(value, Disclosable)}
    assert shown == set(claims.ALWAYS_DISCLOSED) - {"assessing_provider"}  # Festo assessed its own learner
    assert hidden == set(claims.SELECTIVELY_DISCLOSABLE)
    assert body["name"] == Disclosable("Jonas Weber") and body["birthdate"] == Disclosable("2001-04-12")
    assert all(isinstance(item, Disclosable) for item in body["results"].value)  # each result its own disclosure
    assert all(isinstance(item, Disclosable) for item in body["evidence"].value)
    assert "sha256$…" not in msgspec.json.encode(body).decode()  # the e-mail hash is not carried at all
    payload, made = disclosures.issue(body)
    assert disclosures.reveal(payload, []) == {
        "achievement": CREDENTIAL["credentialSubject"]["achievement"],
        "awarding_body": CREDENTIAL["issuer"],
        "cosigner": {"id": "did:web:ihk", "name": "IHK"},
        "awarded_date": "2026-11-20T11:00:00Z",
        "credits_earned": 1.5,
        "supervision": "supervised onsite with identity verification",
    }
    assert len(made) == 6 + 2 + 1  # six claims, two results, one piece of evidence


def test_without_a_date_of_birth_results_or_evidence_those_claims_are_absent() -> None:
    bare = {**CREDENTIAL, "credentialSubject": {**CREDENTIAL["credentialSubject"], "result": []}, "evidence": []}
    body = claims.vc_claims(bare, birthdate=None)
    assert {"birthdate", "results", "evidence", "cosigner"}.isdisjoint(body)


def test_the_type_metadata_says_what_the_claims_do() -> None:
    for kind in type_metadata.KINDS:
        document = type_metadata.document("https://guildhall.example/", kind)
        assert document["vct"] == f"https://guildhall.example/vct/{kind}"
        sd = {tuple(c["path"]): c["sd"] for c in document["claims"]}
        top_level_always = {path[0] for path, flag in sd.items() if flag == "always" and len(path) == 1}
        assert top_level_always == set(claims.SELECTIVELY_DISCLOSABLE)
        assert {path[0] for path, flag in sd.items() if flag == "never"} == set(claims.ALWAYS_DISCLOSED)
        assert {d["locale"] for d in document["display"]} == {"en", "de", "da"}


def test_a_credential_is_bound_to_an_ed25519_or_ec_public_key_only() -> None:
    ec = ECKey.generate_key("P-256", private=True)
    assert issuance.holder_public_jwk(ec.as_dict(private=False) | {"kid": "k", "use": "sig"}) == {
        k: v for k, v in ec.as_dict(private=False).items() if k in ("kty", "crv", "x", "y")
    }
    ed = OKPKey.generate_key("Ed25519", private=True)
    assert set(issuance.holder_public_jwk(ed.as_dict(private=False))) == {"kty", "crv", "x"}
    point = ec.as_dict(private=False)
    refused: list[Any] = [
        ec.as_dict(private=True),  # a private key
        RSAKey.generate_key(2048, private=True).as_dict(private=False),
        OKPKey.generate_key("X25519", private=True).as_dict(private=False),
        {**point, "y": point["x"]},  # not a point of the curve
        {**point, "x": 5},
        {"kty": "EC", "crv": "P-256"},
        {"kty": ["EC"], "crv": {"P-256": 1}},  # not even strings
        {**point, "crv": ["P-256"]},
        "a string",
    ]
    for jwk in refused:
        with pytest.raises(InvalidInput):
            issuance.holder_public_jwk(jwk)


def test_the_issuer_metadata_url_puts_the_well_known_segment_between_host_and_path() -> None:
    organisation = UUID(int=7)
    issuer = issuer_metadata.issuer_url("https://guildhall.example/", organisation)
    assert issuer == f"https://guildhall.example/organisations/{organisation}"
    well_known = f"https://guildhall.example/.well-known/jwt-vc-issuer/organisations/{organisation}"
    assert issuer_metadata.metadata_url(issuer) == well_known


def test_the_openid4vci_configuration_agrees_with_the_type_metadata() -> None:
    for kind in type_metadata.KINDS:
        configuration = type_metadata.credential_configuration("https://guildhall.example", kind)
        document = type_metadata.document("https://guildhall.example", kind)
        assert configuration["format"] == "dc+sd-jwt" and configuration["vct"] == document["vct"]
        assert configuration["cryptographic_binding_methods_supported"] == ["jwk"]
        metadata = configuration["credential_metadata"]
        assert [c["path"] for c in metadata["claims"]] == [c["path"] for c in document["claims"]]
        assert [(d["locale"], d["name"]) for d in metadata["display"]] == [
            (d["locale"], d["name"]) for d in document["display"]
        ]
