-- validation results, per-sample validation summary, assembler cache

CREATE TABLE validation_results (
    revision_id VARCHAR NOT NULL,
    validator VARCHAR NOT NULL,
    version VARCHAR NOT NULL,
    passed BOOLEAN NOT NULL,
    score DOUBLE NOT NULL,
    issues JSON NOT NULL,
    details JSON NOT NULL,
    validated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (revision_id, validator, version)
);

-- One row per revision: did its kind's required validators (at their current versions) pass?
CREATE TABLE validation_summary (
    revision_id VARCHAR PRIMARY KEY,
    profile VARCHAR NOT NULL,
    passed BOOLEAN NOT NULL,
    score DOUBLE NOT NULL,
    failed JSON NOT NULL,
    validated_at TIMESTAMP NOT NULL
);

CREATE TABLE asm_cache (
    key VARCHAR PRIMARY KEY,            -- sha256 of assembler version + snippet
    outcome JSON NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE OR REPLACE VIEW samples AS
SELECT r.*,
       coalesce(s.status, 'proposed') AS status,
       CASE WHEN v.passed THEN 'passed' WHEN NOT v.passed THEN 'failed' ELSE 'pending' END
           AS validation,
       v.score AS validation_score
FROM revisions r
LEFT JOIN (
    SELECT revision_id, arg_max(status, seq) AS status
    FROM status_events GROUP BY revision_id
) s ON s.revision_id = r.id
LEFT JOIN validation_summary v ON v.revision_id = r.id;
