-- name: insert_learner
INSERT INTO learners (provider_id, name, date_of_birth, email, email_salt, preferred_language, email_canonical)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING id;

-- name: insert_identifiers
INSERT INTO learner_identifiers (learner_id, provider_id, scheme, value)
SELECT $1, $2, i.scheme, i.value FROM unnest($3::text[], $4::text[]) AS i (scheme, value);

-- name: delete_identifiers
DELETE FROM learner_identifiers WHERE learner_id = $1;

-- name: select_learners
SELECT l.id, l.provider_id, l.name, l.date_of_birth, l.email, l.preferred_language, l.version, l.created_at,
       l.updated_at,
       coalesce((SELECT jsonb_agg(jsonb_build_object('scheme', i.scheme, 'value', i.value) ORDER BY i.scheme, i.value)
                 FROM learner_identifiers i WHERE i.learner_id = l.id), '[]'::jsonb) AS identifiers
FROM learners l
WHERE l.provider_id = $1
  AND ($2::uuid IS NULL OR l.id = $2)
  AND ($3::timestamptz IS NULL OR (l.created_at, l.id) > ($3, $4::uuid))
  AND ($5::text IS NULL OR EXISTS (SELECT 1 FROM learner_identifiers i
                                   WHERE i.learner_id = l.id AND i.scheme = $5 AND i.value = $6))
ORDER BY l.created_at, l.id
LIMIT $7;

-- name: update_learner
UPDATE learners
SET name = $3, email = $4, date_of_birth = $5, preferred_language = $6, email_canonical = $7,
    version = version + 1, updated_at = now()
WHERE id = $1 AND version = $2
RETURNING id;

-- name: learner_version
SELECT version FROM learners WHERE id = $1;

-- name: enrolment_target
-- The published version to enrol in (a given number, or the latest) and whether the provider delivers it.
SELECT v.id AS version_id, v.number, v.content,
       ((v.content -> 'providerIds') ? $3::text
        OR EXISTS (SELECT 1 FROM design_coauthors c WHERE c.design_id = v.design_id AND c.organisation_id = $3::uuid))
       AS delivers
FROM design_versions v JOIN designs d ON d.id = v.design_id AND d.kind = 'programme'
WHERE v.design_id = $1 AND v.status = 'published' AND ($2::int IS NULL OR v.number = $2)
ORDER BY v.number DESC
LIMIT 1;

-- name: insert_enrolment
INSERT INTO enrolments (provider_id, learner_id, version_id, unit_key)
VALUES ($1, $2, $3, $4)
ON CONFLICT DO NOTHING
RETURNING id;

-- name: select_enrolments
SELECT e.id, e.provider_id, e.learner_id, v.design_id AS programme_id, v.number AS version_number, e.version_id,
       e.unit_key, e.enrolled_at
FROM enrolments e JOIN design_versions v ON v.id = e.version_id
WHERE e.provider_id = $1 AND ($2::uuid IS NULL OR e.learner_id = $2) AND ($3::uuid IS NULL OR e.id = $3)
  AND ($4::timestamptz IS NULL OR (e.enrolled_at, e.id) > ($4, $5::uuid))
ORDER BY e.enrolled_at, e.id
LIMIT $6;

-- name: learner_erased
SELECT erased_at IS NOT NULL FROM learners WHERE id = $1;
