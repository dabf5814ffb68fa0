"""Shared fixtures: tiny named books as DataFrames, the demo data paths, a fast policy, and an
independent checker of a plan's hard rules.

The checker recomputes every rule from the input tables and the output assignments only; it
never looks at candidate arcs or engine internals, so it can catch a model that is wrong.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from allocator.policy import Policy, SolverSettings

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data"
AS_OF = dt.date(2026, 11, 30)


def gap_bench_dir() -> Path | None:
    """The public GAP instances: ../shared/bench/gap beside the checkout, or $ALLOCATOR_BENCH_DIR."""
    candidates = [Path(__file__).resolve().parents[2] / "shared" / "bench" / "gap"]
    if os.environ.get("ALLOCATOR_BENCH_DIR"):
        candidates.append(Path(os.environ["ALLOCATOR_BENCH_DIR"]))
    return next((d for d in candidates if (d / "VALUES.tsv").is_file()), None)

# Three cities far enough apart (about 1,000 km) that distance dominates every other soft term.
SHANGHAI = (31.23, 121.47)
BEIJING = (39.90, 116.40)
GUANGZHOU = (23.13, 113.26)

CUSTOMER_COLUMNS = [
    "customer_id", "value", "workload", "tier", "industry", "region", "lat", "lon", "products",
    "language", "current_owner", "locked", "last_activity",
]
REP_COLUMNS = [
    "rep_id", "name", "region", "lat", "lon", "industries", "products", "languages", "level",
    "max_accounts", "max_workload", "active", "team",
]
CUSTOMER_DEFAULTS: dict[str, Any] = {
    "value": 100.0, "workload": math.nan, "tier": "standard", "industry": "", "region": "",
    "lat": math.nan, "lon": math.nan, "products": "", "language": "", "current_owner": "",
    "locked": False, "last_activity": "",
}
REP_DEFAULTS: dict[str, Any] = {
    "name": "", "region": "", "lat": math.nan, "lon": math.nan, "industries": "", "products": "",
    "languages": "zh", "level": 3, "max_accounts": math.nan, "max_workload": math.nan,
    "active": True, "team": "",
}


def _frame(rows: Iterable[Mapping[str, Any]], key: str, columns: list[str], defaults: dict[str, Any]) -> pd.DataFrame:
    records = []
    for row in rows:
        row = dict(row)
        if "at" in row:  # at=(lat, lon) is shorter to read than two keys
            row["lat"], row["lon"] = row.pop("at")
        unknown = set(row) - set(columns)
        assert not unknown, f"unknown columns {unknown}"
        records.append({c: row.get(c, defaults.get(c)) for c in columns})
    df = pd.DataFrame.from_records(records, columns=columns)
    for col in ("value", "workload", "lat", "lon", "max_accounts", "max_workload"):
        if col in df:
            df[col] = df[col].astype("float64")
    assert df[key].is_unique
    return df


def customers_frame(*rows: Mapping[str, Any]) -> pd.DataFrame:
    """A customers table with every DESIGN.md column; unspecified cells take neutral defaults."""
    return _frame(rows, "customer_id", CUSTOMER_COLUMNS, CUSTOMER_DEFAULTS)


def reps_frame(*rows: Mapping[str, Any]) -> pd.DataFrame:
    """A reps table with every DESIGN.md column; unspecified cells take neutral defaults."""
    return _frame(rows, "rep_id", REP_COLUMNS, REP_DEFAULTS)


@dataclass(frozen=True)
class TinyBook:
    """Customers, reps and (optional) activities of a small hand-built book."""

    customers: pd.DataFrame
    reps: pd.DataFrame
    activities: pd.DataFrame | None = None


# --------------------------------------------------------------------------------------------
# An independent checker of the hard rules


def _as_list(v: Any) -> list[str]:
    if isinstance(v, str):
        return [x.strip() for x in v.replace("\uff1b", ";").split(";") if x.strip()]
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return []
    return [str(x).strip() for x in v if str(x).strip()]


def _as_bool(v: Any, default: bool) -> bool:
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return default
    text = str(v).strip().lower()
    if text == "":
        return default
    return text in ("true", "1", "yes", "y", "是")


def _as_text(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return ""
    return str(v).strip()


def normalise_customers(customers: pd.DataFrame) -> pd.DataFrame:
    """Customers as plain Python-typed columns, read without the package's schema code."""
    c = customers.copy()
    out = pd.DataFrame({"customer_id": [_as_text(v) for v in c["customer_id"]]})
    out["value"] = pd.to_numeric(c["value"], errors="raise").astype(float).to_numpy()
    wl = c["workload"] if "workload" in c else pd.Series(np.nan, index=c.index)
    out["workload"] = pd.to_numeric(wl.replace("", np.nan), errors="raise").astype(float).to_numpy()
    tier = [(_as_text(v).lower() or "standard") for v in c.get("tier", [""] * len(c))]
    out["tier"] = tier
    for col in ("region", "language", "current_owner"):
        out[col] = [_as_text(v) for v in c[col]] if col in c else ""
    out["locked"] = [_as_bool(v, False) for v in c["locked"]] if "locked" in c else False
    la = c["last_activity"] if "last_activity" in c else pd.Series([None] * len(c))
    dates = [None if (pd.isna(v) or (isinstance(v, str) and not v.strip())) else v for v in la.astype(object)]
    out["last_activity"] = pd.to_datetime(pd.Series(dates, dtype=object)).to_numpy()
    return out


