-- name: retire_entries
UPDATE register_entries SET is_latest = false WHERE design_id = $1 AND is_latest;

-- name: insert_entry
INSERT INTO register_entries (version_id, design_id, kind, number, title, default_language, search_text,
                              esco_occupation_uri, isco_code, eqf_levels, country, languages, provider_ids,
                              awarding_body_id, quality_assurance_type, published_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
        (SELECT country FROM organisations WHERE id = $13), $11, $12, $13, $14, now());

-- name: search
SELECT e.version_id, e.design_id, e.kind, e.number, e.title, e.default_language, e.esco_occupation_uri,
       e.isco_code, e.eqf_levels, e.country, e.languages, e.provider_ids, e.awarding_body_id,
       e.quality_assurance_type, e.published_at
FROM register_entries e
WHERE e.is_latest AND e.kind = $1
  AND ($2::text IS NULL OR
       to_tsvector($3::regconfig, coalesce(e.search_text ->> $4, e.search_text ->> e.default_language, ''))
       @@ websearch_to_tsquery($3::regconfig, $2))
  AND ($5::text IS NULL OR e.esco_occupation_uri = $5)
  AND ($6::text IS NULL OR e.isco_code = $6)
  AND ($7::int IS NULL OR $7 = ANY(e.eqf_levels))
  AND ($8::text IS NULL OR e.country = $8)
  AND ($9::text IS NULL OR $9 = ANY(e.languages))
  AND ($10::uuid IS NULL OR $10 = ANY(e.provider_ids))
  AND ($11::uuid IS NULL OR e.awarding_body_id = $11)
  AND ($12::text IS NULL OR e.quality_assurance_type = $12)
  AND ($13::timestamptz IS NULL OR (e.published_at, e.version_id) > ($13, $14::uuid))
ORDER BY e.published_at, e.version_id
LIMIT $15;

-- name: published_numbers
SELECT v.number FROM design_versions v JOIN designs d ON d.id = v.design_id
WHERE v.design_id = $1 AND d.kind = $2 AND v.status = 'published'
ORDER BY v.number;
