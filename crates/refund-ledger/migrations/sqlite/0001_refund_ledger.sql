-- The refund ledger (SQLite). Times are milliseconds since the Unix epoch; amounts are integer
-- minor units. No column holds a secret: no key, token, signature or OTP is ever stored.

-- One row per refund intent, keyed by the caller's idempotency key.
CREATE TABLE refund_intents (
    id                      INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key         TEXT    NOT NULL UNIQUE,
    kind                    TEXT    NOT NULL,           -- 'direct' | 'otp'
    provider                TEXT    NOT NULL,
    original_transaction_id TEXT    NOT NULL,
    acknowledgement         TEXT,                       -- BOS ackno
    amount_minor            INTEGER,
    currency                TEXT,
    charge_minor            INTEGER,
    reference               TEXT    NOT NULL,           -- AOC spTransID; DigiPay's note
    note                    TEXT,
    otp_ref_id              TEXT,                       -- Eko's OTP session reference
    params_hash             TEXT    NOT NULL,
    state                   TEXT    NOT NULL,
    attempts                INTEGER NOT NULL DEFAULT 0,
    lease_until_ms          INTEGER,
    refund_id               TEXT,
    provider_code           TEXT,
    message                 TEXT,
    last_error_kind         TEXT,
    batch_id                TEXT,
    batch_row               INTEGER,
    version                 INTEGER NOT NULL DEFAULT 0,
    created_at_ms           INTEGER NOT NULL,
    updated_at_ms           INTEGER NOT NULL
);
CREATE INDEX refund_intents_state ON refund_intents (state);
CREATE INDEX refund_intents_charge ON refund_intents (provider, original_transaction_id);
CREATE INDEX refund_intents_batch ON refund_intents (batch_id, batch_row);

-- Every transition of every intent: the audit trail. Rows are only ever added.
CREATE TABLE refund_events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    intent_id     INTEGER NOT NULL REFERENCES refund_intents (id),
    at_ms         INTEGER NOT NULL,
    from_state    TEXT,
    to_state      TEXT    NOT NULL,
    attempt       INTEGER NOT NULL,
    error_kind    TEXT,
    provider_code TEXT,
    detail        TEXT
);
CREATE INDEX refund_events_intent ON refund_events (intent_id, id);
CREATE TRIGGER refund_events_no_update BEFORE UPDATE ON refund_events
BEGIN SELECT RAISE(ABORT, 'refund_events is append-only'); END;
CREATE TRIGGER refund_events_no_delete BEFORE DELETE ON refund_events
BEGIN SELECT RAISE(ABORT, 'refund_events is append-only'); END;

-- What is held against each original charge: the over-refund guard's running total.
CREATE TABLE refund_charges (
    provider                TEXT    NOT NULL,
    original_transaction_id TEXT    NOT NULL,
    currency                TEXT    NOT NULL,
    charge_minor            INTEGER,
    reserved_minor          INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (provider, original_transaction_id)
);
