-- suggested labels: classifier models, their predictions, and cached embeddings

-- One linear head per task and training set, its weights as JSON (no pickle is ever loaded).
-- The id hashes the task, the classifier version, the embedding model and the (id, label)
-- pairs it learned from, so retraining on unchanged labels reuses the model.
CREATE TABLE classifier_models (
    id VARCHAR PRIMARY KEY,
    task VARCHAR NOT NULL,            -- kind | category | intent
    classifier VARCHAR NOT NULL,      -- e.g. classifier@1
    embedding_model VARCHAR NOT NULL,
    view VARCHAR NOT NULL,            -- which text was embedded: conversation | prompt
    labels JSON NOT NULL,             -- the classes, in weight order
    weights JSON NOT NULL,            -- {coef, intercept}
    trained_on INTEGER NOT NULL,
    label_counts JSON NOT NULL,
    params JSON NOT NULL,
    created_at TIMESTAMP NOT NULL     -- UTC
);

-- The latest prediction per sample and task. Kept apart from revisions.kind/category and from
-- reviews, so a prediction never overwrites a label a file or a person gave.
CREATE TABLE classifier_predictions (
    revision_id VARCHAR NOT NULL,
    task VARCHAR NOT NULL,
    label VARCHAR NOT NULL,
    score DOUBLE NOT NULL,            -- the model's probability for label
    model_id VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,    -- UTC
    PRIMARY KEY (revision_id, task)
);

-- Sentence embeddings the classifier computed (revision ids are content hashes, so a cached
-- vector never goes stale); dedup's own faiss index is read first for the conversation view.
CREATE TABLE classifier_embeddings (
    revision_id VARCHAR NOT NULL,
    view VARCHAR NOT NULL,
    model VARCHAR NOT NULL,
    vector FLOAT[] NOT NULL,
    PRIMARY KEY (revision_id, view, model)
);
