-- migrate:up

-- A login a learner made for themselves with a claim code: nobody has checked that the e-mail address
-- is theirs, so an organisation cannot make it a member (which would hand the membership to whoever
-- registered the address) until the address is verified.
ALTER TABLE persons ADD COLUMN self_registered boolean NOT NULL DEFAULT false;

-- migrate:down
ALTER TABLE persons DROP COLUMN self_registered;
