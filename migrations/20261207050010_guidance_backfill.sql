-- migrate:up

-- Programmes published before guidance existed get their offers and skill rows, exactly as
-- domain/designs/register.py writes them on publication (tests/test_guidance.py compares the two): the whole
-- programme, and each unit that can be certified alone when there are several, with the ESCO skills their
-- learning outcomes are mapped to. (Their folded search text comes with their next publication; until then
-- the register matches their text as it is.)
WITH latest AS (
    SELECT e.version_id, e.design_id, e.number, e.default_language, e.languages, e.country,
           e.quality_assurance_type, o.region, v.content, coalesce(pv.competences, '[]'::jsonb) AS competences
    FROM register_entries e
    JOIN design_versions v ON v.id = e.version_id
    LEFT JOIN organisations o ON o.id = e.awarding_body_id
    LEFT JOIN occupational_profile_versions pv ON pv.id = (v.content ->> 'profileVersionId')::uuid
    WHERE e.is_latest AND e.kind = 'programme'
      AND NOT EXISTS (SELECT 1 FROM register_offers r WHERE r.version_id = e.version_id)
), units AS (
    SELECT l.version_id, u.unit
    FROM latest l CROSS JOIN LATERAL jsonb_array_elements(coalesce(l.content -> 'units', '[]'::jsonb)) AS u (unit)
), unit_skills AS (
    SELECT DISTINCT un.version_id, un.unit ->> 'key' AS unit_key, c.competence ->> 'escoSkillUri' AS skill
    FROM units un
    JOIN latest l ON l.version_id = un.version_id
    CROSS JOIN LATERAL jsonb_array_elements(coalesce(un.unit -> 'learningOutcomes', '[]'::jsonb)) AS lo (outcome)
    CROSS JOIN LATERAL jsonb_array_elements_text(coalesce(lo.outcome -> 'competences', '[]'::jsonb)) AS k (key)
    CROSS JOIN LATERAL jsonb_array_elements(l.competences) AS c (competence)
    WHERE c.competence ->> 'key' = k.key AND c.competence ->> 'escoSkillUri' IS NOT NULL
)
INSERT INTO register_offers (version_id, unit_key, design_id, number, title, programme_title, default_language,
                             hours, eqf_level, languages, country, region, validity_months,
                             quality_assurance_type, skills)
SELECT l.version_id, '', l.design_id, l.number, coalesce(l.content -> 'title', '{}'::jsonb),
       coalesce(l.content -> 'title', '{}'::jsonb), l.default_language,
       (SELECT sum((un.unit ->> 'workloadHours')::float8) FROM units un
        WHERE un.version_id = l.version_id AND (un.unit ->> 'workloadHours')::float8 > 0),
       coalesce((l.content ->> 'eqfLevel')::int,
                (SELECT max((un.unit ->> 'eqfLevel')::int) FROM units un WHERE un.version_id = l.version_id)),
       l.languages, l.country, l.region, (l.content ->> 'validityMonths')::int, l.quality_assurance_type,
       ARRAY(SELECT DISTINCT s.skill COLLATE "C" FROM unit_skills s WHERE s.version_id = l.version_id ORDER BY 1)
FROM latest l
UNION ALL
SELECT l.version_id, un.unit ->> 'key', l.design_id, l.number, un.unit -> 'title',
       coalesce(l.content -> 'title', '{}'::jsonb), l.default_language, (un.unit ->> 'workloadHours')::float8,
       coalesce((un.unit ->> 'eqfLevel')::int, (l.content ->> 'eqfLevel')::int),
       l.languages, l.country, l.region, (l.content ->> 'validityMonths')::int, l.quality_assurance_type,
       ARRAY(SELECT s.skill COLLATE "C" FROM unit_skills s
             WHERE s.version_id = l.version_id AND s.unit_key = un.unit ->> 'key' ORDER BY 1)
FROM latest l JOIN units un ON un.version_id = l.version_id
WHERE jsonb_array_length(l.content -> 'units') > 1 AND coalesce((un.unit ->> 'certifiableAlone')::boolean, true);

INSERT INTO register_offer_skills (skill_uri, offer_id, hours)
SELECT s, r.id, r.hours
FROM register_offers r CROSS JOIN LATERAL unnest(r.skills) AS s
WHERE r.is_latest AND NOT EXISTS (SELECT 1 FROM register_offer_skills p WHERE p.offer_id = r.id);

-- migrate:down
-- Nothing to undo: the rows go with the tables of the previous migration when it is undone.
