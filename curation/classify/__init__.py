"""Suggested labels that learn: a linear head on MiniLM embeddings, trained on the store's own labels.

``tasks`` (what is predicted and learnt from), ``features`` (embeddings, reused from dedup or cached),
``model`` (the head: scikit-learn fits, numpy predicts, weights stored as JSON), ``training`` (one
stored model per task and label set), ``predictions`` (their table), ``service`` (``triforge
classify``), ``baseline`` (the keyword rules it replaces) and ``evaluate`` (cross-validation beside the
baseline). Submodules import scikit-learn and sentence-transformers only when they run.
"""
