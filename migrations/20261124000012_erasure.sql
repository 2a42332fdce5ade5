-- migrate:up

-- A learner's erasure request (GDPR Art. 17). The person's login becomes a tombstone (no password, an
-- address that cannot be mail) and their learner records are pseudonymised; the rows stay, because
-- attempts, credentials and the audit trail point at them and the providers must keep their
-- assessment records. erased_at says that it happened and when.
ALTER TABLE persons ADD COLUMN erased_at timestamptz;
ALTER TABLE learners
    ADD COLUMN erased_at timestamptz,
    ADD CONSTRAINT learners_erased_check
        CHECK (erased_at IS NULL OR (name = 'erased' AND email IS NULL AND date_of_birth IS NULL));

-- An erasure revokes every token of the person and drops their unused authorization codes.
CREATE INDEX oauth_tokens_person_idx ON oauth_tokens (person_id) WHERE person_id IS NOT NULL;
CREATE INDEX oauth_authorization_codes_person_idx ON oauth_authorization_codes (person_id);
-- ... and strips the actor from the xAPI statements its attempts came from.
CREATE INDEX xapi_statements_attempt_idx ON xapi_statements (attempt_id) WHERE attempt_id IS NOT NULL;

-- Attempts stay append-only, with one controlled exception: an erasure (which sets the transaction-local
-- setting guildhall.erasure) may rewrite the submission and evidence of an attempt, to drop the notes,
-- evidence locations and simulator identities in them. Every other column — the decision above all —
-- must stay as it was; deleting stays impossible.
CREATE OR REPLACE FUNCTION attempts_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND current_setting('guildhall.erasure', true) = 'on'
       AND to_jsonb(NEW) - ARRAY['submission', 'evidence'] = to_jsonb(OLD) - ARRAY['submission', 'evidence'] THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'attempts are append-only: record a correction instead';
END $$;

-- migrate:down
CREATE OR REPLACE FUNCTION attempts_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'attempts are append-only: record a correction instead';
END $$;
DROP INDEX xapi_statements_attempt_idx, oauth_authorization_codes_person_idx, oauth_tokens_person_idx;
ALTER TABLE learners DROP CONSTRAINT learners_erased_check, DROP COLUMN erased_at;
ALTER TABLE persons DROP COLUMN erased_at;
