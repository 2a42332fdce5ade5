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
SELECT uri, labels, isco_code, essential_skills, optional_skills FROM esco_occupations WHERE uri = $1;

-- name: esco_skill_labels
SELECT uri, labels FROM esco_skills WHERE uri = ANY($1::text[]);

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

-- name: offers_covering
-- The published programmes and units teaching any of the missing skills ($1 essential, $2 optional), with
-- the ones each covers. The GIN index on skills finds them; $3 bounds the work on a pathological register.
SELECT r.design_id, r.number, r.unit_key, r.title, r.programme_title, r.default_language, r.hours, r.eqf_level,
       r.languages, r.country, r.region, r.validity_months, r.quality_assurance_type,
       ARRAY(SELECT s FROM unnest(r.skills) s WHERE s = ANY($1::text[])) AS covers_essential,
       ARRAY(SELECT s FROM unnest(r.skills) s WHERE s = ANY($2::text[])) AS covers_optional
FROM register_offers r
WHERE r.is_latest AND r.skills && ($1::text[] || $2::text[])
LIMIT $3;

-- name: closest_occupations
-- The occupations whose essential skills the person's skills ($1) cover most (by share, then number),
-- a page at a time ($2 offset, $3 rows), each with its missing essential skills labelled in $4 (else English).
WITH hits AS (
    SELECT occupation_uri, count(*)::int AS covered
    FROM esco_occupation_skills
    WHERE relation = 'essential' AND skill_uri = ANY($1::text[])
    GROUP BY occupation_uri
), page AS (
    SELECT o.uri, o.labels, o.isco_code, o.essential_skills, h.covered,
           cardinality(o.essential_skills) AS essential,
           h.covered::float8 / greatest(cardinality(o.essential_skills), 1) AS share
    FROM hits h JOIN esco_occupations o ON o.uri = h.occupation_uri
    ORDER BY share DESC, h.covered DESC, o.uri
    OFFSET $2 LIMIT $3
)
SELECT p.uri, p.labels, p.isco_code, p.covered, p.essential, p.share,
       coalesce((SELECT jsonb_agg(jsonb_build_object('uri', s.uri, 'labels', s.labels) ORDER BY s.uri)
                 FROM esco_skills s
                 WHERE s.uri = ANY(p.essential_skills) AND s.uri <> ALL($1::text[])), '[]'::jsonb) AS missing
FROM page p
ORDER BY p.share DESC, p.covered DESC, p.uri;
