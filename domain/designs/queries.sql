-- name: insert_design
INSERT INTO designs (kind, lead_organisation_id) VALUES ($1, $2) RETURNING id;

-- name: lock_design
SELECT id, kind, lead_organisation_id FROM designs WHERE id = $1 AND kind = $2 FOR UPDATE;

-- name: select_design
SELECT id, kind, lead_organisation_id, created_at, withdrawn_at, withdrawal_reason FROM designs WHERE id = $1 AND kind = $2;

-- name: upsert_coauthor
INSERT INTO design_coauthors (design_id, organisation_id, roles) VALUES ($1, $2, $3)
ON CONFLICT (design_id, organisation_id) DO UPDATE SET roles = EXCLUDED.roles;

-- name: delete_coauthor
DELETE FROM design_coauthors WHERE design_id = $1 AND organisation_id = $2 RETURNING organisation_id;

-- name: select_coauthors
SELECT c.organisation_id, o.name, o.kind, c.roles
FROM design_coauthors c JOIN organisations o ON o.id = c.organisation_id
WHERE c.design_id = $1
ORDER BY c.added_at, c.organisation_id;

-- name: insert_version
INSERT INTO design_versions (design_id, number, status, content, based_on_version_id)
VALUES ($1, $2, 'draft', $3, $4)
RETURNING id;

-- name: select_version
SELECT v.id, v.design_id, d.kind, v.number, v.status, v.revision, b.number AS based_on_number,
       d.lead_organisation_id, v.approval_round, v.content, v.created_at, v.proposed_at, v.published_at
FROM design_versions v
JOIN designs d ON d.id = v.design_id
LEFT JOIN design_versions b ON b.id = v.based_on_version_id
WHERE v.design_id = $1 AND d.kind = $2 AND v.number = $3;

-- name: lock_version
SELECT id FROM design_versions WHERE design_id = $1 AND number = $2 FOR UPDATE;

-- name: select_version_summaries
SELECT number, status, revision, created_at, proposed_at, published_at
FROM design_versions WHERE design_id = $1 ORDER BY number;

-- name: latest_published_version
SELECT id, number, content FROM design_versions
WHERE design_id = $1 AND status = 'published'
ORDER BY number DESC LIMIT 1;

-- name: next_version_number
SELECT coalesce(max(number), 0) + 1 FROM design_versions WHERE design_id = $1;

-- name: update_content
UPDATE design_versions SET content = $3, revision = revision + 1
WHERE id = $1 AND revision = $2 AND status = 'draft'
RETURNING revision;

-- name: insert_change
INSERT INTO design_changes (version_id, revision, organisation_id, person_id, client_id, diff)
VALUES ($1, $2, $3, $4, $5, $6);

-- name: select_changes
SELECT revision, organisation_id, person_id, client_id, changed_at, diff AS changes
FROM design_changes WHERE version_id = $1 ORDER BY id;

-- name: set_proposed
UPDATE design_versions
SET status = 'proposed', proposed_at = now(), approval_round = approval_round + 1, revision = revision + 1
WHERE id = $1;

-- name: set_draft
UPDATE design_versions SET status = 'draft', proposed_at = NULL, revision = revision + 1 WHERE id = $1;

-- name: set_published
UPDATE design_versions SET status = 'published', published_at = now(), revision = revision + 1 WHERE id = $1;

-- name: insert_approval
INSERT INTO design_approvals (version_id, approval_round, organisation_id, decision, reason, person_id, client_id)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT DO NOTHING
RETURNING organisation_id;

-- name: select_approvals
SELECT organisation_id, approval_round, decision, reason, person_id, client_id, decided_at
FROM design_approvals WHERE version_id = $1 AND approval_round = $2
ORDER BY decided_at, organisation_id;

-- name: insert_comment
INSERT INTO design_comments (version_id, organisation_id, person_id, client_id, target, body)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id, organisation_id, person_id, client_id, target, body, created_at;

-- name: select_comments
SELECT id, organisation_id, person_id, client_id, target, body, created_at
FROM design_comments
WHERE version_id = $1 AND ($2::timestamptz IS NULL OR (created_at, id) > ($2, $3::uuid))
ORDER BY created_at, id
LIMIT $4;

-- name: designs_coauthored_by
SELECT d.id, d.created_at
FROM designs d
WHERE d.kind = $1
  AND EXISTS (SELECT 1 FROM design_coauthors c WHERE c.design_id = d.id AND c.organisation_id = ANY($2::uuid[]))
  AND ($3::timestamptz IS NULL OR (d.created_at, d.id) > ($3, $4::uuid))
ORDER BY d.created_at, d.id
LIMIT $5;

-- name: organisations_exist
SELECT id, kind FROM organisations WHERE id = ANY($1::uuid[]);

-- name: withdraw_design
UPDATE designs SET withdrawn_at = now(), withdrawal_reason = $2 WHERE id = $1 AND withdrawn_at IS NULL
RETURNING withdrawn_at;

-- name: unwithdraw_design
UPDATE designs SET withdrawn_at = NULL, withdrawal_reason = NULL WHERE id = $1;
