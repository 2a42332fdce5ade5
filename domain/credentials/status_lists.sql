-- Bitstring status lists. $-parameters named "pg_bit" are PostgreSQL bit numbers (get_bit/set_bit count
-- from the least significant bit of each byte), which the module computes from the specification's index.

-- name: next_slot
-- One slot and, when they exist already (the usual case), its lists' ids: one round trip.
-- $2 is the list size. MATERIALIZED keeps nextval() to one call.
WITH slot AS MATERIALIZED (SELECT nextval('status_list_entries') AS n)
SELECT slot.n,
       (SELECT l.id FROM status_lists l
        WHERE l.organisation_id = $1 AND l.number = (slot.n / $2)::integer AND l.purpose = 'revocation') AS revocation_id,
       (SELECT l.id FROM status_lists l
        WHERE l.organisation_id = $1 AND l.number = (slot.n / $2)::integer AND l.purpose = 'suspension') AS suspension_id
FROM slot;

-- name: next_slots
SELECT nextval('status_list_entries') AS n FROM generate_series(1, $1);

-- name: create_lists
-- Lists are made on first use; a concurrent first use made them too: nothing happens twice. Rows go in
-- a fixed order so that two transactions making the same lists wait for each other, never deadlock.
INSERT INTO status_lists (organisation_id, number, purpose)
SELECT $1, n, p
FROM unnest($2::integer[]) AS n CROSS JOIN unnest(ARRAY['revocation', 'suspension']) AS p
ORDER BY n, p
ON CONFLICT DO NOTHING;

-- name: list_ids
SELECT number, purpose, id FROM status_lists WHERE organisation_id = $1 AND number = ANY($2::integer[]);

-- name: set_bit
-- Changes the bit only if it differs, and never clears a revocation bit; the version counts real changes.
UPDATE status_lists
SET bits = set_bit(bits, $4, $5), version = version + 1, updated_at = now()
WHERE organisation_id = $1 AND number = $2 AND purpose = $3
  AND get_bit(bits, $4) <> $5 AND ($5 = 1 OR purpose <> 'revocation')
RETURNING version;

-- name: bit_of
SELECT get_bit(bits, $4) AS bit FROM status_lists WHERE organisation_id = $1 AND number = $2 AND purpose = $3;

-- name: bits_at
SELECT purpose, get_bit(bits, $3) AS bit FROM status_lists WHERE organisation_id = $1 AND number = $2;

-- name: status_list
-- A revocation list is published with its sibling suspension list's bits ORed in (see status_lists.py), so
-- its published version is the sum of both lists' versions: it grows whenever either list changes. The
-- bits (16 KB each) come only when the cached signature is of an older version.
SELECT l.organisation_id, l.purpose, p.version, l.signed_jwt, l.signed_version,
       CASE WHEN l.signed_version IS NOT DISTINCT FROM p.version THEN NULL ELSE l.bits END AS bits,
       CASE WHEN l.signed_version IS NOT DISTINCT FROM p.version THEN NULL ELSE s.bits END AS suspension_bits
FROM status_lists l
LEFT JOIN status_lists s
       ON l.purpose = 'revocation' AND s.organisation_id = l.organisation_id AND s.number = l.number
      AND s.purpose = 'suspension'
CROSS JOIN LATERAL (SELECT l.version + coalesce(s.version, 0) AS version) p
WHERE l.id = $1;

-- name: cache_signed
-- Keeps a signature of published version $3 unless a newer one is cached. The bits it signed were read in
-- one statement, so it is right for version $3 whenever it is stored; a list whose bits changed since is
-- simply stale, and signed again on the next read. A row locked by a status change in progress is skipped
-- rather than waited for: the next read caches.
UPDATE status_lists
SET signed_jwt = $2, signed_version = $3
WHERE id = (SELECT id FROM status_lists WHERE id = $1 FOR UPDATE SKIP LOCKED)
  AND (signed_version IS NULL OR signed_version < $3);
