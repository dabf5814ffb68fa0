"""The one entry point the CLI and notebooks share: read → validate → candidates → solve → explain → write."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import __version__
from .candidates import COST_SCALE, Book, build_book, build_new_book
from .decompose import solve_by_parts
from .engine import EngineResult, SolveOptions, check_plan
from .errors import PolicyError
from .explain import (
    balance_figures,
    build_assignments,
    build_moves,
    build_rep_books,
    candidate_table,
    REASON_APPROVED,
    REASON_KEPT,
    REASON_LOCKED,
    REASON_NEW,
    excluded_reps,
    explain_customer,
    points,
    pool_report,
)
from .io import RawTable, read_table, write_run
from .ledger import compare_with_review, review_constraints
from .policy import Policy, Weights
from .schema import Inputs, validate, validate_with_new

Log = Callable[[str], None]
TableLike = str | Path | pd.DataFrame


def _quiet(_: str) -> None:
    pass


def _raw(table: TableLike | None, name: str) -> RawTable | None:
    if table is None:
        return None
    if isinstance(table, pd.DataFrame):
        return RawTable(name, table.copy(), is_csv=False)
    return read_table(table)


def _checksum(table: TableLike | None) -> str | None:
    if table is None:
        return None
    h = hashlib.sha256()
    if isinstance(table, pd.DataFrame):
        h.update(pd.util.hash_pandas_object(table.astype(str), index=False).to_numpy().tobytes())
    else:
        with open(table, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def read_inputs(customers: TableLike, reps: TableLike, activities: TableLike | None = None) -> Inputs:
    """Read (paths) or wrap (DataFrames) and validate the input tables.

    Raises ``InputError`` listing every problem with file, row and column.
    """
    return validate(
        _raw(customers, "customers"), _raw(reps, "reps"), _raw(activities, "activities")
    )


@dataclass(frozen=True)
class Plan:
    """The result of one run: output tables, the summary and what is needed to explain them."""

    assignments: pd.DataFrame
    moves: pd.DataFrame
    reps: pd.DataFrame
    summary: dict[str, Any]
    policy: Policy
    candidates: pd.DataFrame
    customers: pd.DataFrame  # the validated book as planned (with status and forced_reason)
    result: EngineResult = field(repr=False)
    rep_inputs: pd.DataFrame | None = field(default=None, repr=False)  # the validated reps

    def explain(self, customer_id: str, top: int = 5) -> pd.DataFrame:
        """The chosen rep beside the next best candidates, cost part by part."""
        return explain_customer(self.candidates, self.assignments, customer_id, top)

    def excluded(self, customer_id: str) -> pd.DataFrame:
        """Every rep that could not take this customer, with the rule that excluded it."""
        return excluded_reps(self.customers, self.rep_inputs, self.candidates, self.policy, customer_id)

    def summary_text(self) -> str:
        """The few lines the CLI prints."""
        s = self.summary
        short = _shortfall_text(s.get("pool_shortfall", []))
        return short + (
            f"{_status_line(s)}\n"
            f"{s['n_customers']} customers, {s['n_reps']} reps: {s['n_assigned']} assigned, {s['n_pool']} in pool, "
            f"{s['n_moves']} moves ({s['n_forced_moves']} forced, {s['n_voluntary_moves']} voluntary)\n"
            f"solve {s['solve_seconds']:.1f} s, total {s['total_seconds']:.1f} s"
        )

    def write(self, out_dir: str | Path, log: Log = _quiet) -> Path:
        """Write every output file together (temporary folder, then rename) and return the folder."""
        from .report import render_report

        t = time.perf_counter()
        out_dir = Path(out_dir)
        summary = dict(self.summary)

        writers = {
            "assignments.parquet": lambda p: self.assignments.to_parquet(p, index=False),
            "moves.csv": lambda p: _spreadsheet_safe(self.moves).to_csv(p, index=False, encoding="utf-8-sig"),
            "reps.csv": lambda p: _spreadsheet_safe(self.reps).to_csv(p, index=False, encoding="utf-8-sig"),
            "candidates.parquet": lambda p: self.candidates.to_parquet(p, index=False),
            "customers_input.parquet": lambda p: _input_snapshot(self.customers).to_parquet(p, index=False),
            "reps_input.parquet": lambda p: _input_snapshot(self.rep_inputs).to_parquet(p, index=False),
            "config.toml": lambda p: p.write_text(self.policy.to_toml(), encoding="utf-8"),
            "report.html": lambda p: p.write_text(
                render_report(summary, self.assignments, self.moves, self.reps, self.customers), encoding="utf-8"
            ),
            "summary.json": lambda p: p.write_text(_summary_json(summary), encoding="utf-8"),
        }
        return _write_folder(out_dir, writers, log, t)


def _write_folder(out_dir: Path, writers: dict, log: Log, started: float) -> Path:
    """Write every file of a run folder at once (`write_run`) and log how long it took."""
    write_run(out_dir, writers)
    log(f"write: {len(writers)} files to {out_dir} in {time.perf_counter() - started:.2f} s")
    return out_dir


def _shortfall_text(rows: list[dict]) -> str:
    """One line naming where capacity ran short ('' when it did not), placed before the summary."""
    if not rows:
        return ""
    bits = [f"{r['region'] or '(no region)'}/{r['tier'] or '(no tier)'} {r['customers']} "
            f"(value {r['value']:,.0f})" for r in rows[:5]]
    more = f" and {len(rows) - 5} more groups" if len(rows) > 5 else ""
    return "left in the pool for lack of capacity: " + ", ".join(bits) + more + "\n"


def _input_snapshot(frame: pd.DataFrame | None) -> pd.DataFrame:
    """The validated table as planned, kept in the run folder so `allocator explain` can check rules."""
    return pd.DataFrame() if frame is None else frame.reset_index(drop=True)


def _summary_json(summary: dict[str, Any]) -> str:
    """summary.json's text: indented, UTF-8 kept readable (Chinese region names)."""
    return json.dumps(summary, indent=2, ensure_ascii=False, default=_json_default) + "\n"


