-- The Token Status List of a revocation list and its sibling suspension list (token_status_list.py).

-- name: token_source
-- The published version is the sum of both lists' versions, as for the W3C revocation list. The bits (16 KB
-- each) come only when the cached token is of an older version or has less than $2 seconds left.
SELECT l.organisation_id, l.purpose, p.version, l.token_jwt,
       CASE WHEN fresh THEN NULL ELSE l.bits END AS bits,
       CASE WHEN fresh THEN NULL ELSE s.bits END AS suspension_bits
FROM status_lists l
LEFT JOIN status_lists s
       ON l.purpose = 'revocation' AND s.organisation_id = l.organisation_id AND s.number = l.number
      AND s.purpose = 'suspension'
CROSS JOIN LATERAL (SELECT l.version + coalesce(s.version, 0) AS version) p
CROSS JOIN LATERAL (
    SELECT l.token_version IS NOT DISTINCT FROM p.version
           AND l.token_expires_at > now() + make_interval(secs => $2) AS fresh
) f
WHERE l.id = $1;

-- name: cache_token
-- Keeps a token of published version $3 unless a newer (or a longer-lived one of the same version) is cached.
-- A row locked by a status change in progress is skipped rather than waited for: the next read caches.
UPDATE status_lists
SET token_jwt = $2, token_version = $3, token_expires_at = $4
WHERE id = (SELECT id FROM status_lists WHERE id = $1 FOR UPDATE SKIP LOCKED)
  AND (token_version IS NULL OR token_version < $3 OR (token_version = $3 AND token_expires_at < $4));
