"""Managers' decisions applied to a run: the new ownership table and the append-only ledger.

``apply_decisions`` takes a run folder and the reviewed ``moves.csv`` (``decision`` = approve /
reject / empty). Approved moves take effect; rejected and undecided ones keep the old owner;
every other customer keeps the run's previous owner. Capacity is re-checked after rejections.
Nothing is written unless every check passes; the ledger only ever grows.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError, Issue
from .io import read_table, write_file_atomic

APPROVE_WORDS = frozenset({"approve", "approved", "yes", "y", "同意", "批准"})
REJECT_WORDS = frozenset({"reject", "rejected", "no", "n", "拒绝", "驳回"})
LEDGER_COLUMNS = ["customer_id", "from_rep", "to_rep", "run_id", "decision", "decided_at"]
OWNERSHIP_COLUMNS = ["customer_id", "current_owner", "previous_owner", "changed", "decision", "run_id"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Applied:
    """The outcome of applying decisions: the ownership table and the ledger rows it adds."""

    ownership: pd.DataFrame
    ledger_rows: pd.DataFrame
    n_approved: int
    n_rejected: int
    n_undecided: int
    run_id: str

    def summary_text(self) -> str:
        return (f"run {self.run_id}: {self.n_approved} approved, {self.n_rejected} rejected, "
                f"{self.n_undecided} undecided; {len(self.ownership)} customers in the new ownership")


def _unescape(cell: str) -> str:
    """Undo the apostrophe that spreadsheet-safe output put before formula-like text."""
    if len(cell) > 1 and cell[0] == "'" and cell[1:].startswith(FORMULA_START):
        return cell[1:]
    return cell


def _read_run(run_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict, pd.DataFrame]:
    missing = [n for n in ("assignments.parquet", "moves.csv", "reps.csv", "summary.json") if not (run_dir / n).exists()]
    if missing:
        raise InputError(Issue(str(run_dir), None, None,
                               f"not a run folder written by `allocator run` (missing {', '.join(missing)})"))
    assignments = pd.read_parquet(run_dir / "assignments.parquet")
    moves = read_table(run_dir / "moves.csv").frame.map(_unescape)
    reps = read_table(run_dir / "reps.csv").frame.map(_unescape)
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    return assignments, moves, summary, reps


def _decision_issues(decisions: pd.DataFrame, moves: pd.DataFrame, name: str) -> tuple[list[Issue], pd.Series]:
    """Check the decisions file row by row against the run's moves; return issues and decisions."""
    issues: list[Issue] = []
    for col in ("customer_id", "from_rep", "to_rep", "decision"):
        if col not in decisions.columns:
            issues.append(Issue(name, None, col, "required column is missing"))
    if issues:
        return issues, pd.Series(dtype=object)
    by_id = moves.set_index("customer_id")
    seen: dict[str, int] = {}
    out = {}
    for k, row in enumerate(decisions.itertuples(index=False)):
        r = k + 2  # spreadsheet row: the header is row 1
        cid = str(row.customer_id).strip()
        if cid in seen:
            issues.append(Issue(name, r, "customer_id", f'duplicate decision for "{cid}" (first in row {seen[cid]})'))
            continue
        seen[cid] = r
        if cid not in by_id.index:
            issues.append(Issue(name, r, "customer_id", f'"{cid}" is not a move of this run'))
            continue
        move = by_id.loc[cid]
        for col in ("from_rep", "to_rep"):
            if str(getattr(row, col)).strip() != str(move[col]).strip():
                issues.append(Issue(name, r, col, f'expected "{move[col]}" as in the run\'s moves.csv, '
                                                  f'got "{getattr(row, col)}"; a decision cannot change a move'))
        word = str(row.decision).strip().lower()
        if word in APPROVE_WORDS:
            out[cid] = "approve"
        elif word in REJECT_WORDS:
            out[cid] = "reject"
        elif word in ("", "nan", "none"):
            out[cid] = ""
        else:
            issues.append(Issue(name, r, "decision", f'expected approve, reject or empty, got "{row.decision}"'))
    return issues, pd.Series(out, dtype=object)


