-- name: attempt_context
-- The enrolment, locked so that attempts at it are counted exactly by store_attempt; its version; the latest
-- standing attempt at the unit $4 (store_attempt checks it is still the latest); whether the assessor ($5) may
-- assess at this provider. The version's content only when the caller does not hold it ($6: the version whose
-- specifications it keeps; a published version never changes). Two forms, this one and
-- attempt_context_with_usage, rather than parameters that switch parts off: PostgreSQL then keeps one generic
-- plan of each instead of planning every execution anew.
SELECT e.version_id, e.unit_key AS enrolled_unit, v.design_id, v.number, v.status = 'published' AS published,
       CASE WHEN v.id IS DISTINCT FROM $6::uuid OR v.status <> 'published' THEN v.content END AS content,
       NULL::bigint AS attempts_used, latest.id AS latest_id, NULL::jsonb AS latest_submission,
       ($5::uuid IS NULL OR EXISTS (SELECT 1 FROM members m WHERE m.organisation_id = e.provider_id
                                    AND m.person_id = $5 AND m.roles && ARRAY['assessor', 'admin'])) AS assessor_ok
FROM enrolments e
JOIN design_versions v ON v.id = e.version_id
LEFT JOIN LATERAL (SELECT a.id FROM attempts a
                   WHERE a.learner_id = e.learner_id AND a.version_id = e.version_id AND a.unit_key = $4
                     AND NOT EXISTS (SELECT 1 FROM attempts c WHERE c.corrects_attempt_id = a.id)
                   ORDER BY a.created_at DESC, a.id DESC LIMIT 1) latest ON true
WHERE e.id = $1 AND e.provider_id = $2 AND e.learner_id = $3
FOR UPDATE OF e;

-- name: attempt_context_with_usage
-- attempt_context with the standing attempts at the unit (for a unit with a maximum, checked early; store_attempt
-- counts them again, exactly) and the latest standing attempt's submission (simulation runs accumulate).
SELECT e.version_id, e.unit_key AS enrolled_unit, v.design_id, v.number, v.status = 'published' AS published,
       CASE WHEN v.id IS DISTINCT FROM $6::uuid OR v.status <> 'published' THEN v.content END AS content,
       (SELECT count(*) FROM attempts a
        WHERE a.learner_id = e.learner_id AND a.version_id = e.version_id AND a.unit_key = $4
          AND a.corrects_attempt_id IS NULL) AS attempts_used,
       latest.id AS latest_id, latest.submission AS latest_submission,
       ($5::uuid IS NULL OR EXISTS (SELECT 1 FROM members m WHERE m.organisation_id = e.provider_id
                                    AND m.person_id = $5 AND m.roles && ARRAY['assessor', 'admin'])) AS assessor_ok
FROM enrolments e
JOIN design_versions v ON v.id = e.version_id
LEFT JOIN LATERAL (SELECT a.id, a.submission FROM attempts a
                   WHERE a.learner_id = e.learner_id AND a.version_id = e.version_id AND a.unit_key = $4
                     AND NOT EXISTS (SELECT 1 FROM attempts c WHERE c.corrects_attempt_id = a.id)
                   ORDER BY a.created_at DESC, a.id DESC LIMIT 1) latest ON true
WHERE e.id = $1 AND e.provider_id = $2 AND e.learner_id = $3
FOR UPDATE OF e;

-- name: store_attempt
-- The attempt, its two outbox events (attempt.recorded, then $25) and its audit entry ($27: the action, or none),
-- by the function store_attempt (migrations/20261124000015_store_attempt_function.sql says what it checks and
-- returns). $31 false: attempt_context locked the enrolment in this transaction, and the function's later
-- snapshot sees every attempt at the unit committed before — attempt_context's own snapshot, taken before it
-- waited for the lock, may not have: the latest standing attempt must still be $24, or nothing is written,
-- fresh is false, and the caller reads the context again and decides anew. $31 true: the function locks and
-- checks the enrolment itself (record_known: one round trip). The standing attempts are counted there, exactly,
-- for the attempt's number and the maximum ($23; a correction, $16, keeps the number $7 and has no maximum).
SELECT known, fresh, within_limit, used, id, attempt_number, created_at, event_ids
FROM store_attempt($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
                   $22, $23, $24, $25, $26, $27, $28, $29, $30, $31);

-- name: select_attempts
SELECT a.id, a.provider_id, a.learner_id, a.enrolment_id, v.design_id AS programme_id, v.number AS version_number,
       a.unit_key, a.attempt_number, a.assessor_person_id, a.assessed_at, a.place, a.supervision, a.submission,
       a.evidence, a.decision, a.passed, a.corrects_attempt_id, a.correction_reason,
       (SELECT c.id FROM attempts c WHERE c.corrects_attempt_id = a.id) AS corrected_by, a.source, a.created_at
FROM attempts a JOIN design_versions v ON v.id = a.version_id
WHERE ($1::uuid IS NULL OR a.provider_id = $1)
  AND ($2::uuid IS NULL OR a.id = $2)
  AND ($3::uuid IS NULL OR a.learner_id = $3)
  AND ($4::uuid IS NULL OR v.design_id = $4)
  AND ($5::timestamptz IS NULL OR (a.created_at, a.id) > ($5, $6::uuid))
ORDER BY a.created_at, a.id
LIMIT $7;

-- name: attempt_by_dedupe_key
SELECT id FROM attempts WHERE provider_id = $1 AND dedupe_key = $2;

-- name: lock_attempt
SELECT id, enrolment_id, learner_id, unit_key, attempt_number, assessed_at, supervision, evidence, place,
       assessor_person_id,
       EXISTS (SELECT 1 FROM attempts c WHERE c.corrects_attempt_id = a.id) AS corrected
FROM attempts a WHERE a.id = $1 AND a.provider_id = $2;

-- name: record_attempt_at_once
-- The short way in one round trip (migrations 20261207060000, 20261208000000, 20261211000000): the token's check,
-- the key's lookup, the enrolment's lock and checks, then the attempt, its events, its audit entry and the key's
-- answer.
SELECT * FROM record_attempt_at_once($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                                     $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31);

-- name: record_attempts_at_once
-- Several attempts in one call (migration 20261213000000, domain/attempts/batching.py): one JSON array of arrays,
-- each record_attempt_at_once's parameters but $18 to $20 and $30, encoded in one go by the jsonb codec; one row
-- per attempt, in the order given.
SELECT * FROM record_attempts_at_once($1::jsonb);
