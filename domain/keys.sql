-- name: current_key
SELECT kid, alg, private_key_ciphertext
FROM signing_keys
WHERE purpose = $1 AND organisation_id IS NOT DISTINCT FROM $2 AND retired_at IS NULL
ORDER BY created_at DESC
LIMIT 1;

-- name: insert_key
INSERT INTO signing_keys (kid, purpose, organisation_id, alg, public_jwk, private_key_ciphertext)
VALUES ($1, $2, $3, $4, $5, $6);

-- name: public_keys
SELECT public_jwk
FROM signing_keys
WHERE purpose = $1 AND organisation_id IS NOT DISTINCT FROM $2
ORDER BY created_at DESC;
