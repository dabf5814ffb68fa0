"""From the engine's chosen arcs back to the domain: assignments, moves with reasons, rep books.

Every figure here is recomputed from the tables (not read from the model), so the outputs can be
checked independently of the solver.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .candidates import COST_PARTS, COST_SCALE, Book
from .engine import EngineResult
from .groups import move_groups

# Reasons a customer moves (moves.csv ``reason``) or stays where it is (assignments ``reason``).
REASON_KEPT = "kept"
REASON_LOCKED = "locked"
REASON_APPROVED = "approved in review"
REASON_FROM_POOL = "from pool"
REASON_NO_ELIGIBLE = "no eligible rep"
REASON_NO_CAPACITY = "no capacity"
REASON_OVER_CAPACITY = "over capacity"
REASON_BALANCE = "balance"
REASON_RELATIONSHIP = "relationship"
REASON_NEW = "new customer"
PART_REASON = {
    "skill": "skill fit",
    "distance": "distance",
    "region": "region",
    "tier": "tier fit",
    "relationship": "relationship",
}

ASSIGNMENT_COLUMNS = [
    "customer_id", "rep_id", "previous_rep_id", "moved", "reason", "value", "tier",
    *[f"cost_{p}" for p in COST_PARTS], "cost_total", "distance_km", "previous_distance_km", "last_activity",
]
MOVE_COLUMNS = ["customer_id", "from_rep", "to_rep", "value", "tier", "reason", "explanation", "decision",
                "needs_approval", "group", "group_kind", "group_size"]
MOVE_DTYPES = {"value": "float64", "needs_approval": "bool", "group_size": "int64"}


def take(values: np.ndarray, rows: np.ndarray, fill) -> np.ndarray:
    """``values[rows]`` with ``fill`` where a row is -1 (safe on empty ``values``)."""
    out = np.full(len(rows), fill, dtype=np.result_type(values.dtype, np.asarray(fill).dtype))
    ok = rows >= 0
    out[ok] = values[rows[ok]]
    return out


def chosen_rows(book: Book, result: EngineResult) -> np.ndarray:
    """Per customer (rows of ``book.customers``) the row of ``book.arcs`` it is given, -1 = pool."""
    n = len(book.customers)
    rows = np.full(n, -1, dtype=np.int64)
    arcs = book.arcs
    locked = (book.customers["status"] == "locked").to_numpy()
    if locked.any():
        key = pd.MultiIndex.from_arrays([arcs["customer"], arcs["rep"]])
        lc = np.flatnonzero(locked)
        want = pd.MultiIndex.from_arrays([lc, book.customers["owner"].to_numpy()[lc]])
        rows[lc] = key.get_indexer(want)
    ca = result.chosen_arc
    has = ca >= 0
    rows[book.free[has]] = book.free_arcs[ca[has]]
    return rows


def _arc_lookup(book: Book, customers: np.ndarray, reps: np.ndarray) -> np.ndarray:
    """Rows of ``book.arcs`` for (customer, rep) pairs; -1 where that arc is not a candidate."""
    key = pd.MultiIndex.from_arrays([book.arcs["customer"], book.arcs["rep"]])
    return key.get_indexer(pd.MultiIndex.from_arrays([customers, reps]))


def build_assignments(book: Book, result: EngineResult) -> pd.DataFrame:
    """One row per input customer: new owner, previous owner, moved, reason and the chosen arc's costs."""
    cust, reps, arcs = book.customers, book.reps, book.arcs
    rep_ids = reps["rep_id"].to_numpy(dtype=object)
    rows = chosen_rows(book, result)
    rep_pos = take(arcs["rep"].to_numpy(), rows, -1)
    owner = cust["owner"].to_numpy()
    new_id = np.where(rep_pos >= 0, rep_ids[np.maximum(rep_pos, 0)], "")
    prev_id = cust["current_owner"].to_numpy(dtype=object)
    moved = rep_pos != owner

    out = pd.DataFrame({
        "customer_id": cust["customer_id"].to_numpy(dtype=object),
        "rep_id": new_id,
        "previous_rep_id": prev_id,
        "moved": moved,
        "reason": move_reasons(book, rows, rep_pos),
        "value": cust["value"].to_numpy(dtype=np.float64),
        "tier": cust["tier"].to_numpy(dtype=object),
    })
    for p in COST_PARTS:
        vals = arcs[p].to_numpy(dtype=np.float64)
        out[f"cost_{p}"] = take(vals, rows, 0.0)
    pool_points = np.zeros(len(cust))
    pool_points[book.free] = book.pool_cost_points[book.free]
    out["cost_total"] = np.where(rows >= 0, take(arcs["cost_total"].to_numpy(), rows, 0.0), pool_points)
    dist = arcs["distance_km"].to_numpy(dtype=np.float64)
    out["distance_km"] = take(dist, rows, np.nan)
    out["previous_distance_km"] = _owner_distance(book)
    out["last_activity"] = ownership_dates(cust["last_activity"], moved & (rep_pos >= 0), book.as_of)
    return out[ASSIGNMENT_COLUMNS]


