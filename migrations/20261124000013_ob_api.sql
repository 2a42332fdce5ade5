-- migrate:up

-- Clients that registered themselves (RFC 7591 dynamic registration, as the Open Badges 3.0 API asks of a
-- host): the oauth_clients row holds what authenticates and authorizes them, this one what they said about
-- themselves. Such a client belongs to no organisation of the platform: its oauth_clients row names the
-- platform's own organisation for self-registered clients (domain/oauth/registration.py), it may hold only
-- the Open Badges scopes and it only ever acts for a person (authorization code).
CREATE TABLE oauth_client_registrations (
    client_id text PRIMARY KEY REFERENCES oauth_clients (client_id),
    client_uri text NOT NULL,
    logo_uri text NOT NULL,
    tos_uri text NOT NULL,
    policy_uri text NOT NULL,
    software_id text NOT NULL,
    software_version text NOT NULL,
    contacts text[] NOT NULL DEFAULT '{}',
    metadata jsonb NOT NULL,                   -- the registered metadata, as answered at registration
    registered_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX oauth_client_registrations_software_idx ON oauth_client_registrations (software_id, registered_at);

-- Credentials a person's wallet stored here (Open Badges 3.0 upsertCredential), exactly as it sent them:
-- a VC-JWT or the credential JSON with its proof. Only credentials this server issued to one of the
-- person's learner records are accepted (their signatures are checked against the issuers' keys), so a
-- hosted copy is keyed by the credential it is a copy of.
CREATE TABLE ob_hosted_credentials (
    credential_id uuid PRIMARY KEY REFERENCES credentials (id),
    person_id uuid NOT NULL REFERENCES persons (id),
    form text NOT NULL CHECK (form IN ('vc+jwt', 'json')),
    body text NOT NULL,
    stored_by_client text REFERENCES oauth_clients (client_id),
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ob_hosted_credentials_person_idx ON ob_hosted_credentials (person_id);

-- What a person says about themselves in their Open Badges Profile beyond name and e-mail (which live on
-- persons): given and family name, phone, a homepage, a short description.
CREATE TABLE person_profiles (
    person_id uuid PRIMARY KEY REFERENCES persons (id),
    details jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(details) = 'object'),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- migrate:down
DROP TABLE person_profiles, ob_hosted_credentials, oauth_client_registrations;
