-- training runs, eval runs and per-case eval results

-- One row per `triforge train`; the adapter directory holds the same manifest as JSON.
CREATE TABLE training_runs (
    id VARCHAR PRIMARY KEY,
    snapshot_id VARCHAR NOT NULL,
    snapshot_content_hash VARCHAR NOT NULL,
    base_model VARCHAR NOT NULL,
    base_model_sha256 VARCHAR NOT NULL,
    adapter_path VARCHAR NOT NULL,
    config JSON NOT NULL,
    metrics JSON NOT NULL,
    forced BOOLEAN NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP NOT NULL
);

CREATE TABLE eval_runs (
    id VARCHAR PRIMARY KEY,
    model VARCHAR NOT NULL,             -- what was evaluated: adapter dir, model dir or responses file
    training_run_id VARCHAR,            -- set when the model is an adapter Triforge trained
    suite_file VARCHAR NOT NULL,
    suite_sha256 VARCHAR NOT NULL,
    generation JSON NOT NULL,
    summary JSON NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE eval_results (
    eval_run_id VARCHAR NOT NULL,
    suite VARCHAR NOT NULL,
    case_name VARCHAR NOT NULL,
    category VARCHAR,
    response VARCHAR NOT NULL,
    substring_score DOUBLE NOT NULL,
    substring_passed BOOLEAN NOT NULL,
    word_score DOUBLE NOT NULL,
    word_passed BOOLEAN NOT NULL,
    detail JSON NOT NULL,
    PRIMARY KEY (eval_run_id, suite, case_name)
);
