"""The pre-authorized code grant of OpenID4VCI 1.0 (§6.1) at our token endpoint.

authlib's grants all authenticate a client; this one is for any wallet (anonymous access,
``pre-authorized_grant_anonymous_access_supported``), so it is handled beside authlib, not through it. The code
and the PIN (``tx_code``) redeem the offer once; the access token is an RFC 9068 JWT of the authorization
server's key, recorded on the offer and good at the credential endpoint only.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response

from api.auth import ACCESS_TOKEN_KEY_PURPOSE
from domain import keys
from domain.credentials.oid4vci import access_tokens, issuance, offers
from domain.credentials.oid4vci.errors import InvalidRequest, Oid4vciError


def _error(error: Oid4vciError) -> Response[dict[str, Any]]:
    body = {"error": error.error, "error_description": error.description}
    return Response(
        body, status_code=error.status, media_type="application/json", headers={"Cache-Control": "no-store"}
    )


async def token_response(request: Request[Any, Any, Any], form: dict[str, str]) -> Response[dict[str, Any]]:
    state = request.app.state
    settings = state.settings
    code = form.get("pre-authorized_code")
    if not code:
        return _error(InvalidRequest("the pre-authorized_code is missing"))
    async with state.db.connection() as conn:
        key = await keys.ensure_key(conn, settings.master_key, ACCESS_TOKEN_KEY_PURPOSE)
    jti, expires_at, claims = access_tokens.new_token_claims(
        settings.issuer, settings.access_token_ttl, form.get("client_id")
    )
    try:
        redemption = await offers.redeem_pre_authorized_code(
            state.db, code, form.get("tx_code"), master_key=settings.master_key, jti=jti, expires_at=expires_at
        )
    except Oid4vciError as error:
        return _error(error)
    body = {
        "access_token": access_tokens.sign_token(key, claims),
        "token_type": "Bearer",
        "expires_in": settings.access_token_ttl,
        "scope": access_tokens.CREDENTIAL_SCOPE,
        "authorization_details": issuance.authorization_details(redemption),
    }
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-store", "Pragma": "no-cache"})
