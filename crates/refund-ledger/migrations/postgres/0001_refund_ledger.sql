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
    last_detail             TEXT,                       -- what the last change was, in words
    batch_id                TEXT,
    batch_row               BIGINT,
    version                 BIGINT  NOT NULL DEFAULT 0,
    created_at_ms           BIGINT  NOT NULL,
    updated_at_ms           BIGINT  NOT NULL
-- Room on each page, and no index on a column a change touches (state, lease, attempts): every
-- change can then be a heap-only update, which writes no index. Reading by state (reconcile,
-- `ledger list --state`) scans the table instead: rare, and done by a person or a batch start.
) WITH (fillfactor = 85);
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

-- The database keeps the audit trail and the charges' totals itself: every write of an intent
-- is one statement, and these triggers do the rest in it, so no code path can forget an event
-- or a hold, and a refused hold undoes the write. (AFTER INSERT: a row skipped by
-- ON CONFLICT DO NOTHING fires none.)

-- Written down: its amount held on its charge, its events (and, claimed in the same step, its
-- claim's). Every change: its event, and a refund that became declined gives its hold back.
CREATE FUNCTION refund_intents_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- An amount is held against its charge, or the insert fails whole. The row lock of the
        -- UPDATE makes check and addition one step across instances.
        IF NEW.amount_minor IS NOT NULL THEN
            INSERT INTO refund_charges (provider, original_transaction_id, currency, charge_minor)
            VALUES (NEW.provider, NEW.original_transaction_id, NEW.currency, NEW.charge_minor)
            ON CONFLICT (provider, original_transaction_id) DO NOTHING;
            UPDATE refund_charges
            SET reserved_minor = reserved_minor + NEW.amount_minor,
                charge_minor = COALESCE(charge_minor, NEW.charge_minor)
            WHERE provider = NEW.provider
              AND original_transaction_id = NEW.original_transaction_id
              AND currency = NEW.currency
              AND (NEW.charge_minor IS NULL OR charge_minor IS NULL
                   OR charge_minor = NEW.charge_minor)
              AND reserved_minor + NEW.amount_minor
                  <= COALESCE(charge_minor, NEW.charge_minor, reserved_minor + NEW.amount_minor);
            IF NOT FOUND THEN
                RAISE EXCEPTION 'refund_ledger: the charge refuses this amount';
            END IF;
        END IF;
        INSERT INTO refund_events (intent_id, at_ms, from_state, to_state, attempt)
        VALUES (NEW.id, NEW.updated_at_ms, NULL, 'reserved', 0);
        IF NEW.state = 'sending' THEN
            INSERT INTO refund_events (intent_id, at_ms, from_state, to_state, attempt)
            VALUES (NEW.id, NEW.updated_at_ms, 'reserved', 'sending', NEW.attempts);
        END IF;
        RETURN NULL;
    END IF;
    INSERT INTO refund_events (intent_id, at_ms, from_state, to_state, attempt, error_kind,
                               provider_code, detail)
    VALUES (NEW.id, NEW.updated_at_ms, OLD.state, NEW.state, NEW.attempts, NEW.last_error_kind,
            CASE WHEN NEW.state = 'sending' THEN NULL ELSE NEW.provider_code END,
            NEW.last_detail);
    IF NEW.amount_minor IS NOT NULL AND OLD.state <> 'declined' AND NEW.state = 'declined' THEN
        UPDATE refund_charges SET reserved_minor = reserved_minor - NEW.amount_minor
        WHERE provider = NEW.provider AND original_transaction_id = NEW.original_transaction_id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER refund_intents_written AFTER INSERT ON refund_intents
    FOR EACH ROW EXECUTE FUNCTION refund_intents_event();
CREATE TRIGGER refund_intents_changed AFTER UPDATE ON refund_intents
    FOR EACH ROW WHEN (NEW.version <> OLD.version) EXECUTE FUNCTION refund_intents_event();
