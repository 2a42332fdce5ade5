-- name: insert_profile
-- clock_timestamp(), not the column's default now(): an import creates several profiles in one
-- transaction, and the register lists profiles in the order they were created.
INSERT INTO occupational_profiles (created_by, created_at) VALUES ($1, clock_timestamp()) RETURNING id;

-- name: insert_version
INSERT INTO occupational_profile_versions (profile_id, number, title, default_language, esco_occupation_uri,
                                           isco_code, description, competences)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING id;

-- name: lock_profile
-- Serialises new versions of one profile: the second writer waits, then sees the first one's number.
-- Answers the owner: NULL when the platform (CLI, demo) created the profile.
SELECT id, created_by FROM occupational_profiles WHERE id = $1 FOR UPDATE;

-- name: select_version_by_id
SELECT id, profile_id, number, title, default_language, esco_occupation_uri, isco_code, description,
       competences, created_at
FROM occupational_profile_versions
WHERE id = $1;

-- name: select_version_by_number
SELECT id, profile_id, number, title, default_language, esco_occupation_uri, isco_code, description,
       competences, created_at
FROM occupational_profile_versions
WHERE profile_id = $1 AND number = $2;

-- name: select_latest_version
SELECT id, profile_id, number, title, default_language, esco_occupation_uri, isco_code, description,
       competences, created_at
FROM occupational_profile_versions
WHERE profile_id = $1
ORDER BY number DESC
LIMIT 1;

-- name: list_latest_versions
-- The latest version of each profile, in the order profiles were created. $5 is an ISCO-08 prefix
-- (7, 72, 721 or 7212); $6 is text to find in the title, in any language.
SELECT v.id, v.profile_id, v.number, v.title, v.default_language, v.esco_occupation_uri, v.isco_code,
       v.description, v.competences, v.created_at, p.created_at AS profile_created_at
FROM occupational_profile_versions v
JOIN occupational_profiles p ON p.id = v.profile_id
WHERE NOT EXISTS (SELECT 1 FROM occupational_profile_versions newer
                  WHERE newer.profile_id = v.profile_id AND newer.number > v.number)
  AND ($1::timestamptz IS NULL OR (p.created_at, p.id) > ($1, $2::uuid))
  AND ($3::text IS NULL OR v.esco_occupation_uri = $3)
  AND ($4::text IS NULL OR v.isco_code LIKE $4 || '%')
  AND ($5::text IS NULL OR EXISTS (SELECT 1 FROM jsonb_each_text(v.title) AS t
                                   WHERE strpos(lower(t.value), lower($5)) > 0))
ORDER BY p.created_at, p.id
LIMIT $6;

-- name: lock_occupation_import
-- Two imports of one ESCO occupation at once would otherwise both create a profile for it.
SELECT pg_advisory_xact_lock(hashtextextended('occupational-profile-import ' || $1::text, 0));

-- name: profile_of_occupation
-- The profile an import of this ESCO occupation updates: the oldest of the importer's own ($2; NULL for
-- the platform, which may update any) whose latest version names it.
SELECT v.profile_id
FROM occupational_profile_versions v
JOIN occupational_profiles p ON p.id = v.profile_id
WHERE v.esco_occupation_uri = $1
  AND ($2::uuid IS NULL OR p.created_by = $2)
  AND NOT EXISTS (SELECT 1 FROM occupational_profile_versions newer
                  WHERE newer.profile_id = v.profile_id AND newer.number > v.number)
ORDER BY p.created_at, p.id
LIMIT 1;
