"""The credential issuer's metadata (OID4VCI 1.0 §12.2): where the endpoints are, and one credential
configuration per format a wallet may ask for.

Every configuration describes the same credential, the learner's Open Badges 3.0 ``AchievementCredential``:
``jwt_vc_json`` the VC-JWT signed by the awarding body, ``ldp_vc`` the JSON with its Data Integrity proofs (the
awarding body's and the co-signing chamber's), ``dc+sd-jwt`` an IETF SD-JWT VC with selectively disclosable
claims. An SD-JWT VC's type is its ``vct``, one per achievement type (unit, programme, qualification), so that
format has one configuration per type, each naming its vct. A configuration's ``scope`` is what a wallet asks
for in the authorization code grant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.credentials.document import GUILDHALL_CONTEXT_PATH, OB_CONTEXT, VC_CONTEXT
from domain.credentials.sd_jwt import type_metadata
from domain.credentials.sd_jwt.type_metadata import KINDS, Kind

JWT_VC_JSON = "open_badge_jwt_vc_json"
LDP_VC = "open_badge_ldp_vc"
# An SD-JWT VC's type is its vct, one per achievement type: one dc+sd-jwt configuration per type.
SD_JWT_BY_KIND: dict[Kind, str] = {kind: f"{kind}_dc_sd_jwt" for kind in KINDS}
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
}
_LOGO_ALT = {"en": "Guildhall logo", "de": "Guildhall-Logo", "da": "Guildhalls logo"}


@dataclass(frozen=True)
class Configuration:
    id: str
    format: str
    kind: Kind | None = None  # the achievement type it is limited to (an SD-JWT VC's vct), if any


CONFIGURATIONS = {
    JWT_VC_JSON: Configuration(JWT_VC_JSON, "jwt_vc_json"),
    LDP_VC: Configuration(LDP_VC, "ldp_vc"),
    **{c: Configuration(c, "dc+sd-jwt", kind) for kind, c in SD_JWT_BY_KIND.items()},
}


def serves(configuration_id: str, kind: str) -> bool:
    """Whether a credential of this achievement type can be had in this configuration."""
    configuration = CONFIGURATIONS[configuration_id]
    return configuration.kind is None or configuration.kind == kind


def _display(issuer: str, names: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {"name": name, "locale": locale, "logo": {"uri": issuer + LOGO_PATH, "alt_text": _LOGO_ALT[locale]}}
        for locale, name in names.items()
    ]


def _common(issuer: str, configuration_id: str) -> dict[str, Any]:
    common: dict[str, Any] = {
        "scope": configuration_id,
        "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": PROOF_ALGORITHMS}},
    }
    if configuration_id in _FORM_NAMES:
        common["credential_metadata"] = {"display": _display(issuer, _FORM_NAMES[configuration_id])}
    return common


def _sd_jwt(issuer: str, kind: Kind, configuration_id: str) -> dict[str, Any]:
    """The SD-JWT VC's own part (vct, display and claim labels from its type metadata), with our scope, proof
    types and logo."""
    configuration = type_metadata.credential_configuration(issuer, kind)
    metadata = configuration["credential_metadata"]
    display = [
        {**entry, "logo": {"uri": issuer + LOGO_PATH, "alt_text": _LOGO_ALT.get(entry["locale"], "Guildhall")}}
        for entry in metadata["display"]
    ]
    common = _common(issuer, configuration_id)
    return {**configuration, **common, "credential_metadata": {**metadata, "display": display}}


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
        **{
            configuration_id: _sd_jwt(issuer, kind, configuration_id)
            for kind, configuration_id in SD_JWT_BY_KIND.items()
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
