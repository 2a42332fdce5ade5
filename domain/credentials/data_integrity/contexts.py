"""Every JSON-LD context a credential of ours names, served from here: nothing is fetched.

The standard contexts are vendored byte for byte (``vendored/``; the W3C VC 2.0 context from the W3C's
published copy, the others from the npm packages the Digital Bazaar / DCC verifiers ship). Guildhall's own
context (``/contexts/guildhall/v1``) is built from the server's public URL, since its term IRIs live there.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from domain.credentials.document import GUILDHALL_CONTEXT_PATH

Json = dict[str, Any]

VC_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
DATA_INTEGRITY_V2 = "https://w3id.org/security/data-integrity/v2"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"
DID_V1 = "https://www.w3.org/ns/did/v1"
BITSTRING_STATUS_V1 = "https://www.w3.org/ns/credentials/status/v1"
# What a Learner Credential Wallet's DIDAuth presentation names (VC 1.1 and its Ed25519Signature2020 suite).
VC_V1 = "https://www.w3.org/2018/credentials/v1"
ED25519_2020_V1 = "https://w3id.org/security/suites/ed25519-2020/v1"

_VENDORED = Path(__file__).resolve().parent / "vendored"
_FILES = {
    VC_V2: "credentials-v2.json",
    OB_V3: "ob-v3p0-3.0.3.json",
    DATA_INTEGRITY_V2: "data-integrity-v2.json",
    MULTIKEY_V1: "multikey-v1.json",
    DID_V1: "did-v1.json",
    BITSTRING_STATUS_V1: "bitstring-status-list-v1.json",
    VC_V1: "credentials-v1.json",
    ED25519_2020_V1: "ed25519-2020-v1.json",
}
# The W3C VC 2.0 context maps undefined terms to this vocabulary: a credential of ours never relies on it.
ISSUER_DEPENDENT = "https://www.w3.org/ns/credentials/issuer-dependent#"


class UnknownContext(ValueError):
    """A document names a context that is not held here (and none is ever fetched)."""


@cache
def standard(url: str) -> Json:
    name = _FILES.get(url)
    if name is None:
        raise UnknownContext(f"the JSON-LD context {url!r} is not one this server knows")
    document: Json = json.loads((_VENDORED / name).read_text(encoding="utf-8"))
    return document


def standard_urls() -> list[str]:
    return list(_FILES)


@cache
def guildhall_context(public_url: str) -> Json:
    """The JSON-LD context of Guildhall's terms: ELM's where it has one, else ``<context URL>#<term>``.

    Titles, languages, free-text notes and prerequisites use the properties ELM itself uses for them
    (``dc:title``, ``dc:language``, ``elm:additionalNote``, ``elm:entryRequirement``). ``digestSRI`` is the
    W3C VC 2.0 context's own definition, repeated so that this context never redefines a protected term.
    ``JwtProof2020`` is the proof type of the JSON form handed out before Data Integrity proofs. Three Open
    Badges 3.0 terms its context 3.0.3 does not define (``awardedDate``, ``inLanguage``, the schema validator
    type ``1EdTechJsonSchemaValidator2019``) get Open Badges' own vocabulary IRIs here, so that no term of a
    credential falls back to the VC 2.0 context's issuer-dependent ``@vocab`` (or is dropped by a processor
    whose VC 2.0 context has none). ``jti``, the JWT claim the VC-JWT's payload carries beside the credential,
    is defined for the same reason.
    """
    gh = f"{public_url}{GUILDHALL_CONTEXT_PATH}#"
    return {
        "@context": {
            "@version": 1.1,
            "@protected": True,
            "id": "@id",
            "type": "@type",
            "elm": "http://data.europa.eu/snb/model/elm/",
            "dc": "http://purl.org/dc/terms/",
            "gh": gh,
            # Open Badges 3.0 terms the published context-3.0.3.json lacks, defined exactly as the later copy
            # of that file does (what the Learner Credential Wallet's verifier loads), so that either copy
            # expands them the same and neither rejects this as a protected-term redefinition. That copy
            # types awardedDate "xsd:dateTime" without defining the prefix xsd (so the datatype IRI is
            # literally xsd:dateTime): this context defines no xsd prefix either, so both agree.
            "awardedDate": {
                "@id": "https://purl.imsglobal.org/spec/vc/ob/vocab.html#awardedDate",
                "@type": "xsd:dateTime",
            },
            "inLanguage": {"@id": "https://schema.org/inLanguage"},
            "1EdTechJsonSchemaValidator2019": (
                "https://purl.imsglobal.org/spec/vccs/v1p0/context.json#1EdTechJsonSchemaValidator2019"
            ),
            "learningOutcome": {"@id": "elm:learningOutcome", "@container": "@set"},
            "title": {"@id": "dc:title"},
            "relatedESCOSkill": {"@id": "elm:relatedESCOSkill", "@type": "@id", "@container": "@set"},
            "volumeOfLearning": {"@id": "elm:volumeOfLearning", "@type": "http://www.w3.org/2001/XMLSchema#duration"},
            "eqfLevel": {"@id": "elm:EQFLevel", "@type": "http://www.w3.org/2001/XMLSchema#integer"},
            "typeOfAssessment": {"@id": "gh:typeOfAssessment"},
            "formOfParticipation": {"@id": "elm:mode"},
            "qualityAssurance": {"@id": "gh:qualityAssurance"},
            "QualityAssurance": {"@id": "gh:QualityAssurance"},
            "category": {"@id": "gh:qualityAssuranceCategory"},
            "languages": {"@id": "dc:language", "@container": "@set"},
            "prerequisites": {"@id": "elm:entryRequirement"},
            "stackability": {"@id": "gh:stackability"},
            "furtherInformation": {"@id": "elm:additionalNote"},
            "supervisionAndIdentityVerification": {"@id": "elm:idVerification"},
            "Accreditation": {
                "@id": "elm:Accreditation",
                "@context": {
                    "@protected": True,
                    "accreditingBody": {"@id": "elm:accreditingAgent"},
                    "scope": {"@id": "gh:scope"},
                    "reference": {"@id": "gh:reference"},
                },
            },
            "accreditation": {"@id": "elm:accreditation", "@container": "@set"},
            "accreditingBody": {"@id": "elm:accreditingAgent"},
            "scope": {"@id": "gh:scope"},
            "reference": {"@id": "gh:reference"},
            "fileRef": {"@id": "gh:fileRef"},
            "digestSRI": {
                "@id": "https://www.w3.org/2018/credentials#digestSRI",
                "@type": "https://www.w3.org/2018/credentials#sriString",
            },
            "CoSignaturePolicy": {
                "@id": "gh:CoSignaturePolicy",
                "@context": {
                    "@protected": True,
                    "requiredSigner": {"@id": "gh:requiredSigner", "@type": "@id", "@container": "@set"},
                },
            },
            "requiredSigner": {"@id": "gh:requiredSigner", "@type": "@id", "@container": "@set"},
            "JwtProof2020": {
                "@id": "gh:JwtProof2020",
                "@context": {
                    "@protected": True,
                    "jwt": {"@id": "gh:jwt"},
                    # As the VC 2.0 context defines them for a DataIntegrityProof.
                    "created": {
                        "@id": "http://purl.org/dc/terms/created",
                        "@type": "http://www.w3.org/2001/XMLSchema#dateTime",
                    },
                    "proofPurpose": {
                        "@id": "https://w3id.org/security#proofPurpose",
                        "@type": "@vocab",
                        "@context": {
                            "@protected": True,
                            "assertionMethod": {
                                "@id": "https://w3id.org/security#assertionMethod",
                                "@type": "@id",
                                "@container": "@set",
                            },
                        },
                    },
                },
            },
            "jwt": {"@id": "gh:jwt"},
            # The one JWT registered claim of the Open Badges 3.0 JWT profile the VC 2.0 context leaves out (it
            # defines iss, sub, nbf, iat and exp): without it the VC-JWT's payload, read as JSON-LD, drops jti
            # (and safe-mode expansion refuses it). IANA's JWT claims registry, as the VC 2.0 context names nbf.
            "jti": {"@id": "https://www.iana.org/assignments/jwt#jti", "@type": "@id"},
        }
    }


def guildhall_context_url(public_url: str) -> str:
    return public_url + GUILDHALL_CONTEXT_PATH


def load(url: str, public_url: str) -> Json:
    """The context document at ``url``; ``UnknownContext`` for any other."""
    if url == guildhall_context_url(public_url):
        return guildhall_context(public_url)
    return standard(url)


def all_documents(public_url: str) -> dict[str, Json]:
    """Every context this server knows, by URL (what an offline document loader serves)."""
    return {**{url: standard(url) for url in _FILES}, guildhall_context_url(public_url): guildhall_context(public_url)}
