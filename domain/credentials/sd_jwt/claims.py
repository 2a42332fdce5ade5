"""What an SD-JWT VC of a Guildhall credential shows in the clear, and what its holder chooses to disclose.

Taken from the credential as signed (its Open Badges 3.0 JSON), so every form says the same; the date of
birth, which the W3C forms do not carry, comes from the learner's record. Top-level names are snake_case
(as SD-JWT VC and OpenID Connect claims are: ``name``, ``birthdate``); the Open Badges objects inside keep
their own names.

Always disclosed (a presentation that discloses nothing still proves these):

* ``achievement``: the Open Badges ``Achievement`` (title, description, criteria, learning outcomes, EQF
  level, workload, type of assessment, form of participation, quality assurance, ESCO alignments);
* ``awarding_body``: the issuer's profile (did:web id, name, country and region, registrations,
  accreditations); ``assessing_provider`` when another provider assessed; ``cosigner`` (id and name) when a
  chamber co-signed — the credential is handed out only once it has every signature;
* ``awarded_date``, ``credits_earned`` and ``supervision`` (how the assessment was supervised: a property
  of the assessment, as the EU Annex I lists it, not of the person).

Selectively disclosable, each its own disclosure:

* ``name`` and ``birthdate`` (ISO 8601 date; absent when the provider recorded none);
* ``results``, and inside it each result (nested: disclosing ``results`` reveals how many there are, each
  element still hidden until disclosed too); ``assessed_on`` (when the assessment ended);
* ``evidence``, and inside it each item (nested the same way);
* ``credential_id`` (``urn:uuid:…``): it names the W3C credential, whose public page shows the learner's
  name, so it is the holder's to reveal.

A credential without some of these (no recorded date of birth, no evidence, a programme credential with no
results of its own) lacks their digests; decoys make up the number (``issuance``), so the count of hidden
claims says nothing about which are missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from domain.credentials.sd_jwt.disclosures import Disclosable

Json = dict[str, Any]

ALWAYS_DISCLOSED = ("achievement", "awarding_body", "assessing_provider", "cosigner", "awarded_date",
                    "credits_earned", "supervision")  # fmt: skip
SELECTIVELY_DISCLOSABLE = ("name", "birthdate", "results", "assessed_on", "evidence", "credential_id")


def _subject(credential: Mapping[str, Any]) -> Mapping[str, Any]:
    subject = credential.get("credentialSubject")
    if isinstance(subject, list):
        subject = subject[0] if subject else {}
    return subject if isinstance(subject, Mapping) else {}


def learner_name(credential: Mapping[str, Any]) -> str | None:
    """The learner's name as the credential names them (the ``IdentityObject`` of type ``name``)."""
    for identifier in _subject(credential).get("identifier", []):
        if isinstance(identifier, Mapping) and identifier.get("identityType") == "name":
            value = identifier.get("identityHash")
            return value if isinstance(value, str) else None
    return None


def _disclosable_items(items: Any) -> Disclosable | None:
    if not isinstance(items, list) or not items:
        return None
    return Disclosable([Disclosable(item) for item in items])


def vc_claims(
    credential: Mapping[str, Any],
    *,
    birthdate: date | None,
    cosigner: Mapping[str, Any] | None = None,
) -> Json:
    """The claims (with ``Disclosable`` markers) of the SD-JWT VC of ``credential``, less the JWT's own
    (``iss``, ``iat``, ``nbf``, ``exp``, ``vct``, ``cnf``, ``status``)."""
    subject = _subject(credential)
    claims: Json = {
        "achievement": subject.get("achievement"),
        "awarding_body": credential.get("issuer"),
        "assessing_provider": subject.get("source"),
        "cosigner": dict(cosigner) if cosigner else None,
        "awarded_date": credential.get("awardedDate") or credential.get("validFrom"),
        "credits_earned": subject.get("creditsEarned"),
        "supervision": subject.get("supervisionAndIdentityVerification"),
    }
    claims = {name: value for name, value in claims.items() if value is not None}
    name = learner_name(credential)
    if name is not None:
        claims["name"] = Disclosable(name)
    if birthdate is not None:
        claims["birthdate"] = Disclosable(birthdate.isoformat())
    results = _disclosable_items(subject.get("result"))
    if results is not None:
        claims["results"] = results
    if isinstance(subject.get("activityEndDate"), str):
        claims["assessed_on"] = Disclosable(subject["activityEndDate"])
    evidence = _disclosable_items(credential.get("evidence"))
    if evidence is not None:
        claims["evidence"] = evidence
    if isinstance(credential.get("id"), str):
        claims["credential_id"] = Disclosable(credential["id"])
    return claims
