-- name: token_principal
-- One round trip per authenticated request: is the token live, and the person's memberships.
SELECT t.client_id, t.organisation_id, t.person_id, t.scope,
       t.revoked_at IS NULL AND c.disabled_at IS NULL AND t.expires_at > now() AS active,
       CASE WHEN t.person_id IS NULL THEN '{}'::jsonb
            ELSE coalesce((SELECT jsonb_object_agg(m.organisation_id::text, m.roles)
                           FROM members m WHERE m.person_id = t.person_id), '{}'::jsonb)
       END AS memberships
FROM oauth_tokens t
JOIN oauth_clients c USING (client_id)
WHERE t.jti = $1;
