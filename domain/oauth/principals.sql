-- name: token_principal
-- One round trip per authenticated request: is the token live, and the person's memberships.
SELECT t.client_id, t.organisation_id, t.person_id, t.scope, t.amr,
       EXISTS (SELECT 1 FROM persons p WHERE p.id = t.person_id AND p.email_verified_at IS NOT NULL) AS email_verified,
       access_token_live(t.jti) AS active,  -- not revoked, client not disabled, not expired
       CASE WHEN t.person_id IS NULL THEN '{}'::jsonb
            -- An unverified address acts for no organisation.
            ELSE coalesce((SELECT jsonb_object_agg(m.organisation_id::text, m.roles)
                           FROM members m JOIN persons p ON p.id = m.person_id
                           WHERE m.person_id = t.person_id AND p.email_verified_at IS NOT NULL), '{}'::jsonb)
       END AS memberships,
       -- The organisations whose policy asks this person for a second factor where signatures are made.
       CASE WHEN t.person_id IS NULL THEN '{}'::uuid[]
            ELSE ARRAY(SELECT m.organisation_id FROM members m JOIN organisations o ON o.id = m.organisation_id
                       WHERE m.person_id = t.person_id AND m.roles && o.second_factor_roles)
       END AS second_factor_organisations
FROM oauth_tokens t
WHERE t.jti = $1;
