-- migrate:up

-- One canonical form of an e-mail address, stored beside the address as given and the only one compared:
-- Unicode NFKC, then full case folding, then NFKC again (Python's unicodedata and str.casefold, in
-- domain/people.py canonical_email). Before, sign-in keyed its rate limit on Python's lower() but found the
-- account with PostgreSQL's lower(), which maps U+0130 (İ) to i under a libc collation: one account, two
-- budgets. The SQL below computes the same form for ASCII addresses (NFKC and case folding are lower() there);
-- for the rare others it is close, and `guildhall migrate` re-derives them in Python right after.
ALTER TABLE persons ADD COLUMN email_canonical text;
UPDATE persons SET email_canonical = lower(normalize(btrim(email), NFKC));
-- Addresses that lower() kept apart but the canonical form folds together (a full-width letter, a stray space):
-- the one already in canonical form, else the oldest, keeps it; the others keep lower(email), unique under the
-- index this replaces (and left so by `guildhall migrate`, which logs them).
UPDATE persons p SET email_canonical = lower(p.email)
FROM (SELECT id, row_number() OVER (PARTITION BY email_canonical
                                    ORDER BY lower(email) = email_canonical DESC, created_at, id) AS n
      FROM persons) d
WHERE d.id = p.id AND d.n > 1;
ALTER TABLE persons ALTER COLUMN email_canonical SET NOT NULL;
CREATE UNIQUE INDEX persons_email_canonical_key ON persons (email_canonical);
DROP INDEX persons_email_key;

ALTER TABLE learners ADD COLUMN email_canonical text;
UPDATE learners SET email_canonical = lower(normalize(btrim(email), NFKC)) WHERE email IS NOT NULL;
UPDATE learners l SET email_canonical = lower(l.email)
FROM (SELECT id, row_number() OVER (PARTITION BY provider_id, email_canonical
                                    ORDER BY lower(email) = email_canonical DESC, created_at, id) AS n
      FROM learners WHERE email IS NOT NULL) d
WHERE d.id = l.id AND d.n > 1;
ALTER TABLE learners ADD CONSTRAINT learners_email_canonical_check CHECK ((email IS NULL) = (email_canonical IS NULL));
CREATE UNIQUE INDEX learners_provider_email_canonical_key ON learners (provider_id, email_canonical)
    WHERE email_canonical IS NOT NULL;
DROP INDEX learners_provider_email_key;

-- Claim codes are now kept as HMAC-SHA-256 under a server key (prefixed hmac-sha256:); rows from before hold
-- the unkeyed SHA-256 and are honoured until used, replaced or expired.
COMMENT ON COLUMN learner_claim_codes.code_hash IS
    'hmac-sha256:<hex> under the server''s claim-code key; a bare SHA-256 hex for codes issued before';

-- migrate:down
COMMENT ON COLUMN learner_claim_codes.code_hash IS NULL;
CREATE UNIQUE INDEX learners_provider_email_key ON learners (provider_id, lower(email)) WHERE email IS NOT NULL;
DROP INDEX learners_provider_email_canonical_key;
ALTER TABLE learners DROP CONSTRAINT learners_email_canonical_check, DROP COLUMN email_canonical;
CREATE UNIQUE INDEX persons_email_key ON persons (lower(email));
DROP INDEX persons_email_canonical_key;
ALTER TABLE persons DROP COLUMN email_canonical;
