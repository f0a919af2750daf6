-- refinement loop state, one row per round and step

CREATE TABLE loop_steps (
    round INTEGER NOT NULL,
    step VARCHAR NOT NULL,
    status VARCHAR NOT NULL,          -- running | waiting | done | failed
    data JSON NOT NULL,
    error VARCHAR,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (round, step)
);