def ownership_dates(last_activity: pd.Series, new_owner: np.ndarray, as_of) -> np.ndarray:
    """``last_activity`` to write back with the new ownership: the run date where a customer gets a
    new owner (its reclaim clock starts then, as when a rep claims a customer from the pool),
    unchanged elsewhere. Without this a reclaimed customer would be reclaimed again by the next
    run with the same date."""
    out = pd.to_datetime(last_activity).to_numpy(dtype="datetime64[ns]").copy()
    if as_of is not None:
        out[np.asarray(new_owner, dtype=bool)] = np.datetime64(pd.Timestamp(as_of).to_datetime64(), "ns")
    return out


def _owner_distance(book: Book) -> np.ndarray:
    """Distance from each customer to today's owner (NaN for pool or unknown locations)."""
    cust, reps = book.customers, book.reps
    owner = cust["owner"].to_numpy()
    has = owner >= 0
    out = np.full(len(cust), np.nan)
    if has.any():
        from .candidates import _haversine_km

        o = owner[has]
        out[has] = _haversine_km(
            cust["lat"].to_numpy(dtype=np.float64)[has], cust["lon"].to_numpy(dtype=np.float64)[has],
            reps["lat"].to_numpy(dtype=np.float64)[o], reps["lon"].to_numpy(dtype=np.float64)[o],
        )
    return out


def move_reasons(book: Book, rows: np.ndarray, rep_pos: np.ndarray) -> np.ndarray:
    """A reason code per customer: why it moved, or why it stays where it is."""
    cust, arcs = book.customers, book.arcs
    status = cust["status"].to_numpy(dtype=object)
    forced = cust["forced_reason"].to_numpy(dtype=object)
    owner = cust["owner"].to_numpy()
    n = len(cust)
    reason = np.full(n, REASON_KEPT, dtype=object)
    reason[status == "locked"] = REASON_LOCKED
    n_arcs = np.bincount(arcs["customer"].to_numpy(), minlength=n)
    in_pool = rep_pos < 0
    reason[in_pool & (n_arcs == 0)] = REASON_NO_ELIGIBLE
    reason[in_pool & (n_arcs > 0)] = REASON_NO_CAPACITY
    from_pool = np.flatnonzero((~in_pool) & (owner < 0))
    reason[from_pool] = REASON_FROM_POOL
    reason[from_pool[_relationship_decides(arcs, from_pool, rows[from_pool])]] = REASON_RELATIONSHIP
    moved = rep_pos != owner
    is_forced = moved & (forced != "")
    reason[is_forced] = forced[is_forced]

    vol = np.flatnonzero(moved & (forced == "") & (owner >= 0) & ~in_pool)
    if len(vol):
        old_rows = _arc_lookup(book, vol, owner[vol])
        new_rows = rows[vol]
        parts = [p for p in COST_PARTS if p != "continuity"]
        new_vals = arcs[parts].to_numpy()[new_rows]
        old_vals = np.where(old_rows[:, None] >= 0, arcs[parts].to_numpy()[np.maximum(old_rows, 0)], np.nan)
        gain = old_vals - new_vals  # positive = the new rep is better on this part
        best = np.nanargmax(np.where(np.isnan(gain), -np.inf, gain), axis=1)
        best_gain = gain[np.arange(len(vol)), best]
        code = np.array([PART_REASON[parts[k]] for k in best], dtype=object)
        over = _over_capacity_before(book)
        code = np.where(best_gain > 1e-9, code, np.where(over[owner[vol]], REASON_OVER_CAPACITY, REASON_BALANCE))
        reason[vol] = code
    return reason


