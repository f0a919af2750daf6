-- API keys and community submissions

-- Only a SHA-256 of each key is kept: keys are 256-bit random tokens, shown once.
CREATE TABLE api_keys (
    id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    role VARCHAR NOT NULL,
    key_hash VARCHAR NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);

CREATE TABLE submissions (
    id VARCHAR PRIMARY KEY,
    key_id VARCHAR NOT NULL,
    contributor VARCHAR NOT NULL,
    revision_id VARCHAR NOT NULL,
    valid BOOLEAN NOT NULL,
    duplicate_of VARCHAR,
    similarity DOUBLE,
    report JSON NOT NULL,
    created_at TIMESTAMP NOT NULL
);