def _status_line(s: dict[str, Any]) -> str:
    return f"status {s['status']}, objective {s['objective']}, bound {s['best_bound']}, gap {_pct(s['gap'])}"


def _json_default(x: Any) -> Any:
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating,)):
        return float(x)
    if isinstance(x, (dt.date, pd.Timestamp)):
        return x.isoformat()
    raise TypeError(f"not JSON serialisable: {x!r}")


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _spreadsheet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as a formula get a leading apostrophe."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            s = out[col].astype(object)
            risky = s.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_START))
            if risky.any():
                out[col] = s.where(~risky, "'" + s.astype(str))
    return out


def solve_options(policy: Policy) -> SolveOptions:
    """Engine settings from the policy (the engine hides no constants of its own)."""
    s = policy.solver
    return SolveOptions(
        time_limit_seconds=s.time_limit_seconds,
        workers=s.workers,
        seed=s.seed,
        deterministic=s.deterministic,
        deterministic_time=s.deterministic_time,
        exact_arc_limit=s.exact_arc_limit,
        gap_limit=s.gap_limit,
        log=s.log,
    )


def plan(
    customers: TableLike | Inputs,
    reps: TableLike | None = None,
    activities: TableLike | None = None,
    policy: Policy | None = None,
    as_of: dt.date | str | None = None,
    log: Log = _quiet,
    weights: Weights | None = None,
    decisions: TableLike | None = None,
) -> Plan:
    """Plan ownership for a whole book.

    Parameters
    ----------
    customers, reps, activities
        Paths (CSV or Parquet) or DataFrames with the columns of DESIGN.md; or validated
        ``Inputs`` as the first argument.
    policy
        Weights, rules and solver settings (``Policy()`` = the documented defaults).
    as_of
        "Today" for date rules (reclaim, relationship recency); default: the current date.
    log
        Receives one line per stage (the CLI prints them to stderr).
    weights
        Overrides ``policy.weights`` (handy when sweeping weights in a notebook).
    decisions
        A reviewed moves.csv of an earlier run on this book: approved moves are pinned (applied
        and locked), rejected ones forbidden, and the rest of the book is planned again.

    Raises
    ------
    InputError
        Invalid input, with every problem listed.
    PolicyError
        The hard rules cannot all be met.
    """
    t_start = time.perf_counter()
    policy = policy or Policy()
    if weights is not None:
        policy = dataclasses.replace(policy, weights=weights)
    as_of = _as_date(as_of)
    stages: dict[str, float] = {}

    t = time.perf_counter()
    if isinstance(customers, Inputs):
        inputs = customers
        checksums: dict[str, str | None] = {}
    else:
        if reps is None:
            raise TypeError("plan() needs reps when customers is not an Inputs")
        inputs = read_inputs(customers, reps, activities)
        checksums = {"customers": _checksum(customers), "reps": _checksum(reps), "activities": _checksum(activities)}
    stages["read_validate"] = time.perf_counter() - t
    log(f"read+validate: {len(inputs.customers)} customers, {len(inputs.reps)} reps, "
        f"{len(inputs.activities)} activities in {stages['read_validate']:.2f} s")
    for w in inputs.warnings:
        log(f"warning: {w}")

    t = time.perf_counter()
    review = None
    if decisions is not None:
        review = review_constraints(inputs.customers, decisions)
        inputs = dataclasses.replace(inputs, customers=review.customers)
        log(f"review: {len(review.pinned)} approved moves pinned, {len(review.forbidden)} rejected moves forbidden")
    book = build_book(inputs.customers, inputs.reps, inputs.activities, policy, as_of,
                      forbidden=review.forbidden if review else None)
    stages["candidates"] = time.perf_counter() - t
    log(f"candidates: {len(book.arcs)} arcs ({len(book.arcs) / max(1, len(book.customers)):.1f} per customer) "
        f"in {stages['candidates']:.2f} s")
    for w in book.warnings:
        log(f"warning: {w}")

    t = time.perf_counter()
    result = _solve(book.problem, policy)
    stages["solve"] = time.perf_counter() - t
    if result.objective is None:
        raise PolicyError(_infeasible_message(policy, result))
    problems = check_plan(book.problem, result.chosen_arc)
    if problems:  # the engine must never hand back a plan that breaks a hard rule
        raise RuntimeError("internal error: the plan breaks hard rules: " + "; ".join(problems))
    log(f"solve: {result.status} by {result.method}, objective {points(result.objective)}, "
        f"bound {points(result.best_bound)}, gap {_pct(result.gap)} in {stages['solve']:.2f} s")

    t = time.perf_counter()
    assignments = build_assignments(book, result)
    if review is not None and review.pinned:
        assignments.loc[assignments["customer_id"].isin(review.pinned), "reason"] = REASON_APPROVED
    rep_books = build_rep_books(book, assignments)
    moves = build_moves(book, assignments, rep_books, policy.rules.approval_tiers)
    candidates = candidate_table(book)
    stages["explain"] = time.perf_counter() - t
    log(f"explain: {len(moves)} moves in {stages['explain']:.2f} s")

    summary = _summary(book, result, assignments, moves, rep_books, policy, as_of, stages, checksums,
                       inputs.warnings + book.warnings, time.perf_counter() - t_start)
    summary["review"] = None
    if review is not None:
        # the new proposal says which moves are what the manager already saw and which are new
        moves["vs_review"] = compare_with_review(moves, review)
        counts = moves["vs_review"].value_counts()
        summary["review"] = {"approved_pinned": len(review.pinned), "rejected_forbidden": len(review.forbidden),
                             **{f"moves_{k}": int(counts.get(k, 0)) for k in ("same", "changed", "new")}}
    return Plan(assignments, moves, rep_books, summary, policy, candidates, book.customers, result, book.reps)


