"""Dedup reports for curators: JSON for tools, Markdown for issues, self-contained HTML to read.

The HTML has no external assets: summary figures, an inline-SVG histogram of pair similarities per
method, and every cluster with its members shown side by side against the representative
(``difflib.HtmlDiff``), largest clusters first.
"""

from __future__ import annotations

import difflib
import html
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from curation.errors import NotFound, StoreError
from curation.ids import resolve_prefix
from curation.samples import revision_from_row
from curation.store import Store

BINS = [round(0.5 + 0.05 * i, 2) for i in range(11)]  # 0.50 .. 1.00
MAX_CLUSTERS_SHOWN = 200


@dataclass
class ReportData:
    run: dict[str, Any]
    clusters: list[dict[str, Any]]
    histogram: dict[str, list[int]]
    texts: dict[str, str]


def resolve_run(store: Store, ref: str) -> str:
    if ref == "latest":
        row = store.con.execute("SELECT id FROM dedup_runs ORDER BY created_at DESC LIMIT 1").fetchone()
        if not row:
            raise NotFound("no dedup run yet; run `triforge dedup run` first")
        return row[0]
    return resolve_prefix(store, "dedup_runs", ref, noun="dedup run", hint="; run `triforge dedup run` first")


def _display(row: dict) -> str:
    rev = revision_from_row(row)
    return "\n".join(f"[{m.role.value}]\n{m.content}" for m in rev.messages)


def load_report(store: Store, ref: str) -> ReportData:
    run_id = resolve_run(store, ref)
    cur = store.con.execute("SELECT * FROM dedup_runs WHERE id = ?", [run_id])
    run = dict(zip([d[0] for d in cur.description], cur.fetchone(), strict=True))
    for key in ("methods", "params", "stats"):
        run[key] = json.loads(run[key])
    rows = store.con.execute(
        """
        SELECT m.cluster_id, m.revision_id, m.representative_id, m.similarity, m.methods, s.status,
               s.source_type || ':' || s.source_name, s.kind, s.category
        FROM dedup_members m JOIN samples s ON s.id = m.revision_id
        WHERE m.run_id = ? ORDER BY m.cluster_id, m.revision_id <> m.representative_id, m.similarity DESC
        """,
        [run_id],
    ).fetchall()
    clusters: dict[int, dict[str, Any]] = {}
    for cid, rid, rep, sim, methods, status, source, kind, category in rows:
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
    cursor = store.con.execute("SELECT * FROM revisions WHERE id IN (SELECT unnest(?::VARCHAR[]))", [ids])
    names = [d[0] for d in cursor.description]
    texts = {row[0]: _display(dict(zip(names, row, strict=True))) for row in cursor.fetchall()}

    histogram: dict[str, list[int]] = {}
    member_ids = [m["id"] for c in ordered for m in c["members"]]
    pairs = store.con.execute(
        "SELECT method, similarity FROM dedup_pairs WHERE a IN (SELECT unnest(?::VARCHAR[])) "
        "AND b IN (SELECT unnest(?::VARCHAR[])) AND method IN (SELECT unnest(?::VARCHAR[]))",
        [member_ids, member_ids, run["methods"]],
    ).fetchall()
    for method, sim in pairs:
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
        ("MinHash", f"{mh['shingle']} {mh['size']}-grams, {mh['num_perm']} permutations, threshold {mh['threshold']}"),
        ("embedding threshold", str(run["params"]["embedding_threshold"])),
    ]


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


