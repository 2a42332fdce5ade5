-- name: select_audit
SELECT id, occurred_at, organisation_id, actor_person_id, actor_client_id, action, target_type,
       target_id, request_id, details
FROM audit_log
WHERE organisation_id = $1
  AND ($2::bigint IS NULL OR id < $2)
  AND ($3::text IS NULL OR action = $3)
ORDER BY id DESC
LIMIT $4;
