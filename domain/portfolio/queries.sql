-- name: valid_credentials_of_person
-- The valid credentials of every learner record the person claimed, at every provider: issued, not
-- suspended, not expired, no signature withdrawn; oldest first.
SELECT c.id, c.kind, c.learner_id, c.provider_id, c.design_id, c.unit_key, c.payload, c.issued_at
FROM credentials c
JOIN learners l ON l.id = c.learner_id
WHERE l.person_id = $1 AND c.state = 'issued' AND NOT c.suspended
  AND (c.valid_until IS NULL OR c.valid_until > now())
  AND NOT EXISTS (SELECT 1 FROM credential_signatures s WHERE s.credential_id = c.id AND s.withdrawn_at IS NOT NULL)
ORDER BY c.issued_at, c.id;

-- name: foreign_of_person
SELECT id, form, body, digest, credential_uri, issuer, document, verification, verified, checked_at, version,
       created_at
FROM foreign_credentials
WHERE person_id = $1
ORDER BY created_at, id;

-- name: insert_foreign
-- The stored copy: a new row, or (same person, same bytes) the existing one, with is_new saying which.
WITH inserted AS (
    INSERT INTO foreign_credentials (person_id, form, body, digest, credential_uri, issuer, document, verification,
                                     verified, checked_at, added_by_client)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
    ON CONFLICT (person_id, digest) DO NOTHING
    RETURNING *, true AS is_new
)
SELECT * FROM inserted
UNION ALL
SELECT f.*, false AS is_new FROM foreign_credentials f
WHERE f.person_id = $1 AND f.digest = $4 AND NOT EXISTS (SELECT 1 FROM inserted);

-- name: foreign_of_person_by_id
SELECT * FROM foreign_credentials WHERE person_id = $1 AND id = $2;

-- name: update_verification
UPDATE foreign_credentials
SET verification = $2, verified = $3, checked_at = $4, version = version + 1, updated_at = now()
WHERE id = $1
RETURNING *;

-- name: delete_foreign
DELETE FROM foreign_credentials WHERE person_id = $1 AND id = $2 RETURNING id;
