-- name: create_exchange
INSERT INTO vc_api_exchanges (credential_id, person_id, client_id, challenge, expires_at)
VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))
RETURNING id, credential_id, expires_at;

-- name: open_exchange
-- An exchange the wallet may still use: not completed, not expired.
SELECT id, credential_id, person_id, client_id, challenge, expires_at, started_at, completed_at, expires_at <= now() AS expired
FROM vc_api_exchanges
WHERE id = $1;

-- name: mark_started
UPDATE vc_api_exchanges SET started_at = coalesce(started_at, now()) WHERE id = $1;

-- name: complete_exchange
-- Single use: only the first completion of a live exchange gets a row back.
UPDATE vc_api_exchanges SET completed_at = now(), holder_did = $2
WHERE id = $1 AND completed_at IS NULL AND expires_at > now()
RETURNING id;

-- name: live_exchange_of_credential
SELECT id, expires_at FROM vc_api_exchanges
WHERE id = $1 AND credential_id = $2 AND completed_at IS NULL AND expires_at > now();
