"""Triforge: curation service for SNES 65816 debugging and quest-implementation training data.

This package holds only the command line; the work happens in ``curation``, ``labeling``,
``generators`` and ``trainer``, which the CLI and the HTTP service share.
"""

__version__ = "0.1.0"
