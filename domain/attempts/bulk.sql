-- name: insert_batch
-- The same upload (same fingerprint) twice is one batch: the second insert finds the first and does nothing.
INSERT INTO result_batches (provider_id, format, fingerprint, status, rows_total, payload, recorded_by_client,
                            recorded_by_person)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (provider_id, fingerprint) DO NOTHING
RETURNING id;

-- name: batch_by_fingerprint
SELECT id FROM result_batches WHERE provider_id = $1 AND fingerprint = $2;

-- name: select_batch
-- The outcomes only once the batch is finished: a poll while it runs stays small.
SELECT id, format, status, rows_total, rows_done, accepted, rejected, created_at, finished_at,
       CASE WHEN status IN ('done', 'failed') THEN rejections END AS outcomes
FROM result_batches
WHERE provider_id = $1 AND id = $2;

-- name: chunk_rows
-- The rows as JSON text: decoded straight into structs, without building Python dicts first.
SELECT provider_id, recorded_by_client, recorded_by_person, (payload -> $2::int)::text AS rows
FROM result_batches
WHERE id = $1;

-- name: chunk_context
-- Everything the chunk's rows need, in one round trip: the learners they name (by id or by identifier),
-- those learners' enrolments at this provider — locked, in id order, so that attempts are counted exactly
-- and two chunks never wait on each other in a cycle —, the content of each enrolled programme version,
-- and which of the named people may assess at this provider.
WITH named AS (
    SELECT NULL::text AS scheme, l.id::text AS value, l.id AS learner_id
    FROM learners l
    WHERE l.provider_id = $1 AND l.id = ANY($2::uuid[])
    UNION ALL
    SELECT i.scheme, i.value, i.learner_id
    FROM unnest($3::text[], $4::text[]) AS w (scheme, value)
    JOIN learner_identifiers i ON i.provider_id = $1 AND i.scheme = w.scheme AND i.value = w.value
),
locked AS (
    SELECT e.id, e.learner_id, e.version_id, e.unit_key, e.enrolled_at
    FROM enrolments e
    WHERE e.provider_id = $1 AND e.learner_id IN (SELECT learner_id FROM named)
    ORDER BY e.id
    FOR UPDATE
)
SELECT
    (SELECT coalesce(jsonb_agg(jsonb_build_array(n.scheme, n.value, n.learner_id)), '[]')
     FROM named n) AS learners,
    (SELECT coalesce(jsonb_agg(jsonb_build_array(e.id, e.learner_id, e.version_id, v.design_id, v.number, e.unit_key)
                               ORDER BY e.enrolled_at, e.id), '[]')
     FROM locked e JOIN design_versions v ON v.id = e.version_id) AS enrolments,
    (SELECT coalesce(jsonb_object_agg(v.id, v.content), '{}')
     FROM design_versions v WHERE v.id IN (SELECT version_id FROM locked)) AS contents,
    (SELECT coalesce(array_agg(m.person_id), '{}')
     FROM members m
     WHERE m.organisation_id = $1 AND m.person_id = ANY($5::uuid[])
       AND m.roles && ARRAY['assessor', 'admin']) AS assessors;

-- name: chunk_usage
-- Runs after chunk_context has locked the enrolments, so it sees every attempt committed before: the attempts
-- each learner has used per version and unit, the standing submission of the simulation units named in $2..$4,
-- and the attempts already recorded with the chunk's dedupe keys.
SELECT
    (SELECT coalesce(jsonb_agg(jsonb_build_array(a.learner_id, a.version_id, a.unit_key, a.n)), '[]')
     FROM (SELECT learner_id, version_id, unit_key, count(*) AS n
           FROM attempts
           WHERE learner_id = ANY($1::uuid[]) AND corrects_attempt_id IS NULL
           GROUP BY learner_id, version_id, unit_key) a) AS used,
    (SELECT coalesce(jsonb_agg(jsonb_build_array(s.learner_id, s.version_id, s.unit_key, s.submission)), '[]')
     FROM (SELECT DISTINCT ON (a.learner_id, a.version_id, a.unit_key)
                  a.learner_id, a.version_id, a.unit_key, a.submission
           FROM attempts a
           JOIN unnest($2::uuid[], $3::uuid[], $4::text[]) AS k (learner_id, version_id, unit_key)
             ON a.learner_id = k.learner_id AND a.version_id = k.version_id AND a.unit_key = k.unit_key
           WHERE NOT EXISTS (SELECT 1 FROM attempts c WHERE c.corrects_attempt_id = a.id)
           ORDER BY a.learner_id, a.version_id, a.unit_key, a.created_at DESC, a.id DESC) s) AS latest,
    (SELECT coalesce(jsonb_object_agg(a.dedupe_key, a.id), '{}')
     FROM attempts a
     WHERE a.provider_id = $5 AND a.dedupe_key = ANY($6::text[])) AS existing;

-- name: insert_attempts
-- One statement per chunk; a row another transaction recorded meanwhile (same dedupe key) is skipped.
INSERT INTO attempts (id, provider_id, learner_id, enrolment_id, version_id, unit_key, attempt_number,
                      assessor_person_id, assessed_at, place, supervision, submission, evidence, decision, passed,
                      source, batch_id, dedupe_key, recorded_by_client, recorded_by_person)
SELECT r.id, $1, r.learner_id, r.enrolment_id, r.version_id, r.unit_key, r.attempt_number, r.assessor_person_id,
       r.assessed_at, r.place, r.supervision, r.submission::jsonb, r.evidence::jsonb, r.decision::jsonb, r.passed,
       'bulk', $2, r.dedupe_key, $3, $4
FROM unnest($5::uuid[], $6::uuid[], $7::uuid[], $8::uuid[], $9::text[], $10::int[], $11::uuid[],
            $12::timestamptz[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::bool[],
            $19::text[])
     AS r (id, learner_id, enrolment_id, version_id, unit_key, attempt_number, assessor_person_id, assessed_at,
           place, supervision, submission, evidence, decision, passed, dedupe_key)
ON CONFLICT DO NOTHING
RETURNING id;

-- name: attempts_by_dedupe_key
SELECT dedupe_key, id FROM attempts WHERE provider_id = $1 AND dedupe_key = ANY($2::text[]);

-- name: insert_events
-- Many outbox events in one statement, in order.
INSERT INTO outbox (topic, organisation_id, subject, payload)
SELECT e.topic, $1, e.subject, e.payload::jsonb
FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS e (topic, subject, payload, n)
ORDER BY e.n
RETURNING id;

-- name: finish_chunk
-- Adds a chunk's counts and outcomes. The chunk that completes the batch marks it done — or failed, when some
-- chunk gave up — and drops the payload, which is kept only until every row is decided.
UPDATE result_batches
SET rows_done = rows_done + $2,
    accepted = accepted + $3,
    rejected = rejected + $4,
    rejections = rejections || $5::jsonb,
    status = CASE
        WHEN rows_done + $2 < rows_total THEN 'running'
        WHEN $6 OR rejections @> '[{"unprocessed": true}]' THEN 'failed'
        ELSE 'done' END,
    finished_at = CASE WHEN rows_done + $2 >= rows_total THEN now() END,
    payload = CASE WHEN rows_done + $2 >= rows_total THEN '[]'::jsonb ELSE payload END
WHERE id = $1
RETURNING status, rows_total, rows_done, accepted, rejected;
