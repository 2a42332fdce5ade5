-- migrate:up

-- Which worker's sweep marked an event dispatched. The sweep marks a chunk of events before it hands them to Redis
-- (a job must not meet the marking's row locks), so a worker killed between the two left events marked and never
-- queued, and they waited out the whole redispatch delay (a minute) before the next sweep took them. With the
-- sweeping worker's id on the row, a later sweep takes them again once that worker's heartbeat is gone.
ALTER TABLE outbox ADD COLUMN dispatched_by text;

-- migrate:down
ALTER TABLE outbox DROP COLUMN dispatched_by;
