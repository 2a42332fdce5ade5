-- name: latest_published
-- The latest published version of a programme or qualification (what an endorsement is of).
SELECT r.version_id, r.number, r.kind, v.content
FROM register_entries r JOIN design_versions v ON v.id = r.version_id
WHERE r.design_id = $1 AND r.is_latest;

-- name: live_endorsement
SELECT id FROM endorsements
WHERE endorser_id = $1 AND design_id = $2 AND unit_key IS NOT DISTINCT FROM $3 AND withdrawn_at IS NULL
LIMIT 1;

-- name: insert_endorsement
INSERT INTO endorsements (id, endorser_id, design_id, unit_key, comment, payload, jwt, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING *;

-- name: endorsement
SELECT * FROM endorsements WHERE id = $1;

-- name: withdraw
UPDATE endorsements SET withdrawn_at = now()
WHERE id = $1 AND endorser_id = $2 AND withdrawn_at IS NULL
RETURNING *;
