-- migrate:up

-- Data Integrity proofs of the credential JSON, made on the first request for it and kept: one per
-- signature (the same signer and key), over the same document. A proof is a pure function of the
-- payload, the key and the signature's time, so a kept one is never stale; losing it costs a remake.
CREATE TABLE credential_proofs (
    credential_id uuid NOT NULL,
    organisation_id uuid NOT NULL,
    kid text NOT NULL,
    proof jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (credential_id, organisation_id),
    FOREIGN KEY (credential_id, organisation_id)
        REFERENCES credential_signatures (credential_id, organisation_id) ON DELETE CASCADE
);

-- migrate:down
DROP TABLE credential_proofs;
