-- name: valid_credentials_of_person
-- The valid credentials of the learner records a person claimed, at every provider: issued, not suspended,
-- not expired, no co-signature withdrawn.
SELECT c.id, c.payload
FROM credentials c
JOIN learners l ON l.id = c.learner_id
WHERE l.person_id = $1
  AND c.state = 'issued' AND NOT c.suspended
  AND (c.valid_until IS NULL OR c.valid_until > now())
  AND NOT EXISTS (SELECT 1 FROM credential_signatures s WHERE s.credential_id = c.id AND s.withdrawn_at IS NOT NULL)
ORDER BY c.issued_at DESC, c.id DESC;

-- name: esco_occupation
-- The occupation with its label in $2 (else English, else any): the labels of 28 languages stay in the database.
SELECT uri, isco_code, essential_skills, optional_skills,
       coalesce(labels ->> $2, labels ->> 'en', (SELECT value FROM jsonb_each_text(labels) LIMIT 1)) AS label
FROM esco_occupations WHERE uri = $1;

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
-- programme id and unit key as text in code-point order.
-- Cheap at scale: the skill rows of the missing essential skills are read from the index alone; offers teaching
-- only optional ones are looked at only when fewer than $8 teach essential ones; and the optional skills each
-- offer covers (the seventh criterion) are counted only for the offers tied with the first $8 on the six before
-- it (FETCH ... WITH TIES), which must hold the first $8 on all of them.
WITH essential AS (
    -- An offer's attributes are the same on each of its skill rows: min() and max() just pick them.
    SELECT p.offer_id, p.design_id, p.unit_key, count(*)::int AS essential,
           min(p.hours) AS hours, min(p.eqf_level) AS eqf_level, max(p.languages) AS languages,
           min(p.country) AS country, min(p.region) AS region, min(p.validity_months) AS validity_months,
           min(p.quality_assurance_type) AS quality_assurance_type
    FROM unnest($1::text[]) AS skill JOIN register_offer_skills p ON p.skill_uri = skill
    GROUP BY p.offer_id, p.design_id, p.unit_key
), optional_only AS (
    SELECT p.offer_id, p.design_id, p.unit_key, 0 AS essential,
           min(p.hours) AS hours, min(p.eqf_level) AS eqf_level, max(p.languages) AS languages,
           min(p.country) AS country, min(p.region) AS region, min(p.validity_months) AS validity_months,
           min(p.quality_assurance_type) AS quality_assurance_type
    FROM unnest($2::text[]) AS skill JOIN register_offer_skills p ON p.skill_uri = skill
    WHERE (SELECT count(*) < $8 FROM essential)
      AND NOT EXISTS (SELECT 1 FROM essential e WHERE e.offer_id = p.offer_id)
    GROUP BY p.offer_id, p.design_id, p.unit_key
), keyed AS (
    SELECT c.offer_id, c.design_id, c.unit_key,
           (c.essential > 0 AND coalesce(c.hours, 0) > 0) AS has_rate,
           CASE WHEN c.essential > 0 AND coalesce(c.hours, 0) > 0 THEN c.essential::float8 / c.hours
                ELSE c.essential END AS per_hour,
           CASE WHEN $3::int IS NULL THEN 0 WHEN c.eqf_level IS NULL THEN 9 ELSE abs(c.eqf_level - $3) END AS eqf_gap,
           CASE WHEN $4::text IS NULL OR $4 = ANY(c.languages) THEN 0 ELSE 1 END AS language_gap,
           CASE WHEN coalesce($5::text, left($6::text, 2)) IS NULL THEN 0
                WHEN $6 IS NOT NULL AND c.region = $6 THEN 0
                WHEN c.country = coalesce($5, left($6, 2)) THEN 1
                ELSE 2 END AS place_gap,
           c.validity_months IS NOT NULL AS expires, c.validity_months,
           coalesce(array_position($7::text[], c.quality_assurance_type) - 1, cardinality($7::text[])) AS qa_rank
    FROM (SELECT * FROM essential UNION ALL SELECT * FROM optional_only) AS c
), front AS (
    SELECT * FROM keyed k
    ORDER BY k.has_rate DESC, k.per_hour DESC, k.eqf_gap, k.language_gap, k.place_gap, k.expires,
             k.validity_months DESC, k.qa_rank
    FETCH FIRST $8 ROWS WITH TIES
), counted AS (
    SELECT l.*, (SELECT count(*) FROM register_offers r, unnest(r.skills) AS s
                 WHERE r.id = l.offer_id AND s = ANY($2::text[]))::int AS optional
    FROM front l
), best AS (
    SELECT c.offer_id,
           row_number() OVER (ORDER BY c.has_rate DESC, c.per_hour DESC, c.eqf_gap, c.language_gap, c.place_gap,
                                       c.expires, c.validity_months DESC, c.qa_rank, c.optional DESC,
                                       c.design_id::text COLLATE "C", c.unit_key COLLATE "C") AS position
    FROM counted c
    ORDER BY position
    LIMIT $8
)
SELECT r.design_id, r.number, r.unit_key, r.title, r.programme_title, r.default_language, r.hours, r.eqf_level,
       r.languages, r.country, r.region, r.validity_months, r.quality_assurance_type,
       ARRAY(SELECT s FROM unnest(r.skills) s WHERE s = ANY($1::text[])) AS covers_essential,
       ARRAY(SELECT s FROM unnest(r.skills) s WHERE s = ANY($2::text[])) AS covers_optional
FROM best b JOIN register_offers r ON r.id = b.offer_id
ORDER BY b.position;

-- name: skills_offered
-- Which of the skills some latest offer teaches.
SELECT s FROM unnest($1::text[]) AS s WHERE EXISTS (SELECT 1 FROM register_offer_skills p WHERE p.skill_uri = s);

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
