-- name: lock_import
-- One import at a time: two would otherwise both find a row missing and both add it.
SELECT pg_advisory_xact_lock(hashtextextended('esco-classification-import', 0));

-- name: select_release
SELECT version, languages, occupations, skills, relations FROM esco_releases WHERE version = $1;

-- name: create_new_skills
-- Labels travel as text: COPY's binary format knows jsonb only as text anyway.
CREATE TEMP TABLE IF NOT EXISTS new_skills (uri text PRIMARY KEY, skill_type text, reuse_level text, labels text)
    ON COMMIT DROP;
TRUNCATE new_skills;

-- name: create_new_occupations
CREATE TEMP TABLE IF NOT EXISTS new_occupations (uri text PRIMARY KEY, isco_code text, code text, labels text,
                                                 essential_skills text[], optional_skills text[],
                                                 essential_count integer)
    ON COMMIT DROP;
TRUNCATE new_occupations;

-- name: create_new_relations
CREATE TEMP TABLE IF NOT EXISTS new_relations (occupation_uri text, skill_uri text, relation text,
                                               PRIMARY KEY (occupation_uri, skill_uri))
    ON COMMIT DROP;
TRUNCATE new_relations;

-- name: merge_skills
-- Labels merge by language (a release may come one language at a time); a row is written only when
-- something in it differs. xmax = 0 tells a new row from an updated one.
WITH written AS (
    INSERT INTO esco_skills AS s (uri, skill_type, reuse_level, labels, release)
    SELECT n.uri, n.skill_type, n.reuse_level, n.labels::jsonb, $1 FROM new_skills n
    ON CONFLICT (uri) DO UPDATE
        SET skill_type = excluded.skill_type, reuse_level = excluded.reuse_level,
            labels = s.labels || excluded.labels, release = excluded.release
        WHERE (s.skill_type, s.reuse_level, s.labels || excluded.labels)
              IS DISTINCT FROM (excluded.skill_type, excluded.reuse_level, s.labels)
    RETURNING (xmax = 0) AS added
)
SELECT count(*) FILTER (WHERE added)::int AS added, count(*) FILTER (WHERE NOT added)::int AS changed,
       0 AS removed
FROM written;

-- name: merge_occupations
WITH written AS (
    INSERT INTO esco_occupations AS o (uri, isco_code, code, labels, essential_skills, optional_skills,
                                       essential_count, release)
    SELECT n.uri, n.isco_code, n.code, n.labels::jsonb, n.essential_skills, n.optional_skills, n.essential_count, $1
    FROM new_occupations n
    ON CONFLICT (uri) DO UPDATE
        SET isco_code = excluded.isco_code, code = excluded.code, labels = o.labels || excluded.labels,
            essential_skills = excluded.essential_skills, optional_skills = excluded.optional_skills,
            essential_count = excluded.essential_count, release = excluded.release
        WHERE (o.isco_code, o.code, o.labels || excluded.labels, o.essential_skills, o.optional_skills)
              IS DISTINCT FROM (excluded.isco_code, excluded.code, o.labels, excluded.essential_skills,
                                excluded.optional_skills)
    RETURNING (xmax = 0) AS added
)
SELECT count(*) FILTER (WHERE added)::int AS added, count(*) FILTER (WHERE NOT added)::int AS changed,
       0 AS removed
FROM written;

-- name: merge_relations
WITH removed AS (
    DELETE FROM esco_occupation_skills r
    WHERE NOT EXISTS (SELECT 1 FROM new_relations n
                      WHERE n.occupation_uri = r.occupation_uri AND n.skill_uri = r.skill_uri)
    RETURNING 1
), written AS (
    INSERT INTO esco_occupation_skills AS r (occupation_uri, skill_uri, relation)
    SELECT occupation_uri, skill_uri, relation FROM new_relations
    ON CONFLICT (occupation_uri, skill_uri) DO UPDATE SET relation = excluded.relation
        WHERE r.relation <> excluded.relation
    RETURNING (xmax = 0) AS added
)
SELECT (SELECT count(*) FILTER (WHERE added) FROM written)::int AS added,
       (SELECT count(*) FILTER (WHERE NOT added) FROM written)::int AS changed,
       (SELECT count(*) FROM removed)::int AS removed;

-- name: remove_occupations
-- Concepts a release no longer has (their relations go with them).
WITH removed AS (
    DELETE FROM esco_occupations o WHERE NOT EXISTS (SELECT 1 FROM new_occupations n WHERE n.uri = o.uri)
    RETURNING 1
)
SELECT count(*)::int FROM removed;

-- name: remove_skills
WITH removed AS (
    DELETE FROM esco_skills s WHERE NOT EXISTS (SELECT 1 FROM new_skills n WHERE n.uri = s.uri)
    RETURNING 1
)
SELECT count(*)::int FROM removed;

-- name: totals
SELECT (SELECT count(*) FROM esco_occupations)::int AS occupations,
       (SELECT count(*) FROM esco_skills)::int AS skills,
       (SELECT count(*) FROM esco_occupation_skills)::int AS relations;

-- name: insert_release
INSERT INTO esco_releases (version, languages, occupations, skills, relations, changes)
VALUES ($1, $2, $3, $4, $5, $6);
