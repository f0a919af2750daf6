-- Argilla sync: what was pushed where, reviewers' responses, applied decisions

CREATE TABLE argilla_records (
    revision_id VARCHAR PRIMARY KEY,  -- also the Argilla record id
    dataset VARCHAR NOT NULL,
    pushed_at TIMESTAMP NOT NULL
);

CREATE TABLE reviews (
    revision_id VARCHAR NOT NULL,
    reviewer VARCHAR NOT NULL,
    status VARCHAR NOT NULL,          -- Argilla response status: draft | submitted | discarded
    decision VARCHAR,                 -- approve | reject
    corrected_answer VARCHAR,
    category VARCHAR,
    rating INTEGER,
    notes VARCHAR,
    responded_at TIMESTAMP,
    pulled_at TIMESTAMP NOT NULL,
    PRIMARY KEY (revision_id, reviewer)
);

CREATE TABLE review_outcomes (
    revision_id VARCHAR PRIMARY KEY,
    outcome VARCHAR NOT NULL,         -- approved | rejected | corrected | disputed
    rule VARCHAR NOT NULL,
    corrected_revision_id VARCHAR,
    decided_at TIMESTAMP NOT NULL
);
