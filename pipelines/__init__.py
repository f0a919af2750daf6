"""Flows that span several packages (curation, trainer): each a sequence of small, resumable steps."""
