"""Dedup reports for curators: JSON for tools, Markdown for issues, self-contained HTML to read.

The HTML has no external assets: summary figures, an inline-SVG histogram of pair similarities per
method, and every cluster with its members shown side by side against the representative
(``difflib.HtmlDiff``), largest clusters first. It is a Jinja2 template (``templates/report.html``)
with autoescaping on, since every text in it came from a sample.
"""

from __future__ import annotations

import difflib
import functools
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

import jinja2
from markupsafe import Markup

from curation.dedup.cascade import describe
from curation.errors import StoreError
from curation.workspace import Workspace
from schemas.sample import SampleRevision

BINS = [round(0.5 + 0.05 * i, 2) for i in range(11)]  # 0.50 .. 1.00
MAX_CLUSTERS_SHOWN = 200


@dataclass
class ReportData:
    run: dict[str, Any]
    clusters: list[dict[str, Any]]
    histogram: dict[str, list[int]]
    texts: dict[str, str]


def _display(revision: SampleRevision) -> str:
    return "\n".join(f"[{m.role.value}]\n{m.content}" for m in revision.messages)


def load_report(workspace: Workspace, ref: str) -> ReportData:
    runs = workspace.dedup_runs
    run_id = runs.resolve(ref)
    run = runs.get(run_id)
    clusters: dict[int, dict[str, Any]] = {}
    for cid, rid, rep, sim, methods, status, source, kind, category in runs.members(run_id):
        cluster = clusters.setdefault(cid, {"cluster": cid, "representative": rep, "members": []})
        cluster["members"].append(
            {
                "id": rid,
                "similarity": sim,
                "methods": json.loads(methods),
                "status": status,
                "source": source,
                "kind": kind,
                "category": category,
                "representative": rid == rep,
            }
        )
    ordered = sorted(clusters.values(), key=lambda c: (-len(c["members"]), c["cluster"]))
    ids = [m["id"] for c in ordered[:MAX_CLUSTERS_SHOWN] for m in c["members"]]
    texts = {revision.id: _display(revision) for revision in workspace.samples.revisions(ids)}

    histogram: dict[str, list[int]] = {}
    member_ids = [m["id"] for c in ordered for m in c["members"]]
    for method, sim in runs.similarities_among(member_ids, run["methods"]):
        counts = histogram.setdefault(method, [0] * (len(BINS) - 1))
        index = min(max(int((sim - BINS[0]) / 0.05), 0), len(BINS) - 2)
        counts[index] += 1
    return ReportData(run, ordered, histogram, texts)


def render_json(data: ReportData) -> str:
    return (
        json.dumps(
            {"run": data.run, "histogram": {"bins": BINS, **data.histogram}, "clusters": data.clusters},
            indent=2,
            default=str,
        )
        + "\n"
    )


def _summary_rows(data: ReportData) -> list[tuple[str, str]]:
    run = data.run
    stats = run["stats"]
    mh = run["params"]["minhash"]
    by_method = Counter(m for c in data.clusters for mem in c["members"] for m in mem["methods"])
    return [
        ("run", run["id"]),
        ("created", str(run["created_at"])[:19]),
        ("filter", run["where_clause"]),
        ("methods", ", ".join(run["methods"])),
        ("samples compared", str(run["samples"])),
        ("clusters", str(run["clusters"])),
        ("samples marked duplicate", str(run["duplicates"])),
        ("new pairs this run", ", ".join(f"{k} {v}" for k, v in stats["pairs_found"].items())),
        ("newly indexed", ", ".join(f"{k} {v}" for k, v in stats["indexed"].items())),
        ("seconds", ", ".join(f"{k} {v}" for k, v in stats["seconds"].items())),
        ("members linked by", ", ".join(f"{k} {v}" for k, v in sorted(by_method.items())) or "-"),
        (
            "code decided",
            f"{stats.get('code_decided', 0)} text-similar pair(s) kept apart: both samples carry code, and it differs"
            if run["params"].get("code_decides", False)
            else "off (text alone decides)",
        ),
        ("MinHash", f"{mh['shingle']} {mh['size']}-grams, {mh['num_perm']} permutations, threshold {mh['threshold']}"),
        ("embedding threshold", str(run["params"]["embedding_threshold"])),
        *([("cascade", _stages(stats["cascade"]))] if stats.get("cascade") else []),
    ]


def _stages(cascade: dict) -> str:
    """The cascade's stages (``cascade.describe``) as one table cell."""
    return "; ".join(line.strip() for line in describe(cascade))


