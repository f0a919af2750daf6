-- Argilla pull cursor: where an interrupted pull resumes

-- One row per dataset while a pull is under way: the last revision id (pulls walk open records
-- in id order) whose page landed. A finished pull deletes its row; a killed one leaves it.
CREATE TABLE argilla_pull_cursors (
    dataset VARCHAR PRIMARY KEY,
    last_revision_id VARCHAR NOT NULL,
    started_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
