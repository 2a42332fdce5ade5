-- migrate:up

-- E-mail verification, the person's language for mail and pages, and TOTP (RFC 6238) as a second factor.
-- Logins that existed before verification (set up by the operator, who vouched for them) count as verified;
-- self-registered learner logins and people without a password do not.
ALTER TABLE persons
    ADD COLUMN email_verified_at timestamptz,
    ADD COLUMN preferred_language text CHECK (preferred_language ~ '^[a-z]{2,3}$'),
    ADD COLUMN totp_secret bytea,            -- AES-GCM under the master key, like signing keys
    ADD COLUMN totp_enabled_at timestamptz,  -- NULL while an enrolment awaits its first code
    ADD COLUMN totp_last_step bigint;        -- the last time step accepted: a code is never accepted twice
UPDATE persons SET email_verified_at = created_at WHERE password_hash IS NOT NULL AND NOT self_registered;

CREATE TABLE person_recovery_codes (
    person_id uuid NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    code_hash text NOT NULL,
    used_at timestamptz,
    PRIMARY KEY (person_id, code_hash)
);

-- Which roles of an organisation's members need a second factor where signatures are made.
ALTER TABLE organisations
    ADD COLUMN second_factor_roles text[] NOT NULL DEFAULT '{}'
        CHECK (second_factor_roles <@ ARRAY['signatory', 'admin']::text[]);

-- The authentication methods (RFC 8176) of the sign-in a code, and the tokens it yields, stem from.
ALTER TABLE oauth_authorization_codes ADD COLUMN amr text[] NOT NULL DEFAULT '{pwd}';
ALTER TABLE oauth_tokens ADD COLUMN amr text[] NOT NULL DEFAULT '{}';

-- Every e-mail Guildhall sends: built in the transaction that asks for it, sent by the worker (outbox topic
-- mail.requested), marked sent in the transaction that sent it.
CREATE TABLE mail_messages (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    person_id uuid REFERENCES persons (id) ON DELETE SET NULL,
    to_address text NOT NULL,
    template text NOT NULL,
    language text NOT NULL,
    subject text NOT NULL,
    text_body text NOT NULL,
    html_body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    attempts integer NOT NULL DEFAULT 0,
    last_error text,
    sent_at timestamptz
);
CREATE INDEX mail_messages_person ON mail_messages (person_id, created_at);

-- One-time links mailed to a person: e-mail verification and password reset. Only hashes are kept.
CREATE TABLE person_links (
    token_hash text PRIMARY KEY,
    person_id uuid NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    purpose text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    email text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);
CREATE INDEX person_links_person ON person_links (person_id, purpose);

-- Invitations to join an organisation with roles; the link's token is kept as a hash only.
CREATE TABLE invitations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    email text NOT NULL,
    email_canonical text NOT NULL,
    name text NOT NULL,
    roles text[] NOT NULL,
    language text CHECK (language ~ '^[a-z]{2,3}$'),
    token_hash text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    sent_count integer NOT NULL DEFAULT 1,
    accepted_at timestamptz,
    accepted_by uuid REFERENCES persons (id) ON DELETE SET NULL,
    revoked_at timestamptz
);
CREATE UNIQUE INDEX invitations_open ON invitations (organisation_id, email_canonical)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;

-- migrate:down
DROP TABLE invitations;
DROP TABLE person_links;
DROP TABLE mail_messages;
ALTER TABLE oauth_tokens DROP COLUMN amr;
ALTER TABLE oauth_authorization_codes DROP COLUMN amr;
ALTER TABLE organisations DROP COLUMN second_factor_roles;
DROP TABLE person_recovery_codes;
ALTER TABLE persons
    DROP COLUMN totp_last_step, DROP COLUMN totp_enabled_at, DROP COLUMN totp_secret,
    DROP COLUMN preferred_language, DROP COLUMN email_verified_at;
