-- The refund ledger (PostgreSQL). Times are milliseconds since the Unix epoch, as in the SQLite
-- ledger, so both backends share one set of queries; amounts are integer minor units. No column
-- holds a secret: no key, token, signature or OTP is ever stored.

-- One row per refund intent, keyed by the caller's idempotency key.
CREATE TABLE refund_intents (
    id                      BIGSERIAL PRIMARY KEY,
    idempotency_key         TEXT    NOT NULL UNIQUE,
    kind                    TEXT    NOT NULL,           -- 'direct' | 'otp'
    provider                TEXT    NOT NULL,
    original_transaction_id TEXT    NOT NULL,
    acknowledgement         TEXT,                       -- BOS ackno
    amount_minor            BIGINT,
    currency                TEXT,
    charge_minor            BIGINT,
    reference               TEXT    NOT NULL,           -- AOC spTransID; DigiPay's note
    note                    TEXT,
    otp_ref_id              TEXT,                       -- Eko's OTP session reference
    params_hash             TEXT    NOT NULL,
    state                   TEXT    NOT NULL,
    attempts                BIGINT  NOT NULL DEFAULT 0,
    lease_until_ms          BIGINT,
    refund_id               TEXT,
    provider_code           TEXT,
    message                 TEXT,
    last_error_kind         TEXT,
    batch_id                TEXT,
    batch_row               BIGINT,
    version                 BIGINT  NOT NULL DEFAULT 0,
    created_at_ms           BIGINT  NOT NULL,
    updated_at_ms           BIGINT  NOT NULL
);
CREATE INDEX refund_intents_state ON refund_intents (state);
CREATE INDEX refund_intents_charge ON refund_intents (provider, original_transaction_id);
CREATE INDEX refund_intents_batch ON refund_intents (batch_id, batch_row);

-- Every transition of every intent: the audit trail. Rows are only ever added.
CREATE TABLE refund_events (
    id            BIGSERIAL PRIMARY KEY,
    intent_id     BIGINT  NOT NULL REFERENCES refund_intents (id),
    at_ms         BIGINT  NOT NULL,
    from_state    TEXT,
    to_state      TEXT    NOT NULL,
    attempt       BIGINT  NOT NULL,
    error_kind    TEXT,
    provider_code TEXT,
    detail        TEXT
);
CREATE INDEX refund_events_intent ON refund_events (intent_id, id);
CREATE FUNCTION refund_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'refund_events is append-only';
END
$$;
CREATE TRIGGER refund_events_append_only BEFORE UPDATE OR DELETE ON refund_events
    FOR EACH ROW EXECUTE FUNCTION refund_events_append_only();

-- What is held against each original charge: the over-refund guard's running total.
CREATE TABLE refund_charges (
    provider                TEXT    NOT NULL,
    original_transaction_id TEXT    NOT NULL,
    currency                TEXT    NOT NULL,
    charge_minor            BIGINT,
    reserved_minor          BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (provider, original_transaction_id)
);
