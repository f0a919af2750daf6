"""The validator report a reviewer reads in Argilla: markdown, in words, not issue codes.

For each validator that ran on a sample (its latest result): whether it passed, and for each issue what
is wrong, where (the question or the answer, which code block, which line) and the offending line as
the assembler saw it - an Asar error reads ``the answer, code block 1, line 4 `JSL Foo`: ... Label 'Foo'
wasn't found``. The results come from ``workspace.reviews.latest_results``.
"""

from __future__ import annotations

from typing import Any

TITLES = {
    "diagnosis_first": "Diagnosis-first format",
    "asm_assembles": "Code assembles (Asar)",
    "terminology": "Names what the bug category needs",
    "anti_patterns": "No refusals or hedging",
    "length": "Length",
    "quest_structure": "Quest and implementation are complete",
}
MAX_ISSUES = 8
MARK = {"error": "✗", "warning": "⚠", "info": "ℹ"}


def _where(location: dict[str, Any] | None, roles: list[str]) -> str:
    if not location:
        return ""
    parts = []
    turn = location.get("turn")
    if turn is not None:
        last_answer = max((i for i, r in enumerate(roles) if r == "assistant"), default=None)
        if turn == last_answer:
            parts.append("the answer")
        elif 0 <= turn < len(roles) and roles[turn] == "user" and roles.count("user") == 1:
            parts.append("the question")
        else:
            parts.append(f"turn {turn + 1}" + (f" ({roles[turn]})" if 0 <= turn < len(roles) else ""))
    if location.get("block") is not None:
        parts.append(f"code block {location['block'] + 1}")
    if location.get("line") is not None:
        parts.append(f"line {location['line']}")
    return ", ".join(parts)


def _inline(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"


def render(results: list[dict[str, Any]], roles: list[str], failed: list[str] | None = None) -> str:
    """Markdown for one sample. ``failed``: the required validators that failed (the summary), if any."""
    if not results:
        return "_Not validated yet._"
    required_failed = set(failed or [])
    passed = [r for r in results if r["passed"]]
    headline = f"**{len(passed)} of {len(results)} checks passed**"
    if required_failed:
        headline += f" - required and failing: {', '.join(TITLES.get(v, v) for v in sorted(required_failed))}"
    lines = [headline]
    # Failures first, then passes that still have something to say (warnings, stand-in labels).
    for result in sorted(results, key=lambda r: (r["passed"], r["validator"])):
        title = TITLES.get(result["validator"], result["validator"].replace("_", " "))
        issues = [i for i in result["issues"] if not (result["passed"] and i.get("severity") == "info")]
        verdict = "passed" if result["passed"] else "failed"
        mark = "✓" if result["passed"] else "✗"
        lines.append(f"- {mark} **{title}** {verdict}" + (f" (score {result['score']:.2f})" if issues else ""))
        for issue in issues[:MAX_ISSUES]:
            where = _where(issue.get("location"), roles)
            excerpt = (issue.get("location") or {}).get("excerpt")
            if excerpt:  # the line the assembler stopped at, as written
                where = f"{where} {_inline(excerpt)}".strip()
            symbol = MARK.get(issue.get("severity", "error"), "-")
            lines.append(f"    - {symbol} " + (f"{where}: " if where else "") + issue.get("message", ""))
        if len(issues) > MAX_ISSUES:
            lines.append(f"    - ... and {len(issues) - MAX_ISSUES} more")
    return "\n".join(lines)
