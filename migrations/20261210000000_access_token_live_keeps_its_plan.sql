-- migrate:up

-- access_token_live as SQL was never inlined (a body with a sublink cannot be), so every statement calling it
-- parsed and planned its body afresh: a fifth of PostgreSQL's time per recording went there (perf, bench/README.md).
-- In PL/pgSQL its query's plan is prepared once per connection. What "live" means is unchanged.
CREATE OR REPLACE FUNCTION access_token_live(p_jti text) RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM oauth_tokens t JOIN oauth_clients c USING (client_id)
                   WHERE t.jti = p_jti AND t.revoked_at IS NULL AND c.disabled_at IS NULL AND t.expires_at > now());
END
$$;

-- migrate:down
CREATE OR REPLACE FUNCTION access_token_live(p_jti text) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM oauth_tokens t JOIN oauth_clients c USING (client_id)
                   WHERE t.jti = p_jti AND t.revoked_at IS NULL AND c.disabled_at IS NULL AND t.expires_at > now())
$$;