def _solve(problem, policy: Policy) -> EngineResult:
    """Solve by independent parts; a problem without a single candidate arc has one plan: all in the pool.

    (The engine's repair step cannot handle a problem with no arcs, e.g. a reclaimed customer
    whose previous owner was the only eligible rep.)
    """
    if len(problem.arc_customer) == 0 and problem.pool_cost is not None:
        total = int(np.clip(problem.pool_cost, 0, None).sum())
        return EngineResult("OPTIMAL", total, float(total), np.full(problem.n_customers, -1, dtype=np.int64),
                            0.0, "trivial", {})
    return solve_by_parts(problem, solve_options(policy))


def _as_date(x: dt.date | str | None) -> dt.date:
    if x is None:
        return dt.date.today()
    if isinstance(x, str):
        return dt.date.fromisoformat(x)
    if isinstance(x, dt.datetime):
        return x.date()
    return x


def _pct(g: float | None) -> str:
    return "–" if g is None else f"{100 * g:.2f} %"


def _infeasible_message(policy: Policy, result: EngineResult) -> str:
    r = policy.rules
    in_force = [f"move_budget = {r.move_budget}" if r.move_budget >= 0 else None,
                f"max_moves_per_rep = {r.max_moves_per_rep}" if r.max_moves_per_rep >= 0 else None,
                f"region_mode = {r.region_mode}", f"allow_pool = {str(r.allow_pool).lower()}",
                "account and workload capacities"]
    # suggest only what would actually relax something
    fixes = [x for x in ("raise rules.move_budget" if r.move_budget >= 0 else None,
                         "raise rules.max_moves_per_rep" if r.max_moves_per_rep >= 0 else None,
                         "set rules.allow_pool = true" if not r.allow_pool else None,
                         "add capacity (max_accounts, max_workload) or reps") if x]
    rules = ", ".join(x for x in in_force if x)
    if result.status == "INFEASIBLE":
        return f"the hard rules cannot all be met ({rules}); " + ", or ".join(fixes)
    return (f"no plan found within {policy.solver.time_limit_seconds:g} s ({rules}); "
            "raise the time limit, or " + ", or ".join(fixes))


