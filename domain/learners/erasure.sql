-- name: person
SELECT id, email, name, self_registered, created_at, erased_at FROM persons WHERE id = $1;

-- name: lock_person
-- Locked first: of two erasure requests of one person, the second waits and then finds the first's work done.
SELECT id, erased_at FROM persons WHERE id = $1 FOR UPDATE;

-- name: memberships
SELECT organisation_id FROM members WHERE person_id = $1 ORDER BY organisation_id;

-- name: lock_learners
-- FOR UPDATE also holds back a concurrent insert of an attempt or credential for these records (its foreign
-- key check waits for the lock), so nothing slips in between the revocations and the commit.
SELECT id, provider_id FROM learners WHERE person_id = $1 ORDER BY id FOR UPDATE;

-- name: learner_ids
SELECT id FROM learners WHERE person_id = $1 ORDER BY created_at, id;

-- name: live_credentials
SELECT id FROM credentials WHERE learner_id = $1 AND state <> 'revoked' ORDER BY created_at, id;

-- name: attempts_to_redact
SELECT id, submission, evidence FROM attempts WHERE learner_id = $1 ORDER BY created_at, id;

-- name: erasure_mode
-- Transaction-local: lets the attempts trigger accept an update of submission and evidence alone.
SELECT set_config('guildhall.erasure', $1, true);

-- name: redact_attempt
UPDATE attempts SET submission = $2, evidence = $3 WHERE id = $1;

-- name: statements_of_attempts
SELECT id, statement FROM xapi_statements WHERE attempt_id = ANY($1::uuid[]);

-- name: redact_statement
UPDATE xapi_statements SET statement = $2 WHERE id = $1;

-- name: stored_answers_naming
-- Answers kept for Idempotency-Key retries that mention one of the learner records (a scan: erasures are rare).
SELECT scope, key, response FROM idempotency_keys
WHERE response IS NOT NULL
  AND EXISTS (SELECT 1 FROM unnest($1::text[]) AS l (id) WHERE strpos(response::text, l.id) > 0);

-- name: replace_stored_answer
UPDATE idempotency_keys SET response = $3 WHERE scope = $1 AND key = $2;

-- name: pseudonymise_learner
UPDATE learners
SET name = 'erased', email = NULL, email_canonical = NULL, date_of_birth = NULL, preferred_language = NULL,
    erased_at = now(), version = version + 1, updated_at = now()
WHERE id = $1;

-- name: delete_identifiers
DELETE FROM learner_identifiers WHERE learner_id = $1;

-- name: revoke_tokens
UPDATE oauth_tokens SET revoked_at = now() WHERE person_id = $1 AND revoked_at IS NULL;

-- name: delete_authorization_codes
DELETE FROM oauth_authorization_codes WHERE person_id = $1;

-- name: close_login
-- The login becomes a tombstone: no password (nobody can sign in), an address in the reserved .invalid
-- domain (the real one is free for a new login), no name.
UPDATE persons
SET email = 'erased-' || id || '@erased.invalid', email_canonical = 'erased-' || id || '@erased.invalid', name = 'erased', password_hash = NULL, erased_at = now()
WHERE id = $1
RETURNING erased_at;

-- name: revoked_on_erasure
SELECT c.id FROM credentials c JOIN learners l ON l.id = c.learner_id
WHERE l.person_id = $1 AND c.state = 'revoked' AND c.revocation_reason = $2
ORDER BY c.created_at, c.id;

-- name: attempt_count
SELECT count(*) FROM attempts a JOIN learners l ON l.id = a.learner_id WHERE l.person_id = $1;

-- name: records
SELECT l.id, l.provider_id, o.name AS provider_name, l.name, l.date_of_birth, l.email, l.claimed_at, l.created_at,
       coalesce((SELECT jsonb_agg(jsonb_build_object('scheme', i.scheme, 'value', i.value) ORDER BY i.scheme, i.value)
                 FROM learner_identifiers i WHERE i.learner_id = l.id), '[]'::jsonb) AS identifiers
FROM learners l JOIN organisations o ON o.id = l.provider_id
WHERE l.person_id = $1
ORDER BY l.created_at, l.id;

-- name: enrolments
SELECT e.id, e.provider_id, e.learner_id, v.design_id AS programme_id, v.number AS version_number, e.version_id,
       e.unit_key, e.enrolled_at
FROM enrolments e
JOIN learners l ON l.id = e.learner_id AND l.person_id = $1
JOIN design_versions v ON v.id = e.version_id
ORDER BY e.enrolled_at, e.id;

-- name: attempts
SELECT a.id, a.provider_id, a.learner_id, a.enrolment_id, v.design_id AS programme_id, v.number AS version_number,
       a.unit_key, a.attempt_number, a.assessor_person_id, a.assessed_at, a.place, a.supervision, a.submission,
       a.evidence, a.decision, a.passed, a.corrects_attempt_id, a.correction_reason,
       (SELECT c.id FROM attempts c WHERE c.corrects_attempt_id = a.id) AS corrected_by, a.source, a.created_at
FROM attempts a
JOIN learners l ON l.id = a.learner_id AND l.person_id = $1
JOIN design_versions v ON v.id = a.version_id
ORDER BY a.created_at, a.id;

-- name: authorisations
-- The apps that can act for the person now: live access tokens, or refresh tokens still usable.
SELECT t.client_id, c.name AS client_name, t.organisation_id, t.scope, t.issued_at, t.expires_at,
       t.refresh_expires_at
FROM oauth_tokens t JOIN oauth_clients c USING (client_id)
WHERE t.person_id = $1 AND t.revoked_at IS NULL AND c.disabled_at IS NULL
  AND (t.expires_at > now()
       OR (t.refresh_token_hash IS NOT NULL AND t.refresh_used_at IS NULL AND t.refresh_expires_at > now()))
ORDER BY t.issued_at, t.jti;

-- name: profile
SELECT details FROM person_profiles WHERE person_id = $1;

-- name: hosted_copies
-- Copies of their credentials a person's wallet stored here (Open Badges 3.0 API upsertCredential).
SELECT credential_id, form, body, stored_by_client, created_at, updated_at
FROM ob_hosted_credentials WHERE person_id = $1
ORDER BY created_at, credential_id;

-- name: delete_profile
DELETE FROM person_profiles WHERE person_id = $1;

-- name: delete_hosted_copies
DELETE FROM ob_hosted_credentials WHERE person_id = $1;

-- name: delete_portfolio_additions
-- Credentials of other issuers the person added to their portfolio, and the consents they gave providers.
WITH added AS (DELETE FROM foreign_credentials WHERE person_id = $1)
DELETE FROM recognition_consents WHERE person_id = $1;