def normalise_reps(reps: pd.DataFrame) -> pd.DataFrame:
    """Reps as plain Python-typed columns, read without the package's schema code."""
    r = reps.copy()
    out = pd.DataFrame({"rep_id": [_as_text(v) for v in r["rep_id"]]})
    out["region"] = [_as_text(v) for v in r["region"]] if "region" in r else ""
    out["languages"] = [_as_list(v) for v in r["languages"]] if "languages" in r else [[] for _ in range(len(r))]
    lvl = r["level"] if "level" in r else pd.Series([3] * len(r))
    out["level"] = [3 if _as_text(v) == "" else int(float(v)) for v in lvl]
    for col in ("max_accounts", "max_workload"):
        s = r[col] if col in r else pd.Series([np.nan] * len(r))
        out[col] = pd.to_numeric(s.replace("", np.nan)).astype(float).to_numpy()
    out["active"] = [_as_bool(v, True) for v in r["active"]] if "active" in r else True
    return out


def effective_workload(customers: pd.DataFrame, policy: Policy) -> pd.Series:
    """Workload per customer: its own, else the tier default of the policy, else default_workload."""
    c = normalise_customers(customers)
    fill = c["tier"].map(lambda t: policy.rules.tier_workload.get(t, policy.rules.default_workload))
    return c["workload"].fillna(fill).set_axis(c["customer_id"])


def rep_may_own(cust: Mapping[str, Any], rep: Mapping[str, Any], policy: Policy) -> bool:
    """Whether the rules let this rep own this customer (active, some capacity, region, level, language)."""
    rules = policy.rules
    if not rep["active"]:
        return False
    if rep["max_accounts"] == 0 or rep["max_workload"] == 0:
        return False
    if rules.region_mode == "hard" and cust["region"] and rep["region"] and cust["region"] != rep["region"]:
        return False
    if rep["level"] < rules.min_level.get(cust["tier"], 0):
        return False
    if rules.require_language and cust["language"] and cust["language"] not in rep["languages"]:
        return False
    return True


def reclaimed(cust: Mapping[str, Any], policy: Policy, as_of: dt.date) -> bool:
    """Whether the reclaim rule takes this owned, unlocked customer from its owner."""
    n = policy.rules.reclaim_after_days
    if n <= 0 or not cust["current_owner"] or cust["locked"]:
        return False
    last = cust["last_activity"]
    if pd.isna(last):
        return True
    return (pd.Timestamp(as_of) - pd.Timestamp(last)).days >= n


def voluntary_moves(customers: pd.DataFrame, reps: pd.DataFrame, assignments: pd.DataFrame,
                    policy: Policy, as_of: dt.date = AS_OF) -> pd.DataFrame:
    """Customers whose valid owner (active, eligible, not reclaimed, not locked) lost them: from_rep, to_rep."""
    c = normalise_customers(customers).set_index("customer_id")
    r = normalise_reps(reps).set_index("rep_id")
    new = assignments.set_index("customer_id")["rep_id"]
    rows = []
    for cid, cust in c.iterrows():
        owner = cust["current_owner"]
        if not owner or cust["locked"] or owner not in r.index:
            continue
        cd = {**cust.to_dict(), "customer_id": cid}
        if not rep_may_own(cd, r.loc[owner], policy) or reclaimed(cd, policy, as_of):
            continue
        if new[cid] != owner:
            rows.append((cid, owner, new[cid]))
    return pd.DataFrame(rows, columns=["customer_id", "from_rep", "to_rep"])


