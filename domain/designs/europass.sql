-- name: register_versions
-- The public register as it stands: the latest published version of every design not withdrawn.
SELECT e.design_id, e.version_id, e.kind, e.number, e.published_at, v.content
FROM register_entries e
JOIN design_versions v ON v.id = e.version_id
JOIN designs d ON d.id = e.design_id
WHERE e.is_latest AND d.withdrawn_at IS NULL
ORDER BY e.kind, e.published_at, e.design_id;

-- name: latest_published_contents
SELECT DISTINCT ON (v.design_id) v.design_id, v.id AS version_id, v.content
FROM design_versions v
WHERE v.design_id = ANY($1::uuid[]) AND v.status = 'published'
ORDER BY v.design_id, v.number DESC;

-- name: parties
SELECT id, name, country, website, updated_at FROM organisations WHERE id = ANY($1::uuid[]);

-- name: last_withdrawal
SELECT max(withdrawn_at) FROM designs;