def _relationship_decides(arcs: pd.DataFrame, customers: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """Per customer, whether the chosen rep won on its relationship: it has one, and without the
    relationship part another candidate would have cost as little or less."""
    if len(customers) == 0:
        return np.zeros(0, dtype=bool)
    rel = arcs["relationship"].to_numpy()
    base = arcs["cost_total"].to_numpy() - rel
    has_rel = rel[chosen] < 0
    sub = np.flatnonzero(np.isin(arcs["customer"].to_numpy(), customers[has_rel]))
    sub = sub[~np.isin(sub, chosen)]
    other_min = pd.Series(base[sub]).groupby(arcs["customer"].to_numpy()[sub]).min()
    best_other = other_min.reindex(customers).to_numpy()
    return has_rel & (best_other <= base[chosen] + 1e-9)


def _worked_by(book: Book, customers: np.ndarray) -> list[str]:
    """Per customer, the reps that worked it, strongest first, e.g. "R0012: 12 contacts in 365 days, R0031: 3"
    ('' when fewer than two reps did: then there is no dispute to explain)."""
    arcs = book.arcs
    if "relationship_contacts" not in arcs or len(customers) == 0:
        return [""] * len(customers)
    worked = arcs.loc[(arcs["relationship_contacts"] > 0) & arcs["customer"].isin(customers)]
    worked = worked.sort_values(["customer", "relationship_strength", "rep"], ascending=[True, False, True])
    rep_ids = book.reps["rep_id"].to_numpy(dtype=object)
    text: dict[int, str] = {}
    for c, grp in worked.groupby("customer", sort=False):
        if len(grp) < 2:
            continue
        counts = grp["relationship_contacts"].to_numpy()
        reps_ = rep_ids[grp["rep"].to_numpy()]
        first = f"{reps_[0]}: {counts[0]} contacts in {book.relationship_window_days} days"
        text[int(c)] = ", ".join([first] + [f"{r}: {n}" for r, n in zip(reps_[1:], counts[1:])])
    return [text.get(int(c), "") for c in customers]


def _over_capacity_before(book: Book) -> np.ndarray:
    """Reps whose book today exceeds their account or workload capacity."""
    cust, reps = book.customers, book.reps
    owner = cust["owner"].to_numpy()
    has = owner >= 0
    n_r = len(reps)
    count = np.bincount(owner[has], minlength=n_r)
    wl = np.bincount(owner[has], weights=cust["workload"].to_numpy()[has], minlength=n_r)
    ma = reps["max_accounts"].to_numpy(dtype=np.float64)
    mw = reps["max_workload"].to_numpy(dtype=np.float64)
    return (np.nan_to_num(count - ma, nan=-1) > 0) | (np.nan_to_num(wl - mw, nan=-1) > 1e-9)


def build_moves(book: Book, assignments: pd.DataFrame, rep_books: pd.DataFrame | None = None,
                approval_tiers: Sequence[str] = ()) -> pd.DataFrame:
    """One row per proposed move, highest value first, each with a plain-language explanation.

    With ``rep_books`` (from :func:`build_rep_books`), moves that must go together through a
    full rep get a ``group`` (swap / chain); moves of ``approval_tiers`` are flagged
    ``needs_approval``.
    """
    mv = assignments.loc[assignments["moved"].to_numpy()]
    if mv.empty:
        return pd.DataFrame({c: pd.Series(dtype=MOVE_DTYPES.get(c, "object")) for c in MOVE_COLUMNS})
    cust = book.customers
    idx = pd.Index(cust["customer_id"]).get_indexer(mv["customer_id"])
    owner = cust["owner"].to_numpy()[idx]
    new_pos = pd.Index(book.reps["rep_id"]).get_indexer(mv["rep_id"].where(mv["rep_id"] != "", None))
    old_rows = _arc_lookup(book, idx, owner)
    old_cost = take(book.arcs["cost_total"].to_numpy(), old_rows, np.nan)
    delta = np.where((owner >= 0) & (new_pos >= 0), mv["cost_total"].to_numpy() - old_cost, np.nan)
    gain = _balance_gain(book, assignments, idx, owner, new_pos)
    industry = cust["industry"].to_numpy(dtype=object)[idx]
    rep_ind = book.reps["industries"].to_numpy(dtype=object)
    covers = [bool(ind) and p >= 0 and ind in rep_ind[p] for ind, p in zip(industry, new_pos)]
    last = cust["last_activity"].to_numpy()[idx]
    worked = _worked_by(book, idx)
    expl = [
        _explain_move(*args)
        for args in zip(
            mv["previous_rep_id"], mv["rep_id"], mv["reason"], mv["tier"], mv["distance_km"],
            mv["previous_distance_km"], mv["cost_continuity"], mv["cost_relationship"], industry, covers,
            last, delta, worked, gain,
        )
    ]
    out = pd.DataFrame({
        "customer_id": mv["customer_id"].to_numpy(),
        "from_rep": mv["previous_rep_id"].to_numpy(),
        "to_rep": mv["rep_id"].to_numpy(),
        "value": mv["value"].to_numpy(),
        "tier": mv["tier"].to_numpy(),
        "reason": mv["reason"].to_numpy(),
        "explanation": expl,
        "decision": "",
    })
    out = out.sort_values(["value", "customer_id"], ascending=[False, True], kind="stable").reset_index(drop=True)
    out["needs_approval"] = out["tier"].isin(list(approval_tiers))
    groups = move_groups(out, rep_books) if rep_books is not None else pd.DataFrame(
        {"group": "", "group_kind": "", "group_size": 1}, index=out.index)
    out = pd.concat([out, groups], axis=1)
    out["explanation"] = [e + t for e, t in zip(out["explanation"], _together_texts(out))]
    return out[MOVE_COLUMNS]


def _together_texts(moves: pd.DataFrame) -> list[str]:
    """Per move, '; goes together with …' naming the other moves of its group ('' when alone)."""
    members: dict[str, list[str]] = {}
    for gid, cid in zip(moves["group"], moves["customer_id"]):
        if gid:
            members.setdefault(gid, []).append(cid)
    out = []
    for gid, kind, cid in zip(moves["group"], moves["group_kind"], moves["customer_id"]):
        if not gid:
            out.append("")
            continue
        group = members[gid]
        others = [c for c in group[:5] if c != cid][:4]
        if kind == "swap":
            out.append(f"; goes together with {others[0]} (swap)")
            continue
        rest = len(group) - 1 - min(3, len(others))
        shown = ", ".join(others[:3]) + (f" and {rest} more" if rest > 0 else "")
        out.append(f"; goes together with {shown} ({kind} {gid} of {len(group)} moves)")
    return out


def _balance_gain(book: Book, assignments: pd.DataFrame, idx: np.ndarray, owner: np.ndarray,
                  new_pos: np.ndarray) -> np.ndarray:
    """Per move, in points, how much the balance terms gain by it against sending the customer back.

    Everything else stays as planned: the customer's amount leaves the new rep and returns to the
    old owner, and each rep's band penalty is recomputed. NaN where there is no old owner to keep.
    """
    p = book.problem
    gain = np.zeros(len(idx))
    free_pos = np.full(len(book.customers), -1, dtype=np.int64)
    free_pos[book.free] = np.arange(len(book.free))
    rep_of = pd.Index(book.reps["rep_id"]).get_indexer(assignments["rep_id"].where(assignments["rep_id"] != "", None))
    ok = (owner >= 0) & (new_pos >= 0) & (free_pos[idx] >= 0)
    for term in p.balance:
        per_customer = np.zeros(p.n_customers, dtype=np.int64)
        per_customer[p.arc_customer] = term.arc_amount
        amount = np.zeros(len(book.customers), dtype=np.int64)
        amount[book.free] = per_customer
        totals = term.fixed_amount.astype(np.int64).copy()
        placed = (rep_of >= 0) & (free_pos >= 0)
        np.add.at(totals, rep_of[placed], amount[placed])

        def pen(r: np.ndarray, x: np.ndarray) -> np.ndarray:
            return term.weight[r] * (np.maximum(0, x - term.upper[r]) + np.maximum(0, term.lower[r] - x))

        n, o = np.maximum(new_pos, 0), np.maximum(owner, 0)
        a = amount[idx]
        now = pen(n, totals[n]) + pen(o, totals[o])
        back = pen(n, totals[n] - a) + pen(o, totals[o] + a)
        gain += np.where(ok, back - now, 0)
    return np.where(ok, gain / COST_SCALE, np.nan)


def _fmt_km(x: float) -> str:
    return "unknown" if not math.isfinite(x) else f"{x:,.0f} km"


def _explain_move(frm: str, to: str, reason: str, tier: str, dist: float, prev_dist: float, continuity: float,
                  relationship: float, industry: str, covers: bool, last_activity, delta: float,
                  worked: str = "", balance_gain: float = 0.0) -> str:
    """Plain words: why this customer leaves its owner, what it gains and what it costs."""
    bits: list[str] = []
    frm_txt = frm or "the pool"
    if reason == "owner inactive":
        bits.append(f"{frm} is leaving (inactive)")
    elif reason == "reclaimed":
        bits.append(f"no follow-up by {frm} since {_date(last_activity)}; reclaimed to the pool")
    elif reason == "owner not eligible":
        bits.append(f"{frm} no longer meets the rules for this customer")
    elif reason == REASON_FROM_POOL:
        bits.append("unowned customer placed")
    elif reason == REASON_RELATIONSHIP and not frm:
        bits.append(f"unowned customer placed with the strongest relationship ({to})")
    elif reason == REASON_NO_CAPACITY:
        bits.append("no eligible rep has room; goes to the pool")
    elif reason == REASON_NO_ELIGIBLE:
        bits.append("no rep meets the rules for this customer; goes to the pool")
    if to:
        if frm and math.isfinite(prev_dist):
            bits.append(f"travel {_fmt_km(prev_dist)} → {_fmt_km(dist)}")
        elif math.isfinite(dist):
            bits.append(f"travel {_fmt_km(dist)}")
        if covers:
            bits.append(f"{to} covers {industry}")
        if worked:
            bits.append(f"worked by {worked}")
        elif relationship < 0:
            bits.append(f"{to} has a recent relationship (bonus {-relationship:.1f})")
    if frm and continuity > 0:
        bits.append(f"gives up continuity of a {tier} account (cost {continuity:.1f})")
    if reason == REASON_BALANCE:
        bits.append(f"evens out books ({frm} holds more than its share)")
    elif reason == REASON_OVER_CAPACITY:
        bits.append(f"{frm} is over capacity")
    if math.isfinite(delta):
        balance_gain = balance_gain if math.isfinite(balance_gain) else 0.0
        total = delta - balance_gain
        bits.append(f"objective {total:+.1f} vs keeping {frm} (arc {delta:+.1f}, balance {-balance_gain:+.1f})")
    return f"{frm_txt} → {to or 'the pool'}: " + "; ".join(bits)


def _date(x) -> str:
    return "never" if pd.isna(x) else pd.Timestamp(x).date().isoformat()


def build_rep_books(book: Book, assignments: pd.DataFrame) -> pd.DataFrame:
    """Per rep, before and after: accounts, value, workload, utilization, mean distance."""
    cust, reps = book.customers, book.reps
    n_r = len(reps)
    rep_index = pd.Index(reps["rep_id"])
    value = cust["value"].to_numpy(dtype=np.float64)
    wl = cust["workload"].to_numpy(dtype=np.float64)
    before = cust["owner"].to_numpy()
    after = rep_index.get_indexer(assignments["rep_id"].where(assignments["rep_id"] != "", None))
    out = pd.DataFrame({
        "rep_id": reps["rep_id"], "name": reps["name"], "team": reps["team"], "region": reps["region"],
        "active": reps["active"], "max_accounts": reps["max_accounts"], "max_workload": reps["max_workload"],
    })
    dist_after = assignments["distance_km"].to_numpy(dtype=np.float64)
    dist_before = assignments["previous_distance_km"].to_numpy(dtype=np.float64)
    for tag, pos, dist in (("before", before, dist_before), ("after", after, dist_after)):
        has = pos >= 0
        p = pos[has]
        out[f"accounts_{tag}"] = np.bincount(p, minlength=n_r)
        out[f"value_{tag}"] = np.bincount(p, weights=value[has], minlength=n_r)
        out[f"workload_{tag}"] = np.bincount(p, weights=wl[has], minlength=n_r)
        d = dist[has]
        ok = np.isfinite(d)
        s = np.bincount(p[ok], weights=d[ok], minlength=n_r)
        c = np.bincount(p[ok], minlength=n_r)
        out[f"mean_distance_km_{tag}"] = np.where(c > 0, s / np.maximum(c, 1), np.nan)
    out["value_target"] = book.value_target
    out["workload_target"] = book.workload_target
    for tag in ("before", "after"):
        util_wl = out[f"workload_{tag}"] / out["max_workload"]
        util_acc = out[f"accounts_{tag}"] / out["max_accounts"]
        out[f"utilization_{tag}"] = util_wl.where(out["max_workload"].notna(), util_acc)
    return out


def pool_report(customers: pd.DataFrame, assignments: pd.DataFrame, reason: str) -> list[dict]:
    """Customers left in the pool for ``reason``, by region and tier: who lacked how much capacity.

    ``customers`` has customer_id, region, tier, value and workload (filled). Returns a list of
    {region, tier, customers, value, workload}, largest value first.
    """
    pool = assignments.loc[(assignments["rep_id"] == "") & (assignments["reason"] == reason), ["customer_id"]]
    if pool.empty:
        return []
    df = pool.merge(customers[["customer_id", "region", "tier", "value", "workload"]], on="customer_id")
    g = df.groupby(["region", "tier"], as_index=False, sort=True).agg(
        customers=("customer_id", "size"), value=("value", "sum"), workload=("workload", "sum"))
    g = g.sort_values(["value", "region", "tier"], ascending=[False, True, True], kind="stable")
    return [{"region": r, "tier": t, "customers": int(n), "value": round(float(v), 2), "workload": round(float(w), 2)}
            for r, t, n, v, w in g[["region", "tier", "customers", "value", "workload"]].itertuples(index=False)]


def balance_figures(reps_table: pd.DataFrame, tolerance: float) -> dict[str, float | int]:
    """Spread of the books across active reps, before and after, relative to each rep's target."""
    act = reps_table.loc[reps_table["active"].astype(bool)]
    out: dict[str, float | int] = {}
    for tag in ("before", "after"):
        for what in ("value", "workload"):
            tgt = act[f"{what}_target"].to_numpy()
            ratio = np.where(tgt > 0, act[f"{what}_{tag}"].to_numpy() / np.maximum(tgt, 1e-12), 0.0)
            out[f"{what}_cv_{tag}"] = round(float(ratio.std() / ratio.mean()) if len(ratio) and ratio.mean() > 0 else 0.0, 4)
        v = act[f"value_{tag}"].to_numpy()
        t = act["value_target"].to_numpy()
        out[f"reps_over_target_{tag}"] = int((v > t * (1 + tolerance)).sum())
        out[f"reps_under_target_{tag}"] = int((v < t * (1 - tolerance)).sum())
        out[f"max_value_share_{tag}"] = round(float(v.max() / max(v.sum(), 1e-12)) if len(v) else 0.0, 4)
    return out


def candidate_table(book: Book) -> pd.DataFrame:
    """Every candidate arc with ids and cost parts: what ``allocator explain`` reads from a run."""
    arcs = book.arcs
    out = pd.DataFrame({
        "customer_id": book.customers["customer_id"].to_numpy(dtype=object)[arcs["customer"].to_numpy()],
        "rep_id": book.reps["rep_id"].to_numpy(dtype=object)[arcs["rep"].to_numpy()],
    })
    for col in (*COST_PARTS, "cost_total", "distance_km", "relationship_strength", "relationship_contacts"):
        out[col] = arcs[col].to_numpy()
    return out


def explain_customer(candidates: pd.DataFrame, assignments: pd.DataFrame, customer_id: str, top: int = 5) -> pd.DataFrame:
    """The chosen rep beside the next best candidates, cost part by part (points; lower is better).

    Raises ``KeyError`` when the customer is not in the run.
    """
    row = assignments.loc[assignments["customer_id"] == customer_id]
    if row.empty:
        raise KeyError(customer_id)
    chosen = row["rep_id"].iloc[0]
    arcs = candidates.loc[candidates["customer_id"] == customer_id].copy()
    arcs["chosen"] = arcs["rep_id"] == chosen
    arcs = arcs.sort_values(["chosen", "cost_total", "rep_id"], ascending=[False, True, True], kind="stable")
    cols = ["rep_id", "chosen", *COST_PARTS, "cost_total", "distance_km"]
    if "relationship_contacts" in arcs:  # runs written before contacts were recorded lack it
        arcs["contacts"] = arcs["relationship_contacts"]
        cols.append("contacts")
    return arcs[cols].head(top + 1).reset_index(drop=True)


def worked_by_text(candidates: pd.DataFrame, customer_id: str) -> str:
    """Who worked this customer, strongest relationship first: "R0012: 12 contacts, R0031: 3" ('' if nobody)."""
    if "relationship_contacts" not in candidates:
        return ""
    arcs = candidates.loc[(candidates["customer_id"] == customer_id) & (candidates["relationship_contacts"] > 0)]
    arcs = arcs.sort_values(["relationship_strength", "rep_id"], ascending=[False, True], kind="stable")
    parts = [f"{r}: {n}" + (" contacts" if i == 0 else "")
             for i, (r, n) in enumerate(zip(arcs["rep_id"], arcs["relationship_contacts"]))]
    return ", ".join(parts)


def points(x: float | int | None) -> float | None:
    """Engine integer cost units back to cost points."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return None
    return round(float(x) / COST_SCALE, 3)


def excluded_reps(customers: pd.DataFrame, reps: pd.DataFrame | None, candidates: pd.DataFrame,
                  policy, customer_id: str) -> pd.DataFrame:
    """Every rep that is not a candidate for this customer, with the rule that excluded it.

    Columns: rep_id, rule. Hard rules are named first (inactive, no capacity, region, level,
    language, previous owner of a reclaimed customer); an eligible rep that is simply farther or
    less fit than the customer's candidates is "not among the nearest candidates".
    """
    if reps is None or reps.empty:
        return pd.DataFrame({"rep_id": pd.Series(dtype=object), "rule": pd.Series(dtype=object)})
    row = customers.loc[customers["customer_id"] == customer_id]
    if row.empty:
        raise KeyError(customer_id)
    c = row.iloc[0]
    rules = policy.rules
    tier, region, language = str(c.get("tier", "")), str(c.get("region", "")), str(c.get("language", ""))
    min_level = rules.min_level.get(tier, 0)
    cand = set(candidates.loc[candidates["customer_id"] == customer_id, "rep_id"])
    out = []
    for rep in reps.itertuples(index=False):
        if rep.rep_id in cand:
            continue
        if not bool(rep.active):
            rule = "inactive"
        elif _is_zero(rep.max_accounts) or _is_zero(rep.max_workload):
            rule = "no capacity"
        elif rules.region_mode == "hard" and region and rep.region and rep.region != region:
            rule = f"region is hard: rep in {rep.region}, customer in {region}"
        elif int(rep.level) < min_level:
            rule = f"level {int(rep.level)} below the minimum {min_level} for {tier}"
        elif rules.require_language and language and language not in list(rep.languages):
            rule = f"does not speak {language}"
        elif c.get("forced_reason", "") == "reclaimed" and rep.rep_id == c.get("current_owner", ""):
            rule = "previous owner of a reclaimed customer"
        elif bool(c.get("locked", False)):
            rule = "customer is locked to its owner"
        else:
            rule = "not among the nearest candidates"
        out.append((rep.rep_id, rule))
    return pd.DataFrame(out, columns=["rep_id", "rule"])


def _is_zero(x) -> bool:
    try:
        return float(x) <= 0
    except (TypeError, ValueError):
        return False
