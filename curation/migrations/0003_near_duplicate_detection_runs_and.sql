-- near-duplicate detection runs and eval contamination checks

-- Exact fingerprints per normalisation, so exact dedup is incremental too.
CREATE TABLE dedup_fingerprints (
    revision_id VARCHAR NOT NULL,
    options_key VARCHAR NOT NULL,
    exact_hash VARCHAR NOT NULL,
    PRIMARY KEY (revision_id, options_key)
);

-- Every similar pair ever found (a < b), per method and parameter set.
CREATE TABLE dedup_pairs (
    a VARCHAR NOT NULL,
    b VARCHAR NOT NULL,
    method VARCHAR NOT NULL,
    params_key VARCHAR NOT NULL,
    similarity DOUBLE NOT NULL,
    found_in_run VARCHAR NOT NULL,
    PRIMARY KEY (a, b, method, params_key)
);

CREATE TABLE dedup_runs (
    id VARCHAR PRIMARY KEY,
    methods JSON NOT NULL,
    params JSON NOT NULL,
    where_clause VARCHAR NOT NULL,
    samples INTEGER NOT NULL,
    pairs INTEGER NOT NULL,
    clusters INTEGER NOT NULL,
    duplicates INTEGER NOT NULL,
    stats JSON NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- Members of multi-sample clusters; the representative has representative_id = revision_id.
CREATE TABLE dedup_members (
    run_id VARCHAR NOT NULL,
    cluster_id INTEGER NOT NULL,
    revision_id VARCHAR NOT NULL,
    representative_id VARCHAR NOT NULL,
    similarity DOUBLE,
    methods JSON NOT NULL,
    PRIMARY KEY (run_id, revision_id)
);

CREATE TABLE contamination_checks (
    id VARCHAR PRIMARY KEY,
    snapshot_id VARCHAR NOT NULL,
    eval_files JSON NOT NULL,
    params JSON NOT NULL,
    evals INTEGER NOT NULL,
    leaks INTEGER NOT NULL,
    results JSON NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- duplicate_of: the representative chosen by the latest dedup run that saw the sample.
CREATE OR REPLACE VIEW samples AS
SELECT r.*,
       coalesce(s.status, 'proposed') AS status,
       CASE WHEN v.passed THEN 'passed' WHEN NOT v.passed THEN 'failed' ELSE 'pending' END
           AS validation,
       v.score AS validation_score,
       d.duplicate_of
FROM revisions r
LEFT JOIN (
    SELECT revision_id, arg_max(status, seq) AS status
    FROM status_events GROUP BY revision_id
) s ON s.revision_id = r.id
LEFT JOIN validation_summary v ON v.revision_id = r.id
LEFT JOIN (
    SELECT m.revision_id,
           -- a struct, because arg_max skips NULL values and "representative" is NULL here
           arg_max({'d': CASE WHEN m.representative_id = m.revision_id THEN NULL
                              ELSE m.representative_id END}, dr.created_at).d AS duplicate_of
    FROM dedup_members m JOIN dedup_runs dr ON dr.id = m.run_id
    GROUP BY m.revision_id
) d ON d.revision_id = r.id;
