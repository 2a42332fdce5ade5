-- migrate:up

-- VC-API exchanges through which a learner's credential goes into the Learner Credential Wallet: made by the
-- learner (person_id) or by a client of the credential's provider or awarding body (client_id), started by the
-- wallet (the challenge it must sign), completed once (the DID it proved, bound into the credential it
-- received). Single use and short-lived: an exchange past expires_at or completed answers nothing more. The
-- holder's DID is personal data: erasure deletes the exchanges of the learner's credentials.
CREATE TABLE vc_api_exchanges (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    credential_id uuid NOT NULL REFERENCES credentials (id) ON DELETE CASCADE,
    person_id uuid REFERENCES persons (id) ON DELETE CASCADE,
    client_id text,
    challenge text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    started_at timestamptz,
    completed_at timestamptz,
    holder_did text,
    CHECK (expires_at > created_at),
    CHECK ((completed_at IS NULL) = (holder_did IS NULL)),
    CHECK ((person_id IS NULL) <> (client_id IS NULL))
);
CREATE INDEX vc_api_exchanges_person_idx ON vc_api_exchanges (person_id, created_at);
CREATE INDEX vc_api_exchanges_credential_idx ON vc_api_exchanges (credential_id);

-- migrate:down
DROP TABLE vc_api_exchanges;
