-- migrate:up
-- Listing an organisation's credentials is three index scans merged (as awarding body, as provider, as
-- co-signer), newest first: the co-signer's branch needs its own index over every state (the co-sign queue's
-- covers only those awaiting a signature).
CREATE INDEX credentials_cosigner_idx ON credentials (cosigner_id, created_at, id) WHERE cosigner_id IS NOT NULL;

-- migrate:down
DROP INDEX credentials_cosigner_idx;
