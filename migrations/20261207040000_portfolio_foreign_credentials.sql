-- migrate:up

-- Credentials issued elsewhere that a person adds to their portfolio: kept exactly as received (a VC-JWT
-- or the JSON with its Data Integrity proof), with the document it carries and the result of its last
-- verification (signature against the issuer's published keys, validity dates, status list). Only a
-- credential that verified when it was added is stored; it is checked again whenever it is used.
CREATE TABLE foreign_credentials (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    person_id uuid NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    form text NOT NULL CHECK (form IN ('vc_jwt', 'data_integrity')),
    body text NOT NULL,
    digest text NOT NULL CHECK (digest ~ '^[0-9a-f]{64}$'),  -- SHA-256 of the body as received
    credential_uri text,  -- the credential's own id, if it has one
    issuer text NOT NULL,  -- the issuer's id (a DID or a URL)
    document jsonb NOT NULL,
    verification jsonb NOT NULL,
    verified boolean NOT NULL,
    checked_at timestamptz NOT NULL,
    added_by_client text,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (person_id, digest)
);

CREATE INDEX foreign_credentials_person ON foreign_credentials (person_id, created_at);

-- migrate:down
DROP TABLE foreign_credentials;