def capacity_allowance(customers: pd.DataFrame, reps: pd.DataFrame, policy: Policy, as_of: dt.date = AS_OF) -> int:
    """Fewest moves that bring every rep within capacity from today's book (largest workloads shed first).

    DESIGN: moves a rule forces are placed whatever the budget; an over-capacity rep must shed these.
    """
    c = normalise_customers(customers).set_index("customer_id")
    r = normalise_reps(reps).set_index("rep_id")
    wl = effective_workload(customers, policy)
    total = 0
    for rid, rep in r.iterrows():
        mine = c.loc[c["current_owner"] == rid]
        locked = mine["locked"].astype(bool)
        kept = [cid for cid, cust in mine.loc[~locked].iterrows()
                if rep_may_own({**cust.to_dict(), "customer_id": cid}, rep, policy)
                and not reclaimed({**cust.to_dict(), "customer_id": cid}, policy, as_of)]
        acc_excess = 0
        if not math.isnan(rep["max_accounts"]):
            acc_excess = max(0, len(kept) - max(0, int(rep["max_accounts"]) - int(locked.sum())))
        wl_excess = 0
        if not math.isnan(rep["max_workload"]):
            room = rep["max_workload"] - float(wl[mine.index[locked]].sum())
            loads = sorted((float(wl[cid]) for cid in kept), reverse=True)
            carried = sum(loads)
            while loads and carried > room + 1e-9:
                carried -= loads.pop(0)
                wl_excess += 1
        total += max(acc_excess, wl_excess)
    return total


def plan_problems(customers: pd.DataFrame, reps: pd.DataFrame, assignments: pd.DataFrame,
                  policy: Policy, as_of: dt.date = AS_OF) -> list[str]:
    """Every hard rule of DESIGN.md that the assignments break, recomputed from the input tables."""
    problems: list[str] = []
    c = normalise_customers(customers)
    r = normalise_reps(reps)
    ids = list(assignments["customer_id"])
    if sorted(ids) != sorted(c["customer_id"]) or len(set(ids)) != len(ids):
        problems.append("customers do not appear exactly once")
        return problems
    rep_ids = set(r["rep_id"])
    new = assignments.set_index("customer_id")["rep_id"].fillna("").astype(str)
    stray = set(new) - rep_ids - {""}
    if stray:
        problems.append(f"unknown reps in the plan: {sorted(stray)}")
        return problems
    wl = effective_workload(customers, policy)
    cidx = c.set_index("customer_id")
    ridx = r.set_index("rep_id")
    locked_here = {rid: 0 for rid in ridx.index}
    locked_wl = {rid: 0.0 for rid in ridx.index}
    for cid, cust in cidx.iterrows():
        own = cust["current_owner"]
        if cust["locked"] and own:
            locked_here[own] += 1
            locked_wl[own] += wl[cid]
            if new[cid] != own:
                problems.append(f"locked {cid} left {own} for {new[cid] or 'pool'}")
    for rid, rep in ridx.iterrows():
        mine = new.index[new == rid]
        n, load = len(mine), float(wl[mine].sum())
        if not math.isnan(rep["max_accounts"]) and n > max(rep["max_accounts"], locked_here[rid]):
            problems.append(f"{rid} holds {n} accounts, capacity {rep['max_accounts']:g}")
        if not math.isnan(rep["max_workload"]) and load > max(rep["max_workload"], locked_wl[rid]) + 1e-9:
            problems.append(f"{rid} carries workload {load:g}, capacity {rep['max_workload']:g}")
    for cid, rid in new.items():
        if not rid:
            continue
        cust = {**cidx.loc[cid].to_dict(), "customer_id": cid}
        if cust["locked"] and cust["current_owner"] == rid:
            continue  # locked ownership is exempt from every other rule
        if not rep_may_own(cust, ridx.loc[rid], policy):
            problems.append(f"{cid} given to {rid}, who may not own it")
        if rid == cust["current_owner"] and reclaimed(cust, policy, as_of):
            problems.append(f"reclaimed {cid} went straight back to {rid}")
    if not policy.rules.allow_pool and (new == "").any():
        problems.append(f"{int((new == '').sum())} customers in the pool although allow_pool is false")
    vol = voluntary_moves(customers, reps, assignments, policy, as_of)
    budget = policy.rules.move_budget
    if budget >= 0:
        budget += capacity_allowance(customers, reps, policy, as_of)
    if budget >= 0 and len(vol) > budget:
        problems.append(f"{len(vol)} voluntary moves exceed the budget of {budget}")
    per_rep = policy.rules.max_moves_per_rep
    if per_rep >= 0 and len(vol):
        moves_in = vol.loc[vol["to_rep"] != "", "to_rep"].value_counts()
        moves_out = vol["from_rep"].value_counts()
        if (moves_in > per_rep).any() or (moves_out > per_rep).any():
            problems.append(f"a rep exceeds {per_rep} voluntary moves in or out")
    return problems


