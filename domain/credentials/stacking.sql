-- The holder of a learner record is the person who claimed it (all of their learner records, at every
-- provider, count together), or the record alone while nobody has claimed it.

-- name: holder_records
-- The learner records that count with $1: itself, and every other record its person claimed.
SELECT o.id
FROM learners l
JOIN learners o ON o.id = l.id OR (l.person_id IS NOT NULL AND o.person_id = l.person_id)
WHERE l.id = $1;

-- name: holder_person
SELECT person_id FROM learners WHERE id = $1;

-- name: valid_unit_credentials_of_records
-- The valid unit credentials of these learner records, with the content of their programme version.
SELECT c.id, c.design_id, c.unit_key, c.version_id, v.content
FROM credentials c JOIN design_versions v ON v.id = c.version_id
WHERE c.learner_id = ANY($1::uuid[]) AND c.kind = 'unit' AND c.state = 'issued' AND NOT c.suspended
  AND (c.valid_until IS NULL OR c.valid_until > now())
  AND NOT EXISTS (SELECT 1 FROM credential_signatures s WHERE s.credential_id = c.id AND s.withdrawn_at IS NOT NULL)
ORDER BY c.created_at, c.id;

-- name: lock_holder_qualification
-- Held to the end of the transaction: two unit credentials of one holder (from two providers, in two
-- workers) decide a qualification one after the other.
SELECT pg_advisory_xact_lock(hashtextextended('qualification:' || $1::text || ':' || $2::uuid, 0));

-- name: live_qualification_of_records
-- A qualification credential one of these learner records already holds for this qualification.
SELECT id FROM credentials
WHERE learner_id = ANY($1::uuid[]) AND kind = 'qualification' AND design_id = $2
  AND state IN ('held', 'awaiting_cosignature', 'issued')
LIMIT 1;

-- name: unit_designs_of_records
-- The programmes of which these learner records hold a valid unit credential.
SELECT DISTINCT c.design_id
FROM credentials c
WHERE c.learner_id = ANY($1::uuid[]) AND c.kind = 'unit' AND c.state = 'issued' AND NOT c.suspended;
