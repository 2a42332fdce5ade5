-- migrate:up
-- A success brings the endpoint's backlog forward (domain/webhooks/queries.sql bring_backlog_forward): the
-- deliveries of one endpoint still waiting on a backoff, found by their time.
CREATE INDEX webhook_deliveries_endpoint_due_idx ON webhook_deliveries (endpoint_id, next_attempt_at)
    WHERE status = 'pending';

-- migrate:down
DROP INDEX webhook_deliveries_endpoint_due_idx;
