"""Exports: render a snapshot into the training formats the field uses, with splits and a card."""

from curation.export.formats import EXPORT_FORMATS, ExportFormat
from curation.export.splits import SPLIT_NAMES, SplitRatios, parse_ratios, stratified_split
from curation.export.writer import ExportResult, export_snapshot

__all__ = [
    "EXPORT_FORMATS",
    "SPLIT_NAMES",
    "ExportFormat",
    "ExportResult",
    "SplitRatios",
    "export_snapshot",
    "parse_ratios",
    "stratified_split",
]
