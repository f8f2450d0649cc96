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
    last_detail             TEXT,                       -- what the last change was, in words
    batch_id                TEXT,
    batch_row               INTEGER,
    version                 INTEGER NOT NULL DEFAULT 0,
    created_at_ms           INTEGER NOT NULL,
    updated_at_ms           INTEGER NOT NULL
);
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

-- The database keeps the audit trail and the charges' totals itself: every write of an intent
-- is one statement, and these triggers do the rest in it, so no code path can forget an event
-- or a hold, and a refused hold undoes the write.

-- A new intent with an amount holds it against its charge, or the insert fails whole.
CREATE TRIGGER refund_intents_hold AFTER INSERT ON refund_intents
WHEN NEW.amount_minor IS NOT NULL
BEGIN
    INSERT INTO refund_charges (provider, original_transaction_id, currency, charge_minor)
    SELECT NEW.provider, NEW.original_transaction_id, NEW.currency, NEW.charge_minor
    WHERE NOT EXISTS (SELECT 1 FROM refund_charges
                      WHERE provider = NEW.provider
                        AND original_transaction_id = NEW.original_transaction_id);
    SELECT RAISE(ABORT, 'refund_ledger: the charge refuses this amount')
    FROM refund_charges
    WHERE provider = NEW.provider AND original_transaction_id = NEW.original_transaction_id
      AND NOT (currency = NEW.currency
               AND (NEW.charge_minor IS NULL OR charge_minor IS NULL
                    OR charge_minor = NEW.charge_minor)
               AND reserved_minor + NEW.amount_minor
                   <= COALESCE(charge_minor, NEW.charge_minor, reserved_minor + NEW.amount_minor));
    UPDATE refund_charges
    SET reserved_minor = reserved_minor + NEW.amount_minor,
        charge_minor = COALESCE(charge_minor, NEW.charge_minor)
    WHERE provider = NEW.provider AND original_transaction_id = NEW.original_transaction_id;
END;

-- Written down (and, in the same step, claimed for sending).
CREATE TRIGGER refund_intents_written AFTER INSERT ON refund_intents
BEGIN
    INSERT INTO refund_events (intent_id, at_ms, from_state, to_state, attempt)
    VALUES (NEW.id, NEW.updated_at_ms, NULL, 'reserved', 0);
    INSERT INTO refund_events (intent_id, at_ms, from_state, to_state, attempt)
    SELECT NEW.id, NEW.updated_at_ms, 'reserved', 'sending', NEW.attempts
    WHERE NEW.state = 'sending';
END;

-- Every change: its event; a refund that became declined gives its hold back.
CREATE TRIGGER refund_intents_changed AFTER UPDATE ON refund_intents
WHEN NEW.version <> OLD.version
BEGIN
    INSERT INTO refund_events (intent_id, at_ms, from_state, to_state, attempt, error_kind,
                               provider_code, detail)
    VALUES (NEW.id, NEW.updated_at_ms, OLD.state, NEW.state, NEW.attempts, NEW.last_error_kind,
            CASE WHEN NEW.state = 'sending' THEN NULL ELSE NEW.provider_code END,
            NEW.last_detail);
    UPDATE refund_charges SET reserved_minor = reserved_minor - NEW.amount_minor
    WHERE NEW.amount_minor IS NOT NULL AND OLD.state <> 'declined' AND NEW.state = 'declined'
      AND provider = NEW.provider AND original_transaction_id = NEW.original_transaction_id;
END;
