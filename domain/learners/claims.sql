-- name: lock_learner
-- Locked, so that issuing and claiming for one learner take turns.
SELECT id, person_id FROM learners WHERE provider_id = $1 AND id = $2 FOR UPDATE;

-- name: revoke_live_codes
UPDATE learner_claim_codes SET revoked_at = now()
WHERE learner_id = $1 AND used_at IS NULL AND revoked_at IS NULL;

-- name: insert_code
INSERT INTO learner_claim_codes (code_hash, learner_id, provider_id, expires_at, created_by_client, created_by_person)
VALUES ($1, $2, $3, now() + make_interval(days => $4), $5, $6)
RETURNING created_at, expires_at;

-- name: code_learner
-- $1: the forms the code may be stored in (keyed, and the unkeyed hash of codes from before keyed hashes).
SELECT learner_id FROM learner_claim_codes WHERE code_hash = ANY($1::text[]);

-- name: learner_for_claim
-- Locked before the code, in the order issuing takes them, so that the two cannot deadlock.
SELECT id, name, person_id FROM learners WHERE id = $1 FOR UPDATE;

-- name: use_code
-- Atomic: of two claims with one code, one gets the row and the other nothing.
UPDATE learner_claim_codes SET used_at = now()
WHERE code_hash = ANY($1::text[]) AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now()
RETURNING provider_id;

-- name: person_by_email
SELECT id FROM persons WHERE email_canonical = $1;

-- name: insert_person
INSERT INTO persons (email, email_canonical, name, password_hash, self_registered) VALUES ($1, $4, $2, $3, true)
ON CONFLICT (email_canonical) DO NOTHING
RETURNING id;

-- name: link_learner
UPDATE learners SET person_id = $2, claimed_at = now()
WHERE id = $1 AND person_id IS NULL;

-- name: select_records
-- The learner records a person has claimed, at every provider.
SELECT l.id, l.provider_id, o.name AS provider_name, l.name, l.date_of_birth, l.email, l.claimed_at, l.created_at,
       coalesce((SELECT jsonb_agg(jsonb_build_object('scheme', i.scheme, 'value', i.value) ORDER BY i.scheme, i.value)
                 FROM learner_identifiers i WHERE i.learner_id = l.id), '[]'::jsonb) AS identifiers
FROM learners l JOIN organisations o ON o.id = l.provider_id
WHERE l.person_id = $1
  AND ($2::timestamptz IS NULL OR (l.created_at, l.id) > ($2, $3::uuid))
ORDER BY l.created_at, l.id
LIMIT $4;

-- name: select_attempts
-- The attempts of a person's learner records (the columns of attempts/queries.sql select_attempts).
SELECT a.id, a.provider_id, a.learner_id, a.enrolment_id, v.design_id AS programme_id, v.number AS version_number,
       a.unit_key, a.attempt_number, a.assessor_person_id, a.assessed_at, a.place, a.supervision, a.submission,
       a.evidence, a.decision, a.passed, a.corrects_attempt_id, a.correction_reason,
       (SELECT c.id FROM attempts c WHERE c.corrects_attempt_id = a.id) AS corrected_by, a.source, a.created_at
FROM attempts a
JOIN learners l ON l.id = a.learner_id AND l.person_id = $1
JOIN design_versions v ON v.id = a.version_id
WHERE ($2::uuid IS NULL OR a.learner_id = $2)
  AND ($3::timestamptz IS NULL OR (a.created_at, a.id) > ($3, $4::uuid))
ORDER BY a.created_at, a.id
LIMIT $5;
