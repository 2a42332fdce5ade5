-- name: ensure_self_registered_organisation
-- The platform's own organisation that self-registered clients belong to; made on first use.
INSERT INTO organisations (id, kind, name, default_language, country)
VALUES ($1, 'employer', $2, 'en', 'ZZ')
ON CONFLICT (id) DO NOTHING;

-- name: insert_registration
INSERT INTO oauth_client_registrations (client_id, client_uri, logo_uri, tos_uri, policy_uri, software_id,
                                        software_version, contacts, metadata)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9);
