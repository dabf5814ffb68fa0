"""Self-contained HTML review page for one run (``report.html``).

The page is one HTML5 document with inline CSS, inline SVG charts and a few lines of
vanilla JavaScript for the moves-table filters. It loads nothing from the network, so a
manager can open it from a mail attachment or a file share while offline, and print it.

Every data string goes through :func:`html.escape`: customer ids and names come from
CRM exports and may hold ``<``, ``&`` or quotes. Charts aggregate (sorted profiles,
histograms, per-team counts), and the moves table is capped at :data:`MAX_MOVE_ROWS`
rows, so 100k customers, 1,000 reps and 20k moves render in well under a second.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "BAR_CHART_MAX_REPS",
    "MAX_MOVE_ROWS",
    "SECTION_TITLES",
    "render_report",
    "svg_histogram",
    "svg_moves_map",
    "svg_rep_chart",
    "svg_stacked_bars",
]

MAX_MOVE_ROWS = 5000
"""Most rows in the moves table; the full list is in ``moves.csv``."""

BAR_CHART_MAX_REPS = 60
"""Above this many reps a per-rep chart becomes a compact sorted profile."""

MAX_TEAM_ROWS = 30
"""Most teams in the moves-per-team chart (the busiest ones)."""

DASH = "–"
POOL_LABEL = "pool (公海)"
NO_TEAM = "(no team)"

# Colours: a muted before/after pair plus the Okabe-Ito palette, readable for
# colour-blind readers and in grey-scale print.
COLOR_BEFORE = "#b4bfcc"
COLOR_AFTER = "#2b6cb0"
COLOR_TARGET = "#c53030"
COLOR_IN = "#2b6cb0"
COLOR_OUT = "#dd6b20"
COLOR_OTHER = "#8a8a8a"
REASON_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")

SECTION_TITLES: dict[str, str] = {
    "run": "Run",
    "headline": "Headline figures",
    "value": "Value per rep, before and after",
    "utilization": "Workload utilization per rep",
    "teams": "Moves per team",
    "distance": "Distance to rep, before and after",
    "map": "Map of moves",
    "moves": "Proposed moves",
    "books": "Books per rep",
}


# --------------------------------------------------------------------------------------
# Small formatting helpers
# --------------------------------------------------------------------------------------


def _text(x: Any) -> str:
    """Return ``x`` as text, with None / NaN / NA as the empty string."""
    if x is None:
        return ""
    try:
        if pd.isna(x):
            return ""
    except (TypeError, ValueError):  # lists, arrays: not a scalar missing value
        pass
    return str(x)


def _esc(x: Any) -> str:
    """Escape ``x`` for HTML text and attribute values."""
    return html.escape(_text(x), quote=True)


def _num(x: Any) -> float | None:
    """Return ``x`` as a finite float, or None when missing, non-numeric or infinite."""
    if x is None or isinstance(x, str):
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _fmt_number(x: Any, decimals: int = 0) -> str:
    """Format a number with thousands separators, or a dash when missing."""
    v = _num(x)
    return DASH if v is None else f"{v:,.{decimals}f}"


def _fmt_auto(x: Any) -> str:
    """Format an objective-like number: whole numbers plain, others with 2 decimals."""
    v = _num(x)
    if v is None:
        return DASH
    if v == round(v) and abs(v) < 1e15:
        return f"{v:,.0f}"
    return f"{v:,.2f}" if abs(v) >= 1 else f"{v:.4g}"


def _fmt_pct(x: Any, decimals: int = 1) -> str:
    """Format a fraction as a percentage (0.005 -> '0.5 %'), or a dash."""
    v = _num(x)
    return DASH if v is None else f"{v * 100:,.{decimals}f} %"


def _fmt_compact(v: float) -> str:
    """Short tick label: 1200 -> '1.2k', 3e6 -> '3M'."""
    a = abs(v)
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{v / div:.3g}{suffix}"
    return f"{v:.3g}"


def _fmt_tick_pct(v: float) -> str:
    """Tick label for a fraction axis: 0.85 -> '85 %'."""
    return f"{v * 100:.0f} %"


# --------------------------------------------------------------------------------------
# Column access that tolerates missing columns (an empty frame may have none)
# --------------------------------------------------------------------------------------


def _str_col(df: pd.DataFrame | None, name: str) -> np.ndarray:
    """Column ``name`` as an object array of str, '' for missing values or column."""
    if df is None:
        return np.array([], dtype=object)
    if name not in df.columns:
        return np.full(len(df), "", dtype=object)
    s = df[name].astype(object)
    return s.where(s.notna(), "").astype(str).to_numpy(dtype=object)


def _num_col(df: pd.DataFrame | None, name: str) -> np.ndarray:
    """Column ``name`` as a float array, NaN for missing or non-numeric values."""
    if df is None:
        return np.array([], dtype=float)
    if name not in df.columns:
        return np.full(len(df), np.nan)
    return pd.to_numeric(df[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _bool_col(df: pd.DataFrame, name: str, default: bool) -> np.ndarray:
    """Column ``name`` as a bool array; missing values and column take ``default``."""
    if name not in df.columns:
        return np.full(len(df), default, dtype=bool)
    s = df[name].astype(object)
    return s.where(s.notna(), default).astype(bool).to_numpy()


# --------------------------------------------------------------------------------------
# SVG building blocks
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Scale:
    """Linear map from data [lo, hi] to pixels [a, b]."""

    lo: float
    hi: float
    a: float
    b: float

    def __call__(self, v: float) -> float:
        span = self.hi - self.lo
        if span == 0:
            return self.a
        return self.a + (v - self.lo) / span * (self.b - self.a)

    def array(self, v: np.ndarray) -> np.ndarray:
        """Vectorised ``__call__``."""
        span = self.hi - self.lo
        if span == 0:
            return np.full(len(v), self.a, dtype=float)
        return self.a + (v - self.lo) / span * (self.b - self.a)


def _nice_step(span: float, n: int) -> float:
    """A 1-2-5 step that cuts ``span`` into about ``n`` intervals."""
    if not math.isfinite(span) or span <= 0:
        return 1.0
    raw = span / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Ticks on a 1-2-5 grid that cover [lo, hi]; the first and last ticks enclose it."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        hi = lo + 1.0 if math.isfinite(lo) else 1.0
        lo = lo if math.isfinite(lo) else 0.0
    step = _nice_step(hi - lo, n)
    start = math.floor(lo / step + 1e-9) * step
    stop = math.ceil(hi / step - 1e-9) * step
    count = int(round((stop - start) / step))
    return [round(start + i * step, 10) for i in range(count + 1)]


def _svg_open(width: int, height: int, title: str) -> str:
    """Start an inline SVG that scales to the page width and carries a title."""
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" preserveAspectRatio="xMinYMin meet"><title>{_esc(title)}</title>'
    )


def _line(
    x1: float, y1: float, x2: float, y2: float, *,
    cls: str = "", stroke: str = "", width: float = 0.0, dash: str = "",
) -> str:
    """An SVG line; ``cls`` for styled lines, or an explicit stroke, width and dash."""
    attrs = f' class="{cls}"' if cls else ""
    attrs += f' stroke="{stroke}"' if stroke else ""
    attrs += f' stroke-width="{width:g}"' if width else ""
    attrs += f' stroke-dasharray="{dash}"' if dash else ""
    return f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"{attrs}/>'


def _rect(x: float, y: float, width: float, height: float, fill: str) -> str:
    """A filled SVG rectangle."""
    return f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" fill="{fill}"/>'


def _svg_text(x: float, y: float, text: str, *, cls: str, anchor: str = "start") -> str:
    """An SVG text element; ``text`` is escaped here."""
    return (f'<text class="{cls}" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">'
            f"{_esc(text)}</text>")


def _x_axis(
    scale: _Scale, ticks: Sequence[float], y_top: float, y_axis: float,
    fmt: Callable[[float], str], label: str,
) -> list[str]:
    """Vertical grid lines, tick labels and a label below a horizontal value axis."""
    parts = []
    for t in ticks:
        x = scale(t)
        parts.append(_line(x, y_top, x, y_axis, cls="grid"))
        parts.append(_svg_text(x, y_axis + 14, fmt(t), cls="tick", anchor="middle"))
    parts.append(_line(scale.a, y_axis, scale.b, y_axis, cls="axis"))
    mid = (scale.a + scale.b) / 2
    parts.append(_svg_text(mid, y_axis + 32, label, cls="axis-label", anchor="middle"))
    return parts


def _y_axis(
    scale: _Scale, ticks: Sequence[float], x_axis: float, x_right: float,
    fmt: Callable[[float], str], label: str,
) -> list[str]:
    """Horizontal grid lines, tick labels and a rotated label left of a vertical axis."""
    parts = []
    for t in ticks:
        y = scale(t)
        parts.append(_line(x_axis, y, x_right, y, cls="grid"))
        parts.append(_svg_text(x_axis - 6, y + 4, fmt(t), cls="tick", anchor="end"))
    parts.append(_line(x_axis, scale.a, x_axis, scale.b, cls="axis"))
    mid = (scale.a + scale.b) / 2
    parts.append(
        f'<text class="axis-label" x="0" y="0" text-anchor="middle" '
        f'transform="translate(14 {mid:.1f}) rotate(-90)">{_esc(label)}</text>'
    )
    return parts


LEGEND_ROW = 18


def _legend(
    items: Sequence[tuple[str, str, str]], x: float, y: float, x_max: float = 740,
) -> tuple[list[str], float]:
    """A legend that wraps at ``x_max``; returns the SVG parts and the extra height used.

    Each item is (label, colour, kind) with kind box, line, dash, dot or tick.
    """
    parts: list[str] = []
    x_start, extra = x, 0.0
    for label, color, kind in items:
        item_width = 26 + 7 * len(label)
        if x > x_start and x + item_width > x_max:
            x, y, extra = x_start, y + LEGEND_ROW, extra + LEGEND_ROW
        if kind in ("line", "dash"):
            parts.append(_line(x, y - 4, x + 14, y - 4, stroke=color, width=2,
                               dash="4 2" if kind == "dash" else ""))
        elif kind == "dot":
            parts.append(f'<circle cx="{x + 7:.1f}" cy="{y - 4:.1f}" r="3" fill="{color}"/>')
        elif kind == "tick":
            parts.append(_line(x + 7, y - 10, x + 7, y + 2, stroke=color, width=2))
        else:
            parts.append(_rect(x, y - 9, 14, 10, color))
        parts.append(_svg_text(x + 18, y, label, cls="legend"))
        x += item_width
    return parts, extra


def _dots_path(x: np.ndarray, y: np.ndarray, color: str, size: float, decimals: int = 1) -> str:
    """Many dots as one path of zero-length round-capped segments (small and fast)."""
    if len(x) == 0:
        return ""
    d = "".join(f"M{a:.{decimals}f} {b:.{decimals}f}h0" for a, b in zip(x.tolist(), y.tolist()))
    return (
        f'<path d="{d}" stroke="{color}" stroke-width="{size:g}" stroke-linecap="round" fill="none"/>'
    )


def _polyline(x: np.ndarray, y: np.ndarray, color: str, dash: bool = False) -> str:
    """A polyline through the finite points (x, y)."""
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return ""
    pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x[ok].tolist(), y[ok].tolist()))
    extra = ' stroke-dasharray="5 3"' if dash else ""
    return f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="1.5"{extra}/>'


def _empty_note(text: str) -> str:
    """The paragraph shown in place of a chart without data."""
    return f'<p class="empty">{_esc(text)}</p>'


def _truncate(label: str, width: int) -> str:
    """Shorten a label to ``width`` characters with an ellipsis."""
    return label if len(label) <= width else label[: width - 1] + "…"


# --------------------------------------------------------------------------------------
# Charts
# --------------------------------------------------------------------------------------


def svg_rep_chart(
    labels: Sequence[str],
    before: np.ndarray,
    after: np.ndarray,
    *,
    title: str,
    axis_label: str,
    target: np.ndarray | None = None,
    reference: float | None = None,
    reference_label: str = "",
    tick_format: Callable[[float], str] = _fmt_compact,
    rank_label: str = "reps, ranked by the after value (rank)",
) -> str:
    """Per-rep before/after chart, sorted by the after value (largest first).

    Up to :data:`BAR_CHART_MAX_REPS` reps get horizontal bars (before as a wide light
    bar, after as a narrow dark bar, per-rep target as a red tick); more reps get a
    compact sorted profile (after as a line, before as dots, target as a dashed line).

    Parameters
    ----------
    labels, before, after
        One entry per rep.
    target
        Optional per-rep target (NaN = none), marked on the chart.
    reference
        Optional value drawn as one dashed line for every rep (e.g. 100 % utilization).
    rank_label
        Label of the x axis of the compact profile (reps by rank).
    """
    before = np.asarray(before, dtype=float)
    after = np.asarray(after, dtype=float)
    target = np.full(len(after), np.nan) if target is None else np.asarray(target, dtype=float)
    order = np.argsort(np.where(np.isnan(after), np.inf, -after), kind="stable")
    labels = [labels[i] for i in order]
    before, after, target = before[order], after[order], target[order]
    finite = np.concatenate([before, after, target, [reference if reference is not None else np.nan]])
    finite = finite[np.isfinite(finite)]
    if len(labels) == 0 or len(finite) == 0:
        return _empty_note("No reps to show.")
    lo, hi = min(0.0, float(finite.min())), max(0.0, float(finite.max()))
    ticks = _nice_ticks(lo, hi if hi > lo else lo + 1.0)
    if len(labels) <= BAR_CHART_MAX_REPS:
        return _svg_rep_bars(labels, before, after, target, ticks, title, axis_label,
                             reference, reference_label, tick_format)
    return _svg_rep_profile(before, after, target, ticks, title, axis_label,
                            reference, reference_label, tick_format, rank_label)


def _svg_rep_bars(
    labels: list[str], before: np.ndarray, after: np.ndarray, target: np.ndarray,
    ticks: list[float], title: str, axis_label: str, reference: float | None,
    reference_label: str, tick_format: Callable[[float], str],
) -> str:
    """Horizontal before/after bars, one row per rep (see :func:`svg_rep_chart`)."""
    width, left, right, row = 760, 180, 24, 20
    legend = [("before", COLOR_BEFORE, "box"), ("after", COLOR_AFTER, "box")]
    if np.isfinite(target).any():
        legend.append(("target", COLOR_TARGET, "tick"))
    if reference is not None:
        legend.append((reference_label or "reference", COLOR_TARGET, "dash"))
    legend_parts, legend_h = _legend(legend, left, 16, width - right)
    top = 34 + legend_h
    plot_bottom = top + row * len(labels)
    height = int(plot_bottom + 44)
    x = _Scale(ticks[0], ticks[-1], left, width - right)
    x0 = x(max(ticks[0], 0.0))
    parts = [_svg_open(width, height, title), *legend_parts]
    parts += _x_axis(x, ticks, top - 4, plot_bottom, tick_format, axis_label)

    def show(v: float) -> str:
        return tick_format(v) if np.isfinite(v) else DASH

    for i, label in enumerate(labels):
        y = top + i * row
        tip = f"{label}: before {show(before[i])}, after {show(after[i])}"
        if np.isfinite(target[i]):
            tip += f", target {tick_format(target[i])}"
        parts.append(f"<g><title>{_esc(tip)}</title>")
        parts.append(_svg_text(left - 6, y + 14, _truncate(label, 26), cls="label", anchor="end"))
        for value, color, y_off, h in ((before[i], COLOR_BEFORE, 3, 14), (after[i], COLOR_AFTER, 6, 8)):
            if np.isfinite(value):
                xa, xb = sorted((x0, x(value)))
                parts.append(_rect(xa, y + y_off, max(xb - xa, 0.5), h, color))
        if np.isfinite(target[i]):
            xt = x(target[i])
            parts.append(_line(xt, y + 1, xt, y + 19, stroke=COLOR_TARGET, width=2))
        parts.append("</g>")
    if reference is not None:
        xr = x(reference)
        parts.append(_line(xr, top - 4, xr, plot_bottom, stroke=COLOR_TARGET, width=1.5, dash="5 3"))
    parts.append("</svg>")
    return "".join(parts)


def _svg_rep_profile(
    before: np.ndarray, after: np.ndarray, target: np.ndarray, ticks: list[float],
    title: str, axis_label: str, reference: float | None, reference_label: str,
    tick_format: Callable[[float], str], rank_label: str,
) -> str:
    """Compact profile for many reps: x = rank by after value (see :func:`svg_rep_chart`)."""
    n = len(after)
    width, left, right, bottom = 760, 70, 20, 50
    legend = [("after (sorted)", COLOR_AFTER, "line"), ("before, same rep", COLOR_BEFORE, "dot")]
    if np.isfinite(target).any():
        legend.append(("target, same rep", COLOR_TARGET, "dash"))
    if reference is not None:
        legend.append((reference_label or "reference", COLOR_TARGET, "dash"))
    legend_parts, legend_h = _legend(legend, left, 16, width - right)
    top = 34 + legend_h
    height = int(top + 236 + bottom)
    rank = np.arange(1, n + 1, dtype=float)
    x = _Scale(1, max(n, 2), left, width - right)
    y = _Scale(ticks[0], ticks[-1], height - bottom, top)
    parts = [_svg_open(width, height, title), *legend_parts]
    parts += _y_axis(y, ticks, left, width - right, tick_format, axis_label)
    x_ticks = [t for t in _nice_ticks(1, n, 6) if 1 <= t <= n] or [1]
    parts += _x_axis(x, x_ticks, top, height - bottom, lambda t: f"{t:,.0f}", rank_label)
    ok = np.isfinite(before)
    parts.append(_dots_path(x.array(rank[ok]), y.array(before[ok]), COLOR_BEFORE, 3))
    if np.isfinite(target).any():
        parts.append(_polyline(x.array(rank), y.array(target), COLOR_TARGET, dash=True))
    parts.append(_polyline(x.array(rank), y.array(after), COLOR_AFTER))
    if reference is not None:
        yr = y(reference)
        parts.append(_line(left, yr, width - right, yr, stroke=COLOR_TARGET, width=1.5, dash="5 3"))
    parts.append("</svg>")
    return "".join(parts)


def svg_stacked_bars(
    categories: Sequence[str],
    segments: Sequence[tuple[str, np.ndarray, str]],
    *,
    title: str,
    axis_label: str,
) -> str:
    """Horizontal stacked bars, one row per category.

    ``segments`` holds (label, values per category, colour), stacked left to right.
    """
    if len(categories) == 0:
        return _empty_note("Nothing to show.")
    totals = np.sum([np.asarray(v, dtype=float) for _, v, _ in segments], axis=0)
    ticks = _nice_ticks(0.0, max(float(totals.max()), 1.0))
    width, left, right, row = 760, 180, 110, 22
    legend_parts, legend_h = _legend([(label, color, "box") for label, _, color in segments],
                                     left, 16, width - right)
    top = 34 + legend_h
    plot_bottom = top + row * len(categories)
    height = int(plot_bottom + 44)
    x = _Scale(0.0, ticks[-1], left, width - right)
    parts = [_svg_open(width, height, title), *legend_parts]
    parts += _x_axis(x, ticks, top - 4, plot_bottom, lambda t: f"{t:,.0f}", axis_label)
    for i, cat in enumerate(categories):
        y = top + i * row
        tip = f"{cat}: " + ", ".join(f"{label} {int(v[i]):,}" for label, v, _ in segments)
        parts.append(f"<g><title>{_esc(tip)}</title>")
        parts.append(_svg_text(left - 6, y + 15, _truncate(cat, 26), cls="label", anchor="end"))
        start = 0.0
        for _, values, color in segments:
            v = float(values[i])
            if v > 0:
                parts.append(_rect(x(start), y + 4, x(start + v) - x(start), 14, color))
            start += v
        label = " · ".join(f"{int(v[i]):,} {seg}" for seg, v, _ in segments)
        parts.append(_svg_text(x(start) + 4, y + 15, label, cls="tick"))
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def svg_histogram(
    edges: np.ndarray,
    series: Sequence[tuple[str, np.ndarray, str]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    overflow: bool = False,
) -> str:
    """Histogram with one or more series side by side in each bin.

    ``edges`` has one more entry than each series' counts; ``series`` holds
    (label, counts, colour). ``overflow`` labels the last bin as open-ended.
    """
    edges = np.asarray(edges, dtype=float)
    counts = [np.asarray(c, dtype=float) for _, c, _ in series]
    top_count = max((float(c.max()) for c in counts if len(c)), default=0.0)
    if len(edges) < 2 or top_count <= 0:
        return _empty_note("No data to show.")
    width, left, right, bottom = 760, 70, 20, 50
    legend_parts, legend_h = _legend([(label, color, "box") for label, _, color in series],
                                     left, 16, width - right)
    top = 34 + legend_h
    height = int(top + 216 + bottom)
    x = _Scale(float(edges[0]), float(edges[-1]), left, width - right)
    y_ticks = _nice_ticks(0.0, top_count)
    y = _Scale(0.0, y_ticks[-1], height - bottom, top)
    parts = [_svg_open(width, height, title), *legend_parts]
    parts += _y_axis(y, y_ticks, left, width - right, lambda t: f"{t:,.0f}", y_label)
    x_ticks = [t for t in _nice_ticks(float(edges[0]), float(edges[-1]), 8)
               if edges[0] <= t <= edges[-1] + 1e-9]
    last = x_ticks[-1] if x_ticks else None
    parts += _x_axis(
        x, x_ticks, top, height - bottom,
        lambda t: (f"≥{_fmt_compact(t)}" if overflow and t == last and t > edges[-2] else _fmt_compact(t)),
        x_label,
    )
    k = len(series)
    for j, ((label, _, color), c) in enumerate(zip(series, counts)):
        for i in range(len(edges) - 1):
            if c[i] <= 0:
                continue
            xa, xb = x(edges[i]), x(edges[i + 1])
            w = (xb - xa - 1) / k
            ya = y(c[i])
            tip = f"{label}: {int(c[i]):,} in [{edges[i]:g}, {edges[i + 1]:g})"
            parts.append(
                f'<rect x="{xa + 0.5 + j * w:.1f}" y="{ya:.1f}" width="{max(w, 0.5):.1f}" '
                f'height="{y(0) - ya:.1f}" fill="{color}"><title>{_esc(tip)}</title></rect>'
            )
    parts.append("</svg>")
    return "".join(parts)


def svg_moves_map(
    lon: np.ndarray,
    lat: np.ndarray,
    groups: np.ndarray,
    group_labels: Sequence[str],
    group_colors: Sequence[str],
    *,
    title: str,
) -> str:
    """Scatter of points in lon/lat (equirectangular, fitted to the data bounds).

    ``groups`` holds, per point, an index into ``group_labels``/``group_colors``.
    Points that land on the same pixel in the same group are drawn once.
    """
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    if len(lon) == 0:
        return _empty_note("No moved customer has a known location.")
    lon_lo, lon_hi = float(lon.min()), float(lon.max())
    lat_lo, lat_hi = float(lat.min()), float(lat.max())
    pad_lon = max((lon_hi - lon_lo) * 0.03, 0.01)
    pad_lat = max((lat_hi - lat_lo) * 0.03, 0.01)
    lon_lo, lon_hi, lat_lo, lat_hi = lon_lo - pad_lon, lon_hi + pad_lon, lat_lo - pad_lat, lat_hi + pad_lat
    groups = np.asarray(groups, dtype=np.int64)
    counts = np.bincount(groups, minlength=len(group_labels))
    left, right, bottom, width = 70, 20, 50, 760
    legend_parts, legend_h = _legend([(f"{label} ({counts[g]:,})", group_colors[g], "dot")
                                      for g, label in enumerate(group_labels)], left, 16, width - right)
    top = 34 + legend_h
    # Equirectangular: a degree of longitude is cos(latitude) as long as a degree of latitude.
    # Keep that ratio: shrink the width when the area is tall, widen the latitudes when flat.
    lon_scale = max(math.cos(math.radians((lat_lo + lat_hi) / 2)), 0.05)
    plot_w = float(width - left - right)
    plot_h = plot_w * (lat_hi - lat_lo) / ((lon_hi - lon_lo) * lon_scale)
    if plot_h > 520.0:
        plot_w, plot_h = plot_w * 520.0 / plot_h, 520.0
    elif plot_h < 200.0:
        grow = (lat_hi - lat_lo) * (200.0 / plot_h - 1) / 2
        lat_lo, lat_hi, plot_h = lat_lo - grow, lat_hi + grow, 200.0
    height = int(math.ceil(top + plot_h + bottom))
    x = _Scale(lon_lo, lon_hi, left, left + plot_w)
    y = _Scale(lat_lo, lat_hi, top + plot_h, top)
    parts = [_svg_open(width, height, title), *legend_parts]
    parts += _y_axis(y, [t for t in _nice_ticks(lat_lo, lat_hi, 5) if lat_lo <= t <= lat_hi],
                     left, left + plot_w, lambda t: f"{t:g}°", "latitude (° N)")
    parts += _x_axis(x, [t for t in _nice_ticks(lon_lo, lon_hi, 6) if lon_lo <= t <= lon_hi],
                     top, top + plot_h, lambda t: f"{t:g}°", "longitude (° E)")
    px, py = np.round(x.array(lon)), np.round(y.array(lat))
    key = (groups * (height + 1) + py.astype(np.int64)) * (width + 1) + px.astype(np.int64)
    _, first = np.unique(key, return_index=True)
    first.sort()
    for g, color in enumerate(group_colors):
        sel = first[groups[first] == g]
        parts.append(_dots_path(px[sel], py[sel], color, 4, decimals=0))
    parts.append("</svg>")
    return "".join(parts)


# --------------------------------------------------------------------------------------
# Page sections
# --------------------------------------------------------------------------------------


def _section(key: str, body: str, note: str = "") -> str:
    """A titled section; ``note`` is escaped text shown under the chart."""
    note_html = f'<p class="note">{_esc(note)}</p>' if note else ""
    return (
        f'<section id="{key}"><h2>{_esc(SECTION_TITLES[key])}</h2>'
        f"{body}{note_html}</section>"
    )


def _status_class(status: str) -> str:
    """CSS class of the status badge: good, fair or bad."""
    s = status.upper()
    if s == "OPTIMAL":
        return "good"
    if s == "FEASIBLE":
        return "fair"
    return "bad" if s else "fair"


def _render_header(summary: Mapping[str, Any]) -> str:
    """Title line plus the run facts: run id, as-of, status, objective, bound, gap, time."""
    status = _text(summary.get("status"))
    run_id = _text(summary.get("run_id")) or DASH
    facts = [
        ("Run id", _esc(run_id)),
        ("As of", _esc(_text(summary.get("as_of")) or DASH)),
        ("Status", f'<span class="badge {_status_class(status)}">{_esc(status or DASH)}</span>'),
        ("Objective", _fmt_auto(summary.get("objective"))),
        ("Best bound", _fmt_auto(summary.get("best_bound"))),
        ("Gap", _fmt_pct(summary.get("gap"), 2)),
        ("Solve time", _fmt_seconds(summary.get("solve_seconds"))),
        ("Total time", _fmt_seconds(summary.get("total_seconds"))),
        ("Customers", _fmt_number(summary.get("n_customers"))),
        ("Reps", _fmt_number(summary.get("n_reps"))),
    ]
    items = "".join(f"<div><dt>{name}</dt><dd>{value}</dd></div>" for name, value in facts)
    return (
        f"<header><h1>Ownership proposal {DASH} run {_esc(run_id)}</h1>"
        f'<section id="run"><h2 class="visually-hidden">{SECTION_TITLES["run"]}</h2>'
        f'<dl class="facts">{items}</dl></section></header>'
    )


def _fmt_seconds(x: Any) -> str:
    """Seconds with one decimal and a unit, or a dash."""
    v = _num(x)
    return DASH if v is None else f"{v:,.1f} s"


def _change(before: Any, after: Any, fmt: Callable[[Any], str]) -> str:
    """'before → after' with the after value marked better (lower) or worse (higher)."""
    b, a = _num(before), _num(after)
    cls = ""
    if a is not None and b is not None and a != b:
        cls = " better" if a < b else " worse"
    return f'{fmt(before)} → <span class="after{cls}">{fmt(after)}</span>'


def _render_headline(summary: Mapping[str, Any]) -> str:
    """Cards with moves, value moved, pool and the balance figures before → after."""
    balance = summary.get("balance")
    balance = balance if isinstance(balance, Mapping) else {}
    budget = summary.get("move_budget")
    budget_text = "no budget" if budget is None or _num(budget) is None or _num(budget) < 0 \
        else f"budget {_fmt_number(budget)}"
    if "move_budget" not in summary:
        budget_text = f"budget {DASH}"

    def cv(x: Any) -> str:
        return _fmt_number(x, 3)

    def ratio(key: str, fmt: Callable[[Any], str]) -> str:
        return _change(balance.get(f"{key}_before"), balance.get(f"{key}_after"), fmt)

    cards = [
        ("Moves", _fmt_number(summary.get("n_moves")),
         f"forced {_fmt_number(summary.get('n_forced_moves'))} · voluntary "
         f"{_fmt_number(summary.get('n_voluntary_moves'))} ({budget_text})"),
        ("Value moved", _fmt_number(summary.get("value_moved")), "annual value of moved customers"),
        ("Customers in pool", _fmt_number(summary.get("n_pool")),
         f"assigned {_fmt_number(summary.get('n_assigned'))} of {_fmt_number(summary.get('n_customers'))}"),
        ("Value balance (CV)", ratio("value_cv", cv),
         "coefficient of variation across reps, before → after; lower is more even"),
        ("Workload balance (CV)", ratio("workload_cv", cv),
         "coefficient of variation across reps, before → after"),
        ("Reps over target", ratio("reps_over_target", _fmt_number),
         "reps above their value band, before → after"),
        ("Reps under target", ratio("reps_under_target", _fmt_number),
         "reps below their value band, before → after"),
    ]
    body = "".join(
        f'<div class="card"><div class="card-title">{_esc(title)}</div>'
        f'<div class="card-value">{value}</div><div class="card-note">{note}</div></div>'
        for title, value, note in cards
    )
    return _section("headline", f'<div class="cards">{body}</div>')


def _rep_labels(reps: pd.DataFrame) -> list[str]:
    """Display label per rep: name (or id when unnamed), marked when inactive."""
    ids, names = _str_col(reps, "rep_id"), _str_col(reps, "name")
    active = _bool_col(reps, "active", True)
    return [
        (name or rid) + ("" if act else " (inactive)")
        for rid, name, act in zip(ids.tolist(), names.tolist(), active.tolist())
    ]


def _render_value_chart(reps: pd.DataFrame) -> str:
    """Section: value per rep before and after, target marked."""
    labels = _rep_labels(reps)
    svg = svg_rep_chart(
        labels, _num_col(reps, "value_before"), _num_col(reps, "value_after"),
        target=_num_col(reps, "value_target"),
        title=SECTION_TITLES["value"], axis_label="annual value per rep (input currency)",
        rank_label="reps, ranked by value after (rank 1 = largest book)",
    )
    note = "Sorted by value after the proposal. "
    note += ("Bars: light = before, dark = after, red tick = target."
             if len(labels) <= BAR_CHART_MAX_REPS else
             f"{len(labels):,} reps: line = value after, dots = the same rep before, dashed = its target.")
    return _section("value", svg, note)


def _render_utilization_chart(reps: pd.DataFrame) -> str:
    """Section: workload utilization per rep before and after, 100 % marked."""
    before, after = _num_col(reps, "utilization_before"), _num_col(reps, "utilization_after")
    known = np.isfinite(before) | np.isfinite(after)
    labels = [lab for lab, k in zip(_rep_labels(reps), known.tolist()) if k]
    svg = svg_rep_chart(
        labels, before[known], after[known], reference=1.0, reference_label="100 % = max_workload",
        title=SECTION_TITLES["utilization"], axis_label="workload utilization (% of max_workload)",
        tick_format=_fmt_tick_pct, rank_label="reps, ranked by utilization after (rank)",
    )
    skipped = int((~known).sum())
    note = "Workload after the proposal as a share of each rep's max_workload, sorted by utilization after."
    if skipped:
        note += f" {skipped:,} reps without a workload limit are not shown."
    return _section("utilization", svg, note)


def _team_lookup(reps: pd.DataFrame) -> dict[str, str]:
    """rep_id -> team ('(no team)' when blank)."""
    return {rid: (team or NO_TEAM) for rid, team in
            zip(_str_col(reps, "rep_id").tolist(), _str_col(reps, "team").tolist())}


def _move_teams(reps_col: np.ndarray, teams: Mapping[str, str]) -> list[str]:
    """Team of each rep id in ``reps_col``; the pool is its own 'team'."""
    return [POOL_LABEL if not rid else teams.get(rid, NO_TEAM) for rid in reps_col.tolist()]


def _render_team_chart(moves: pd.DataFrame, teams: Mapping[str, str]) -> str:
    """Section: moves into and out of each team, stacked."""
    if len(moves) == 0:
        return _section("teams", _empty_note("No moves proposed."))
    into = pd.Series(_move_teams(_str_col(moves, "to_rep"), teams)).value_counts()
    out = pd.Series(_move_teams(_str_col(moves, "from_rep"), teams)).value_counts()
    table = pd.DataFrame({"in": into, "out": out}).fillna(0).astype(int)
    table["total"] = table["in"] + table["out"]
    table = table.rename_axis("team").reset_index().sort_values(
        ["total", "team"], ascending=[False, True], kind="mergesort")
    note = "A move counts as 'in' for the team of the new rep and 'out' for the team of the old rep; " \
           "the pool counts as a team."
    if len(table) > MAX_TEAM_ROWS:
        note += f" Showing the {MAX_TEAM_ROWS} busiest of {len(table):,} teams."
        table = table.head(MAX_TEAM_ROWS)
    svg = svg_stacked_bars(
        table["team"].tolist(),
        [("in", table["in"].to_numpy(), COLOR_IN), ("out", table["out"].to_numpy(), COLOR_OUT)],
        title=SECTION_TITLES["teams"], axis_label="moves (count of customers)",
    )
    return _section("teams", svg, note)


def _distance_bins(values: np.ndarray) -> tuple[np.ndarray, bool]:
    """Bin edges from 0 to about the 99th percentile; True when some values lie beyond."""
    hi = float(np.percentile(values, 99))
    if hi <= 0:
        hi = float(values.max()) or 1.0
    step = _nice_step(hi, 20)
    n_bins = max(int(math.ceil(hi / step - 1e-9)), 1)
    edges = np.arange(n_bins + 1, dtype=float) * step
    return edges, bool((values > edges[-1]).any())


def _render_distance_chart(assignments: pd.DataFrame) -> str:
    """Section: histogram of customer-to-rep distance, after and (when known) before."""
    owned = _str_col(assignments, "rep_id") != ""
    after = _num_col(assignments, "distance_km")[owned]
    after = after[np.isfinite(after) & (after >= 0)]
    has_before = "previous_distance_km" in assignments.columns
    before = np.array([], dtype=float)
    if has_before:
        before = _num_col(assignments, "previous_distance_km")
        before = before[np.isfinite(before) & (before >= 0)]
    both = np.concatenate([before, after])
    if len(both) == 0:
        return _section("distance", _empty_note("No customer-to-rep distances are known."))
    edges, overflow = _distance_bins(both)
    series = []
    if has_before:
        series.append(("before", np.histogram(np.minimum(before, edges[-1]), edges)[0], COLOR_BEFORE))
    series.append(("after", np.histogram(np.minimum(after, edges[-1]), edges)[0], COLOR_AFTER))
    svg = svg_histogram(edges, series, title=SECTION_TITLES["distance"],
                        x_label="distance from customer to owning rep (km)",
                        y_label="customers (count)", overflow=overflow)
    note = f"{len(after):,} assigned customers with a known distance."
    if overflow:
        note += f" The last bin holds every distance of {edges[-2]:g} km or more."
    if not has_before:
        note += " Distances before the proposal are not in this run's output, so only 'after' is shown."
    return _section("distance", svg, note)


def _render_map(moves: pd.DataFrame, customers: pd.DataFrame | None) -> str:
    """Section: moved customers on a lon/lat scatter, coloured by reason."""
    if customers is None or len(customers) == 0 or not {"lat", "lon"} <= set(customers.columns):
        return _section("map", _empty_note("Customer locations were not given, so there is no map."))
    if len(moves) == 0:
        return _section("map", _empty_note("No moves proposed."))
    loc = pd.DataFrame({"customer_id": _str_col(customers, "customer_id"),
                        "lat": _num_col(customers, "lat"), "lon": _num_col(customers, "lon")})
    loc = loc.drop_duplicates("customer_id")
    moved = pd.DataFrame({"customer_id": _str_col(moves, "customer_id"),
                          "reason": _str_col(moves, "reason")})
    pts = moved.merge(loc, on="customer_id", how="inner")
    ok = pts["lat"].between(-90, 90) & pts["lon"].between(-180, 180)
    pts = pts[ok]
    if len(pts) == 0:
        return _section("map", _empty_note("No moved customer has a known location."))
    reasons = pts["reason"].replace("", "(no reason)")
    ranked = reasons.value_counts().sort_index().sort_values(ascending=False, kind="mergesort")
    shown = ranked.index[: len(REASON_COLORS)].tolist()
    labels = shown + (["other"] if len(ranked) > len(shown) else [])
    colors = list(REASON_COLORS[: len(shown)]) + ([COLOR_OTHER] if len(labels) > len(shown) else [])
    code = {r: i for i, r in enumerate(shown)}
    groups = np.array([code.get(r, len(shown)) for r in reasons.tolist()], dtype=np.int64)
    svg = svg_moves_map(pts["lon"].to_numpy(), pts["lat"].to_numpy(), groups, labels, colors,
                        title=SECTION_TITLES["map"])
    note = (f"{len(pts):,} of {len(moves):,} moved customers have a known location. "
            "Rep home locations are not part of this report's input, so each move is drawn as "
            "the customer's dot coloured by reason, without a line from the old to the new rep.")
    return _section("map", svg, note)


def _rep_cell(rep_id: str, names: Mapping[str, str]) -> str:
    """Table cell content for a rep: id plus name, or the pool."""
    if not rep_id:
        return f"<em>{_esc(POOL_LABEL)}</em>"
    name = names.get(rep_id, "")
    return _esc(rep_id) + (f' <span class="sub">{_esc(name)}</span>' if name else "")


def _options(label: str, name: str, values: Sequence[str], all_text: str) -> str:
    """A labelled <select> with an 'all' option and one option per distinct value."""
    opts = "".join(f'<option value="{_esc(v)}">{_esc(v or "(blank)")}</option>' for v in values)
    return (f'<label>{_esc(label)} <select name="{name}" data-filter="{name}">'
            f'<option value="">{_esc(all_text)}</option>{opts}</select></label>')


def _render_moves_table(moves: pd.DataFrame, reps: pd.DataFrame, teams: Mapping[str, str]) -> str:
    """Section: the highest-value moves (capped), with team / tier / reason filters."""
    n = len(moves)
    if n == 0:
        return _section("moves", '<p class="empty">No moves proposed.</p>')
    frame = pd.DataFrame({
        "customer_id": _str_col(moves, "customer_id"), "from_rep": _str_col(moves, "from_rep"),
        "to_rep": _str_col(moves, "to_rep"), "value": _num_col(moves, "value"),
        "tier": _str_col(moves, "tier"), "reason": _str_col(moves, "reason"),
        "explanation": _str_col(moves, "explanation"),
    })
    frame = frame.sort_values(["value", "customer_id"], ascending=[False, True],
                              na_position="last", kind="mergesort").head(MAX_MOVE_ROWS)
    names = dict(zip(_str_col(reps, "rep_id").tolist(), _str_col(reps, "name").tolist()))
    team = _move_teams(frame["to_rep"].to_numpy(), teams)
    rows = [
        f'<tr data-team="{_esc(tm)}" data-tier="{_esc(ti)}" data-reason="{_esc(rs)}">'
        f"<td>{_esc(cid)}</td><td>{_rep_cell(fr, names)}</td><td>{_rep_cell(to, names)}</td>"
        f"<td>{_fmt_number(v)}</td><td>{_esc(ti)}</td><td>{_esc(rs)}</td><td>{_esc(ex)}</td></tr>"
        for cid, fr, to, v, ti, rs, ex, tm in zip(
            frame["customer_id"].tolist(), frame["from_rep"].tolist(), frame["to_rep"].tolist(),
            frame["value"].tolist(), frame["tier"].tolist(), frame["reason"].tolist(),
            frame["explanation"].tolist(), team)
    ]
    if n > len(frame):
        cap = (f"Showing the {len(frame):,} highest-value moves of {n:,}; "
               "the full list is moves.csv.")
    else:
        cap = f"All {n:,} proposed moves, highest value first. The same list is in moves.csv."
    filters = (
        '<form class="filters" id="move-filters" hidden>'
        + _options("Team (new rep)", "team", sorted(set(team)), "all teams")
        + _options("Tier", "tier", sorted(set(frame["tier"].tolist())), "all tiers")
        + _options("Reason", "reason", sorted(set(frame["reason"].tolist())), "all reasons")
        + '<output id="move-count" aria-live="polite"></output></form>'
    )
    table = (
        '<table id="moves-table"><thead><tr><th>Customer</th><th>From</th><th>To</th>'
        '<th class="num">Value</th><th>Tier</th><th>Reason</th><th>Explanation</th></tr></thead>'
        f'<tbody>{"".join(rows)}</tbody></table>'
    )
    return _section("moves", f'<p class="note">{_esc(cap)}</p>{filters}{table}')


def _render_books(reps: pd.DataFrame) -> str:
    """Section (collapsed): per-rep accounts, value and utilization for reps whose book changes."""
    if len(reps) == 0:
        return ""
    acc_b, acc_a = _num_col(reps, "accounts_before"), _num_col(reps, "accounts_after")
    val_b, val_a = _num_col(reps, "value_before"), _num_col(reps, "value_after")
    changed = (acc_b != acc_a) | (val_b != val_a)
    changed &= ~(np.isnan(acc_b) & np.isnan(acc_a) & np.isnan(val_b) & np.isnan(val_a))
    idx = np.flatnonzero(changed)
    idx = idx[np.argsort(-np.abs(np.nan_to_num(val_a[idx] - val_b[idx])), kind="stable")]
    ids, names = _str_col(reps, "rep_id"), _str_col(reps, "name")
    team, target = _str_col(reps, "team"), _num_col(reps, "value_target")
    util_b, util_a = _num_col(reps, "utilization_before"), _num_col(reps, "utilization_after")
    active = _bool_col(reps, "active", True)
    rows = "".join(
        f"<tr><td>{_esc(ids[i])} <span class=\"sub\">{_esc(names[i])}</span></td><td>{_esc(team[i])}</td>"
        f"<td>{'yes' if active[i] else 'no'}</td>"
        f"<td>{_fmt_number(acc_b[i])} → {_fmt_number(acc_a[i])}</td>"
        f"<td>{_fmt_number(val_b[i])} → {_fmt_number(val_a[i])}</td><td>{_fmt_number(target[i])}</td>"
        f"<td>{_fmt_pct(util_b[i], 0)} → {_fmt_pct(util_a[i], 0)}</td></tr>"
        for i in idx.tolist()
    )
    if not rows:
        body = '<p class="empty">No rep\'s book changes.</p>'
    else:
        body = (
            f'<details><summary>{len(idx):,} of {len(reps):,} reps whose book changes, '
            "largest value change first</summary>"
            '<table class="books"><thead><tr><th>Rep</th><th>Team</th><th>Active</th>'
            '<th class="num">Accounts</th><th class="num">Value</th><th class="num">Target</th>'
            f'<th class="num">Utilization</th></tr></thead><tbody>{rows}</tbody></table></details>'
        )
    return _section("books", body)


# --------------------------------------------------------------------------------------
# Page
# --------------------------------------------------------------------------------------

_CSS = """
:root{--ink:#1a202c;--muted:#5a6472;--line:#d9dee5;--bg:#f7f8fa;--good:#276749;--bad:#c53030}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1100px;padding:24px;color:var(--ink);background:#fff;
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","PingFang SC",
"Microsoft YaHei",sans-serif}
h1{font-size:22px;margin:0 0 12px}
h2{font-size:17px;margin:28px 0 8px;padding-bottom:4px;border-bottom:1px solid var(--line)}
nav{font-size:13px;margin:0 0 8px}nav a{color:var(--muted);margin-right:12px}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.facts{display:flex;flex-wrap:wrap;gap:8px 24px;margin:0}
.facts div{min-width:110px}.facts dt{color:var(--muted);font-size:12px}.facts dd{margin:0;font-weight:600}
.badge{padding:1px 8px;border-radius:10px;color:#fff;font-size:12px}
.badge.good{background:var(--good)}.badge.fair{background:#b7791f}.badge.bad{background:var(--bad)}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:10px}
.card{border:1px solid var(--line);border-radius:6px;padding:10px 12px;background:var(--bg)}
.card-title{color:var(--muted);font-size:12px}.card-value{font-size:20px;font-weight:600}
.card-note{color:var(--muted);font-size:12px}
.after.better{color:var(--good)}.after.worse{color:var(--bad)}
svg.chart{display:block;width:100%;max-width:760px;height:auto}
svg .grid{stroke:#edf0f3}svg .axis{stroke:#4a5568}
svg text{font-size:11px;fill:#2d3748}svg .tick{fill:#5a6472}
svg .axis-label{font-size:12px;fill:#1a202c}svg .legend{font-size:12px}
.note{color:var(--muted);font-size:12.5px;margin:6px 0}
.empty{padding:12px;background:var(--bg);border:1px dashed var(--line);border-radius:6px}
.filters{display:flex;flex-wrap:wrap;gap:8px 16px;align-items:center;margin:8px 0}
.filters select{font:inherit;padding:2px 4px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:4px 6px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:var(--bg);position:sticky;top:0}
#moves-table td:nth-child(4),.num,.books td:nth-child(n+4){text-align:right;white-space:nowrap}
.sub{display:block;color:var(--muted);font-size:12px}
tbody tr:nth-child(even){background:#fbfcfd}
footer{margin-top:32px;color:var(--muted);font-size:12px}
@media print{
body{max-width:none;padding:0;font-size:11px}
nav,.filters{display:none}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
section{break-inside:avoid-page}section#moves,section#books{break-inside:auto}
svg.chart{break-inside:avoid}th{position:static}
thead{display:table-header-group}tr{break-inside:avoid}
}
"""

# No '//' anywhere in the script: the page must not contain anything that looks like a URL.
_JS = """
(function () {
  window.addEventListener('beforeprint', function () {
    var boxes = document.querySelectorAll('details');
    for (var i = 0; i < boxes.length; i++) { boxes[i].open = true; }
  });
  var form = document.getElementById('move-filters');
  var table = document.getElementById('moves-table');
  if (!form || !table) { return; }
  var selects = form.querySelectorAll('select');
  var rows = table.tBodies[0].rows;
  var count = document.getElementById('move-count');
  function apply() {
    var want = [];
    for (var i = 0; i < selects.length; i++) {
      if (selects[i].value !== '') { want.push([selects[i].name, selects[i].value]); }
    }
    var shown = 0;
    for (var r = 0; r < rows.length; r++) {
      var ok = true;
      for (var k = 0; k < want.length && ok; k++) { ok = rows[r].dataset[want[k][0]] === want[k][1]; }
      rows[r].style.display = ok ? '' : 'none';
      if (ok) { shown++; }
    }
    count.textContent = shown.toLocaleString() + ' of ' + rows.length.toLocaleString() + ' rows shown';
  }
  for (var i = 0; i < selects.length; i++) { selects[i].addEventListener('change', apply); }
  form.addEventListener('reset', function () { setTimeout(apply, 0); });
  form.hidden = false;
  apply();
})();
"""


def render_report(
    summary: Mapping[str, Any],
    assignments: pd.DataFrame,
    moves: pd.DataFrame,
    reps: pd.DataFrame,
    customers: pd.DataFrame | None = None,
) -> str:
    """Render the self-contained HTML review page of one run.

    Parameters
    ----------
    summary
        The run summary (``summary.json``); any key may be missing and is then shown as "–".
    assignments
        Every customer's new owner (``assignments.parquet``): customer_id, rep_id ('' = pool),
        previous_rep_id, moved, reason, value, tier, distance_km, cost_total; optionally
        previous_distance_km for the before histogram.
    moves
        One row per proposed move (``moves.csv``): customer_id, from_rep, to_rep, value, tier,
        reason, explanation, decision.
    reps
        Per-rep figures before and after (``reps.csv``).
    customers
        Optional customers with lat/lon, for the map of moves.

    Returns
    -------
    str
        One complete HTML5 document (UTF-8) with no external reference.
    """
    summary = summary if isinstance(summary, Mapping) else {}
    assignments = assignments if assignments is not None else pd.DataFrame()
    moves = moves if moves is not None else pd.DataFrame()
    reps = reps if reps is not None else pd.DataFrame()
    teams = _team_lookup(reps)
    run_id = _text(summary.get("run_id")) or DASH
    nav = "".join(f'<a href="#{key}">{_esc(title)}</a>' for key, title in SECTION_TITLES.items()
                  if key not in ("run", "books"))
    body = [
        _render_header(summary),
        f"<nav>{nav}</nav>",
        "<main>",
        _render_headline(summary),
        _render_value_chart(reps),
        _render_utilization_chart(reps),
        _render_team_chart(moves, teams),
        _render_distance_chart(assignments),
        _render_map(moves, customers),
        _render_moves_table(moves, reps, teams),
        _render_books(reps),
        "</main>",
        f"<footer>allocator {_esc(_text(summary.get('version')) or DASH)} · run {_esc(run_id)}"
        f" · as of {_esc(_text(summary.get('as_of')) or DASH)}</footer>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Ownership proposal {DASH} run {_esc(run_id)}</title>"
        f"<style>{_CSS}</style></head><body>"
        + "".join(body)
        + f"<script>{_JS}</script></body></html>\n"
    )
