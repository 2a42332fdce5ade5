"""The ``vct`` of each achievement type and its SD-JWT VC Type Metadata (draft-ietf-oauth-sd-jwt-vc §6).

One type per Guildhall achievement type — a unit, a programme, a qualification — at an https URL that
Guildhall serves (``{public_url}/vct/{kind}``), which returns the Type Metadata document itself: names and
descriptions per language, simple rendering, and claim metadata whose ``sd`` flags say what
``claims.vc_claims`` does (``always`` selectively disclosable, ``never``). No ``vct#integrity`` in the
credentials: the document carries this server's URL and may gain a language, and a wallet library's
integrity check would then refuse every credential issued before.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

Kind = Literal["unit", "programme", "qualification"]
KINDS: tuple[Kind, ...] = get_args(Kind)
PATH = "/vct"

_TYPE_DISPLAY: dict[Kind, dict[str, tuple[str, str]]] = {
    "unit": {
        "en": ("Unit credential", "A unit of a vocational programme, assessed and passed"),
        "de": ("Nachweis einer Lerneinheit", "Eine bestandene und geprüfte Einheit eines beruflichen Programms"),
        "da": ("Enhedsbevis", "En bestået og bedømt enhed i et erhvervsrettet forløb"),
    },
    "programme": {
        "en": ("Programme credential", "A vocational programme (micro-credential) completed in full"),
        "de": ("Programmzertifikat", "Ein vollständig abgeschlossenes berufliches Programm (Micro-Credential)"),
        "da": ("Forløbsbevis", "Et fuldført erhvervsrettet forløb (mikrobevis)"),
    },
    "qualification": {
        "en": ("Qualification", "A qualification earned by stacking vocational credentials"),
        "de": ("Qualifikation", "Eine durch aufeinander aufbauende Nachweise erworbene Qualifikation"),
        "da": ("Kvalifikation", "En kvalifikation opnået ved at kombinere erhvervsbeviser"),
    },
}

# (path, sd, {language: label}) of each claim; ``None`` in a path stands for every array element.
_CLAIMS: list[tuple[list[str | None], str, dict[str, str]]] = [
    (["achievement"], "never", {"en": "Achievement", "de": "Leistung", "da": "Resultat"}),
    (["achievement", "name"], "never", {"en": "Title", "de": "Titel", "da": "Titel"}),
    (["achievement", "description"], "never", {"en": "Description", "de": "Beschreibung", "da": "Beskrivelse"}),
    (["awarding_body"], "never", {"en": "Awarding body", "de": "Vergebende Stelle", "da": "Udsteder"}),
    (["awarding_body", "name"], "never", {"en": "Awarding body", "de": "Vergebende Stelle", "da": "Udsteder"}),
    (["assessing_provider"], "never", {"en": "Assessed by", "de": "Geprüft von", "da": "Bedømt af"}),
    (["cosigner"], "never", {"en": "Co-signed by", "de": "Mitunterzeichnet von", "da": "Medunderskrevet af"}),
    (["cosigner", "name"], "never", {"en": "Co-signed by", "de": "Mitunterzeichnet von", "da": "Medunderskrevet af"}),
    (["awarded_date"], "never", {"en": "Awarded on", "de": "Vergeben am", "da": "Tildelt"}),
    (["credits_earned"], "never", {"en": "ECTS credits", "de": "ECTS-Punkte", "da": "ECTS-point"}),
    (["supervision"], "never", {"en": "Supervision", "de": "Aufsicht", "da": "Tilsyn"}),
    (["name"], "always", {"en": "Name", "de": "Name", "da": "Navn"}),
    (["birthdate"], "always", {"en": "Date of birth", "de": "Geburtsdatum", "da": "Fødselsdato"}),
    (["results"], "always", {"en": "Results", "de": "Ergebnisse", "da": "Resultater"}),
    (["results", None], "always", {"en": "Result", "de": "Ergebnis", "da": "Resultat"}),
    (["assessed_on"], "always", {"en": "Assessed on", "de": "Geprüft am", "da": "Bedømt"}),
    (["evidence"], "always", {"en": "Evidence", "de": "Nachweise", "da": "Dokumentation"}),
    (["evidence", None], "always", {"en": "Evidence", "de": "Nachweis", "da": "Dokumentation"}),
    (["credential_id"], "always", {"en": "Credential", "de": "Nachweis-ID", "da": "Bevis-id"}),
]

# Claims that are always disclosable, as paths: what tests compare with the issued disclosures.
SELECTIVE_PATHS = [tuple(path) for path, sd, _ in _CLAIMS if sd == "always"]


def vct(public_url: str, kind: Kind) -> str:
    return f"{public_url.rstrip('/')}{PATH}/{kind}"


def document(public_url: str, kind: Kind) -> dict[str, Any]:
    """The Type Metadata of ``kind``'s credentials."""
    display = _TYPE_DISPLAY[kind]
    return {
        "vct": vct(public_url, kind),
        "name": f"Guildhall {display['en'][0].lower()}",
        "description": display["en"][1] + " (Open Badges 3.0 achievement, as an SD-JWT VC)",
        "display": [
            {
                "locale": language,
                "name": name,
                "description": description,
                "rendering": {"simple": {"background_color": "#1f3a5f", "text_color": "#ffffff"}},
            }
            for language, (name, description) in display.items()
        ],
        "claims": [
            {
                "path": path,
                "sd": sd,
                "display": [{"locale": language, "label": label} for language, label in labels.items()],
            }
            for path, sd, labels in _CLAIMS
        ],
    }


# The JWS algorithms Guildhall's issuer keys sign with (``keys.JwsAlgorithm``), as OpenID4VCI names them.
SIGNING_ALGORITHMS = ["EdDSA", "Ed25519", "ES256", "RS256"]


def credential_configuration(public_url: str, kind: Kind) -> dict[str, Any]:
    """The format's part of an OpenID4VCI 1.0 ``credential_configurations_supported`` entry for ``kind``
    (the credential endpoint adds ``scope`` and ``proof_types_supported``): ``format``, ``vct``, holder
    binding by JWK, the signing algorithms, and ``credential_metadata`` with the type's display and its
    claims' labels, from the type metadata."""
    type_display = _TYPE_DISPLAY[kind]
    return {
        "format": "dc+sd-jwt",
        "vct": vct(public_url, kind),
        "cryptographic_binding_methods_supported": ["jwk"],
        "credential_signing_alg_values_supported": SIGNING_ALGORITHMS,
        "credential_metadata": {
            "display": [
                {
                    "name": name,
                    "locale": language,
                    "description": description,
                    "background_color": "#1f3a5f",
                    "text_color": "#ffffff",
                }
                for language, (name, description) in type_display.items()
            ],
            "claims": [
                {"path": path, "display": [{"name": label, "locale": language} for language, label in labels.items()]}
                for path, _, labels in _CLAIMS
            ],
        },
    }
