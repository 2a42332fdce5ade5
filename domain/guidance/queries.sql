-- name: esco_occupation
-- The occupation and its skills' labels ({uri: label}) in $2, else English, else any: the labels of 28 languages
-- stay in the database.
SELECT o.uri, o.isco_code, o.essential_skills, o.optional_skills,
       coalesce(o.labels ->> $2, o.labels ->> 'en', (SELECT value FROM jsonb_each_text(o.labels) LIMIT 1)) AS label,
       (SELECT jsonb_object_agg(s.uri, coalesce(s.labels ->> $2, s.labels ->> 'en',
                                                (SELECT value FROM jsonb_each_text(s.labels) LIMIT 1)))
        FROM esco_skills s WHERE s.uri = ANY(o.essential_skills || o.optional_skills)) AS skill_labels
FROM esco_occupations o WHERE o.uri = $1;

-- name: esco_skill_labels
SELECT uri, coalesce(labels ->> $2, labels ->> 'en', (SELECT value FROM jsonb_each_text(labels) LIMIT 1)) AS label
FROM esco_skills WHERE uri = ANY($1::text[]);

-- name: latest_profile_of_occupation
-- An occupational profile here that names the ESCO occupation (the oldest), when ESCO itself is not imported.
SELECT v.id
FROM occupational_profile_versions v
JOIN occupational_profiles p ON p.id = v.profile_id
WHERE v.esco_occupation_uri = $1
  AND NOT EXISTS (SELECT 1 FROM occupational_profile_versions newer
                  WHERE newer.profile_id = v.profile_id AND newer.number > v.number)
ORDER BY p.created_at, p.id
LIMIT 1;

-- name: ranked_offers
-- The best $8 offers (programmes and units) teaching the missing skills ($1 essential, $2 optional), in the order
-- of domain/guidance/ranking.py's sort_key — the same criteria, in the same order, compared the same way (it
-- orders these rows again and must agree): missing essential skills per hour, EQF distance from $3, language
-- $4, country $5 / region $6, validity, quality assurance (its rank in $7), missing optional skills, then the
-- programme id and unit key as text in code-point order. Each row also says which missing essential skills some
-- offer teaches (offered_skills, the same on every row).
-- Cheap at scale: the first criterion comes from the skill rows of the missing essential skills alone (an
-- index-only range per skill); offers teaching only optional skills are looked at only when fewer than $8 teach
-- essential ones; the other criteria are computed only for the offers tied with the first $8 on the first one
-- (FETCH ... WITH TIES), which must hold the first $8 on all of them.
WITH essential AS (
    SELECT p.offer_id, count(*)::int AS essential, min(p.hours) AS hours
    FROM unnest($1::text[]) AS skill JOIN register_offer_skills p ON p.skill_uri = skill
    GROUP BY p.offer_id
), optional_only AS (
    SELECT DISTINCT p.offer_id
    FROM unnest($2::text[]) AS skill JOIN register_offer_skills p ON p.skill_uri = skill
    WHERE (SELECT count(*) < $8 FROM essential)
      AND NOT EXISTS (SELECT 1 FROM essential e WHERE e.offer_id = p.offer_id)
), rated AS (
    SELECT offer_id, essential, (essential > 0 AND coalesce(hours, 0) > 0) AS has_rate,
           CASE WHEN essential > 0 AND coalesce(hours, 0) > 0 THEN essential::float8 / hours ELSE essential END
               AS per_hour
    FROM essential
    UNION ALL
    SELECT offer_id, 0, false, 0 FROM optional_only
), front AS (
    SELECT * FROM rated ORDER BY has_rate DESC, per_hour DESC FETCH FIRST $8 ROWS WITH TIES
), keyed AS (
    SELECT f.offer_id, f.has_rate, f.per_hour, r.design_id, r.unit_key,
           CASE WHEN $3::int IS NULL THEN 0 WHEN r.eqf_level IS NULL THEN 9 ELSE abs(r.eqf_level - $3) END AS eqf_gap,
           CASE WHEN $4::text IS NULL OR $4 = ANY(r.languages) THEN 0 ELSE 1 END AS language_gap,
           CASE WHEN coalesce($5::text, left($6::text, 2)) IS NULL THEN 0
                WHEN $6 IS NOT NULL AND r.region = $6 THEN 0
                WHEN r.country = coalesce($5, left($6, 2)) THEN 1
                ELSE 2 END AS place_gap,
           r.validity_months IS NOT NULL AS expires, r.validity_months,
           coalesce(array_position($7::text[], r.quality_assurance_type) - 1, cardinality($7::text[])) AS qa_rank,
           (SELECT count(*) FROM unnest(r.skills) AS s WHERE s = ANY($2::text[]))::int AS optional
    FROM front f JOIN register_offers r ON r.id = f.offer_id
), best AS (
    SELECT k.offer_id,
           row_number() OVER (ORDER BY k.has_rate DESC, k.per_hour DESC, k.eqf_gap, k.language_gap, k.place_gap,
                                       k.expires, k.validity_months DESC, k.qa_rank, k.optional DESC,
                                       k.design_id::text COLLATE "C", k.unit_key COLLATE "C") AS position
    FROM keyed k
    ORDER BY position
    LIMIT $8
)
SELECT r.design_id, r.number, r.unit_key, r.title, r.programme_title, r.default_language, r.hours, r.eqf_level,
       r.languages, r.country, r.region, r.validity_months, r.quality_assurance_type,
       ARRAY(SELECT s FROM unnest(r.skills) s WHERE s = ANY($1::text[])) AS covers_essential,
       ARRAY(SELECT s FROM unnest(r.skills) s WHERE s = ANY($2::text[])) AS covers_optional,
       ARRAY(SELECT skill FROM unnest($1::text[]) AS skill
             WHERE EXISTS (SELECT 1 FROM register_offer_skills p WHERE p.skill_uri = skill)) AS offered_skills
FROM best b JOIN register_offers r ON r.id = b.offer_id
ORDER BY b.position;

-- name: closest_occupations
-- The occupations whose essential skills the person's skills ($1) cover most (by share, then number), a page at
-- a time ($2 offset, $3 rows), labelled in $4 (else English), each with its essential skills the person lacks.
WITH hits AS (
    SELECT occupation_uri, count(*)::int AS covered
    FROM esco_occupation_skills
    WHERE relation = 'essential' AND skill_uri = ANY($1::text[])
    GROUP BY occupation_uri
), page AS (
    SELECT o.uri, h.covered, o.essential_count AS essential,
           h.covered::float8 / greatest(o.essential_count, 1) AS share
    FROM hits h JOIN esco_occupations o ON o.uri = h.occupation_uri
    ORDER BY share DESC, h.covered DESC, o.uri COLLATE "C"
    OFFSET $2 LIMIT $3
)
SELECT p.uri, p.covered, p.essential, p.share, o.isco_code,
       coalesce(o.labels ->> $4, o.labels ->> 'en', (SELECT value FROM jsonb_each_text(o.labels) LIMIT 1)) AS label,
       ARRAY(SELECT s FROM unnest(o.essential_skills) s WHERE s <> ALL($1::text[])) AS missing
FROM page p JOIN esco_occupations o ON o.uri = p.uri
ORDER BY p.share DESC, p.covered DESC, p.uri COLLATE "C";
