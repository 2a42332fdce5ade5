-- name: attempt_context
-- The enrolment (locked, so that attempt counting is exact), its version's content, the attempts used
-- for the unit and the latest standing submission (simulation runs accumulate over attempts).
SELECT e.id AS enrolment_id, e.version_id, e.unit_key AS enrolled_unit, v.design_id, v.number, v.content,
       (SELECT count(*) FROM attempts a
        WHERE a.learner_id = e.learner_id AND a.version_id = e.version_id AND a.unit_key = $4
          AND a.corrects_attempt_id IS NULL) AS attempts_used,
       (SELECT a.submission FROM attempts a
        WHERE a.learner_id = e.learner_id AND a.version_id = e.version_id AND a.unit_key = $4
          AND NOT EXISTS (SELECT 1 FROM attempts c WHERE c.corrects_attempt_id = a.id)
        ORDER BY a.created_at DESC, a.id DESC LIMIT 1) AS latest_submission,
       ($5::uuid IS NULL OR EXISTS (SELECT 1 FROM members m WHERE m.organisation_id = e.provider_id
                                    AND m.person_id = $5 AND m.roles && ARRAY['assessor', 'admin'])) AS assessor_ok
FROM enrolments e JOIN design_versions v ON v.id = e.version_id
WHERE e.id = $1 AND e.provider_id = $2 AND e.learner_id = $3
FOR UPDATE OF e;

-- name: insert_attempt
INSERT INTO attempts (provider_id, learner_id, enrolment_id, version_id, unit_key, attempt_number,
                      assessor_person_id, assessed_at, place, supervision, submission, evidence, decision, passed,
                      corrects_attempt_id, correction_reason, source, batch_id, dedupe_key, recorded_by_client,
                      recorded_by_person)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
ON CONFLICT DO NOTHING
RETURNING id, attempt_number, created_at;

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
