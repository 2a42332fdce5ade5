-- name: insert_organisation
INSERT INTO organisations (kind, name, default_language, country, region, registration_ids, website)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING id;

-- name: select_organisation
SELECT o.id, o.kind, o.name, o.default_language, o.country, o.region, o.registration_ids,
       o.website, o.version, o.created_at, o.updated_at,
       coalesce((SELECT jsonb_agg(jsonb_build_object(
                    'id', a.id, 'organisationId', a.organisation_id,
                    'accreditingOrganisationId', a.accrediting_organisation_id,
                    'accreditingBodyName', a.accrediting_body_name, 'scope', a.scope,
                    'reference', a.reference, 'validFrom', a.valid_from, 'validUntil', a.valid_until,
                    'withdrawnAt', a.withdrawn_at,
                    'current', a.withdrawn_at IS NULL AND a.valid_from <= current_date
                               AND (a.valid_until IS NULL OR a.valid_until >= current_date))
                    ORDER BY a.valid_from, a.id)
                 FROM accreditations a WHERE a.organisation_id = o.id), '[]'::jsonb) AS accreditations
FROM organisations o
WHERE o.id = ANY($1::uuid[]);

-- name: list_organisation_ids
SELECT id, created_at
FROM organisations
WHERE ($1::timestamptz IS NULL OR (created_at, id) > ($1, $2::uuid))
  AND ($3::text IS NULL OR kind = $3)
  AND ($4::text IS NULL OR country = $4)
ORDER BY created_at, id
LIMIT $5;

-- name: update_organisation
UPDATE organisations
SET name = $3, default_language = $4, country = $5, region = $6, registration_ids = $7, website = $8,
    version = version + 1, updated_at = now()
WHERE id = $1 AND version = $2
RETURNING id;

-- name: organisation_version
SELECT version FROM organisations WHERE id = $1;

-- name: organisation_kind
SELECT kind FROM organisations WHERE id = $1;

-- name: upsert_person
INSERT INTO persons (email, name, email_canonical) VALUES ($1, $2, $3)
ON CONFLICT (email_canonical) DO UPDATE SET email = persons.email
RETURNING id, self_registered, password_hash;

-- name: insert_member
INSERT INTO members (organisation_id, person_id, roles)
VALUES ($1, $2, $3)
ON CONFLICT DO NOTHING
RETURNING person_id;

-- name: select_members
SELECT m.organisation_id, m.person_id, p.email, p.name, m.roles, m.version, m.created_at, m.updated_at
FROM members m JOIN persons p ON p.id = m.person_id
WHERE m.organisation_id = $1
  AND ($2::timestamptz IS NULL OR (m.created_at, m.person_id) > ($2, $3::uuid))
  AND ($4::uuid IS NULL OR m.person_id = $4)
ORDER BY m.created_at, m.person_id
LIMIT $5;

-- name: update_member_roles
UPDATE members SET roles = $4, version = version + 1, updated_at = now()
WHERE organisation_id = $1 AND person_id = $2 AND version = $3
RETURNING person_id;

-- name: delete_member
DELETE FROM members WHERE organisation_id = $1 AND person_id = $2 AND version = $3
RETURNING person_id;

-- name: member_version
SELECT version FROM members WHERE organisation_id = $1 AND person_id = $2;

-- name: other_admins
-- Locks the organisation's admin rows so two concurrent demotions cannot both pass the check.
SELECT person_id FROM members
WHERE organisation_id = $1 AND person_id <> $2 AND 'admin' = ANY(roles)
FOR UPDATE;

-- name: insert_accreditation
INSERT INTO accreditations (organisation_id, accrediting_organisation_id, accrediting_body_name, scope,
                            reference, valid_from, valid_until)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING id;

-- name: withdraw_accreditation
UPDATE accreditations SET withdrawn_at = now()
WHERE id = $1 AND organisation_id = $2 AND withdrawn_at IS NULL
RETURNING id, accrediting_organisation_id;

-- name: accreditation_owner
SELECT accrediting_organisation_id, withdrawn_at FROM accreditations WHERE id = $1 AND organisation_id = $2;

-- name: organisation_exists
SELECT EXISTS (SELECT 1 FROM organisations WHERE $1::text IS NULL OR name ->> $1::text = $2::text);
