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

_VENDORED = Path(__file__).resolve().parent / "vendored"
_FILES = {
    VC_V2: "credentials-v2.json",
    OB_V3: "ob-v3p0-3.0.3.json",
    DATA_INTEGRITY_V2: "data-integrity-v2.json",
    MULTIKEY_V1: "multikey-v1.json",
    DID_V1: "did-v1.json",
    BITSTRING_STATUS_V1: "bitstring-status-list-v1.json",
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
    ``JwtProof2020`` is the proof type of the JSON form handed out before Data Integrity proofs.
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
            "xsd": "http://www.w3.org/2001/XMLSchema#",
            "gh": gh,
            "learningOutcome": {"@id": "elm:learningOutcome", "@container": "@set"},
            "title": {"@id": "dc:title"},
            "relatedESCOSkill": {"@id": "elm:relatedESCOSkill", "@type": "@id", "@container": "@set"},
            "volumeOfLearning": {"@id": "elm:volumeOfLearning", "@type": "xsd:duration"},
            "eqfLevel": {"@id": "elm:EQFLevel", "@type": "xsd:integer"},
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
                "@context": {"@protected": True, "jwt": {"@id": "gh:jwt"}},
            },
            "jwt": {"@id": "gh:jwt"},
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
