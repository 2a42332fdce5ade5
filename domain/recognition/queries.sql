-- name: published_unit_programme
-- The latest published version of a programme, with who awards it.
SELECT r.version_id, r.design_id, coalesce(r.awarding_body_id, d.lead_organisation_id) AS awarding_body_id, v.content
FROM register_entries r
JOIN design_versions v ON v.id = r.version_id
JOIN designs d ON d.id = r.design_id
WHERE r.design_id = $1 AND r.kind = 'programme' AND r.is_latest;

-- name: insert_rule
INSERT INTO recognition_rules (organisation_id, design_id, unit_key, kind, achievement_ids, issuers, esco_skills,
                               min_eqf_level, min_hours, note)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
RETURNING *;

-- name: rules_of_organisation
SELECT * FROM recognition_rules
WHERE organisation_id = $1 AND withdrawn_at IS NULL
  AND ($2::timestamptz IS NULL OR (created_at, id) > ($2, $3::uuid))
ORDER BY created_at, id
LIMIT $4;

-- name: rule_of_organisation
SELECT * FROM recognition_rules WHERE organisation_id = $1 AND id = $2 AND withdrawn_at IS NULL;

-- name: withdraw_rule
UPDATE recognition_rules SET withdrawn_at = now(), version = version + 1
WHERE organisation_id = $1 AND id = $2 AND withdrawn_at IS NULL AND version = $3
RETURNING id;

-- name: rules_for_unit
SELECT * FROM recognition_rules
WHERE design_id = $1 AND unit_key = $2 AND organisation_id = $3 AND withdrawn_at IS NULL
ORDER BY created_at, id;

-- name: valid_credential_of_person
-- One of the person's valid credentials issued here (as the portfolio lists them).
SELECT c.id, c.kind, c.learner_id, c.provider_id, c.design_id, c.unit_key, c.payload, c.issued_at
FROM credentials c
JOIN learners l ON l.id = c.learner_id
WHERE c.id = $2 AND l.person_id = $1 AND c.state = 'issued' AND NOT c.suspended
  AND (c.valid_until IS NULL OR c.valid_until > now())
  AND NOT EXISTS (SELECT 1 FROM credential_signatures s WHERE s.credential_id = c.id AND s.withdrawn_at IS NOT NULL);

-- name: foreign_of_person
SELECT * FROM foreign_credentials WHERE person_id = $1 AND id = $2;

-- name: insert_request
INSERT INTO recognition_requests (person_id, awarding_body_id, design_id, version_id, unit_key, credentials, status,
                                  submitted_by_organisation, submitted_by_client)
VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8)
RETURNING *;

-- name: request_for_decision
SELECT * FROM recognition_requests WHERE id = $1 AND awarding_body_id = $2 FOR UPDATE;

-- name: request_of_organisation
SELECT * FROM recognition_requests WHERE id = $1 AND awarding_body_id = $2;

-- name: decide_request
UPDATE recognition_requests
SET status = $2, reasons = $3, rule_id = $4, attempt_id = $5, decided_by_person = $6, decided_by_client = $7,
    decided_at = now(), credentials = coalesce($8, credentials), version = version + 1
WHERE id = $1
RETURNING *;

-- name: requests_of_organisation
SELECT * FROM recognition_requests
WHERE awarding_body_id = $1 AND ($2::text IS NULL OR status = $2)
  AND ($3::timestamptz IS NULL OR (created_at, id) > ($3, $4::uuid))
ORDER BY created_at, id
LIMIT $5;

-- name: requests_of_person
SELECT * FROM recognition_requests
WHERE person_id = $1
  AND ($2::timestamptz IS NULL OR (created_at, id) > ($2, $3::uuid))
ORDER BY created_at, id
LIMIT $4;

-- name: person
SELECT id, name, email, email_canonical FROM persons WHERE id = $1;

-- name: learner_of_person_at
SELECT id FROM learners WHERE provider_id = $1 AND person_id = $2 AND erased_at IS NULL ORDER BY created_at LIMIT 1;

-- name: insert_linked_learner
INSERT INTO learners (provider_id, name, email, email_salt, email_canonical, person_id, claimed_at)
VALUES ($1, $2, $3, $4, $5, $6, now())
RETURNING id;

-- name: enrolment_of
SELECT id FROM enrolments WHERE learner_id = $1 AND version_id = $2 AND (unit_key IS NULL OR unit_key = $3)
ORDER BY enrolled_at LIMIT 1;

-- name: insert_enrolment
INSERT INTO enrolments (provider_id, learner_id, version_id, unit_key) VALUES ($1, $2, $3, $4) RETURNING id;

-- name: lock_enrolment
-- The lock every recording of an attempt at the enrolment takes before it numbers the attempt.
SELECT id FROM enrolments WHERE id = $1 FOR UPDATE;

-- name: insert_prior_learning_attempt
INSERT INTO attempts (provider_id, learner_id, enrolment_id, version_id, unit_key, attempt_number, assessor_person_id,
                      assessed_at, submission, evidence, decision, passed, source, recorded_by_client,
                      recorded_by_person)
VALUES ($1, $2, $3, $4, $5,
        (SELECT coalesce(max(attempt_number), 0) + 1 FROM attempts WHERE learner_id = $2 AND version_id = $4
                                                                     AND unit_key = $5),
        $6, now(), $7, $8, $9, true, 'prior_learning', $10, $11)
RETURNING id, attempt_number;

-- name: consent
SELECT EXISTS (SELECT 1 FROM recognition_consents WHERE person_id = $1 AND organisation_id = $2);

-- name: grant_consent
INSERT INTO recognition_consents (person_id, organisation_id) VALUES ($1, $2)
ON CONFLICT DO NOTHING;

-- name: withdraw_consent
DELETE FROM recognition_consents WHERE person_id = $1 AND organisation_id = $2 RETURNING organisation_id;

-- name: person_of_learner
SELECT person_id FROM learners WHERE id = $1 AND provider_id = $2 AND erased_at IS NULL;

-- name: organisation_exists
SELECT EXISTS (SELECT 1 FROM organisations WHERE id = $1);
