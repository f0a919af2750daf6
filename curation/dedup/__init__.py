"""Near-duplicate detection: exact fingerprints, MinHash LSH and embeddings, chained and incremental."""