def _svg_histogram(histogram: dict[str, list[int]]) -> str:
    if not histogram:
        return "<p>No pairs.</p>"
    colours = {"exact": "#4c78a8", "minhash": "#f58518", "embedding": "#54a24b"}
    width, height, pad = 640, 220, 30
    bins = len(BINS) - 1
    top = max(max(v) for v in histogram.values()) or 1
    slot = (width - 2 * pad) / bins
    bar = slot / (len(histogram) + 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 40}" role="img" '
        'aria-label="pair similarity histogram">'
    ]
    for i in range(bins):
        x0 = pad + i * slot
        parts.append(
            f'<text x="{x0 + slot / 2:.1f}" y="{height + 15}" font-size="10" text-anchor="middle">{BINS[i]:.2f}</text>'
        )
        for j, (method, counts) in enumerate(histogram.items()):
            h = (height - pad) * counts[i] / top
            parts.append(
                f'<rect x="{x0 + j * bar:.1f}" y="{height - h:.1f}" width="{bar - 1:.1f}" height="{h:.1f}" '
                f'fill="{colours.get(method, "#999")}"><title>{method} {BINS[i]:.2f}-{BINS[i + 1]:.2f}: '
                f"{counts[i]}</title></rect>"
            )
    for j, method in enumerate(histogram):
        parts.append(
            f'<rect x="{pad + j * 110}" y="{height + 25}" width="10" height="10" '
            f'fill="{colours.get(method, "#999")}"/><text x="{pad + j * 110 + 14}" y="{height + 34}" '
            f'font-size="11">{method}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}table.summary td{padding:2px 12px}
.cluster{border:1px solid #ccc;border-radius:6px;padding:8px 12px;margin:16px 0}
.member{font-size:13px}.kept{color:#2a7}
table.diff{font-family:monospace;font-size:12px;border-collapse:collapse;width:100%}
table.diff td{vertical-align:top;white-space:pre-wrap;word-break:break-word;padding:0 4px}
.diff_header{background:#eee;color:#888}.diff_next{display:none}
.diff_add{background:#cfc}.diff_chg{background:#ffa}.diff_sub{background:#fcc}
"""


def render_html(data: ReportData) -> str:
    esc = html.escape
    differ = difflib.HtmlDiff(wrapcolumn=70)
    out = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Dedup report {esc(data.run['id'])}</title><style>{_CSS}</style></head><body>",
        f"<h1>Dedup report {esc(data.run['id'])}</h1><table class='summary'>",
    ]
    out += [f"<tr><td>{esc(k)}</td><td><b>{esc(v)}</b></td></tr>" for k, v in _summary_rows(data)]
    out += ["</table><h2>Pair similarity</h2>", _svg_histogram(data.histogram), "<h2>Clusters</h2>"]
    for cluster in data.clusters[:MAX_CLUSTERS_SHOWN]:
        rep = cluster["representative"]
        out.append(f"<div class='cluster'><h3>Cluster {cluster['cluster']}: {len(cluster['members'])} samples</h3>")
        for m in cluster["members"]:
            tag = (
                "<span class='kept'>kept</span>"
                if m["representative"]
                else f"duplicate of {esc(rep[:12])} "
                f"(similarity {m['similarity']:.3f} via {esc(', '.join(m['methods']))})"
            )
            out.append(
                f"<div class='member'><code>{esc(m['id'][:12])}</code> {esc(m['kind'])} / "
                f"{esc(m['category'] or '-')} / {esc(m['source'])} / {esc(m['status'])}: {tag}</div>"
            )
        for m in cluster["members"]:
            if m["representative"] or m["id"] not in data.texts or rep not in data.texts:
                continue
            out.append(
                differ.make_table(
                    data.texts[rep].splitlines(),
                    data.texts[m["id"]].splitlines(),
                    f"kept {rep[:12]}",
                    f"duplicate {m['id'][:12]}",
                )
            )
        out.append("</div>")
    if len(data.clusters) > MAX_CLUSTERS_SHOWN:
        out.append(f"<p>... {len(data.clusters) - MAX_CLUSTERS_SHOWN} more clusters in the JSON report</p>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


RENDERERS = {"json": render_json, "md": render_markdown, "html": render_html}


def render_report(store: Store, ref: str, fmt: str) -> str:
    if fmt not in RENDERERS:
        raise StoreError(f"unknown report format {fmt!r}; choose html, md or json")
    return RENDERERS[fmt](load_report(store, ref))
