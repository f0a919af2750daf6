"""Inline SVG charts for the experiment report: no script, no external asset, readable when printed."""

from __future__ import annotations

import math
from html import escape
from typing import Any

from markupsafe import Markup

PALETTE = ("#6b7280", "#2563eb", "#dc2626", "#16a34a", "#9333ea", "#d97706")


def bar_chart(
    models: dict[str, dict[str, dict[str, Any]]], metric: str, *, width: int = 360, height: int = 180
) -> Markup:
    """One bar per model (its mean) with its 95% interval as an error bar. Rates and scores sit on 0..1; a
    metric past 1 (``gold_nll``, in nats) gets an axis up to its largest interval, rounded up."""
    labels = list(models)
    left, bottom, top = 36, 28, 10
    plot_h = height - bottom - top
    slot = (width - left - 10) / max(1, len(labels))
    highs = [m[metric]["high"] for m in models.values() if m[metric]["n"] and m[metric]["high"] == m[metric]["high"]]
    scale = max(1.0, math.ceil(max(highs, default=1.0)))

    def y(v: float) -> float:
        return top + plot_h * (1 - max(0.0, min(scale, v)) / scale)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="{escape(metric)} by model">']  # fmt: skip
    for tick in (0.0, scale / 2, scale):
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#e5e7eb"/>')
        parts.append(f'<text x="{left - 4}" y="{y(tick) + 4:.1f}" font-size="10" text-anchor="end">{tick:.1f}</text>')
    for i, label in enumerate(labels):
        m = models[label][metric]
        x = left + i * slot + slot * 0.2
        w = slot * 0.6
        color = PALETTE[i % len(PALETTE)]
        if m["n"] and m["mean"] == m["mean"]:
            parts.append(f'<rect x="{x:.1f}" y="{y(m["mean"]):.1f}" width="{w:.1f}" '
                         f'height="{y(0) - y(m["mean"]):.1f}" fill="{color}" opacity="0.8"/>')  # fmt: skip
            cx = x + w / 2
            parts.append(f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y(m["low"]):.1f}" y2="{y(m["high"]):.1f}" '
                         'stroke="#111" stroke-width="1.5"/>')  # fmt: skip
            for v in (m["low"], m["high"]):
                parts.append(
                    f'<line x1="{cx - 5:.1f}" x2="{cx + 5:.1f}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#111"/>'
                )
            parts.append(f'<text x="{cx:.1f}" y="{y(m["high"]) - 3:.1f}" font-size="10" '
                         f'text-anchor="middle">{m["mean"]:.2f}</text>')  # fmt: skip
        parts.append(f'<text x="{x + w / 2:.1f}" y="{height - 10}" font-size="11" '
                     f'text-anchor="middle">{escape(label)}</text>')  # fmt: skip
    parts.append("</svg>")
    return Markup("".join(parts))


def loss_chart(arms: list[dict[str, Any]], *, width: int = 560, height: int = 220) -> Markup:
    """Training loss per logged step, one line per arm and seed."""
    series = [
        (f"{arm['label']} seed {run['seed']}", run["losses"], PALETTE[(i + 1) % len(PALETTE)])
        for i, arm in enumerate(arms)
        for run in arm["runs"]
        if run["losses"]
    ]
    if not series:
        return Markup("<p>No loss was logged yet.</p>")
    steps = [s for _, losses, _ in series for s, _ in losses]
    values = [v for _, losses, _ in series for _, v in losses]
    x0, x1 = min(steps), max(steps) or 1
    lo, hi = min(values), max(values)
    hi = hi if hi > lo else lo + 1
    left, right, top, bottom = 40, 150, 10, 26

    def px(step: float) -> float:
        return left + (width - left - right) * ((step - x0) / ((x1 - x0) or 1))

    def py(v: float) -> float:
        return top + (height - top - bottom) * (1 - (v - lo) / (hi - lo))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             'aria-label="training loss">']  # fmt: skip
    for v in (lo, (lo + hi) / 2, hi):
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{py(v):.1f}" y2="{py(v):.1f}" stroke="#e5e7eb"/>')
        parts.append(f'<text x="{left - 4}" y="{py(v) + 4:.1f}" font-size="10" text-anchor="end">{v:.2f}</text>')
    parts.append(f'<text x="{left}" y="{height - 8}" font-size="10">step {x0}</text>')
    parts.append(f'<text x="{width - right}" y="{height - 8}" font-size="10" text-anchor="end">step {x1}</text>')
    for i, (label, losses, color) in enumerate(series):
        points = " ".join(f"{px(s):.1f},{py(v):.1f}" for s, v in losses)
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{points}"/>')
        ly = top + 14 * i + 8
        parts.append(f'<line x1="{width - right + 8}" x2="{width - right + 24}" y1="{ly}" y2="{ly}" '
                     f'stroke="{color}" stroke-width="2"/>')  # fmt: skip
        parts.append(f'<text x="{width - right + 28}" y="{ly + 4}" font-size="11">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
