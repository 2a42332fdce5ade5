-- Issuing organisations' keys live in signing_keys with purpose 'credential'. Its alg column holds
-- the JWS "alg" header the key signs with: for an Ed25519 key that is the issuer's choice of name,
-- "Ed25519" (RFC 9864) or "EdDSA" (RFC 8037), so no column of its own is needed.

-- name: lock_issuer
-- Held to the end of the transaction: concurrent creations or rotations of one organisation's keys
-- run one after the other, so there is never more than one current key.
SELECT pg_advisory_xact_lock(hashtext('signing_keys:credential:' || $1::uuid));

-- name: organisation_kind
SELECT kind FROM organisations WHERE id = $1;

-- name: current_key
SELECT kid, alg, private_key_ciphertext
FROM signing_keys
WHERE purpose = 'credential' AND organisation_id = $1 AND retired_at IS NULL
ORDER BY created_at DESC
LIMIT 1;

-- name: retire_current
UPDATE signing_keys
SET retired_at = now()
WHERE purpose = 'credential' AND organisation_id = $1 AND retired_at IS NULL
RETURNING kid, alg;

-- name: insert_key
INSERT INTO signing_keys (kid, purpose, organisation_id, alg, public_jwk, private_key_ciphertext)
VALUES ($1, 'credential', $2, $3, $4, $5)
RETURNING kid, alg, public_jwk, created_at, retired_at;

-- name: organisation_keys
-- One row with a NULL kid for an organisation without keys, none for an unknown organisation.
-- The current key first, then the retired ones, newest first.
SELECT k.kid, k.alg, k.public_jwk, k.created_at, k.retired_at
FROM organisations o
LEFT JOIN signing_keys k ON k.organisation_id = o.id AND k.purpose = 'credential'
WHERE o.id = $1
ORDER BY k.retired_at IS NOT NULL, k.created_at DESC;
