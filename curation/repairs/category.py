"""Name the sample's bug category in the Bug header when the diagnosis lacks the category's terms.

The terminology validator wants a diagnosis of, say, ``carry_flag`` to name the carry and the flag.
A restructuring cannot add explanation, but the category is already a fact of the sample (its
importer or proposer set it), and ``**Bug: <type>**`` is where the type of bug is named - so the
one addition allowed here is the category's own label, in parentheses: ``**Bug: Missing CLC before
ADC (carry flag)**``. Whether that is enough is the validator's call; if it is not, no repair is made.
"""

from __future__ import annotations

from curation.validators.terms import terms_for
from schemas.taxonomy import canonical_category


def category_label(category: str) -> str:
    """``carry_flag`` -> ``carry flag`` (an alias is named by what it stands for)."""
    return (canonical_category(category) or "").replace("_", " ")


def bug_type_with_category(bug_type: str, category: str | None) -> str | None:
    """The bug type with the category's label added, or None when there is nothing to add (no term list
    for the category, or the header already says it)."""
    if not category or not terms_for(category):
        return None
    label = category_label(category)
    if label.lower() in bug_type.lower():
        return None
    return f"{bug_type} ({label})"