def owners(assignments: pd.DataFrame) -> dict[str, str]:
    """customer_id -> new rep_id ('' = pool)."""
    return dict(zip(assignments["customer_id"], assignments["rep_id"]))


# --------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="session")
def fast_policy() -> Policy:
    """Default weights and rules, with a short deterministic solve."""
    return Policy(solver=SolverSettings(time_limit_seconds=5, deterministic=True, deterministic_time=2, gap_limit=0.0))


@pytest.fixture(scope="session")
def plain_policy(fast_policy: Policy) -> Policy:
    """The fast policy without the balance terms, so that tiny optima can be worked out by hand."""
    w = dataclasses.replace(fast_policy.weights, value_balance=0.0, workload_balance=0.0)
    return dataclasses.replace(fast_policy, weights=w)


@pytest.fixture(scope="session")
def tiny_book() -> TinyBook:
    """6 customers, 3 reps in three cities: one locked customer, one inactive rep with a customer, one pool customer.

    R1 Shanghai (east), R2 Beijing (north), R3 Guangzhou (south, inactive).
    C1, C2 near Shanghai owned by R1; C3 near Beijing owned by R2; C4 near Beijing owned by R1 and
    locked; C5 near Guangzhou owned by the inactive R3; C6 near Shanghai in the pool.
    """
    reps = reps_frame(
        {"rep_id": "R1", "name": "Wang Fang", "region": "east", "at": SHANGHAI, "level": 4,
         "max_accounts": 4, "max_workload": 60, "industries": "retail", "team": "T1"},
        {"rep_id": "R2", "name": "Li Lei", "region": "north", "at": BEIJING, "level": 2,
         "max_accounts": 4, "max_workload": 60, "industries": "energy", "team": "T2"},
        {"rep_id": "R3", "name": "Zhao Min", "region": "south", "at": GUANGZHOU, "level": 3,
         "max_accounts": 4, "max_workload": 60, "active": False, "team": "T3"},
    )
    customers = customers_frame(
        {"customer_id": "C1", "value": 120, "region": "east", "at": (31.30, 121.50), "current_owner": "R1",
         "industry": "retail"},
        {"customer_id": "C2", "value": 80, "region": "east", "at": (31.10, 121.30), "current_owner": "R1",
         "tier": "key"},
        {"customer_id": "C3", "value": 150, "region": "north", "at": (39.95, 116.30), "current_owner": "R2",
         "industry": "energy"},
        {"customer_id": "C4", "value": 60, "region": "north", "at": (39.80, 116.50), "current_owner": "R1",
         "locked": True},
        {"customer_id": "C5", "value": 90, "region": "south", "at": (23.20, 113.30), "current_owner": "R3"},
        {"customer_id": "C6", "value": 70, "region": "east", "at": (31.20, 121.60), "workload": 5.0},
    )
    return TinyBook(customers, reps)


@pytest.fixture(scope="session")
def demo_paths() -> dict[str, Path]:
    """The demo data set in data/ (2,000 customers, 40 reps, contact history)."""
    paths = {t: DEMO / f"{t}.csv" for t in ("customers", "reps", "activities")}
    for p in paths.values():
        assert p.is_file(), f"demo data missing: {p}"
    return paths


@pytest.fixture(scope="session")
def small_generated() -> TinyBook:
    """A generated book of 60 customers and 5 reps (seed 3): small enough to solve to optimality."""
    from allocator.datagen import generate

    return TinyBook(*generate(60, 5, seed=3))
