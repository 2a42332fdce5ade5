"""The credential issuer's metadata (OID4VCI 1.0 §12.2): where the endpoints are, and one credential
configuration per format a wallet may ask for.

Every configuration describes the same credential, the learner's Open Badges 3.0 ``AchievementCredential``:
``jwt_vc_json`` the VC-JWT signed by the awarding body, ``ldp_vc`` the JSON with its Data Integrity proofs (the
awarding body's and the co-signing chamber's), ``dc+sd-jwt`` an IETF SD-JWT VC with selectively disclosable
claims. Its ``scope`` is what a wallet asks for in the authorization code grant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.credentials.document import GUILDHALL_CONTEXT_PATH, OB_CONTEXT, VC_CONTEXT

JWT_VC_JSON = "open_badge_jwt_vc_json"
LDP_VC = "open_badge_ldp_vc"
SD_JWT = "achievement_dc_sd_jwt"
CREDENTIAL_TYPES = ["VerifiableCredential", "OpenBadgeCredential", "AchievementCredential"]
PROOF_TYPE = "openid4vci-proof+jwt"
PROOF_ALGORITHMS = ["ES256", "EdDSA"]
NONCE_LIFETIME = 300  # seconds a c_nonce may be used in, once
PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
LOGO_PATH = "/oid4vci/logo.svg"

# Display texts per language (BCP 47), in the languages Guildhall's programmes are most written in.
ISSUER_NAMES = {"en": "Guildhall", "de": "Guildhall", "da": "Guildhall"}
_FORM_NAMES = {
    JWT_VC_JSON: {
        "en": "Micro-credential (Open Badges 3.0, VC-JWT)",
        "de": "Micro-Credential (Open Badges 3.0, VC-JWT)",
        "da": "Mikrobevis (Open Badges 3.0, VC-JWT)",
    },
    LDP_VC: {
        "en": "Micro-credential (Open Badges 3.0, with the chamber's co-signature)",
        "de": "Micro-Credential (Open Badges 3.0, mit der Mitzeichnung der Kammer)",
        "da": "Mikrobevis (Open Badges 3.0, med kammerets medunderskrift)",
    },
    SD_JWT: {
        "en": "Micro-credential (SD-JWT VC, disclose only what you choose)",
        "de": "Micro-Credential (SD-JWT VC, nur das Gewählte offenlegen)",
        "da": "Mikrobevis (SD-JWT VC, vis kun det du vælger)",
    },
}
_LOGO_ALT = {"en": "Guildhall logo", "de": "Guildhall-Logo", "da": "Guildhalls logo"}


@dataclass(frozen=True)
class Configuration:
    id: str
    format: str


CONFIGURATIONS = {
    JWT_VC_JSON: Configuration(JWT_VC_JSON, "jwt_vc_json"),
    LDP_VC: Configuration(LDP_VC, "ldp_vc"),
    SD_JWT: Configuration(SD_JWT, "dc+sd-jwt"),
}


def sd_jwt_vct(issuer: str) -> str:
    """The ``vct`` of the SD-JWT VC configuration: the type every achievement's own type extends."""
    return f"{issuer}/vct/achievement"


def _display(issuer: str, names: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {"name": name, "locale": locale, "logo": {"uri": issuer + LOGO_PATH, "alt_text": _LOGO_ALT[locale]}}
        for locale, name in names.items()
    ]


def _common(issuer: str, configuration_id: str) -> dict[str, Any]:
    return {
        "scope": configuration_id,
        "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": PROOF_ALGORITHMS}},
        "credential_metadata": {"display": _display(issuer, _FORM_NAMES[configuration_id])},
    }


def configurations(issuer: str) -> dict[str, dict[str, Any]]:
    w3c_context = [VC_CONTEXT, OB_CONTEXT, issuer + GUILDHALL_CONTEXT_PATH]
    return {
        JWT_VC_JSON: {
            "format": "jwt_vc_json",
            **_common(issuer, JWT_VC_JSON),
            "cryptographic_binding_methods_supported": ["did:jwk", "did:key"],
            "credential_signing_alg_values_supported": ["EdDSA", "Ed25519", "ES256", "RS256"],
            "credential_definition": {"type": CREDENTIAL_TYPES},
        },
        LDP_VC: {
            "format": "ldp_vc",
            **_common(issuer, LDP_VC),
            "cryptographic_binding_methods_supported": ["did:jwk", "did:key"],
            "credential_signing_alg_values_supported": ["eddsa-rdfc-2022", "ecdsa-rdfc-2019"],
            "credential_definition": {"@context": w3c_context, "type": CREDENTIAL_TYPES},
        },
        SD_JWT: {
            "format": "dc+sd-jwt",
            **_common(issuer, SD_JWT),
            "vct": sd_jwt_vct(issuer),
            "cryptographic_binding_methods_supported": ["jwk"],
            "credential_signing_alg_values_supported": ["EdDSA", "Ed25519", "ES256", "RS256"],
        },
    }


def issuer_metadata(issuer: str) -> dict[str, Any]:
    """``/.well-known/openid-credential-issuer``: this server is both the credential issuer and its
    authorization server."""
    return {
        "credential_issuer": issuer,
        "authorization_servers": [issuer],
        "credential_endpoint": f"{issuer}/oid4vci/credential",
        "nonce_endpoint": f"{issuer}/oid4vci/nonce",
        "display": _display(issuer, ISSUER_NAMES),
        "credential_configurations_supported": configurations(issuer),
    }
