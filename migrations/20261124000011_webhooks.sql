-- migrate:up

-- An organisation's webhook subscriptions: a URL and the event types it wants, signed per Standard Webhooks.
-- 'failing' is set by the delivery worker when a delivery runs out of retries; an admin re-enables.
CREATE TABLE webhook_endpoints (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    url text NOT NULL CHECK (length(url) <= 2000),
    description text,
    event_types text[] NOT NULL CHECK (cardinality(event_types) > 0),
    status text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled', 'failing')),
    -- The whsec_ signing secret, AES-256-GCM under the master key: never stored in clear. After a rotation
    -- the previous secret also signs every delivery until previous_secret_expires_at.
    secret_ciphertext bytea NOT NULL,
    previous_secret_ciphertext bytea,
    previous_secret_expires_at timestamptz,
    failing_since timestamptz,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((previous_secret_ciphertext IS NULL) = (previous_secret_expires_at IS NULL)),
    CHECK ((status = 'failing') = (failing_since IS NOT NULL))
);
CREATE INDEX webhook_endpoints_organisation_idx ON webhook_endpoints (organisation_id, created_at, id);

-- One message per outbox event and endpoint (or one test ping), written in the event's own transaction.
-- Its id is the stable webhook-id of every attempt. event_id has no foreign key so that the outbox can
-- be pruned; it also orders the deliveries of one subject (an earlier pending one holds the later back).
CREATE TABLE webhook_deliveries (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    endpoint_id uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id bigint,
    event_type text NOT NULL,
    subject text NOT NULL,
    body text NOT NULL,                         -- the exact bytes signed and sent, on every attempt
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    failures integer NOT NULL DEFAULT 0,        -- failed attempts in a row: drives the backoff
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease uuid,                                 -- the worker attempting it now, until leased_until
    leased_until timestamptz,
    last_attempt_at timestamptz,
    last_response_status integer,
    last_response_excerpt text,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_subject_idx ON webhook_deliveries (endpoint_id, subject, event_id)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);
CREATE INDEX webhook_deliveries_listing_idx ON webhook_deliveries (endpoint_id, created_at, id);

-- Every attempt, as the receiver answered it (or why no answer came).
CREATE TABLE webhook_delivery_attempts (
    delivery_id uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    number integer NOT NULL CHECK (number > 0),
    attempted_at timestamptz NOT NULL,
    duration_ms integer NOT NULL,
    succeeded boolean NOT NULL,
    response_status integer,
    response_excerpt text,
    error text,
    PRIMARY KEY (delivery_id, number)
);

-- migrate:down

DROP TABLE webhook_delivery_attempts, webhook_deliveries, webhook_endpoints;
