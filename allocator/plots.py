"""Reusable, labelled matplotlib figures for notebooks (the HTML report draws its own SVG).

matplotlib is imported inside each function so the package imports without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from .api import Plan


def _axes(ax: Any, figsize: tuple[float, float] = (9, 4)) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_rep_books(plan: "Plan", what: str = "value", ax: Any = None) -> Any:
    """Each active rep's book before and after, sorted by after, with its target marked."""
    reps = plan.reps.loc[plan.reps["active"].astype(bool)].sort_values(f"{what}_after", ascending=False)
    ax = _axes(ax)
    x = np.arange(len(reps))
    ax.bar(x - 0.2, reps[f"{what}_before"], width=0.4, label="before", color="#b0b7c3")
    ax.bar(x + 0.2, reps[f"{what}_after"], width=0.4, label="after", color="#2f6db5")
    ax.scatter(x, reps[f"{what}_target"], marker="_", s=120, color="#d1495b", label="target", zorder=3)
    ax.set_xticks(x)
    ax.set_xticklabels(reps["rep_id"], rotation=90, fontsize=7)
    unit = "hours per month" if what == "workload" else "annual value"
    ax.set_xlabel("rep (sorted by book after the run)")
    ax.set_ylabel(f"{what} ({unit})")
    ax.set_title(f"{what.capitalize()} per rep, before and after")
    ax.legend()
    return ax


def plot_tradeoff(sweep: pd.DataFrame, x: str = "moves", y: str = "value_cv", color: str = "mean_distance_km",
                  label: str | None = "setting", ax: Any = None) -> Any:
    """Scatter of a weight sweep: each point one setting, coloured by a third figure."""
    ax = _axes(ax, (7, 5))
    pts = ax.scatter(sweep[x], sweep[y], c=sweep[color], cmap="viridis", s=60)
    if label is not None and label in sweep:
        for _, row in sweep.iterrows():
            ax.annotate(str(row[label]), (row[x], row[y]), fontsize=7, xytext=(4, 4), textcoords="offset points")
    cbar = ax.figure.colorbar(pts, ax=ax)
    cbar.set_label(color.replace("_", " "))
    ax.set_xlabel(x.replace("_", " "))
    ax.set_ylabel(y.replace("_", " "))
    ax.set_title(f"Trade-off: {x.replace('_', ' ')} vs {y.replace('_', ' ')}")
    return ax


def plot_scenarios(table: pd.DataFrame, figures: tuple[str, ...] = ("moves", "value_cv", "mean_distance_km", "pool"),
                   ax: Any = None) -> Any:
    """Each scenario's figures relative to the first row (the baseline = 100 %)."""
    base = table.iloc[0]
    rel = pd.DataFrame({f: 100 * table[f] / base[f] if base[f] else np.nan for f in figures}, index=table.index)
    ax = _axes(ax, (9, 4))
    n = len(figures)
    x = np.arange(len(rel))
    for k, f in enumerate(figures):
        ax.bar(x + (k - (n - 1) / 2) * 0.8 / n, rel[f], width=0.8 / n, label=f.replace("_", " "))
    ax.axhline(100, color="black", linewidth=0.8)
    ax.set_xticks(x)
    ax.set_xticklabels(rel.index, rotation=20)
    ax.set_xlabel("scenario")
    ax.set_ylabel("% of baseline")
    ax.set_title("Scenarios against the baseline")
    ax.legend(fontsize=8)
    return ax
