-- name: insert_nonce
WITH swept AS (
    DELETE FROM credential_nonces
    WHERE nonce_hash IN (SELECT nonce_hash FROM credential_nonces WHERE expires_at < now() LIMIT 100)
)
INSERT INTO credential_nonces (nonce_hash, expires_at) VALUES ($1, now() + make_interval(secs => $2));

-- name: consume_nonce
DELETE FROM credential_nonces WHERE nonce_hash = $1 AND expires_at > now() RETURNING nonce_hash;