def _summary(book: Book, result: EngineResult, assignments: pd.DataFrame, moves: pd.DataFrame,
             rep_books: pd.DataFrame, policy: Policy, as_of: dt.date, stages: dict[str, float],
             checksums: dict[str, str | None], warnings: tuple[str, ...], total: float) -> dict[str, Any]:
    forced_reasons = set(book.customers["forced_reason"]) - {""}
    n_forced = int(moves["reason"].isin(forced_reasons).sum()) if len(moves) else 0
    from_pool = int((moves["from_rep"] == "").sum()) if len(moves) else 0
    n_pool = int((assignments["rep_id"] == "").sum())
    budget = policy.rules.move_budget
    fingerprint = hashlib.sha256(json.dumps(
        [checksums, policy.to_dict(), as_of.isoformat()], sort_keys=True, default=str).encode()).hexdigest()[:10]
    status = book.customers["status"]
    return {
        "run_id": f"{as_of.isoformat()}-{fingerprint}",
        "status": result.status,
        "method": result.method,
        "objective": points(result.objective),
        "best_bound": points(result.best_bound),
        "gap": None if result.gap is None else round(result.gap, 6),
        "n_customers": int(len(book.customers)),
        "n_reps": int(len(book.reps)),
        "n_active_reps": int(book.reps["active"].sum()),
        "n_assigned": int(len(assignments) - n_pool),
        "n_pool": n_pool,
        "n_pool_before": int((book.customers["owner"] < 0).sum()),
        "n_locked": int((status == "locked").sum()),
        "n_reclaimed": int((book.customers["forced_reason"] == "reclaimed").sum()),
        "n_owner_inactive": int((book.customers["forced_reason"] == "owner inactive").sum()),
        "pool_shortfall": pool_report(book.customers, assignments, "no capacity"),
        "pool_no_eligible_rep": pool_report(book.customers, assignments, "no eligible rep"),
        "n_moves": int(len(moves)),
        "n_forced_moves": n_forced,
        "n_from_pool": from_pool,
        "n_voluntary_moves": int(len(moves) - n_forced - from_pool),
        "move_budget": None if budget < 0 else budget,
        "capacity_moves_allowance": int(book.capacity_moves),
        "n_needs_approval": int(moves["needs_approval"].sum()) if len(moves) else 0,
        "n_move_groups": int(moves.loc[moves["group"] != "", "group"].nunique()) if len(moves) else 0,
        "value_moved": round(float(moves["value"].sum()), 2) if len(moves) else 0.0,
        "n_arcs": int(len(book.arcs)),
        "n_widened": int(book.widened),
        "solve_seconds": round(stages["solve"], 3),
        "total_seconds": round(total, 3),
        "stage_seconds": {k: round(v, 3) for k, v in stages.items()},
        "engine_stage_seconds": {k: round(v, 3) for k, v in result.stages.items()},
        "balance": balance_figures(rep_books, policy.rules.balance_tolerance),
        "as_of": as_of.isoformat(),
        "config": policy.to_dict(),
        "input_checksums": checksums,
        "warnings": list(warnings),
        "version": __version__,
        "cost_scale": COST_SCALE,
        "trace": [[round(t, 3), points(o), points(b)] for t, o, b in result.trace],
    }


# ---------------------------------------------------------------------------------------------
# New customers between nights

NEW_COLUMNS = ["alternative_1", "alternative_1_cost_delta", "alternative_2", "alternative_2_cost_delta"]


