-- migrate:up

-- A programme or qualification withdrawn from the public register by its lead organisation: it leaves the
-- register's search and the Europass dataset (credentials already issued stay as they are) until a new version
-- is published, which lists it again.
ALTER TABLE designs ADD COLUMN withdrawn_at timestamptz;
ALTER TABLE designs ADD COLUMN withdrawal_reason text;
ALTER TABLE designs ADD CONSTRAINT designs_withdrawal_check
    CHECK ((withdrawn_at IS NULL) = (withdrawal_reason IS NULL));

-- migrate:down
ALTER TABLE designs DROP CONSTRAINT designs_withdrawal_check;
ALTER TABLE designs DROP COLUMN withdrawal_reason;
ALTER TABLE designs DROP COLUMN withdrawn_at;
