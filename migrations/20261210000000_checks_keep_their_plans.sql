-- migrate:up

-- access_token_live and webhook_delivery_held_back as SQL were never inlined (a body with a sublink cannot be), so
-- every statement calling them parsed and planned their bodies afresh: for access_token_live, a fifth of
-- PostgreSQL's time per recording (perf, bench/README.md). In PL/pgSQL their queries' plans are prepared once per
-- connection. What they answer is unchanged.
CREATE OR REPLACE FUNCTION access_token_live(p_jti text) RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM oauth_tokens t JOIN oauth_clients c USING (client_id)
                   WHERE t.jti = p_jti AND t.revoked_at IS NULL AND c.disabled_at IS NULL AND t.expires_at > now());
END
$$;

CREATE OR REPLACE FUNCTION webhook_delivery_held_back(uuid, text, bigint) RETURNS boolean LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM webhook_deliveries earlier
                   WHERE earlier.endpoint_id = $1 AND earlier.subject = $2
                     AND earlier.status = 'pending' AND earlier.event_id < $3)
        OR EXISTS (SELECT 1 FROM outbox o
                   WHERE o.subject = $2 AND o.id < $3 AND o.done_at IS NULL AND o.attempts < 25);
END
$$;

-- migrate:down
CREATE OR REPLACE FUNCTION access_token_live(p_jti text) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM oauth_tokens t JOIN oauth_clients c USING (client_id)
                   WHERE t.jti = p_jti AND t.revoked_at IS NULL AND c.disabled_at IS NULL AND t.expires_at > now())
$$;

CREATE OR REPLACE FUNCTION webhook_delivery_held_back(uuid, text, bigint) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM webhook_deliveries earlier
                   WHERE earlier.endpoint_id = $1 AND earlier.subject = $2
                     AND earlier.status = 'pending' AND earlier.event_id < $3)
        OR EXISTS (SELECT 1 FROM outbox o
                   WHERE o.subject = $2 AND o.id < $3 AND o.done_at IS NULL AND o.attempts < 25)
$$;