@dataclass(frozen=True)
class Placement:
    """The result of ``assign_new``: today's ownership plus the new customers' owners.

    ``assignments`` has every book and new customer exactly once (the columns of a run's
    assignments, plus ``is_new`` and, for new customers, the next two candidates with their
    cost difference to the chosen one); ``summary`` is ``summary.json``.
    """

    assignments: pd.DataFrame
    summary: dict[str, Any]
    policy: Policy
    result: EngineResult = field(repr=False)

    def summary_text(self) -> str:
        """The few lines the CLI prints."""
        s = self.summary
        short = _shortfall_text(s["pool_shortfall"])
        return short + (
            f"{_status_line(s)}\n"
            f"{s['n_new']} new customers: {s['n_placed']} placed, {s['n_pool']} left in the pool; "
            f"{s['n_book']} book customers unchanged\n"
            f"solve {s['solve_seconds']:.1f} s, total {s['total_seconds']:.1f} s"
        )

    def write(self, out_dir: str | Path, log: Log = _quiet) -> Path:
        """Write assignments.parquet and summary.json together (temporary folder, then rename)."""
        t = time.perf_counter()
        out_dir = Path(out_dir)
        summary = dict(self.summary)
        writers = {
            "assignments.parquet": lambda p: self.assignments.to_parquet(p, index=False),
            "summary.json": lambda p: p.write_text(_summary_json(summary), encoding="utf-8"),
        }
        return _write_folder(out_dir, writers, log, t)


def assign_new(
    customers: TableLike,
    reps: TableLike,
    new: TableLike,
    activities: TableLike | None = None,
    policy: Policy | None = None,
    as_of: dt.date | str | None = None,
    log: Log = _quiet,
) -> Placement:
    """Place new customers into today's ownership without moving anyone else.

    Parameters
    ----------
    customers
        Today's book (path or DataFrame); every row keeps its owner.
    reps, activities, policy, as_of
        As for ``plan``; capacity left for new customers is each rep's capacity minus today's book.
    new
        New customers, with the columns of the customers table, ids not in the book and no owner.

    Raises
    ------
    InputError
        Invalid input (e.g. a new id that is already in the book), with every problem listed.
    PolicyError
        The hard rules cannot all be met.
    """
    t_start = time.perf_counter()
    policy = policy or Policy()
    as_of = _as_date(as_of)
    stages: dict[str, float] = {}

    t = time.perf_counter()
    inputs, fresh = validate_with_new(_raw(customers, "customers"), _raw(reps, "reps"), _raw(new, "new"),
                                      _raw(activities, "activities"))
    checksums = {"customers": _checksum(customers), "reps": _checksum(reps), "new": _checksum(new),
                 "activities": _checksum(activities)}
    stages["read_validate"] = time.perf_counter() - t
    log(f"read+validate: {len(inputs.customers)} book customers, {len(fresh)} new, {len(inputs.reps)} reps, "
        f"{len(inputs.activities)} activities in {stages['read_validate']:.2f} s")
    for w in inputs.warnings:
        log(f"warning: {w}")

    t = time.perf_counter()
    book = build_new_book(inputs.customers, inputs.reps, fresh, inputs.activities, policy, as_of)
    stages["candidates"] = time.perf_counter() - t
    log(f"candidates: {len(book.arcs)} arcs for {len(book.customers)} new customers in {stages['candidates']:.2f} s")
    for w in book.warnings:
        log(f"warning: {w}")

    t = time.perf_counter()
    result = _solve(book.problem, policy)
    stages["solve"] = time.perf_counter() - t
    if result.objective is None:
        raise PolicyError(_infeasible_message(policy, result))
    problems = check_plan(book.problem, result.chosen_arc)
    if problems:
        raise RuntimeError("internal error: the plan breaks hard rules: " + "; ".join(problems))
    log(f"solve: {result.status} by {result.method}, objective {points(result.objective)}, "
        f"bound {points(result.best_bound)}, gap {_pct(result.gap)} in {stages['solve']:.2f} s")

    t = time.perf_counter()
    placed = build_assignments(book, result)
    placed["reason"] = placed["reason"].where(placed["rep_id"] == "", REASON_NEW)
    placed = pd.concat([placed, _alternatives(book, placed)], axis=1)
    placed["is_new"] = True
    kept = _unchanged_book(inputs.customers, policy)
    assignments = pd.concat([kept, placed], ignore_index=True)[[*placed.columns]]
    assignments = assignments.sort_values("customer_id", kind="stable").reset_index(drop=True)
    stages["explain"] = time.perf_counter() - t

    n_pool = int((placed["rep_id"] == "").sum())
    cust_frame = book.customers
    summary = {
        "status": result.status,
        "method": result.method,
        "objective": points(result.objective),
        "best_bound": points(result.best_bound),
        "gap": None if result.gap is None else round(result.gap, 6),
        "n_customers": int(len(assignments)),
        "n_book": int(len(kept)),
        "n_new": int(len(placed)),
        "n_placed": int(len(placed) - n_pool),
        "n_pool": n_pool,
        "n_moves": 0,
        "n_reps": int(len(book.reps)),
        "pool_shortfall": pool_report(cust_frame, placed, "no capacity"),
        "pool_no_eligible_rep": pool_report(cust_frame, placed, "no eligible rep"),
        "new_per_rep": {k: int(v) for k, v in placed.loc[placed["rep_id"] != "", "rep_id"].value_counts().sort_index().items()},
        "n_arcs": int(len(book.arcs)),
        "n_widened": int(book.widened),
        "solve_seconds": round(stages["solve"], 3),
        "total_seconds": round(time.perf_counter() - t_start, 3),
        "stage_seconds": {k: round(v, 3) for k, v in stages.items()},
        "engine_stage_seconds": {k: round(v, 3) for k, v in result.stages.items()},
        "as_of": as_of.isoformat(),
        "config": policy.to_dict(),
        "input_checksums": checksums,
        "warnings": list(inputs.warnings + book.warnings),
        "version": __version__,
    }
    log(f"explain: {summary['n_placed']} placed, {n_pool} in the pool in {stages['explain']:.2f} s")
    return Placement(assignments, summary, policy, result)


