-- migrate:up

-- W3C Bitstring Status List v1.0. A credential gets one slot n from this sequence: list number
-- n / 131072, index n % 131072. Its organisation's lists of that number, one per purpose, hold its
-- bit. A sequence, not a counter row, so concurrent issuance never waits on one hot row; the gaps it
-- leaves in an organisation's lists are harmless (unused bits stay 0).
CREATE SEQUENCE status_list_entries AS bigint MINVALUE 0 START WITH 0;

-- One list of 131,072 bits (16 KB, the specification's minimum for herd privacy) per organisation,
-- number and purpose. Bit i is the (i mod 8)-th bit of byte i / 8 counted from the most significant,
-- as the specification orders them (PostgreSQL's get_bit/set_bit count from the least significant).
-- id is the list's public name (its URL); version counts changes to bits, and the signed status list
-- credential is cached with the version it was signed at, so a read re-signs only after a change.
CREATE TABLE status_lists (
    id uuid NOT NULL DEFAULT gen_random_uuid() UNIQUE,
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    number integer NOT NULL CHECK (number >= 0),
    purpose text NOT NULL CHECK (purpose IN ('revocation', 'suspension')),
    bits bytea NOT NULL DEFAULT decode(repeat('00', 16384), 'hex') CHECK (octet_length(bits) = 16384),
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    signed_jwt text,
    signed_version integer,
    CHECK ((signed_jwt IS NULL) = (signed_version IS NULL)),
    PRIMARY KEY (organisation_id, number, purpose)
);

-- migrate:down
DROP TABLE status_lists;
DROP SEQUENCE status_list_entries;
