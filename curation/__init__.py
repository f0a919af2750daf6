"""The curation library: the DuckDB store and everything that reads or writes it.

The CLI and the HTTP service are thin shells over these functions; nothing here prints.
"""