def _unchanged_book(customers: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Today's book as assignments rows: every customer stays where it is (costs not computed: NaN)."""
    from .explain import ASSIGNMENT_COLUMNS

    owner = customers["current_owner"].to_numpy(dtype=object)
    locked = customers["locked"].to_numpy(dtype=bool) & (owner != "")
    out = pd.DataFrame({
        "customer_id": customers["customer_id"].to_numpy(dtype=object),
        "rep_id": owner,
        "previous_rep_id": owner,
        "moved": False,
        "reason": np.where(locked, REASON_LOCKED, REASON_KEPT).astype(object),
        "value": customers["value"].to_numpy(dtype=np.float64),
        "tier": customers["tier"].to_numpy(dtype=object),
    })
    for col in ASSIGNMENT_COLUMNS:
        if col not in out:
            out[col] = np.nan
    out["last_activity"] = pd.to_datetime(customers["last_activity"]).to_numpy(dtype="datetime64[ns]")
    out["alternative_1"] = ""
    out["alternative_2"] = ""
    out["is_new"] = False
    return out


def _alternatives(book: Book, placed: pd.DataFrame) -> pd.DataFrame:
    """For each new customer the next two candidates by cost, other than the chosen rep, and how much
    more (cost points) each would cost than the choice ('' / NaN where there are fewer candidates)."""
    arcs = book.arcs
    rep_ids = book.reps["rep_id"].to_numpy(dtype=object)
    chosen = placed["rep_id"].to_numpy(dtype=object)
    arc_rep = rep_ids[arcs["rep"].to_numpy()]
    c = arcs["customer"].to_numpy()
    others = pd.DataFrame({"customer": c, "rep_id": arc_rep, "cost_total": arcs["cost_total"].to_numpy()})
    others = others.loc[arc_rep != chosen[c]]
    others = others.sort_values(["customer", "cost_total", "rep_id"], kind="stable")
    others["rank"] = others.groupby("customer").cumcount()
    n = len(placed)
    base = placed["cost_total"].to_numpy(dtype=np.float64)
    out = pd.DataFrame(index=placed.index)
    for k in (0, 1):
        top = others.loc[others["rank"] == k]
        name = np.full(n, "", dtype=object)
        delta = np.full(n, np.nan)
        pos = top["customer"].to_numpy()
        name[pos] = top["rep_id"].to_numpy()
        delta[pos] = top["cost_total"].to_numpy() - base[pos]
        out[f"alternative_{k + 1}"] = name
        out[f"alternative_{k + 1}_cost_delta"] = np.round(delta, 3)
    return out[NEW_COLUMNS]


__all__ = ["Placement", "Plan", "assign_new", "plan", "read_inputs", "solve_options"]
