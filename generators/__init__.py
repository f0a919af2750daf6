"""Proposers: generators make drafts cheap; everything they make is validated and dedup-checked
before a human sees it. ``base.py`` holds the interface and registry, ``run.py`` the pipeline."""