def _capacity_issues(ownership: pd.DataFrame, assignments: pd.DataFrame, reps: pd.DataFrame,
                     moves: pd.DataFrame, decisions: pd.Series) -> list[str]:
    """Reps that the applied decisions leave over capacity (beyond where they stood before the run)."""
    problems: list[str] = []
    wl = assignments.set_index("customer_id")["workload"] if "workload" in assignments else None
    for rep in reps.itertuples(index=False):
        rid = str(rep.rep_id)
        now = ownership["current_owner"] == rid
        before = ownership["previous_owner"] == rid
        n_now, n_before = int(now.sum()), int(before.sum())
        cap = _num(rep.max_accounts)
        why = []
        if cap is not None and n_now > max(cap, n_before):
            why.append(f"{n_now} accounts for a capacity of {cap:g}")
        cap_wl = _num(rep.max_workload)
        if wl is not None and cap_wl is not None:
            load_now = float(wl.reindex(ownership.loc[now, "customer_id"]).sum())
            load_before = float(wl.reindex(ownership.loc[before, "customer_id"]).sum())
            if load_now > max(cap_wl, load_before) + 1e-9:
                why.append(f"workload {load_now:g} h for a capacity of {cap_wl:g} h")
        if why:
            ins = moves.loc[(moves["to_rep"] == rid) & moves["customer_id"].map(decisions.get).eq("approve"), "customer_id"]
            outs = moves.loc[(moves["from_rep"] == rid) & ~moves["customer_id"].map(decisions.get).eq("approve"),
                             "customer_id"]
            detail = f"approved in: {', '.join(ins[:5])}" if len(ins) else ""
            if len(outs):
                detail += ("; " if detail else "") + f"not approved out: {', '.join(outs[:5])}"
            problems.append(f"rep {rid} would hold {' and '.join(why)} ({detail}); "
                            "approve the moves out of this rep that make room, or reject moves into it")
    return problems


