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
