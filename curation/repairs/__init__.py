"""Repairs: rewrites of answers that fail validation in a fixable way, proposed for review.

One job per module: ``legacy.py`` reads the field's older ``**Bug:** ... **Fix:**`` answers into parts,
``compose.py`` restructures them diagnosis-first, ``category.py`` names a missing category in the
header, ``service.py`` picks candidates, validates rewrites and writes the ones that pass as child
revisions, ``prompt.py`` and ``model.py`` have a teacher or bootstrap model rewrite what restructuring
could not (under the same code guard and validators), and ``lookup.py`` finds a sample's repair (the
Argilla push sends it as a suggestion). ``model.py`` is imported only when a model is used.
"""

from curation.repairs.lookup import latest_repairs
from curation.repairs.service import REPAIR_SOURCE, RepairOutcome, RepairReport, propose_repairs

__all__ = ["REPAIR_SOURCE", "RepairOutcome", "RepairReport", "latest_repairs", "propose_repairs"]
