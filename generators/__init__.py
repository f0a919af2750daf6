"""Proposers: generators make drafts cheap; everything they make is validated and dedup-checked
before a human sees it. ``base.py`` holds the interface and the registry, which finds each proposer package
here by itself (``load_builtin``); ``pipelines/generate.py`` is the flow that stores and checks proposals."""
