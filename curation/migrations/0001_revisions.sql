-- revisions, provenance, status events, imports, snapshots

CREATE TABLE revisions (
    id VARCHAR PRIMARY KEY,          -- sha256 of canonical identity JSON
    parent_id VARCHAR,               -- set for corrections
    kind VARCHAR NOT NULL,
    category VARCHAR,
    messages JSON NOT NULL,
    metadata JSON NOT NULL,
    source_type VARCHAR NOT NULL,    -- first provenance, denormalised for filters
    source_name VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE provenance (
    revision_id VARCHAR NOT NULL,
    source_type VARCHAR NOT NULL,
    source_name VARCHAR NOT NULL,
    source_file VARCHAR,
    source_line INTEGER,
    original JSON,
    import_id VARCHAR,
    recorded_at TIMESTAMP NOT NULL
);

CREATE SEQUENCE status_event_seq START 1;

CREATE TABLE status_events (
    seq BIGINT PRIMARY KEY DEFAULT nextval('status_event_seq'),
    revision_id VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    actor VARCHAR NOT NULL,
    reason VARCHAR,
    recorded_at TIMESTAMP NOT NULL
);

CREATE TABLE imports (
    id VARCHAR PRIMARY KEY,
    file VARCHAR NOT NULL,
    file_sha256 VARCHAR,
    source_type VARCHAR,
    source_name VARCHAR,
    on_error VARCHAR NOT NULL,
    rows INTEGER NOT NULL,
    new INTEGER NOT NULL,
    existing INTEGER NOT NULL,
    malformed JSON NOT NULL,
    aborted BOOLEAN NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);

CREATE TABLE snapshots (
    id VARCHAR PRIMARY KEY,          -- sha256 of sorted member ids
    name VARCHAR NOT NULL UNIQUE,
    where_clause VARCHAR NOT NULL,
    parent_id VARCHAR,
    member_count INTEGER NOT NULL,
    content_hash VARCHAR NOT NULL,
    counts JSON NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE snapshot_members (
    snapshot_id VARCHAR NOT NULL,
    revision_id VARCHAR NOT NULL,
    PRIMARY KEY (snapshot_id, revision_id)
);

-- The current status of a revision is its latest status event; 'proposed' if it has none.
CREATE VIEW samples AS
SELECT r.*,
       coalesce(s.status, 'proposed') AS status
FROM revisions r
LEFT JOIN (
    SELECT revision_id, arg_max(status, seq) AS status
    FROM status_events GROUP BY revision_id
) s ON s.revision_id = r.id;
