-- name: insert_offer
INSERT INTO credential_offers (id, credential_ids, configuration_ids, pre_authorized_code_hash, tx_code_hash,
                               issuer_state_hash, offer_sealed, created_by_client, created_by_person, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now() + make_interval(mins => $10))
RETURNING expires_at;

-- name: sealed_offer
SELECT offer_sealed, credential_ids, expires_at FROM credential_offers
WHERE id = $1 AND expires_at > now() AND redeemed_at IS NULL AND tx_code_failures < $2;

-- name: lock_by_pre_authorized_code
SELECT id, credential_ids, configuration_ids, tx_code_hash, tx_code_failures, redeemed_at,
       expires_at <= now() AS expired,
       (SELECT array_agg(c.kind ORDER BY array_position(o.credential_ids, c.id))
        FROM credentials c WHERE c.id = ANY(o.credential_ids)) AS credential_kinds
FROM credential_offers o WHERE pre_authorized_code_hash = $1
FOR UPDATE OF o;

-- name: lock_by_issuer_state
SELECT id, credential_ids, configuration_ids, redeemed_at, expires_at <= now() AS expired
FROM credential_offers WHERE issuer_state_hash = $1
FOR UPDATE;

-- name: lock_offer
SELECT id, credential_ids, configuration_ids, redeemed_at, expires_at <= now() AS expired,
       (SELECT array_agg(c.kind ORDER BY array_position(o.credential_ids, c.id))
        FROM credentials c WHERE c.id = ANY(o.credential_ids)) AS credential_kinds
FROM credential_offers o WHERE id = $1
FOR UPDATE OF o;

-- name: count_tx_code_failure
UPDATE credential_offers SET tx_code_failures = tx_code_failures + 1 WHERE id = $1
RETURNING tx_code_failures;

-- name: revoke_offer_token
-- A replayed code: the token it was redeemed for stops working too.
UPDATE credential_offers SET access_token_revoked_at = coalesce(access_token_revoked_at, now()) WHERE id = $1;

-- name: redeem
UPDATE credential_offers
SET redeemed_at = now(), access_token_jti = $2, access_token_expires_at = to_timestamp($3)
WHERE id = $1 AND redeemed_at IS NULL;

-- name: offer_for_token
SELECT id, credential_ids, configuration_ids,
       (SELECT array_agg(c.kind ORDER BY array_position(o.credential_ids, c.id))
        FROM credentials c WHERE c.id = ANY(o.credential_ids)) AS credential_kinds
FROM credential_offers o
WHERE access_token_jti = $1 AND access_token_revoked_at IS NULL AND access_token_expires_at > now()
  -- a token of the authorization code grant is also an OAuth token: revoked there (RFC 7009, a replayed code),
  -- it is revoked here
  AND NOT EXISTS (SELECT 1 FROM oauth_tokens t WHERE t.jti = $1 AND t.revoked_at IS NOT NULL);

-- name: credential_owners
-- Each credential with the person who claimed its learner record (NULL if unclaimed), the learner and the
-- organisations that may offer it.
SELECT c.id, c.kind, c.learner_id, l.person_id, c.awarding_body_id, c.provider_id, c.payload IS NOT NULL AS signed
FROM credentials c JOIN learners l ON l.id = c.learner_id
WHERE c.id = ANY($1::uuid[]);

-- name: insert_delivery
INSERT INTO credential_offer_deliveries (offer_id, credential_id, configuration_id, holder)
VALUES ($1, $2, $3, $4);
