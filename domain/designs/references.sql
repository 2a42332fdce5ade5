-- name: existing_organisations
SELECT id FROM organisations WHERE id = ANY($1::uuid[]);

-- name: published_unit_keys
-- The unit keys of each programme's latest published version.
SELECT DISTINCT ON (v.design_id) v.design_id,
       ARRAY(SELECT jsonb_array_elements(v.content -> 'units') ->> 'key') AS unit_keys
FROM design_versions v
JOIN designs d ON d.id = v.design_id AND d.kind = 'programme'
WHERE v.design_id = ANY($1::uuid[]) AND v.status = 'published'
ORDER BY v.design_id, v.number DESC;
