-- name: attempt_for_issuing
-- The passing attempt with what issuing needs; corrected_by is set when a later correction replaced it.
SELECT a.id, a.provider_id, a.learner_id, a.version_id, a.unit_key, a.passed, a.decision, a.assessed_at,
       a.supervision, a.place, a.evidence, a.corrects_attempt_id,
       v.design_id, v.number AS version_number, v.content, d.kind AS design_kind,
       (SELECT c.id FROM attempts c WHERE c.corrects_attempt_id = a.id) AS corrected_by
FROM attempts a
JOIN design_versions v ON v.id = a.version_id
JOIN designs d ON d.id = v.design_id
WHERE a.id = $1;

-- name: credential_of_attempt_chain
-- The live credential issued for an attempt or one it corrected (a correction replaces it).
WITH RECURSIVE chain(id, corrects) AS (
    SELECT a.id, a.corrects_attempt_id FROM attempts a WHERE a.id = $1
    UNION ALL
    SELECT a.id, a.corrects_attempt_id FROM attempts a JOIN chain ON a.id = chain.corrects
)
SELECT c.id, c.state FROM credentials c
WHERE c.attempt_id IN (SELECT id FROM chain) AND c.state <> 'revoked'
ORDER BY c.created_at DESC
LIMIT 1;

-- name: live_credential_for_achievement
-- A credential the learner already holds for this achievement (not revoked, not refused).
SELECT id, valid_until FROM credentials
WHERE learner_id = $1 AND design_id = $2 AND unit_key IS NOT DISTINCT FROM $3
  AND state IN ('held', 'awaiting_cosignature', 'issued')
ORDER BY created_at DESC
LIMIT 1;

-- name: insert_credential
INSERT INTO credentials (kind, issuance_key, learner_id, provider_id, awarding_body_id, cosigner_id, design_id,
                         version_id, unit_key, attempt_id, stands_on, state, replaces_credential_id,
                         renews_credential_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'held', $12, $13)
ON CONFLICT (issuance_key) DO NOTHING
RETURNING id;

-- name: is_held
SELECT EXISTS (SELECT 1 FROM issuing_holds WHERE provider_id = $1 AND design_id = $2);

-- name: credential_for_signing
SELECT c.*, l.name AS learner_name, l.email AS learner_email, l.email_salt, l.preferred_language AS learner_language,
       v.number AS version_number, v.content
FROM credentials c
JOIN learners l ON l.id = c.learner_id
JOIN design_versions v ON v.id = c.version_id
WHERE c.id = $1
FOR UPDATE OF c;

-- name: attempt_facts
SELECT decision, assessed_at, supervision, place, evidence, source FROM attempts WHERE id = $1;

-- name: mark_signed
UPDATE credentials
SET state = $2, payload = $3, status_number = $4, status_index = $5, issued_at = $6, valid_until = $7,
    version = version + 1, updated_at = now()
WHERE id = $1;

-- name: insert_signature
INSERT INTO credential_signatures (credential_id, organisation_id, role, kid, protected, signature,
                                   signed_by_person, signed_by_client)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8);

-- name: endorsement_jwts
-- Live endorsements of the achievement (the unit, or the whole programme) in this version: an endorsement
-- names a version in its subject id (.../versions/<n> or .../versions/<n>#unit-<key>).
SELECT jwt FROM endorsements
WHERE design_id = $1 AND (unit_key IS NULL OR unit_key IS NOT DISTINCT FROM $2) AND withdrawn_at IS NULL
  AND convert_from(payload, 'UTF8')::jsonb #>> '{credentialSubject,id}' ~ ('/versions/' || $3::int || '($|#)')
ORDER BY created_at;

-- name: foundations
SELECT c.id, c.unit_key, c.design_id, c.version_id, v.content
FROM credentials c JOIN design_versions v ON v.id = c.version_id
WHERE c.id = ANY($1::uuid[])
ORDER BY array_position($1::uuid[], c.id);

-- name: revoke
UPDATE credentials
SET state = 'revoked', revoked_at = now(), revocation_reason = $2, version = version + 1, updated_at = now()
WHERE id = $1 AND state <> 'revoked'
RETURNING id, kind, design_id, unit_key, learner_id, awarding_body_id, provider_id, cosigner_id,
          status_number, status_index, payload IS NOT NULL AS signed;

-- name: passed_units
-- The units of a programme version the learner has passed (an attempt that no correction replaced).
SELECT a.unit_key
FROM attempts a
WHERE a.learner_id = $1 AND a.version_id = $2 AND a.passed
  AND NOT EXISTS (SELECT 1 FROM attempts c WHERE c.corrects_attempt_id = a.id)
GROUP BY a.unit_key;

-- name: unit_credentials_of_version
SELECT id, unit_key FROM credentials
WHERE learner_id = $1 AND version_id = $2 AND kind = 'unit' AND state IN ('held', 'issued', 'awaiting_cosignature')
ORDER BY unit_key, created_at;

-- name: qualifications_using
-- The latest published version of each qualification whose rule names the programme.
SELECT r.version_id, r.design_id, v.content
FROM register_entries r JOIN design_versions v ON v.id = r.version_id
WHERE r.kind = 'qualification' AND r.is_latest AND v.content::text LIKE '%' || $1::text || '%';

-- name: learner_provider
SELECT provider_id FROM learners WHERE id = $1;

-- name: held_for_release
SELECT id FROM credentials WHERE provider_id = $1 AND design_id = $2 AND state = 'held' ORDER BY created_at, id LIMIT 500;

-- name: learner_erased
SELECT erased_at IS NOT NULL FROM learners WHERE id = $1;

-- name: lock_achievement
-- Held to the end of the transaction: two passes (or a pass and its correction) of one learner in
-- one programme are decided one after the other, never on the same stale snapshot.
SELECT pg_advisory_xact_lock(hashtextextended('issuing:' || a.learner_id || ':' || v.design_id, 0))
FROM attempts a JOIN design_versions v ON v.id = a.version_id
WHERE a.id = $1;

-- name: version_content
SELECT content FROM design_versions WHERE id = $1;
