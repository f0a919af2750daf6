-- teacher and bootstrap request ledger (resumable, paid-for-once batches)

-- One row per task of a batch. The raw reply is written the moment it arrives, so a killed
-- run resumes by parsing what it already paid for instead of asking again.
CREATE TABLE teacher_requests (
    batch_id VARCHAR NOT NULL,
    task_index INTEGER NOT NULL,
    task JSON NOT NULL,
    provider VARCHAR NOT NULL,
    model VARCHAR NOT NULL,
    status VARCHAR NOT NULL,          -- answered | stored | failed
    attempts INTEGER NOT NULL,
    repaired BOOLEAN NOT NULL,
    raw_response VARCHAR,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cost_usd DOUBLE NOT NULL,
    error VARCHAR,
    revision_id VARCHAR,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (batch_id, task_index)
);
