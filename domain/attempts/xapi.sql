-- name: received_statements
-- Statements of a request received before (by id, from any provider: ids are global in xAPI), with the
-- decision of the attempt each became.
SELECT s.id, s.provider_id, s.statement, s.attempt_id, s.problem, a.decision
FROM xapi_statements s LEFT JOIN attempts a ON a.id = s.attempt_id
WHERE s.id = ANY($1::uuid[]);

-- name: learner_by_id
SELECT id FROM learners WHERE provider_id = $1 AND id = $2;

-- name: learner_by_identifier
SELECT learner_id FROM learner_identifiers WHERE provider_id = $1 AND scheme = $2 AND value = $3;

-- name: learner_by_email
-- Uses learners_provider_email_canonical_key; $2 is the address in canonical form.
SELECT id FROM learners WHERE provider_id = $1 AND email_canonical = $2;

-- name: statement_enrolment
-- The learner's enrolment in the programme that covers the unit (the whole programme or that unit), in its
-- latest version, with that version's content (for the unit's specification).
SELECT e.id AS enrolment_id, v.content
FROM enrolments e JOIN design_versions v ON v.id = e.version_id
WHERE e.provider_id = $1 AND e.learner_id = $2 AND v.design_id = $3 AND (e.unit_key IS NULL OR e.unit_key = $4)
ORDER BY v.number DESC, e.unit_key NULLS LAST
LIMIT 1;

-- name: attempt_decision
SELECT decision FROM attempts WHERE id = $1;

-- name: store_statements
-- Keeps statements as received. A statement refused before (no attempt, a problem) and sent again is
-- overwritten with what became of it now; one that became an attempt is never touched again.
INSERT INTO xapi_statements (id, provider_id, client_id, statement, attempt_id, problem)
SELECT s.id, $1, $2, s.statement, s.attempt_id, s.problem
FROM unnest($3::uuid[], $4::jsonb[], $5::uuid[], $6::text[]) AS s (id, statement, attempt_id, problem)
ON CONFLICT (id) DO UPDATE
SET statement = excluded.statement, client_id = excluded.client_id, received_at = now(),
    attempt_id = excluded.attempt_id, problem = excluded.problem
WHERE xapi_statements.provider_id = excluded.provider_id AND xapi_statements.attempt_id IS NULL;
