"""The errors of the OpenID4VCI protocol endpoints, with the spec's error codes.

Wallets read ``{"error": ..., "error_description": ...}`` (OID4VCI 1.0 §8.3.1.2, RFC 6749 §5.2), so these
endpoints answer in that form; the RFC 9457 members every Guildhall error has are added beside them.
"""

from __future__ import annotations

from typing import ClassVar


class Oid4vciError(Exception):
    """An error the wallet is told about by its code; ``status`` is the HTTP status that carries it."""

    error: ClassVar[str] = "invalid_request"
    status: ClassVar[int] = 400
    title: ClassVar[str] = "Invalid request"

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class InvalidRequest(Oid4vciError):
    error, title = "invalid_request", "Invalid request"


class InvalidGrant(Oid4vciError):
    error, title = "invalid_grant", "Invalid grant"


class InvalidClient(Oid4vciError):
    error, status, title = "invalid_client", 401, "Invalid client"


class InvalidToken(Oid4vciError):
    error, status, title = "invalid_token", 401, "Invalid access token"


class InvalidCredentialRequest(Oid4vciError):
    error, title = "invalid_credential_request", "Invalid credential request"


class UnknownCredentialConfiguration(Oid4vciError):
    error, title = "unknown_credential_configuration", "Unknown credential configuration"


class UnknownCredentialIdentifier(Oid4vciError):
    error, title = "unknown_credential_identifier", "Unknown credential identifier"


class InvalidProof(Oid4vciError):
    error, title = "invalid_proof", "Invalid proof"


class InvalidNonce(Oid4vciError):
    error, title = "invalid_nonce", "Invalid nonce"


class CredentialRequestDenied(Oid4vciError):
    error, title = "credential_request_denied", "Credential request denied"
