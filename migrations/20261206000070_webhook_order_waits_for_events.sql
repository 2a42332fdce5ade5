-- migrate:up
-- Webhook deliveries go in order per subject: a delivery also waits while an earlier event of its subject is
-- still being handled (its deliveries may not exist yet), and the handling of an event hands out the
-- deliveries of its subject that it let go.
CREATE INDEX outbox_pending_subject_idx ON outbox (subject, id) WHERE done_at IS NULL;
CREATE INDEX webhook_deliveries_pending_by_subject_idx ON webhook_deliveries (subject) WHERE status = 'pending';

-- Whether something earlier holds back the delivery of event $3 about subject $2 to endpoint $1: an earlier
-- pending delivery of the subject to the endpoint, or an earlier event of the subject still being handled
-- (one the outbox has given up on after 25 failures, as its sweep does, holds nothing back). The one rule
-- that due_deliveries, pending_deliveries_of_events and claim_delivery share.
CREATE FUNCTION webhook_delivery_held_back(uuid, text, bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM webhook_deliveries earlier
                   WHERE earlier.endpoint_id = $1 AND earlier.subject = $2
                     AND earlier.status = 'pending' AND earlier.event_id < $3)
        OR EXISTS (SELECT 1 FROM outbox o
                   WHERE o.subject = $2 AND o.id < $3 AND o.done_at IS NULL AND o.attempts < 25)
$$;

-- migrate:down
DROP FUNCTION webhook_delivery_held_back(uuid, text, bigint);
DROP INDEX webhook_deliveries_pending_by_subject_idx;
DROP INDEX outbox_pending_subject_idx;
