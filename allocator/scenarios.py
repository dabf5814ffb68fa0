"""What-if scenarios for analysts: edits of the input tables, and one table to compare plans.

Every function returns a new DataFrame and never changes its input, so a notebook can build
several scenarios from the same baseline tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from .api import Plan


def rep_leaves(reps: pd.DataFrame, rep_ids: str | Iterable[str]) -> pd.DataFrame:
    """Reps marked inactive: they get nothing and lose every customer not locked."""
    ids = {rep_ids} if isinstance(rep_ids, str) else set(rep_ids)
    unknown = ids - set(reps["rep_id"])
    if unknown:
        raise KeyError(f"unknown reps: {sorted(unknown)}")
    out = reps.copy()
    out["active"] = out.get("active", True)
    out.loc[out["rep_id"].isin(ids), "active"] = False
    return out


def hire_reps(reps: pd.DataFrame, n: int, like: str, prefix: str = "NEW", **overrides: Any) -> pd.DataFrame:
    """Add ``n`` new reps copied from rep ``like`` (home base, skills, capacity), with new ids.

    ``overrides`` set columns of the new reps, e.g. ``level=2`` or ``region="华东"``.
    """
    template = reps.loc[reps["rep_id"] == like]
    if template.empty:
        raise KeyError(f"unknown rep: {like}")
    new = pd.concat([template] * n, ignore_index=True)
    new["rep_id"] = [f"{prefix}{k + 1:02d}" for k in range(n)]
    if "name" in new:
        new["name"] = [f"New hire {k + 1}" for k in range(n)]
    if "active" in new:
        new["active"] = True
    for col, val in overrides.items():
        new[col] = val
    clash = set(new["rep_id"]) & set(reps["rep_id"])
    if clash:
        raise ValueError(f"new rep ids already exist: {sorted(clash)}")
    return pd.concat([reps, new], ignore_index=True)


def scale_capacity(reps: pd.DataFrame, factor: float, region: str | None = None) -> pd.DataFrame:
    """Multiply max_accounts and max_workload by ``factor`` (for one region, or everyone)."""
    out = reps.copy()
    rows = np.ones(len(out), dtype=bool) if region is None else (out["region"] == region).to_numpy()
    if "max_accounts" in out:
        out.loc[rows, "max_accounts"] = np.floor(pd.to_numeric(out.loc[rows, "max_accounts"]) * factor)
    if "max_workload" in out:
        out.loc[rows, "max_workload"] = pd.to_numeric(out.loc[rows, "max_workload"]) * factor
    return out


def add_product_need(customers: pd.DataFrame, product: str, share: float, seed: int = 0) -> pd.DataFrame:
    """A new product line: a random ``share`` of customers now also need ``product``."""
    rng = np.random.default_rng(seed)
    out = customers.copy()
    pick = rng.random(len(out)) < share

    def add(items: Any) -> list[str]:
        items = _as_list(items)
        return items if product in items else [*items, product]

    out["products"] = [add(v) if p else _as_list(v) for v, p in zip(out.get("products", [[]] * len(out)), pick)]
    return out


def train_reps(reps: pd.DataFrame, product: str, rep_ids: Iterable[str]) -> pd.DataFrame:
    """Reps who now sell ``product`` (added to their products)."""
    ids = set(rep_ids)
    out = reps.copy()
    out["products"] = [
        [*_as_list(v), product] if rid in ids and product not in _as_list(v) else _as_list(v)
        for rid, v in zip(out["rep_id"], out.get("products", [[]] * len(out)))
    ]
    return out


def _as_list(v: Any) -> list[str]:
    if isinstance(v, str):
        return [x.strip() for x in v.split(";") if x.strip()]
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return []
    return list(v)


def plan_figures(plan: "Plan") -> dict[str, float]:
    """The figures analysts compare: moves, value moved, balance, distance, pool, objective."""
    s = plan.summary
    a = plan.assignments
    dist = a["distance_km"].to_numpy(dtype=np.float64)
    ok = np.isfinite(dist)
    return {
        "objective": s["objective"],
        "gap_pct": None if s["gap"] is None else round(100 * s["gap"], 3),
        "moves": s["n_moves"],
        "voluntary_moves": s["n_voluntary_moves"],
        "value_moved": s["value_moved"],
        "value_cv": s["balance"]["value_cv_after"],
        "workload_cv": s["balance"]["workload_cv_after"],
        "mean_distance_km": round(float(dist[ok].mean()), 2) if ok.any() else float("nan"),
        "pool": s["n_pool"],
    }


def compare(plans: Mapping[str, "Plan"]) -> pd.DataFrame:
    """One row per named plan with :func:`plan_figures`; the first plan is the baseline."""
    rows = {name: plan_figures(p) for name, p in plans.items()}
    return pd.DataFrame.from_dict(rows, orient="index")
