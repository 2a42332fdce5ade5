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
-- The attempt, its two outbox events (attempt.recorded, then $25) and its audit entry ($27: the action, or none)
-- in one statement. attempt_context locked the enrolment, so this later statement sees every attempt at the unit
-- committed before — that statement's own snapshot, taken before it waited for the lock, may not have: the
-- latest standing attempt must still be the one it saw ($24), or nothing is written, fresh is false, and the
-- caller reads the context again and decides anew. The standing attempts are counted here, exactly, for the
-- attempt's number and the maximum ($23; a correction, $16, keeps the number $7 and has no maximum). A conflict
-- (the dedupe key, or an attempt already corrected) writes nothing and returns no id. created_at is the time of
-- this insert, under the lock, not the transaction's start: the attempts at an enrolment are ordered as they were
-- recorded, and the latest is the last one recorded.
WITH slot AS MATERIALIZED (
    SELECT (SELECT count(*) FROM attempts
            WHERE learner_id = $3 AND version_id = $5 AND unit_key = $6 AND corrects_attempt_id IS NULL) AS used,
           (SELECT a.id FROM attempts a
            WHERE a.learner_id = $3 AND a.version_id = $5 AND a.unit_key = $6
              AND NOT EXISTS (SELECT 1 FROM attempts c WHERE c.corrects_attempt_id = a.id)
            ORDER BY a.created_at DESC, a.id DESC LIMIT 1) AS latest
),
checked AS MATERIALIZED (
    SELECT used, $16::uuid IS NOT NULL OR $23::bigint IS NULL OR used < $23 AS within_limit,
           latest IS NOT DISTINCT FROM $24::uuid AS fresh
    FROM slot
),
a AS (
    INSERT INTO attempts (id, provider_id, learner_id, enrolment_id, version_id, unit_key, attempt_number,
                          assessor_person_id, assessed_at, place, supervision, submission, evidence, decision, passed,
                          corrects_attempt_id, correction_reason, source, batch_id, dedupe_key, recorded_by_client,
                          recorded_by_person, created_at)
    SELECT $1, $2, $3, $4, $5, $6, coalesce($7::int, used + 1), $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
           $18, $19, $20, $21, $22, clock_timestamp()
    FROM checked WHERE within_limit AND fresh
    ON CONFLICT DO NOTHING
    RETURNING id, attempt_number, created_at
),
events AS (
    INSERT INTO outbox (topic, organisation_id, subject, payload)
    SELECT t.topic, $2, $26, $28 FROM a, (VALUES (1, 'attempt.recorded'), (2, $25::text)) AS t (n, topic)
    ORDER BY t.n
    RETURNING id
),
audited AS (
    INSERT INTO audit_log (organisation_id, actor_person_id, actor_client_id, action, target_type, target_id,
                           request_id, details)
    SELECT $2, $22, $21, $27, 'attempt', a.id::text, $29, $30 FROM a WHERE $27::text IS NOT NULL
)
SELECT c.fresh, c.within_limit, c.used, a.id, a.attempt_number, a.created_at,
       (SELECT coalesce(array_agg(events.id ORDER BY events.id), '{}') FROM events) AS event_ids
FROM checked c LEFT JOIN a ON true;

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
