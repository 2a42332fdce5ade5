-- name: insert_authorization_code
INSERT INTO oauth_authorization_codes (code_hash, client_id, person_id, redirect_uri, scope, code_challenge,
                                       code_challenge_method, expires_at, amr, credential_offer_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, now() + make_interval(secs => $8), $9, $10);

-- name: lock_authorization_code
-- FOR UPDATE: two exchanges of one code are serialised, so the second sees it used.
SELECT code_hash, client_id, person_id, redirect_uri, scope, code_challenge, code_challenge_method, amr,
       credential_offer_id, expires_at <= now() AS expired, used_at IS NOT NULL AS used
FROM oauth_authorization_codes
WHERE code_hash = $1 AND client_id = $2
FOR UPDATE;

-- name: mark_authorization_code_used
UPDATE oauth_authorization_codes SET used_at = now() WHERE code_hash = $1;

-- name: insert_token
INSERT INTO oauth_tokens (jti, family_id, client_id, organisation_id, person_id, scope, expires_at,
                          refresh_token_hash, refresh_expires_at, amr)
VALUES ($1, $2, $3, $4, $5, $6, to_timestamp($7), $8,
        CASE WHEN $8::text IS NULL THEN NULL ELSE now() + make_interval(secs => $9) END, $10);

-- name: access_token
SELECT 'access_token' AS kind, t.jti, t.family_id, t.client_id, t.organisation_id, t.person_id, t.scope,
       t.issued_at, t.expires_at, t.expires_at <= now() AS expired,
       t.revoked_at IS NOT NULL OR c.disabled_at IS NOT NULL AS revoked, false AS used, t.amr
FROM oauth_tokens t
JOIN oauth_clients c USING (client_id)
WHERE t.jti = $1;

-- name: lock_refresh_token
-- FOR UPDATE: two presentations of one refresh token are serialised, so the second sees it used.
SELECT 'refresh_token' AS kind, t.jti, t.family_id, t.client_id, t.organisation_id, t.person_id, t.scope,
       t.issued_at, t.refresh_expires_at AS expires_at, t.refresh_expires_at <= now() AS expired,
       t.revoked_at IS NOT NULL OR c.disabled_at IS NOT NULL AS revoked, t.refresh_used_at IS NOT NULL AS used,
       t.amr
FROM oauth_tokens t
JOIN oauth_clients c USING (client_id)
WHERE t.refresh_token_hash = $1
FOR UPDATE OF t;

-- name: mark_refresh_token_used
UPDATE oauth_tokens SET refresh_used_at = now() WHERE jti = $1;

-- name: revoke_token
UPDATE oauth_tokens SET revoked_at = now() WHERE jti = $1 AND revoked_at IS NULL;

-- name: revoke_family
UPDATE oauth_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL;
