-- name: retire_entries
-- The earlier version leaves the register's search and guidance (its offers' skill rows go).
WITH retired AS (UPDATE register_entries SET is_latest = false WHERE design_id = $1 AND is_latest),
     offers AS (UPDATE register_offers SET is_latest = false WHERE design_id = $1 AND is_latest RETURNING id)
DELETE FROM register_offer_skills WHERE offer_id IN (SELECT id FROM offers);

-- name: insert_entry
INSERT INTO register_entries (version_id, design_id, kind, number, title, default_language, search_text,
                              esco_occupation_uri, isco_code, eqf_levels, country, languages, provider_ids,
                              awarding_body_id, quality_assurance_type, published_at, search_folded)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
        (SELECT country FROM organisations WHERE id = $13), $11, $12, $13, $14, now(), $15);

-- name: insert_offer
-- $1 the published version (its register entry gives the facts shared by its offers), $2 '' or a unit key.
INSERT INTO register_offers (version_id, unit_key, design_id, number, title, programme_title, default_language,
                             hours, eqf_level, languages, country, region, validity_months,
                             quality_assurance_type, skills)
SELECT e.version_id, $2, e.design_id, e.number, $3, $7, e.default_language, $4, $5, e.languages, e.country,
       o.region, $8, e.quality_assurance_type, $6
FROM register_entries e LEFT JOIN organisations o ON o.id = e.awarding_body_id
WHERE e.version_id = $1;

-- name: insert_offer_skills
-- The skill rows of the offers just written for the version $1.
INSERT INTO register_offer_skills (skill_uri, offer_id, hours)
SELECT s, r.id, r.hours FROM register_offers r CROSS JOIN LATERAL unnest(r.skills) AS s WHERE r.version_id = $1;

-- name: search
SELECT e.version_id, e.design_id, e.kind, e.number, e.title, e.default_language, e.esco_occupation_uri,
       e.isco_code, e.eqf_levels, e.country, e.languages, e.provider_ids, e.awarding_body_id,
       e.quality_assurance_type, e.published_at
FROM register_entries e
WHERE e.is_latest AND e.kind = $1
  -- The words as the language's stemmer sees them, or else each folded word as the prefix of a folded
  -- word (accents and case ignored): the way to match in languages PostgreSQL does not stem. Entries
  -- published before folding existed are matched on their text as it is.
  AND ($2::text IS NULL
       OR to_tsvector($4::regconfig, coalesce(e.search_text ->> $5, e.search_text ->> e.default_language, ''))
          @@ websearch_to_tsquery($4::regconfig, $2)
       OR ($3::text IS NOT NULL AND
           to_tsvector('simple', coalesce(coalesce(e.search_folded, e.search_text) ->> $5,
                                          coalesce(e.search_folded, e.search_text) ->> e.default_language, ''))
           @@ to_tsquery('simple', $3)))
  AND ($6::text IS NULL OR e.esco_occupation_uri = $6)
  AND ($7::text IS NULL OR e.isco_code = $7)
  AND ($8::int IS NULL OR $8 = ANY(e.eqf_levels))
  AND ($9::text IS NULL OR e.country = $9)
  AND ($10::text IS NULL OR $10 = ANY(e.languages))
  AND ($11::uuid IS NULL OR $11 = ANY(e.provider_ids))
  AND ($12::uuid IS NULL OR e.awarding_body_id = $12)
  AND ($13::text IS NULL OR e.quality_assurance_type = $13)
  AND ($14::timestamptz IS NULL OR (e.published_at, e.version_id) > ($14, $15::uuid))
ORDER BY e.published_at, e.version_id
LIMIT $16;

-- name: published_numbers
SELECT v.number FROM design_versions v JOIN designs d ON d.id = v.design_id
WHERE v.design_id = $1 AND d.kind = $2 AND v.status = 'published'
ORDER BY v.number;