def render_markdown(data: ReportData) -> str:
    out = [f"# Dedup report {data.run['id']}", "", "| figure | value |", "|---|---|"]
    out += [f"| {k} | {v} |" for k, v in _summary_rows(data)]
    out += [
        "",
        "## Pair similarity",
        "",
        "| similarity | " + " | ".join(data.histogram) + " |",
        "|---|" + "---|" * len(data.histogram),
    ]
    for i in range(len(BINS) - 1):
        out.append(
            f"| {BINS[i]:.2f}-{BINS[i + 1]:.2f} | " + " | ".join(str(v[i]) for v in data.histogram.values()) + " |"
        )
    out += ["", "## Clusters", ""]
    for cluster in data.clusters[:MAX_CLUSTERS_SHOWN]:
        rep = cluster["representative"]
        out.append(f"### Cluster {cluster['cluster']} ({len(cluster['members'])} samples), keeps `{rep[:12]}`")
        out.append("")
        for m in cluster["members"]:
            tag = (
                "kept"
                if m["representative"]
                else f"duplicate, similarity {m['similarity']:.3f} via {', '.join(m['methods'])}"
            )
            out.append(
                f"- `{m['id'][:12]}` {m['kind']} / {m['category'] or '-'} / {m['source']} / {m['status']}: {tag}"
            )
        for m in cluster["members"]:
            if m["representative"] or m["id"] not in data.texts or rep not in data.texts:
                continue
            diff = difflib.unified_diff(
                data.texts[rep].splitlines(),
                data.texts[m["id"]].splitlines(),
                f"kept {rep[:12]}",
                f"duplicate {m['id'][:12]}",
                lineterm="",
                n=1,
            )
            out += ["", "```diff", *diff, "```"]
        out.append("")
    if len(data.clusters) > MAX_CLUSTERS_SHOWN:
        out.append(f"... {len(data.clusters) - MAX_CLUSTERS_SHOWN} more clusters in the JSON report")
    return "\n".join(out) + "\n"


_COLOURS = {"exact": "#4c78a8", "minhash": "#f58518", "embedding": "#54a24b"}


@dataclass(frozen=True)
class _Chart:
    """The similarity histogram laid out for the template's inline SVG: one bar per method per bin."""

    width: int
    height: int
    bins: list[dict[str, Any]]  # each: its label's x and text, and its bars
    legend: list[dict[str, Any]]

    @classmethod
    def of(cls, histogram: dict[str, list[int]]) -> _Chart | None:
        if not histogram:
            return None
        width, height, pad = 640, 220, 30
        bins = len(BINS) - 1
        top = max(max(v) for v in histogram.values()) or 1
        slot = (width - 2 * pad) / bins
        bar = slot / (len(histogram) + 1)
        columns = []
        for i in range(bins):
            x0 = pad + i * slot
            bars = []
            columns.append({"x": f"{x0 + slot / 2:.1f}", "text": f"{BINS[i]:.2f}", "bars": bars})
            for j, (method, counts) in enumerate(histogram.items()):
                h = (height - pad) * counts[i] / top
                bars.append(
                    {
                        "x": f"{x0 + j * bar:.1f}",
                        "y": f"{height - h:.1f}",
                        "width": f"{bar - 1:.1f}",
                        "height": f"{h:.1f}",
                        "colour": _COLOURS.get(method, "#999"),
                        "title": f"{method} {BINS[i]:.2f}-{BINS[i + 1]:.2f}: {counts[i]}",
                    }
                )
        legend = [
            {"x": pad + j * 110, "colour": _COLOURS.get(method, "#999"), "method": method}
            for j, method in enumerate(histogram)
        ]
        return cls(width, height, columns, legend)


@functools.cache
def _templates() -> Any:
    """One environment per process: the service renders a report per request."""
    # Autoescaping on: sample text, sources and filters are contributors' input.
    return jinja2.Environment(
        loader=jinja2.PackageLoader("curation.dedup", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def render_html(data: ReportData) -> str:
    """The report as one self-contained page (``templates/report.html``): no external assets."""
    differ = difflib.HtmlDiff(wrapcolumn=70)
    clusters = []
    for cluster in data.clusters[:MAX_CLUSTERS_SHOWN]:
        rep = cluster["representative"]
        diffs = [
            # HtmlDiff escapes the texts itself; its table is markup.
            Markup(
                differ.make_table(
                    data.texts[rep].splitlines(),
                    data.texts[m["id"]].splitlines(),
                    f"kept {rep[:12]}",
                    f"duplicate {m['id'][:12]}",
                )
            )
            for m in cluster["members"]
            if not m["representative"] and m["id"] in data.texts and rep in data.texts
        ]
        clusters.append(
            {"number": cluster["cluster"], "representative": rep, "members": cluster["members"], "diffs": diffs}
        )
    page = (
        _templates()
        .get_template("report.html")
        .render(
            run_id=data.run["id"],
            summary=_summary_rows(data),
            chart=_Chart.of(data.histogram),
            clusters=clusters,
            hidden=max(0, len(data.clusters) - MAX_CLUSTERS_SHOWN),
        )
    )
    return page + "\n"


RENDERERS = {"json": render_json, "md": render_markdown, "html": render_html}


def render_report(workspace: Workspace, ref: str, fmt: str) -> str:
    if fmt not in RENDERERS:
        raise StoreError(f"unknown report format {fmt!r}; choose html, md or json")
    return RENDERERS[fmt](load_report(workspace, ref))
