-- name: claim_idempotency_key
INSERT INTO idempotency_keys (scope, key, fingerprint)
VALUES ($1, $2, $3)
ON CONFLICT (scope, key) DO NOTHING
RETURNING key;

-- name: idempotent_response
SELECT fingerprint, response, record_id FROM idempotency_keys WHERE scope = $1 AND key = $2;

-- name: store_idempotent_response
UPDATE idempotency_keys SET response = $3 WHERE scope = $1 AND key = $2;

-- name: insert_audit
INSERT INTO audit_log (organisation_id, actor_person_id, actor_client_id, action, target_type,
                       target_id, request_id, details)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8);

-- name: insert_outbox
INSERT INTO outbox (topic, organisation_id, subject, payload)
SELECT topic, $2, $3, $4 FROM unnest($1::text[]) WITH ORDINALITY AS t (topic, n)
ORDER BY n
RETURNING id;

-- name: token_live
-- An access token the guard did not check against PostgreSQL (Actor.token_to_confirm).
SELECT access_token_live($1);

-- name: expire_idempotency_keys
-- At most $2 keys first used before $1 (created_at has a BRIN index: keys are written in time order), deleted by
-- their row addresses.
DELETE FROM idempotency_keys
WHERE ctid = ANY (ARRAY(SELECT ctid FROM idempotency_keys WHERE created_at < $1 LIMIT $2));