def _num(x) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def apply_decisions(run_dir: str | Path, decisions_file: str | Path,
                    now: dt.datetime | None = None, approve_undecided: bool = False) -> Applied:
    """Check the decisions against the run and build the new ownership (nothing is written here).

    With ``approve_undecided``, moves left undecided take effect too, except those flagged
    ``needs_approval`` (tiers in ``rules.approval_tiers``), which always need an explicit approve.

    Raises ``InputError`` naming the row and column of every mismatch, or the reps a combination
    of decisions would leave over capacity.
    """
    run_dir = Path(run_dir)
    assignments, moves, summary, reps = _read_run(run_dir)
    raw = read_table(decisions_file)
    decisions_frame = raw.frame.map(lambda v: _unescape(v) if isinstance(v, str) else v)
    issues, decisions = _decision_issues(decisions_frame, moves, raw.name)
    if issues:
        raise InputError(issues)
    if approve_undecided:
        needs = moves.set_index("customer_id").get("needs_approval", pd.Series(dtype=object))
        needs = needs.astype(str).str.lower().isin(["true", "1"])
        for cid in moves["customer_id"]:
            if decisions.get(cid, "") == "" and not bool(needs.get(cid, False)):
                decisions[cid] = "approve"

    run_id = str(summary.get("run_id", run_dir.name))
    prev = assignments["previous_rep_id"].fillna("").astype(str)
    proposed = assignments["rep_id"].fillna("").astype(str)
    decision = assignments["customer_id"].map(decisions).fillna("")
    moved = assignments["moved"].astype(bool)
    take = moved & (decision == "approve")
    ownership = pd.DataFrame({
        "customer_id": assignments["customer_id"],
        "current_owner": np.where(take, proposed, prev),
        "previous_owner": prev,
        "changed": take.to_numpy(),
        "decision": np.where(moved, decision.replace("", "undecided"), ""),
        "run_id": run_id,
    })
    problems = _capacity_issues(ownership, assignments, reps, moves, decisions)
    if problems:
        raise InputError([Issue(raw.name, None, None, p) for p in problems])

    stamp = (now or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds")
    decided = moves["customer_id"].map(decisions).fillna("")
    ledger_rows = pd.DataFrame({
        "customer_id": moves["customer_id"],
        "from_rep": moves["from_rep"],
        "to_rep": moves["to_rep"],
        "run_id": run_id,
        "decision": decided.replace("", "undecided"),
        "decided_at": stamp,
    })
    # approvals change ownership; rejections are kept too, for audits and later disputes
    ledger_rows = ledger_rows.loc[decided != ""].reset_index(drop=True)
    return Applied(ownership, ledger_rows, int((decided == "approve").sum()), int((decided == "reject").sum()),
                   int((decided == "").sum()), run_id)


def write_applied(applied: Applied, out: str | Path, ledger: str | Path) -> None:
    """Write the ownership table (CSV or Parquet by extension) and append to the ledger CSV.

    The ledger is append-only: a run already recorded there is refused, so applying the same
    decisions twice cannot double-count history.
    """
    out, ledger = Path(out), Path(ledger)
    if ledger.exists():
        old = pd.read_csv(ledger, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        if list(old.columns) != LEDGER_COLUMNS:
            raise InputError(Issue(ledger.name, None, None, f"not an ownership ledger (columns {list(old.columns)})"))
        if (old["run_id"] == applied.run_id).any():
            raise InputError(Issue(ledger.name, None, None,
                                   f"run {applied.run_id} is already in the ledger; decisions are applied once"))
    else:
        old = pd.DataFrame(columns=LEDGER_COLUMNS)

    def write_out(p: Path) -> None:
        if out.suffix.lower() in (".parquet", ".pq"):
            applied.ownership.to_parquet(p, index=False)
        else:
            applied.ownership.to_csv(p, index=False, encoding="utf-8-sig")

    write_file_atomic(out, write_out)
    both = pd.concat([old, applied.ledger_rows.astype(str)], ignore_index=True)
    write_file_atomic(ledger, lambda p: both.to_csv(p, index=False, encoding="utf-8-sig"))


@dataclass(frozen=True)
class Review:
    """A manager's review carried into a re-plan: approved moves pinned, rejected ones forbidden."""

    customers: pd.DataFrame  # the book with approved moves applied and locked
    forbidden: tuple[tuple[str, str], ...]  # (customer_id, rep_id) a rejected move proposed
    pinned: tuple[str, ...]  # customers whose approved move is now their ownership
    previous: dict[str, str]  # customer_id -> to_rep of every move the reviewed proposal listed


def review_constraints(customers: pd.DataFrame, decisions_file: str | Path) -> Review:
    """Read reviewed moves and turn them into constraints on a re-plan of ``customers``.

    Every decision row must name a customer of the book whose current owner is still the row's
    ``from_rep``; otherwise the decisions belong to another book (``InputError`` with the row).
    """
    raw = read_table(decisions_file)
    frame = raw.frame.map(lambda v: _unescape(v) if isinstance(v, str) else v)
    issues: list[Issue] = []
    for col in ("customer_id", "from_rep", "to_rep", "decision"):
        if col not in frame.columns:
            issues.append(Issue(raw.name, None, col, "required column is missing"))
    if issues:
        raise InputError(issues)
    owner = dict(zip(customers["customer_id"], customers["current_owner"].fillna("")))
    out = customers.copy()
    forbidden: list[tuple[str, str]] = []
    pinned: list[str] = []
    previous: dict[str, str] = {}
    for k, row in enumerate(frame.itertuples(index=False)):
        r = k + 2
        cid, frm, to = (str(getattr(row, c)).strip() for c in ("customer_id", "from_rep", "to_rep"))
        word = str(row.decision).strip().lower()
        previous[cid] = to
        if word not in APPROVE_WORDS | REJECT_WORDS | {"", "nan", "none"}:
            issues.append(Issue(raw.name, r, "decision", f'expected approve, reject or empty, got "{row.decision}"'))
            continue
        if cid not in owner:
            issues.append(Issue(raw.name, r, "customer_id", f'"{cid}" is not in the customers table'))
            continue
        if owner[cid] != frm:
            issues.append(Issue(raw.name, r, "from_rep", f'the customer\'s owner is now "{owner[cid]}", not "{frm}"; '
                                                      "these decisions belong to an older book"))
            continue
        if word in APPROVE_WORDS:
            pinned.append(cid)
            at = out["customer_id"] == cid
            out.loc[at, "current_owner"] = to
            out.loc[at, "locked"] = bool(to)  # an approved move to the pool just leaves the customer unowned
        elif word in REJECT_WORDS and to:
            forbidden.append((cid, to))
    if issues:
        raise InputError(issues)
    return Review(out, tuple(forbidden), tuple(pinned), previous)


def compare_with_review(moves: pd.DataFrame, review: Review) -> pd.Series:
    """Per move of a re-plan: 'same' as the reviewed proposal, 'changed' (another rep), or 'new'."""
    prev = moves["customer_id"].map(review.previous)
    return pd.Series(np.where(prev.isna(), "new", np.where(prev == moves["to_rep"], "same", "changed")),
                     index=moves.index)
