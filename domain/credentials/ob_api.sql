-- The live credentials of a person's claimed learner records: issued (suspended ones too: their status
-- list says so), with no signature withdrawn; optionally issued since $2. Issue times have one-second
-- precision, so "since" includes its own second: a wallet that passes the last issue time it saw misses
-- nothing issued in that second (it gets what it saw again, and knows the ids).

-- name: count_for_person
SELECT count(*)
FROM credentials c
JOIN learners l ON l.id = c.learner_id
WHERE l.person_id = $1 AND c.state = 'issued'
  AND NOT EXISTS (SELECT 1 FROM credential_signatures w WHERE w.credential_id = c.id AND w.withdrawn_at IS NOT NULL)
  AND ($2::timestamptz IS NULL OR c.issued_at >= $2);

-- name: page_for_person
-- Oldest issue first, so that a wallet's next sync (since = the last issue it saw) continues where it stopped.
SELECT c.id, c.payload, s.protected, s.signature, h.form AS hosted_form, h.body AS hosted_body
FROM credentials c
JOIN learners l ON l.id = c.learner_id
JOIN credential_signatures s ON s.credential_id = c.id AND s.role = 'issuer'
LEFT JOIN ob_hosted_credentials h ON h.credential_id = c.id AND h.person_id = l.person_id
WHERE l.person_id = $1 AND c.state = 'issued'
  AND NOT EXISTS (SELECT 1 FROM credential_signatures w WHERE w.credential_id = c.id AND w.withdrawn_at IS NOT NULL)
  AND ($2::timestamptz IS NULL OR c.issued_at >= $2)
ORDER BY c.issued_at, c.id
LIMIT $3 OFFSET $4;

-- name: credential_for_hosting
SELECT c.id, c.state, c.payload, l.person_id,
       EXISTS (SELECT 1 FROM credential_signatures w
               WHERE w.credential_id = c.id AND w.withdrawn_at IS NOT NULL) AS withdrawn
FROM credentials c
JOIN learners l ON l.id = c.learner_id
WHERE c.id = $1;

-- name: upsert_hosted
-- true when the copy is new, false when it replaced one.
INSERT INTO ob_hosted_credentials (credential_id, person_id, form, body, stored_by_client)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (credential_id) DO UPDATE
SET form = excluded.form, body = excluded.body, stored_by_client = excluded.stored_by_client,
    version = ob_hosted_credentials.version + 1, updated_at = now()
RETURNING xmax = 0;

-- name: profile
SELECT p.id, p.name, p.email, d.details
FROM persons p
LEFT JOIN person_profiles d ON d.person_id = p.id
WHERE p.id = $1;

-- name: lock_profile
SELECT p.id, p.name, p.email, d.details
FROM persons p
LEFT JOIN person_profiles d ON d.person_id = p.id
WHERE p.id = $1
FOR UPDATE OF p;

-- name: update_profile
WITH person AS (
    UPDATE persons SET name = $2 WHERE id = $1 RETURNING id, name, email
), details AS (
    INSERT INTO person_profiles (person_id, details) VALUES ($1, $3)
    ON CONFLICT (person_id) DO UPDATE SET details = excluded.details, updated_at = now()
    RETURNING details
)
SELECT person.id, person.name, person.email, details.details FROM person, details;
