-- name: kept_proofs
SELECT organisation_id, kid, proof FROM credential_proofs WHERE credential_id = $1;

-- name: keep_proof
INSERT INTO credential_proofs (credential_id, organisation_id, kid, proof)
VALUES ($1, $2, $3, $4)
ON CONFLICT DO NOTHING;

-- name: signing_keys
-- The keys that signed a credential, retired ones included (what they signed keeps its proofs).
SELECT kid, organisation_id, alg, private_key_ciphertext
FROM signing_keys
WHERE purpose = 'credential' AND kid = ANY($1::text[]);
