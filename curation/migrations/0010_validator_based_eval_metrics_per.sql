-- validator-based eval metrics per case, contamination flags, and curation experiments

-- Each case's metrics as {name: value or null}; null where a metric does not apply to the case.
ALTER TABLE eval_results ADD COLUMN metrics JSON;

ALTER TABLE eval_results ADD COLUMN kind VARCHAR;

-- The case's prompt was found in the evaluated adapter's training snapshot: left out of means.
ALTER TABLE eval_results ADD COLUMN contaminated BOOLEAN DEFAULT false;

CREATE TABLE experiments (
    name VARCHAR PRIMARY KEY,
    plan JSON NOT NULL,               -- snapshots, base model, budget, seeds, suites, generation
    created_at TIMESTAMP NOT NULL
);

-- One row per unit of work (train one adapter, evaluate one model); a done step is never redone.
CREATE TABLE experiment_steps (
    experiment VARCHAR NOT NULL,
    step VARCHAR NOT NULL,            -- e.g. train:curated:seed0, eval:base
    status VARCHAR NOT NULL,          -- running | done | failed
    data JSON NOT NULL,
    error VARCHAR,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (experiment, step)
);
