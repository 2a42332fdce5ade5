-- name: insert_client
INSERT INTO oauth_clients (client_id, organisation_id, name, secret_hash, token_endpoint_auth_method,
                           grant_types, redirect_uris, scopes)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING client_id, organisation_id, name, token_endpoint_auth_method, grant_types, redirect_uris, scopes,
          version, created_at, disabled_at;

-- name: select_clients
SELECT client_id, organisation_id, name, token_endpoint_auth_method, grant_types, redirect_uris, scopes,
       version, created_at, disabled_at
FROM oauth_clients
WHERE organisation_id = $1
  AND ($2::timestamptz IS NULL OR (created_at, client_id) > ($2, $3::text))
  AND ($4::text IS NULL OR client_id = $4)
ORDER BY created_at, client_id
LIMIT $5;

-- name: select_client_for_auth
-- registered_client_uri: set for a client that registered itself (RFC 7591), which no organisation vouches for.
SELECT c.client_id, c.organisation_id, c.name, c.secret_hash, c.token_endpoint_auth_method, c.grant_types,
       c.redirect_uris, c.scopes, c.disabled_at, r.client_uri AS registered_client_uri
FROM oauth_clients c
LEFT JOIN oauth_client_registrations r USING (client_id)
WHERE c.client_id = $1;

-- name: disable_client
UPDATE oauth_clients SET disabled_at = now(), version = version + 1
WHERE client_id = $1 AND organisation_id = $2 AND disabled_at IS NULL
RETURNING client_id;

-- name: revoke_client_tokens
UPDATE oauth_tokens SET revoked_at = now() WHERE client_id = $1 AND revoked_at IS NULL;
