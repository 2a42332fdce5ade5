-- migrate:up
-- Webhook deliveries go in order per subject: a delivery also waits while an earlier event of its subject is
-- still being handled (its deliveries may not exist yet), and the handling of an event hands out the
-- deliveries of its subject that it let go.
CREATE INDEX outbox_pending_subject_idx ON outbox (subject, id) WHERE done_at IS NULL;
CREATE INDEX webhook_deliveries_pending_by_subject_idx ON webhook_deliveries (subject) WHERE status = 'pending';

-- migrate:down
DROP INDEX webhook_deliveries_pending_by_subject_idx;
DROP INDEX outbox_pending_subject_idx;
