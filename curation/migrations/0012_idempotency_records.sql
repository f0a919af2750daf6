-- idempotency records: the first answer to each Idempotency-Key, per API key

-- Written in the same transaction as the submissions the answer reports, so after a crash a
-- record exists exactly when its writes do: a retry either replays the answer or runs afresh.
CREATE TABLE idempotency_records (
    key_id VARCHAR NOT NULL,          -- the API key that sent it: clients' keys never collide
    idempotency_key VARCHAR NOT NULL,
    operation VARCHAR NOT NULL,       -- e.g. POST /v1/submissions
    fingerprint VARCHAR NOT NULL,     -- sha256 of the operation and its body
    status INTEGER NOT NULL,          -- the HTTP status of the first answer
    body JSON NOT NULL,               -- its body, replayed verbatim
    location VARCHAR,
    created_at TIMESTAMP NOT NULL,    -- UTC
    PRIMARY KEY (key_id, idempotency_key)
);
