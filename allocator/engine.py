"""The optimisation engine: a generalized assignment problem over sparse arcs, with side terms.

The engine speaks arcs, not customers: an arc (customer i, rep r) has an integer ``cost`` and
uses ``load`` of the rep's workload capacity and one of its account capacity. On top come soft
balance bands per rep, a pool option per customer and a budget of voluntary moves. The nightly
job and the GAP benchmark both come through :func:`solve`.

How it solves (every step measured in ``benchmarks/``):

1. A Lagrangian relaxation of capacities, balance and budget, maximised by subgradient steps in
   numpy, gives a proven lower bound and prices per rep.
2. Starts: the hint (today's ownership) repaired to feasibility, a greedy placement by
   Lagrangian reduced cost, and (plain GAPs only) the Lagrangian plan repaired by capacity. The
   cheapest is then improved by :func:`shift_search`, exact single-customer moves applied many
   at once, and becomes the incumbent. When it is already within ``gap_limit`` of the bound the
   search stops there.
3. Reduced-cost fixing drops arcs that cannot be in any plan better than the incumbent. When
   only load capacities bind (GAP files), relaxing "each customer exactly once" instead leaves
   one 0-1 knapsack per rep, solved exactly by dynamic programming: a bound at least as strong
   as the LP's and on tight instances well above it (:func:`knapsack_bound`).
4. Small models go to one CP-SAT model with the incumbent as hint. Large ones are improved by
   large-neighbourhood search: groups of reps that share customers are re-optimised exactly by
   CP-SAT while the rest stays fixed, one group per worker side by side, and only strict
   improvements are kept. Without a caller's plan a core model of each customer's cheapest arcs
   comes first; from ``LNS_RACE_MIN_CUSTOMERS`` customers up, neighbourhood search and the core
   race for the rest of the time (:func:`_exact_phases`). Below that size, on capacity-only
   problems on the wall clock, a branch-and-bound over the knapsack bound takes the place of
   CP-SAT, its trees dealt out between the workers (:mod:`allocator.exact`,
   :mod:`allocator.knapbb`); its plan is kept if it is better and passes the checks.

An unchanged book is a fixed point: the hint is returned unless a strictly better plan is found.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from functools import partial

import numpy as np
import numpy.typing as npt
from ortools.sat.python import cp_model

from .exact import ExactSearch

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


# Neighbourhood sizes of the large-neighbourhood search (module-level so benchmarks can tune them).
LNS_REPS = 4
LNS_MIN_CUSTOMERS = 200
LNS_MAX_CUSTOMERS = 1500
LNS_SUB_SECONDS = 0.5
LNS_SUB_WORKERS = 1
LNS_EXTRA_IN_FLIGHT = 1  # on the wall clock, neighbourhoods in flight beyond the workers
# neighbourhood search has stalled once a pass over the reps, or this many neighbourhoods in a row,
# gained nothing: with no gain in 50 tries the chance of one is likely under 6 % a try (rule of three),
# and on a 1,000-rep book a pass is about 1,000 neighbourhoods, more than the whole work budget
LNS_STALL_NEIGHBOURHOODS = 50
LNS_GROUP_NOISE = 0.5  # a neighbourhood's reps are picked by shared customers times a random 1 +- this
BUILD_SECONDS_PER_ARC = 2e-5
MIN_SOLVE_SECONDS = 0.1  # on the wall clock, a model phase needs its build time plus this, or is skipped
LNS_BUILD_SECONDS_PER_ROUND = 0.02
# Neighbourhoods grow after a sub-model solved to optimality and shrink after one that ran out of
# time, which settles where about three in four are solved (1.05 up, 0.85 down): big enough to
# escape local optima, small enough to finish (e60900: 200 customers proved 2 of 177 at full
# width, 125 of 154 over 5 arcs a customer; fixed sizes that suit one file stall another).
LNS_GROW = 1.05
LNS_SHRINK = 0.85
LNS_FLOOR_CUSTOMERS = 30
LNS_CORE_ARCS = 5  # without a caller's plan, neighbourhoods use each customer's cheapest arcs by reduced cost
LNS_RACE_MIN_CUSTOMERS = 400  # below, a neighbourhood is most of the book: the core model alone
# ... and there, on a plain GAP, the knapsack branch-and-bound beside it on one of the workers
EXACT_MIN_WORKERS = 2
EXACT_MIN_SECONDS = 10.0  # at 10 s it proves gapd-1, -2, -3 and the small type E files (BENCHMARKS.md)
EXACT_MAX_CELLS = 8_000  # customers x reps: its search stack holds a copy of that matrix per open node
LNS_PROBE_SHARE = 1 / 8  # of the time, for neighbourhood search's turn in the race
FALLBACK_MIN_SECONDS = 1.0  # a stalled race winner's leftover time worth a core model
LNS_RACE_FACTOR = 2.0  # the core must be ahead after this many times neighbourhood search's turn
RACE_CHECK_SECONDS = 0.5  # from then on, how often the core's turn is checked against it
SHIFT_MAX_ROUNDS = 200
CORE_ARCS = 3  # the core model keeps each customer's cheapest arcs by Lagrangian reduced cost
CORE_ARCS_ALONE = 5  # ... or this many when no whole model follows it (measured in BENCHMARKS.md)
CORE_MAX_SHARE = 0.6  # ... and runs only when that leaves out a real part of the model
FEW_CANDIDATES = 3  # greedy places customers with at most this many arcs first


@dataclass(frozen=True, slots=True)
class BalanceTerm:
    """A soft band on an amount per rep: ``weight * (excess over upper + shortfall under lower)``.

    ``arc_amount`` is what an arc adds to its rep's amount (e.g. the customer's value in integer
    units); ``fixed_amount`` is what the rep already carries from customers outside the model
    (locked ones). ``weight`` is per rep and per unit of amount, in cost units.
    """

    name: str
    arc_amount: I64
    fixed_amount: I64
    lower: I64
    upper: I64
    weight: I64


@dataclass(frozen=True, slots=True)
class ArcProblem:
    """A generalized assignment problem on sparse arcs.

    Parameters
    ----------
    n_customers, n_reps
        Sizes; customers and reps are integer positions ``0..n-1``.
    arc_customer, arc_rep, arc_cost, arc_load
        One entry per candidate arc. Costs may be negative (a relationship bonus).
    load_capacity, count_capacity
        Per rep; ``-1`` means no limit. ``count_capacity=None`` means no account limit.
    pool_cost
        Per customer, the cost of leaving it unassigned; ``-1`` (or ``None`` for all) means
        the customer must be assigned.
    hint_arc
        Per customer, the arc of today's ownership (``-1`` = pool / none).
    owner
        Per customer, the rep whose customer it is *voluntarily* (a valid current owner), or -1.
        Choosing any other arc, or the pool, is a voluntary move.
    move_budget, max_moves_per_rep
        Limits on voluntary moves, total and into / out of each rep; ``-1`` = no limit.
    balance
        Soft balance terms.
    """

    n_customers: int
    n_reps: int
    arc_customer: I64
    arc_rep: I64
    arc_cost: I64
    arc_load: I64
    load_capacity: I64
    count_capacity: I64 | None = None
    pool_cost: I64 | None = None
    hint_arc: I64 | None = None
    owner: I64 | None = None
    move_budget: int = -1
    max_moves_per_rep: int = -1
    balance: tuple[BalanceTerm, ...] = ()

    def __post_init__(self) -> None:
        n_arcs = len(self.arc_customer)
        for name in ("arc_rep", "arc_cost", "arc_load"):
            if len(getattr(self, name)) != n_arcs:
                raise ValueError(f"{name} has {len(getattr(self, name))} entries, expected {n_arcs}")
        if n_arcs:
            if self.arc_customer.min() < 0 or self.arc_customer.max() >= self.n_customers:
                raise ValueError("arc_customer out of range")
            if self.arc_rep.min() < 0 or self.arc_rep.max() >= self.n_reps:
                raise ValueError("arc_rep out of range")
            if self.arc_load.min() < 0:
                raise ValueError("arc_load must be >= 0")
        if len(self.load_capacity) != self.n_reps:
            raise ValueError("load_capacity must have one entry per rep")
        for term in self.balance:
            if len(term.arc_amount) != n_arcs or len(term.weight) != self.n_reps:
                raise ValueError(f"balance term {term.name} has the wrong shape")


@dataclass(frozen=True, slots=True)
class SolveOptions:
    """Search settings (the caller's policy decides them; the engine hides no constants)."""

    time_limit_seconds: float = 10.0
    workers: int = 2
    seed: int = 0
    deterministic: bool = True
    deterministic_time: float = 20.0
    exact_arc_limit: int = 60_000
    log: bool = False
    lagrangian_iterations: int = 1000
    gap_limit: float = 0.0  # stop once the plan is proven within this fraction of the bound


@dataclass(frozen=True, slots=True)
class EngineResult:
    """The best plan found, with its proven bound.

    ``chosen_arc[i]`` is the arc index of customer i, or -1 for the pool.
    ``gap`` is ``(objective - best_bound) / max(1, |objective|)``.
    """

    status: str
    objective: int | None
    best_bound: float
    chosen_arc: I64
    solve_seconds: float
    method: str
    stages: dict[str, float] = field(default_factory=dict)
    trace: tuple[tuple[float, int, float], ...] = ()

    @property
    def gap(self) -> float | None:
        if self.objective is None:
            return None
        return max(0.0, (self.objective - self.best_bound) / max(1.0, abs(self.objective)))


# ---------------------------------------------------------------------------------------------
# Indexing helpers


@dataclass(frozen=True, slots=True)
class _Index:
    """Arcs grouped by customer (CSR) and the pieces every stage needs."""

    order: I64  # arc indices sorted by customer (stable)
    start: I64  # start[i]..start[i+1] in ``order`` are customer i's arcs
    count_cap: I64  # -1 = no limit
    load_cap: I64
    pool_cost: I64  # -1 = pool not allowed
    owner: I64
    arc_is_move: npt.NDArray[np.bool_]
    pool_is_move: npt.NDArray[np.bool_]


def _index(p: ArcProblem) -> _Index:
    order = np.argsort(p.arc_customer, kind="stable").astype(np.int64)
    counts = np.bincount(p.arc_customer, minlength=p.n_customers)
    start = np.zeros(p.n_customers + 1, dtype=np.int64)
    np.cumsum(counts, out=start[1:])
    count_cap = (
        np.full(p.n_reps, -1, dtype=np.int64) if p.count_capacity is None else p.count_capacity.astype(np.int64)
    )
    pool_cost = np.full(p.n_customers, -1, dtype=np.int64) if p.pool_cost is None else p.pool_cost.astype(np.int64)
    owner = np.full(p.n_customers, -1, dtype=np.int64) if p.owner is None else p.owner.astype(np.int64)
    arc_owner = owner[p.arc_customer]
    arc_is_move = (arc_owner >= 0) & (p.arc_rep != arc_owner)
    pool_is_move = owner >= 0
    return _Index(order, start, count_cap, p.load_capacity.astype(np.int64), pool_cost, owner, arc_is_move, pool_is_move)


# ---------------------------------------------------------------------------------------------
# Evaluating and checking a plan (independent of CP-SAT; explain and tests use these too)


def balance_amounts(p: ArcProblem, chosen_arc: I64) -> list[I64]:
    """Per balance term, the amount each rep carries in the plan (fixed part included)."""
    used = chosen_arc[chosen_arc >= 0]
    out = []
    for term in p.balance:
        amt = term.fixed_amount.astype(np.int64).copy()
        np.add.at(amt, p.arc_rep[used], term.arc_amount[used])
        out.append(amt)
    return out


def evaluate(p: ArcProblem, chosen_arc: I64) -> dict[str, int]:
    """Objective of a plan, part by part: ``arcs``, ``pool``, one entry per balance term, ``total``."""
    used = chosen_arc[chosen_arc >= 0]
    parts: dict[str, int] = {"arcs": int(p.arc_cost[used].sum())}
    pool = chosen_arc < 0
    if pool.any():
        pc = np.full(p.n_customers, -1, dtype=np.int64) if p.pool_cost is None else p.pool_cost
        parts["pool"] = int(np.where(pc[pool] >= 0, pc[pool], 0).sum())
    else:
        parts["pool"] = 0
    for term, amt in zip(p.balance, balance_amounts(p, chosen_arc)):
        dev = np.maximum(0, amt - term.upper) + np.maximum(0, term.lower - amt)
        parts[term.name] = int((dev * term.weight).sum())
    parts["total"] = sum(parts.values())
    return parts


def check_plan(p: ArcProblem, chosen_arc: I64) -> list[str]:
    """Every hard rule the plan breaks, in words (empty list = feasible)."""
    problems: list[str] = []
    if len(chosen_arc) != p.n_customers:
        return [f"plan has {len(chosen_arc)} entries for {p.n_customers} customers"]
    ix = _index(p)
    assigned = chosen_arc >= 0
    if assigned.any() and (chosen_arc.max() >= len(p.arc_customer)):
        return ["plan names an arc that does not exist"]
    bad = np.zeros(p.n_customers, dtype=bool)
    bad[assigned] = p.arc_customer[chosen_arc[assigned]] != np.flatnonzero(assigned)
    if bad.any():
        problems.append(f"{int(bad.sum())} customers use an arc of another customer")
    unassigned_forbidden = (~assigned) & (ix.pool_cost < 0)
    if unassigned_forbidden.any():
        problems.append(f"{int(unassigned_forbidden.sum())} customers left in the pool where the pool is not allowed")
    arcs = chosen_arc[assigned]
    reps = p.arc_rep[arcs]
    load = np.bincount(reps, weights=p.arc_load[arcs], minlength=p.n_reps)
    over = (ix.load_cap >= 0) & (load > ix.load_cap)
    if over.any():
        problems.append(f"{int(over.sum())} reps over workload capacity")
    count = np.bincount(reps, minlength=p.n_reps)
    over = (ix.count_cap >= 0) & (count > ix.count_cap)
    if over.any():
        problems.append(f"{int(over.sum())} reps over account capacity")
    return problems + _move_violations(p, ix, chosen_arc)


def _move_violations(p: ArcProblem, ix: _Index, chosen_arc: I64) -> list[str]:
    """The move budget and per-rep move limits the plan breaks, in words."""
    if p.move_budget < 0 and p.max_moves_per_rep < 0:
        return []
    problems: list[str] = []
    moves_in, moves_out, total = _move_counts(p, ix, chosen_arc)
    if p.move_budget >= 0 and total > p.move_budget:
        problems.append(f"{total} voluntary moves exceed the budget of {p.move_budget}")
    if p.max_moves_per_rep >= 0:
        over = (moves_in > p.max_moves_per_rep) | (moves_out > p.max_moves_per_rep)
        if over.any():
            problems.append(f"{int(over.sum())} reps exceed {p.max_moves_per_rep} moves in or out")
    return problems


def _move_counts(p: ArcProblem, ix: _Index, chosen_arc: I64) -> tuple[I64, I64, int]:
    assigned = chosen_arc >= 0
    arcs = chosen_arc[assigned]
    moved_arcs = arcs[ix.arc_is_move[arcs]]
    moves_in = np.bincount(p.arc_rep[moved_arcs], minlength=p.n_reps).astype(np.int64)
    moved = np.zeros(p.n_customers, dtype=bool)
    moved[assigned] = ix.arc_is_move[arcs]
    moved |= (~assigned) & ix.pool_is_move
    moves_out = np.bincount(ix.owner[moved], minlength=p.n_reps).astype(np.int64) if moved.any() else np.zeros(
        p.n_reps, dtype=np.int64
    )
    return moves_in, moves_out, int(moved.sum())


# ---------------------------------------------------------------------------------------------
# 1. Lagrangian bound


@dataclass(slots=True)
class _Duals:
    lam_load: F64
    lam_count: F64
    pi: list[F64]
    mu: float
    bound: float


def _reduced_costs(p: ArcProblem, ix: _Index, d: _Duals) -> F64:
    rc = p.arc_cost.astype(np.float64)
    rc += d.lam_load[p.arc_rep] * p.arc_load + d.lam_count[p.arc_rep]
    for term, pi in zip(p.balance, d.pi):
        rc += pi[p.arc_rep] * term.arc_amount
    if d.mu:
        rc += d.mu * ix.arc_is_move
    return rc


def _customer_min(p: ArcProblem, ix: _Index, rc: F64, d: _Duals) -> tuple[F64, I64]:
    """Per customer the cheapest option's reduced cost and arc (-1 = pool; ties go to the pool)."""
    best = np.where(ix.pool_cost >= 0, ix.pool_cost + d.mu * ix.pool_is_move, np.inf).astype(np.float64)
    best_arc = np.full(p.n_customers, -1, dtype=np.int64)
    if len(rc):
        rc_sorted = rc[ix.order]
        counts = np.diff(ix.start)
        has = counts > 0
        cust = np.flatnonzero(has)
        mins = np.minimum.reduceat(rc_sorted, ix.start[:-1][has])
        pos = np.flatnonzero(rc_sorted <= np.repeat(mins, counts[has]))
        first_cust, first_idx = np.unique(np.repeat(cust, counts[has])[pos], return_index=True)
        arc_min = np.full(p.n_customers, -1, dtype=np.int64)
        arc_min[first_cust] = ix.order[pos[first_idx]]
        better = mins < best[cust]
        best[cust[better]] = mins[better]
        best_arc[cust[better]] = arc_min[cust[better]]
    return best, best_arc


def _rep_terms(p: ArcProblem, d: _Duals) -> tuple[float, list[F64]]:
    """Sum over reps and terms of min_M [penalty(M) - pi (M - fixed)] and the minimising M - fixed."""
    total = 0.0
    targets: list[F64] = []
    for term, pi in zip(p.balance, d.pi):
        fixed = term.fixed_amount.astype(np.float64)
        max_add = np.bincount(p.arc_rep, weights=term.arc_amount, minlength=p.n_reps).astype(np.float64)
        hi = fixed + max_add
        cands = np.stack([fixed, np.clip(term.lower, fixed, hi), np.clip(term.upper, fixed, hi), hi])
        pen = np.maximum(0, cands - term.upper) + np.maximum(0, term.lower - cands)
        val = pen * term.weight - pi * (cands - fixed)
        k = np.argmin(val, axis=0)
        total += float(val[k, np.arange(p.n_reps)].sum())
        targets.append(cands[k, np.arange(p.n_reps)] - fixed)
    return total, targets


def _lagrangian(p: ArcProblem, ix: _Index, d: _Duals) -> tuple[float, I64, list[F64]]:
    rc = _reduced_costs(p, ix, d)
    best, best_arc = _customer_min(p, ix, rc, d)
    if np.isinf(best).any():
        return -math.inf, best_arc, []
    rep_total, targets = _rep_terms(p, d)
    value = float(best.sum()) + rep_total
    value -= float((d.lam_load * np.maximum(ix.load_cap, 0)).sum())
    value -= float((d.lam_count * np.maximum(ix.count_cap, 0)).sum())
    if p.move_budget >= 0:
        value -= d.mu * p.move_budget
    return value, best_arc, targets


class _StepScale:
    """Polyak step scale of a subgradient ascent: halved after ``patience`` steps without a better
    bound; the ascent is done once it falls below ``floor``."""

    def __init__(self, patience: int, floor: float) -> None:
        self.theta, self.stall, self.patience, self.floor = 1.0, 0, patience, floor

    def record(self, improved: bool) -> bool:
        """Note whether the bound improved; False once the scale has run out."""
        if improved:
            self.stall = 0
            return True
        self.stall += 1
        if self.stall >= self.patience:
            self.theta, self.stall = self.theta / 2, 0
        return self.theta >= self.floor

    def step(self, target: float, value: float, norm: float) -> float:
        return self.theta * max(target - value, 1e-6 * max(1.0, abs(value))) / norm


def lagrangian_bound(p: ArcProblem, upper: float, iterations: int = 300, deadline: float = math.inf) -> _Duals:
    """Maximise the Lagrangian dual by subgradient steps (Polyak step towards ``upper``).

    Any multipliers give a valid lower bound; the best one seen is kept.
    """
    ix = _index(p)
    zero = np.zeros(p.n_reps)
    d = _Duals(zero.copy(), zero.copy(), [zero.copy() for _ in p.balance], 0.0, -math.inf)
    best = _Duals(d.lam_load.copy(), d.lam_count.copy(), [x.copy() for x in d.pi], 0.0, -math.inf)
    load_limited = ix.load_cap >= 0
    count_limited = ix.count_cap >= 0
    scale = _StepScale(patience=15, floor=1e-4)
    for _ in range(iterations):
        if time.perf_counter() > deadline:
            break
        value, arc, targets = _lagrangian(p, ix, d)
        if value == -math.inf:
            break
        improved = value > best.bound + 1e-9 * max(1.0, abs(value))
        if improved:
            best = _Duals(d.lam_load.copy(), d.lam_count.copy(), [x.copy() for x in d.pi], d.mu, value)
        if not scale.record(improved):
            break
        used = arc[arc >= 0]
        g_load = np.bincount(p.arc_rep[used], weights=p.arc_load[used], minlength=p.n_reps) - ix.load_cap
        g_load = np.where(load_limited, g_load, 0.0)
        g_load = np.where((d.lam_load <= 0) & (g_load < 0), 0.0, g_load)
        g_count = np.bincount(p.arc_rep[used], minlength=p.n_reps) - ix.count_cap.astype(np.float64)
        g_count = np.where(count_limited, g_count, 0.0)
        g_count = np.where((d.lam_count <= 0) & (g_count < 0), 0.0, g_count)
        g_pi = []
        for term, tgt in zip(p.balance, targets):
            s = np.bincount(p.arc_rep[used], weights=term.arc_amount[used], minlength=p.n_reps)
            g_pi.append(s - tgt)
        g_mu = 0.0
        if p.move_budget >= 0:
            _, _, moves = _move_counts(p, ix, arc)
            g_mu = moves - p.move_budget
            if d.mu <= 0 and g_mu < 0:
                g_mu = 0.0
        norm = float((g_load**2).sum() + (g_count**2).sum() + sum((g**2).sum() for g in g_pi) + g_mu**2)
        if norm <= 1e-12:
            break  # the relaxed solution is feasible and complementary: optimal duals
        target = upper if math.isfinite(upper) else value + abs(value) * 0.05 + 1.0
        step = scale.step(target, value, norm)
        d.lam_load = np.maximum(0.0, d.lam_load + step * g_load)
        d.lam_count = np.maximum(0.0, d.lam_count + step * g_count)
        d.pi = [np.clip(pi + step * g, -t.weight, t.weight) for pi, g, t in zip(d.pi, g_pi, p.balance)]
        d.mu = max(0.0, d.mu + step * g_mu)
    return best


KNAPSACK_MAX_CAPACITY = 20_000  # the knapsack bound's dynamic programme is O(items x capacity) per rep
KNAPSACK_ITERATIONS = 300
KNAPSACK_TIME_SHARE = 0.1  # of the time limit, in wall-clock mode
KNAPSACK_TABLE_CELLS = 20_000_000  # the traceback table of one batch of reps
KNAPSACK_CELLS_PER_SECOND = 1e8  # dynamic-programme cells a second, measured on the bench files (1-1.6e8)


def _knapsacks(profit: F64, weight: I64, capacity: I64) -> tuple[F64, npt.NDArray[np.bool_]]:
    """Row by row a 0-1 knapsack, by dynamic programming over capacity: best profits and items taken.

    ``profit`` and ``weight`` are (rows, items), padded with zero-profit items; all rows advance
    together one item at a time, so the cost is one numpy step per item column, not per item.
    """
    rows, items = profit.shape
    best = np.zeros((rows, int(capacity.max(initial=0)) + 1))
    cols = np.arange(best.shape[1])
    took = np.zeros((items, rows, best.shape[1]), dtype=bool)
    for k in range(items):
        src = cols[None, :] - weight[:, k, None]
        cand = np.take_along_axis(best, np.maximum(src, 0), axis=1) + profit[:, k, None]
        better = (src >= 0) & (cand > best)
        took[k] = better
        best = np.where(better, cand, best)
    taken = np.zeros((rows, items), dtype=bool)
    c = capacity.astype(np.int64).copy()
    at = np.arange(rows)
    for k in range(items - 1, -1, -1):
        taken[:, k] = took[k, at, c]
        c -= np.where(taken[:, k], weight[:, k], 0)
    return best[at, capacity], taken


def knapsack_bound_applies(p: ArcProblem, ix: _Index) -> bool:
    """The knapsack bound needs load capacities alone: no account limits, bands or move limits."""
    return (_plain_gap(p) and bool((ix.count_cap < 0).all()) and len(p.arc_cost) > 0
            and int(ix.load_cap.max(initial=0)) <= KNAPSACK_MAX_CAPACITY and bool((p.arc_load >= 0).all()))


def _rep_knapsacks(p: ArcProblem, ix: _Index, profit: F64, by_rep: I64) -> tuple[F64, npt.NDArray[np.bool_], int]:
    """Per rep the best total ``profit`` of arcs within its load capacity, the arcs taken and the cells used."""
    taken = np.zeros(len(profit), dtype=bool)
    best = np.zeros(p.n_reps)
    pos = by_rep[profit[by_rep] > 0]  # worth taking, grouped by rep
    free = ix.load_cap[p.arc_rep[pos]] < 0
    best += np.bincount(p.arc_rep[pos[free]], weights=profit[pos[free]], minlength=p.n_reps)  # no limit: all
    taken[pos[free]] = True
    pos = pos[~free]
    pos = pos[p.arc_load[pos] <= ix.load_cap[p.arc_rep[pos]]]
    if len(pos) == 0:
        return best, taken, 0
    reps, slot_start, per_rep = np.unique(p.arc_rep[pos], return_index=True, return_counts=True)
    slot = np.arange(len(pos)) - np.repeat(slot_start, per_rep)
    row = np.repeat(np.arange(len(reps)), per_rep)
    # a few reps at a time, so the traceback table stays small on big books
    chunk = max(1, KNAPSACK_TABLE_CELLS // (int(per_rep.max()) * (int(ix.load_cap[reps].max()) + 1)))
    cells = 0
    for lo in range(0, len(reps), chunk):
        sel = (row >= lo) & (row < lo + chunk)
        prof = np.zeros((min(chunk, len(reps) - lo), int(per_rep[lo:lo + chunk].max())))
        wt = np.zeros(prof.shape, dtype=np.int64)
        prof[row[sel] - lo, slot[sel]] = profit[pos[sel]]
        wt[row[sel] - lo, slot[sel]] = p.arc_load[pos[sel]]
        k_value, k_taken = _knapsacks(prof, wt, ix.load_cap[reps[lo:lo + chunk]])
        cells += prof.size * (int(ix.load_cap[reps[lo:lo + chunk]].max()) + 1)
        best[reps[lo:lo + chunk]] = k_value
        taken[pos[sel][k_taken[row[sel] - lo, slot[sel]]]] = True
    return best, taken, cells


def knapsack_bound(p: ArcProblem, ix: _Index, duals: _Duals, upper: float, iterations: int = KNAPSACK_ITERATIONS,
                   deadline: float = math.inf, cell_limit: float = math.inf) -> float:
    """A lower bound from relaxing "each customer exactly once" instead of the capacities.

    What is left is one 0-1 knapsack per rep, solved exactly, so the bound is at least the
    LP bound that :func:`lagrangian_bound` reaches and on tight instances well above it (gapd-5:
    6,176 against 6,142.5). Prices per customer start from the LP duals and follow subgradient
    steps towards ``upper``; any prices give a valid bound and the best is returned. It stops at
    ``deadline`` or once its dynamic programmes have filled ``cell_limit`` cells (a
    machine-independent budget for deterministic runs). Only for :func:`knapsack_bound_applies` problems.
    """
    rc = _reduced_costs(p, ix, duals)
    u, _ = _customer_min(p, ix, rc, duals)  # LP duals of the assignment rows
    cost = p.arc_cost.astype(np.float64)
    has_pool = ix.pool_cost >= 0
    pool = ix.pool_cost.astype(np.float64)
    by_rep = np.argsort(p.arc_rep, kind="stable")
    best, cells, scale = -math.inf, 0, _StepScale(patience=5, floor=1e-3)
    for _ in range(iterations):
        if time.perf_counter() > deadline or cells > cell_limit:
            break
        rep_best, taken, used = _rep_knapsacks(p, ix, u[p.arc_customer] - cost, by_rep)
        cells += used
        value = float(u.sum()) + float(np.minimum(0.0, pool - u)[has_pool].sum()) - float(rep_best.sum())
        improved = value > best + 1e-9 * max(1.0, abs(value))
        if improved:
            best = value
        if not scale.record(improved):
            break
        g = 1.0 - np.bincount(p.arc_customer[taken], minlength=p.n_customers) - (has_pool & (pool < u))
        norm = float((g * g).sum())
        if norm == 0 or not math.isfinite(upper):
            break  # every customer exactly once: the knapsack plan is optimal for these prices
        u = u + scale.step(upper, value, norm) * g
    return best


# ---------------------------------------------------------------------------------------------
# 2. Starting plans


class _State:
    """Capacity and move bookkeeping for greedy placement."""

    def __init__(self, p: ArcProblem, ix: _Index) -> None:
        self.p, self.ix = p, ix
        self.load = np.zeros(p.n_reps, dtype=np.int64)
        self.count = np.zeros(p.n_reps, dtype=np.int64)
        self.moves_in = np.zeros(p.n_reps, dtype=np.int64)
        self.moves_out = np.zeros(p.n_reps, dtype=np.int64)
        self.moves = 0

    def fits(self, a: int) -> bool:
        p, ix = self.p, self.ix
        r = p.arc_rep[a]
        if ix.load_cap[r] >= 0 and self.load[r] + p.arc_load[a] > ix.load_cap[r]:
            return False
        if ix.count_cap[r] >= 0 and self.count[r] + 1 > ix.count_cap[r]:
            return False
        if ix.arc_is_move[a]:
            if p.move_budget >= 0 and self.moves + 1 > p.move_budget:
                return False
            if p.max_moves_per_rep >= 0:
                o = ix.owner[p.arc_customer[a]]
                if self.moves_in[r] + 1 > p.max_moves_per_rep or self.moves_out[o] + 1 > p.max_moves_per_rep:
                    return False
        return True

    def pool_fits(self, i: int) -> bool:
        ix, p = self.ix, self.p
        if ix.pool_cost[i] < 0:
            return False
        if ix.pool_is_move[i]:
            if p.move_budget >= 0 and self.moves + 1 > p.move_budget:
                return False
            if p.max_moves_per_rep >= 0 and self.moves_out[ix.owner[i]] + 1 > p.max_moves_per_rep:
                return False
        return True

    def take(self, i: int, a: int) -> None:
        p, ix = self.p, self.ix
        if a >= 0:
            r = p.arc_rep[a]
            self.load[r] += p.arc_load[a]
            self.count[r] += 1
            if ix.arc_is_move[a]:
                self.moves += 1
                self.moves_in[r] += 1
                self.moves_out[ix.owner[i]] += 1
        elif ix.pool_is_move[i]:
            self.moves += 1
            self.moves_out[ix.owner[i]] += 1


def _greedy(p: ArcProblem, ix: _Index, rc: F64, keep: I64 | None) -> I64 | None:
    """Place customers by regret on reduced costs; ``keep`` arcs (the hint) are placed first.

    Returns None when some customer can go nowhere.
    """
    chosen = np.full(p.n_customers, -1, dtype=np.int64)
    st = _State(p, ix)
    todo = np.ones(p.n_customers, dtype=bool)
    if keep is not None:
        # keep today's arcs in order of how much they would cost to break
        for i in np.flatnonzero(keep >= 0):
            a = int(keep[i])
            if st.fits(a):
                st.take(i, a)
                chosen[i] = a
                todo[i] = False
    # regret = second best minus best reduced cost: place the customers with most to lose first
    per_cust: list[np.ndarray] = []
    regret = np.zeros(p.n_customers)
    order_rc = rc[ix.order]
    for i in range(p.n_customers):
        s, e = ix.start[i], ix.start[i + 1]
        arcs = ix.order[s:e]
        vals = order_rc[s:e]
        srt = np.argsort(vals, kind="stable")
        per_cust.append(arcs[srt])
        if len(srt) >= 2:
            regret[i] = vals[srt[1]] - vals[srt[0]]
        elif len(srt) == 1:
            regret[i] = 1e18 if ix.pool_cost[i] < 0 else ix.pool_cost[i] - vals[srt[0]]
    # most constrained first: customers with few candidates, then those with most to lose
    n_arcs = np.diff(ix.start)
    for i in np.lexsort((-regret, n_arcs > FEW_CANDIDATES)):
        if not todo[i]:
            continue
        placed = False
        pool_rc = ix.pool_cost[i] if ix.pool_cost[i] >= 0 else math.inf
        for a in per_cust[i]:
            if rc[a] > pool_rc and st.pool_fits(i):
                break
            if st.fits(int(a)):
                st.take(i, int(a))
                chosen[i] = a
                placed = True
                break
        if not placed:
            if not st.pool_fits(i):
                # a voluntary customer who cannot move: keep its owner if that arc exists
                return None
            st.take(i, -1)
    return chosen


def _plain_gap(p: ArcProblem) -> bool:
    """True when only capacities bind: no balance bands and no move limits (the textbook GAP)."""
    return not p.balance and p.move_budget < 0 and p.max_moves_per_rep < 0


def _arcs_of(ix: _Index, customers: I64) -> I64:
    """All arcs of the given customers, customer by customer."""
    s, e = ix.start[customers], ix.start[customers + 1]
    n = e - s
    if not n.sum():
        return np.zeros(0, dtype=np.int64)
    pos = np.repeat(s - np.concatenate(([0], np.cumsum(n)[:-1])), n) + np.arange(n.sum())
    return ix.order[pos]


def _rep_usage(p: ArcProblem, chosen: I64) -> tuple[I64, I64]:
    """Load and number of customers per rep under a plan (pool customers use no capacity)."""
    used = chosen[chosen >= 0]
    load = np.bincount(p.arc_rep[used], weights=p.arc_load[used], minlength=p.n_reps).astype(np.int64)
    count = np.bincount(p.arc_rep[used], minlength=p.n_reps).astype(np.int64)
    return load, count


def _caps_or_unbounded(ix: _Index) -> tuple[I64, I64]:
    """Load and count capacities with "no limit" (-1) as a huge number, so checks need no special case."""
    unbounded = np.iinfo(np.int64).max // 4
    return (np.where(ix.load_cap >= 0, ix.load_cap, unbounded),
            np.where(ix.count_cap >= 0, ix.count_cap, unbounded))


def _repair(p: ArcProblem, ix: _Index, rc: F64, first: I64, max_steps: int, deadline: float) -> I64 | None:
    """Make a capacity-infeasible plan feasible by moving customers off over-full reps.

    Each step takes the most over-full rep and moves the customer whose move costs least
    (in reduced cost) per unit of load freed, into a rep with room; when no rep has room, the
    move that leaves the least overflow. Returns None when ``max_steps`` moves (or the time up to
    ``deadline``) do not suffice.
    Only for plans without balance and move terms (`_plain_gap`).
    """
    chosen = first.copy()
    cap_load, cap_cnt = _caps_or_unbounded(ix)
    load, count = _rep_usage(p, chosen)
    cur_rep = np.where(chosen >= 0, p.arc_rep[np.maximum(chosen, 0)], -1)
    pool_ok = ix.pool_cost >= 0
    last_moved = np.full(p.n_customers, -1, dtype=np.int64)
    for step in range(max_steps):
        if step % 64 == 63 and time.perf_counter() > deadline:
            return None
        excess = np.maximum((load - cap_load) / np.maximum(cap_load, 1), (count - cap_cnt) / np.maximum(cap_cnt, 1))
        r = int(np.argmax(excess))
        if excess[r] <= 0:
            return chosen
        custs = np.flatnonzero(cur_rep == r)
        arcs = _arcs_of(ix, custs)
        arcs = arcs[p.arc_rep[arcs] != r]
        ci = p.arc_customer[arcs]
        tr = p.arc_rep[arcs]
        cur_arc = chosen[ci]
        delta = rc[arcs] - rc[cur_arc]
        freed = np.maximum(p.arc_load[cur_arc], 1).astype(np.float64)
        new_load = load[tr] + p.arc_load[arcs]
        fits = (new_load <= cap_load[tr]) & (count[tr] + 1 <= cap_cnt[tr])
        # pool options for customers that may wait there
        pc = custs[pool_ok[custs]]
        if fits.any() or len(pc):
            score = np.where(fits, delta / freed, np.inf)
            k = int(np.argmin(score)) if len(score) else -1
            best = score[k] if k >= 0 else np.inf
            if len(pc):
                pscore = (ix.pool_cost[pc] - rc[chosen[pc]]) / np.maximum(p.arc_load[chosen[pc]], 1)
                j = int(np.argmin(pscore))
                if pscore[j] < best:
                    i = int(pc[j])
                    a = int(chosen[i])
                    load[r] -= p.arc_load[a]
                    count[r] -= 1
                    chosen[i], cur_rep[i] = -1, -1
                    continue
            if k < 0 or not np.isfinite(best):
                return None
        else:
            if not len(arcs):
                return None
            # ejection: no rep has room; move where the overflow left is least, avoiding ping-pong
            over = np.maximum(new_load - cap_load[tr], 0) / np.maximum(cap_load[tr], 1)
            over = over + (last_moved[ci] >= step - 2) * 1e9
            k = int(np.lexsort((delta, over))[0])
        a = int(arcs[k])
        i = int(ci[k])
        old = int(chosen[i])
        load[r] -= p.arc_load[old]
        count[r] -= 1
        t = int(tr[k])
        load[t] += p.arc_load[a]
        count[t] += 1
        chosen[i], cur_rep[i], last_moved[i] = a, t, step
    return None


def _shift_down(p: ArcProblem, ix: _Index, chosen: I64, passes: int, deadline: float) -> I64:
    """Local search: move single customers to cheaper arcs that fit, until no such move is left."""
    chosen = chosen.copy()
    cap_load, cap_cnt = _caps_or_unbounded(ix)
    load, count = _rep_usage(p, chosen)
    for _ in range(passes):
        improved = False
        for i in range(p.n_customers):
            if i % 256 == 255 and time.perf_counter() > deadline:
                return chosen
            a0 = int(chosen[i])
            if a0 < 0:
                continue  # pool customers: left to CP-SAT
            arcs = ix.order[ix.start[i]:ix.start[i + 1]]
            tr = p.arc_rep[arcs]
            gain = p.arc_cost[a0] - p.arc_cost[arcs]
            ok = (gain > 0) & (load[tr] + p.arc_load[arcs] <= cap_load[tr]) & (count[tr] + 1 <= cap_cnt[tr])
            if not ok.any():
                continue
            k = int(np.argmax(np.where(ok, gain, -1)))
            a = int(arcs[k])
            r0, r1 = int(p.arc_rep[a0]), int(tr[k])
            load[r0] -= p.arc_load[a0]
            count[r0] -= 1
            load[r1] += p.arc_load[a]
            count[r1] += 1
            chosen[i] = a
            improved = True
        if not improved:
            break
    return chosen


# ---------------------------------------------------------------------------------------------
# 3./4. CP-SAT on a (sub)set of customers


@dataclass(slots=True)
class _Sub:
    customers: I64
    arcs: I64  # arcs usable in this sub-model
    reps: I64  # reps whose loads the sub-model fully determines


class _BestObjective(cp_model.CpSolverSolutionCallback):
    """Tracks the objective of CP-SAT's latest (so best) plan while it searches."""

    def __init__(self) -> None:
        super().__init__()
        self.value = math.inf

    def on_solution_callback(self) -> None:
        self.value = self.objective_value


def _solve_sub(
    p: ArcProblem,
    ix: _Index,
    chosen: I64,
    sub: _Sub,
    opts: SolveOptions,
    time_limit: float,
    det_time: float,
    full: bool,
    hint: bool = True,
    race: tuple[float, Callable[[float], float]] | None = None,
) -> tuple[str, I64 | None, float, float]:
    """Re-optimise ``sub.customers`` over ``sub.arcs`` with everything else fixed.

    Returns status, new chosen arcs for the sub customers (or None), the sub-model's bound
    and the deterministic time used. With ``race = (seconds, to_beat)`` the search stops
    once, from that many seconds on, its best plan is not below ``to_beat(seconds searched)``
    (checked every ``RACE_CHECK_SECONDS``).
    """
    t_build = time.perf_counter()
    model = cp_model.CpModel()
    arcs = sub.arcs
    n = len(arcs)
    x = [model.new_bool_var("") for _ in range(n)]
    cust_pos = {int(c): k for k, c in enumerate(sub.customers)}
    local_cust = np.fromiter((cust_pos[int(c)] for c in p.arc_customer[arcs]), dtype=np.int64, count=n)
    by_cust: list[list[int]] = [[] for _ in sub.customers]
    for k, lc in enumerate(local_cust):
        by_cust[lc].append(k)
    pool_vars: dict[int, cp_model.IntVar] = {}
    obj_vars: list = []
    obj_coefs: list[int] = []
    for lc, i in enumerate(sub.customers):
        lits = [x[k] for k in by_cust[lc]]
        if ix.pool_cost[i] >= 0:
            pv = model.new_bool_var("")
            pool_vars[lc] = pv
            lits.append(pv)
            obj_vars.append(pv)
            obj_coefs.append(int(ix.pool_cost[i]))
        model.add_exactly_one(lits)
    obj_vars += x
    obj_coefs += [int(c) for c in p.arc_cost[arcs]]

    # fixed state outside the sub-model
    in_sub = np.zeros(p.n_customers, dtype=bool)
    in_sub[sub.customers] = True
    outside = (~in_sub) & (chosen >= 0)
    out_arcs = chosen[outside]
    fixed_load = np.bincount(p.arc_rep[out_arcs], weights=p.arc_load[out_arcs], minlength=p.n_reps).astype(np.int64)
    fixed_count = np.bincount(p.arc_rep[out_arcs], minlength=p.n_reps).astype(np.int64)

    sub_reps_of_arc = p.arc_rep[arcs]
    rep_order = np.argsort(sub_reps_of_arc, kind="stable")
    reps_u, rep_start = np.unique(sub_reps_of_arc[rep_order], return_index=True)
    rep_end = np.append(rep_start[1:], n)
    rep_arcs = {int(r): rep_order[s:e] for r, s, e in zip(reps_u, rep_start, rep_end)}
    for r, ks in rep_arcs.items():
        if ix.load_cap[r] >= 0:
            model.add(cp_model.LinearExpr.weighted_sum([x[k] for k in ks], [int(v) for v in p.arc_load[arcs[ks]]])
                      <= int(ix.load_cap[r] - fixed_load[r]))
        if ix.count_cap[r] >= 0:
            model.add(sum(x[k] for k in ks) <= int(ix.count_cap[r] - fixed_count[r]))

    # balance: reps whose amounts the sub-model determines get their band terms
    for term in p.balance:
        fixed_amt = term.fixed_amount.astype(np.int64).copy()
        np.add.at(fixed_amt, p.arc_rep[out_arcs], term.arc_amount[out_arcs])
        for r in sub.reps:
            r = int(r)
            if term.weight[r] <= 0:
                continue
            ks = rep_arcs.get(r, np.zeros(0, dtype=np.int64))
            amt = cp_model.LinearExpr.weighted_sum([x[k] for k in ks], [int(v) for v in term.arc_amount[arcs[ks]]])
            base = int(fixed_amt[r])
            hi = base + int(term.arc_amount[arcs[ks]].sum())
            over = model.new_int_var(0, max(0, hi - int(term.upper[r])), "")
            under = model.new_int_var(0, max(0, int(term.lower[r]) - base), "")
            model.add(amt + base - over <= int(term.upper[r]))
            model.add(amt + base + under >= int(term.lower[r]))
            obj_vars += [over, under]
            obj_coefs += [int(term.weight[r])] * 2

    # voluntary moves
    if p.move_budget >= 0 or p.max_moves_per_rep >= 0:
        out_moved = np.zeros(p.n_customers, dtype=bool)
        oc = np.flatnonzero(outside)
        out_moved[oc] = ix.arc_is_move[chosen[oc]]
        out_moved |= (~in_sub) & (chosen < 0) & ix.pool_is_move
        move_lits = [x[k] for k in np.flatnonzero(ix.arc_is_move[arcs])]
        move_lits += [pool_vars[lc] for lc, i in enumerate(sub.customers) if lc in pool_vars and ix.pool_is_move[i]]
        if p.move_budget >= 0:
            model.add(sum(move_lits) <= int(p.move_budget - out_moved.sum()))
        if p.max_moves_per_rep >= 0:
            lim = p.max_moves_per_rep
            fixed_in = np.bincount(p.arc_rep[chosen[out_moved & (chosen >= 0)]], minlength=p.n_reps)
            fixed_out = np.bincount(ix.owner[out_moved], minlength=p.n_reps)
            for r, ks in rep_arcs.items():
                mk = [x[k] for k in ks if ix.arc_is_move[arcs[k]]]
                if mk:
                    model.add(sum(mk) <= int(lim - fixed_in[r]))
            # out-moves of an owner: its customers in the sub that do not choose the owner arc
            own_lits: dict[int, list] = {}
            for k in np.flatnonzero(ix.arc_is_move[arcs]):
                own_lits.setdefault(int(ix.owner[p.arc_customer[arcs[k]]]), []).append(x[k])
            for lc, i in enumerate(sub.customers):
                if lc in pool_vars and ix.pool_is_move[i]:
                    own_lits.setdefault(int(ix.owner[i]), []).append(pool_vars[lc])
            for o, lits in own_lits.items():
                model.add(sum(lits) <= int(lim - fixed_out[o]))

    model.minimize(cp_model.LinearExpr.weighted_sum(obj_vars, obj_coefs))

    # hint the incumbent so an unchanged book stays put and search starts from a feasible plan
    cur = chosen[sub.customers] if hint else np.full(len(sub.customers), -1, dtype=np.int64)
    arc_local = {int(a): k for k, a in enumerate(arcs)}
    for lc, i in enumerate(sub.customers if (cur >= 0).any() or pool_vars else ()):
        a = int(cur[lc])
        for k in by_cust[lc]:
            model.add_hint(x[k], k == arc_local.get(a, -2))
        if lc in pool_vars:
            model.add_hint(pool_vars[lc], a < 0)

    solver = cp_model.CpSolver()
    prm = solver.parameters
    # the limit counts from the call: building a big model takes a second of Python
    prm.max_time_in_seconds = max(0.05, time_limit - (time.perf_counter() - t_build))
    prm.num_workers = opts.workers
    prm.random_seed = opts.seed
    prm.log_search_progress = opts.log
    prm.relative_gap_limit = opts.gap_limit
    if opts.deterministic:
        prm.max_deterministic_time = max(0.01, det_time)
        # parallel workers race, so only one worker is reproducible; CP-SAT's lock-step mode
        # (interleave_search) aborts the process on some infeasible models (seen with OR-Tools 9.15)
        prm.num_workers = 1
    if not full:
        prm.num_workers = LNS_SUB_WORKERS
    if race is None:
        status = solver.solve(model)
    else:
        best = _BestObjective()
        after, to_beat = race
        done = threading.Event()
        started = time.perf_counter()

        def stop_when_behind() -> None:
            pause = after
            while not done.wait(pause):
                if best.value >= to_beat(time.perf_counter() - started):
                    solver.stop_search()
                    return
                pause = RACE_CHECK_SECONDS

        watcher = threading.Thread(target=stop_when_behind, daemon=True)
        watcher.start()
        try:
            status = solver.solve(model, best)
        finally:
            done.set()
            watcher.join()
    name = solver.status_name(status)
    det = float(solver.response_proto.deterministic_time)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return name, None, -math.inf, det
    vals = np.fromiter((solver.boolean_value(v) for v in x), dtype=bool, count=n)
    new = np.full(len(sub.customers), -1, dtype=np.int64)
    new[local_cust[vals]] = arcs[vals]
    return name, new, float(solver.best_objective_bound), det


def shift_search(p: ArcProblem, ix: _Index, chosen: I64, deadline: float = math.inf,
                 max_rounds: int = SHIFT_MAX_ROUNDS) -> I64:
    """Improve a feasible plan by single-customer moves, many at once, until none helps.

    Each round prices every arc's move exactly (arc cost and the balance penalty change at both
    reps, given the current books), keeps those that fit capacity, and applies the best ones
    that touch distinct reps, so every applied move keeps its computed gain. With a move budget
    or per-rep move limits only moves that are not voluntary moves are tried, so budgets hold.
    Pool customers may join a rep; nobody is sent to the pool.
    """
    chosen = chosen.copy()
    arc_c, arc_r = p.arc_customer, p.arc_rep
    restricted = p.move_budget >= 0 or p.max_moves_per_rep >= 0
    lc, cc = ix.load_cap[arc_r], ix.count_cap[arc_r]
    for _ in range(max_rounds):
        if time.perf_counter() > deadline:
            break
        cur = chosen[arc_c]
        assigned = cur >= 0
        cur_rep = np.where(assigned, arc_r[np.maximum(cur, 0)], -1)
        pool_ok = ix.pool_cost[arc_c] >= 0
        cand = (arc_r != cur_rep) & (assigned | pool_ok)
        if restricted:
            cand &= ~ix.arc_is_move
        load, cnt = _rep_usage(p, chosen)
        fits = ((lc < 0) | (load[arc_r] + p.arc_load <= lc)) & ((cc < 0) | (cnt[arc_r] + 1 <= cc))
        old = np.where(assigned, p.arc_cost[np.maximum(cur, 0)], np.maximum(ix.pool_cost[arc_c], 0))
        delta = p.arc_cost.astype(np.float64) - old
        o = np.maximum(cur_rep, 0)
        for term, amount in zip(p.balance, balance_amounts(p, chosen)):
            a = term.arc_amount

            def pen(r: I64, x: I64) -> I64:
                return term.weight[r] * (np.maximum(0, x - term.upper[r]) + np.maximum(0, term.lower[r] - x))

            delta += pen(arc_r, amount[arc_r] + a) - pen(arc_r, amount[arc_r])
            delta += np.where(assigned, pen(o, amount[o] - a) - pen(o, amount[o]), 0)
        good = np.flatnonzero(cand & fits & (delta < 0))
        if len(good) == 0:
            break
        good = good[np.argsort(delta[good], kind="stable")]
        touched = np.zeros(p.n_reps, dtype=bool)
        moved = np.zeros(p.n_customers, dtype=bool)
        for a in good:
            r, orig, c = arc_r[a], cur_rep[a], arc_c[a]
            if touched[r] or (orig >= 0 and touched[orig]) or moved[c]:
                continue
            touched[r] = True
            if orig >= 0:
                touched[orig] = True
            moved[c] = True
            chosen[c] = a
    return chosen


def _lns_groups(p: ArcProblem, ix: _Index, chosen: I64, seed_rep: int, max_customers: int,
                busy_reps: npt.NDArray[np.bool_] | None = None,
                busy_customers: npt.NDArray[np.bool_] | None = None,
                rng: np.random.Generator | None = None) -> _Sub:
    """A neighbourhood: the seed rep plus the reps sharing most candidate customers with it.

    With ``rng``, each count of shared customers is weighed by a random factor in 1 ± ``LNS_GROUP_NOISE``,
    so one seed rep gives a different group each time: with few reps, fixed groups are soon all
    locally optimal and the search stalls (e40400 at 60 s: 44,660-44,690 with fixed groups,
    44,603-44,616 with random ones; BENCHMARKS.md).
    Busy reps and customers (in another neighbourhood of the same batch) stay out, so
    neighbourhoods solved side by side never touch the same rep or customer.
    """
    cur_rep = np.where(chosen >= 0, p.arc_rep[np.maximum(chosen, 0)], -1)
    # customers of the seed rep and their candidate reps
    group = [seed_rep]
    seen = {seed_rep} | (set(np.flatnonzero(busy_reps).tolist()) if busy_reps is not None else set())
    size = int((cur_rep == seed_rep).sum())
    frontier = [seed_rep]
    while frontier and size < max_customers:
        r = frontier.pop(0)
        custs = np.flatnonzero(cur_rep == r)
        arcs = np.concatenate([ix.order[ix.start[c]:ix.start[c + 1]] for c in custs]) if len(custs) else np.zeros(0, np.int64)
        neigh, cnt = np.unique(p.arc_rep[arcs], return_counts=True)
        weight = cnt if rng is None else cnt * rng.uniform(1 - LNS_GROUP_NOISE, 1 + LNS_GROUP_NOISE, len(cnt))
        for nr in neigh[np.argsort(-weight, kind="stable")]:
            nr = int(nr)
            if nr in seen:
                continue
            add = int((cur_rep == nr).sum())
            if size + add > max_customers and len(group) > 1:
                continue
            seen.add(nr)
            group.append(nr)
            frontier.append(nr)
            size += add
            if size >= max_customers:
                break
    reps = np.array(sorted(group), dtype=np.int64)
    in_group = np.zeros(p.n_reps, dtype=bool)
    in_group[reps] = True
    # customers now with a group rep, plus pool customers that could go to one
    arc_in = in_group[p.arc_rep]
    pool_touch = np.zeros(p.n_customers, dtype=bool)
    pool_touch[p.arc_customer[arc_in]] = True
    members = (cur_rep >= 0) & in_group[np.maximum(cur_rep, 0)]
    members |= (cur_rep < 0) & pool_touch
    if busy_customers is not None:
        members &= ~busy_customers
    customers = np.flatnonzero(members)
    cmask = np.zeros(p.n_customers, dtype=bool)
    cmask[customers] = True
    arcs = np.flatnonzero(cmask[p.arc_customer] & arc_in)
    return _Sub(customers.astype(np.int64), arcs.astype(np.int64), reps)


def _rep_pressure(p: ArcProblem, ix: _Index, chosen: I64) -> F64:
    """Per rep, the cost the plan pays near it: pool customers it could take, and balance penalties."""
    pool = np.flatnonzero((chosen < 0) & (ix.pool_cost > 0))
    pressure = np.zeros(p.n_reps)
    if len(pool):
        mask = np.zeros(p.n_customers, dtype=bool)
        mask[pool] = True
        arcs = np.flatnonzero(mask[p.arc_customer])
        np.add.at(pressure, p.arc_rep[arcs], ix.pool_cost[p.arc_customer[arcs]])
    for term, amt in zip(p.balance, balance_amounts(p, chosen)):
        dev = np.maximum(0, amt - term.upper) + np.maximum(0, term.lower - amt)
        pressure += dev * term.weight
    return pressure


def _sub_cost(p: ArcProblem, ix: _Index, chosen: I64, sub: _Sub) -> int:
    """Objective of the sub-model's part of the plan (its customers' arcs and its reps' balance)."""
    c = chosen[sub.customers]
    cost = int(p.arc_cost[c[c >= 0]].sum()) + int(ix.pool_cost[sub.customers[c < 0]].clip(min=0).sum())
    amounts = balance_amounts(p, chosen)
    for term, amt in zip(p.balance, amounts):
        a = amt[sub.reps]
        dev = np.maximum(0, a - term.upper[sub.reps]) + np.maximum(0, term.lower[sub.reps] - a)
        cost += int((dev * term.weight[sub.reps]).sum())
    return cost


# ---------------------------------------------------------------------------------------------
# The entry point


def solve(p: ArcProblem, opts: SolveOptions = SolveOptions()) -> EngineResult:
    """Solve the arc problem: best plan found within the limits, with a proven lower bound."""
    t0 = time.perf_counter()
    deadline = t0 + opts.time_limit_seconds
    stages: dict[str, float] = {}
    trace: list[tuple[float, int, float]] = []
    ix = _index(p)

    # pool-only customers are decided already; a customer with nowhere to go makes the problem infeasible
    no_arcs = ix.start[1:] == ix.start[:-1]
    if (no_arcs & (ix.pool_cost < 0)).any():
        return EngineResult("INFEASIBLE", None, math.inf, np.full(p.n_customers, -1, np.int64),
                            time.perf_counter() - t0, "presolve", stages)

    hint = p.hint_arc
    hint_ok = hint is not None and not check_plan(p, hint)
    hint_obj = evaluate(p, hint)["total"] if hint_ok else math.inf

    # 1. bound
    t = time.perf_counter()
    # a wall-clock cap on the bound stage would make the duals, and so the plan, depend on machine load
    bound_budget = deadline if opts.deterministic else t0 + 0.25 * opts.time_limit_seconds
    duals = lagrangian_bound(p, hint_obj, opts.lagrangian_iterations, bound_budget)
    stages["bound"] = time.perf_counter() - t

    # 2. starts
    t = time.perf_counter()
    rc = _reduced_costs(p, ix, duals)
    starts: list[I64] = []
    if hint_ok:
        starts.append(hint.copy())
    if hint is not None and not hint_ok:
        g = _greedy(p, ix, rc, hint)
        if g is not None:
            starts.append(g)
    g = _greedy(p, ix, rc, None)
    if g is not None:
        starts.append(g)
    if _plain_gap(p):
        # the Lagrangian plan is cheap but over capacity; repaired, it is the strong start on
        # tight instances where the greedy fails (measured in benchmarks/bench_gap.py)
        _, relaxed = _customer_min(p, ix, rc, duals)
        # a wall-clock cap would make the start depend on machine load; in deterministic mode
        # only the overall deadline stops it
        cap = deadline if opts.deterministic else t + 0.2 * opts.time_limit_seconds
        r = _repair(p, ix, rc, relaxed, 4 * p.n_customers + 100, cap)
        if r is not None:
            starts.append(_shift_down(p, ix, r, 5, cap))
        if g is not None:
            starts.append(_shift_down(p, ix, g, 5, cap))
    starts = [s for s in starts if not check_plan(p, s)]
    stages["start"] = time.perf_counter() - t
    lower = duals.bound
    incumbent = min(starts, key=lambda s: evaluate(p, s)["total"]) if starts else None
    if incumbent is not None:
        # cheap exact single moves first: the search then starts from a local optimum
        t_shift = time.perf_counter()
        incumbent = shift_search(p, ix, incumbent, deadline)
        stages["shift"] = time.perf_counter() - t_shift
    inc_obj = evaluate(p, incumbent)["total"] if incumbent is not None else math.inf
    if math.isfinite(inc_obj):
        trace.append((time.perf_counter() - t0, int(inc_obj), lower))

    # 3. reduced-cost fixing: an arc whose Lagrangian price exceeds the incumbent cannot improve it
    keep_arcs = np.ones(len(p.arc_cost), dtype=bool)
    if math.isfinite(inc_obj) and math.isfinite(lower):
        best_rc, _ = _customer_min(p, ix, rc, duals)
        keep_arcs = duals.bound + (rc - best_rc[p.arc_customer]) < inc_obj - 1e-6
        keep_arcs[incumbent[incumbent >= 0]] = True
        if hint_ok:
            keep_arcs[hint[hint >= 0]] = True
    stages["fixing_kept_arcs"] = float(keep_arcs.sum())

    # 3a. small plain GAPs: the exact search, in child processes on every worker, from now on
    full_sub = _Sub(np.arange(p.n_customers, dtype=np.int64), np.flatnonzero(keep_arcs).astype(np.int64),
                    np.arange(p.n_reps, dtype=np.int64))
    exact = None
    if incumbent is not None and not _within_gap(inc_obj, lower, opts.gap_limit):
        exact = _start_exact(p, ix, full_sub, inc_obj, deadline, opts)

    # 3b. plain capacity problems: relaxing "exactly once" instead leaves knapsacks, a stronger bound
    # (not beside the exact search: its root computes that bound, and the seconds are its to use)
    if exact is None and math.isfinite(inc_obj) and knapsack_bound_applies(p, ix):
        t = time.perf_counter()
        if opts.deterministic:  # a budget of work, so the bound (and where the search stops) never depends on load
            cap, cells = deadline, KNAPSACK_TIME_SHARE * opts.deterministic_time * KNAPSACK_CELLS_PER_SECOND
        else:
            cap, cells = t + KNAPSACK_TIME_SHARE * opts.time_limit_seconds, math.inf
        lower = max(lower, knapsack_bound(p, ix, duals, inc_obj, KNAPSACK_ITERATIONS, cap, cells))
        stages["knapsack_bound"] = time.perf_counter() - t

    # 4. exact model or neighbourhood search (unless the start is already proven good enough)
    t = time.perf_counter()
    method = "exact"
    status = "FEASIBLE" if incumbent is not None else "UNKNOWN"
    if incumbent is not None and _within_gap(inc_obj, lower, opts.gap_limit):
        method = "start"
    elif exact is not None:
        # CP-SAT does not run beside it: on one of two cores it found no better plans, and
        # the exact search's two parts prove twice as fast (gapd-5 optimal at 60 s; BENCHMARKS.md)
        if (answer := exact.answer(deadline)) is not None:
            # its arcs were the kept ones: a bound over them, as for the whole model
            lower = max(lower, min(float(inc_obj), answer.bound))
            if answer.chosen is not None:
                plan = full_sub.arcs[answer.chosen]
                plan_obj = evaluate(p, plan)["total"]
                if plan_obj < inc_obj and not check_plan(p, plan):
                    incumbent, inc_obj = plan, plan_obj
        trace.append((time.perf_counter() - t0, int(inc_obj), lower))
    elif phases := _exact_phases(p, ix, rc, incumbent, full_sub, opts.exact_arc_limit):
        chosen = incumbent if incumbent is not None else np.full(p.n_customers, -1, dtype=np.int64)
        det_left = opts.deterministic_time
        core_solved = False
        found = {"lns": math.inf, "model": math.inf}  # the race: what each search found on its own turn
        lns_seconds, core_seconds, doubling_gain, winner = 0.0, 0.0, 0.0, ""
        lns_arcs: npt.NDArray[np.bool_] | None = None
        lns_plan: I64 | None = None  # neighbourhood search resumes from its own plan, not the core's
        for kind, sub, share, hinted in phases:
            if kind == "winner":
                # on the wall clock, at equal time: where neighbourhood search would be after the core's turn
                lns_at = found["lns"] if opts.deterministic else _projected(found["lns"], doubling_gain, lns_seconds,
                                                                             core_seconds)
                kind = winner = "lns" if lns_at < found["model"] else "model"
                if kind == "lns":
                    # it stops by itself once it stalls (LNS_STALL_NEIGHBOURHOODS), and hands what is left on
                    share = 1.0
            remaining = (deadline - time.perf_counter()) * share
            if kind == "fallback":  # neighbourhood search won but stalled before the end: the core hinted
                if winner != "lns" or (not opts.deterministic and remaining < FALLBACK_MIN_SECONDS):
                    continue
                kind = "model"
            if kind == "lns":  # neighbourhood search over each customer's cheapest arcs
                if lns_arcs is None:
                    lns_arcs = keep_arcs & _core_mask(p, ix, rc, LNS_CORE_ARCS)
                lns_opts = replace(opts, deterministic_time=det_left * share)
                det_left *= 1 - share
                t_lns = time.perf_counter()
                probe = lns_plan is None
                start, start_obj = (incumbent, int(inc_obj)) if probe else (lns_plan, int(found["lns"]))
                steps: list[tuple[float, int, float]] = []
                lns_plan, lns_obj, lower = _lns(p, ix, start, start_obj, lower, lns_opts, t_lns + remaining,
                                                lns_arcs, steps, t0)
                if probe:  # its time, and its gain per doubling of the time, for the race
                    lns_seconds = time.perf_counter() - t_lns
                    doubling_gain = _gain_per_doubling([(t - (t_lns - t0), o) for t, o, _ in steps]
                                                   + [(lns_seconds, lns_obj)])
                found["lns"] = float(lns_obj)
                trace.extend(step for step in steps if step[1] < inc_obj)
                if lns_obj < inc_obj:
                    incumbent, inc_obj = lns_plan, lns_obj
                if _within_gap(inc_obj, lower, opts.gap_limit):
                    break
                continue
            whole = sub is full_sub  # only the whole model's bound and proof hold for the problem
            if core_solved and not whole:
                continue
            if (not opts.deterministic and incumbent is not None
                    and remaining < BUILD_SECONDS_PER_ARC * len(sub.arcs) + MIN_SOLVE_SECONDS):
                # no time left to build it, let alone search: it would only overrun the limit
                # (e60900 at 60 s: 54,000 arcs, a second of Python after the deadline)
                continue
            race = None
            if not opts.deterministic and math.isfinite(found["lns"]) and not hinted:
                # the core's unhinted turn in a race: once it has had twice the time neighbourhood
                # search had (CP-SAT is slower off the mark: presolve, LP), it must stay ahead of where
                # neighbourhood search would be at equal time, or it yields the rest of its turn.
                # A wall-clock rule, so only when the clock decides anyway.
                race = (LNS_RACE_FACTOR * lns_seconds,
                        partial(_projected, found["lns"], doubling_gain, lns_seconds))
            t_sub = time.perf_counter()
            name, new, sub_bound, det = _solve_sub(p, ix, chosen if incumbent is None else incumbent, sub, opts,
                                                   remaining, det_left * share, True, hinted, race)
            if race is not None:
                core_seconds = time.perf_counter() - t_sub
            det_left = max(0.0, det_left - det)
            if new is not None:
                new_obj = evaluate(p, new)["total"]
                if not whole and not hinted:
                    found["model"] = float(new_obj)
                if new_obj < inc_obj:
                    incumbent, inc_obj = new, new_obj
                if whole:
                    # a bound over the kept arcs; dropped arcs cannot beat the incumbent
                    lower = max(lower, min(float(inc_obj), sub_bound))
                    status = "OPTIMAL" if name == "OPTIMAL" else "FEASIBLE"
            elif name == "INFEASIBLE" and incumbent is None and whole:
                status = "INFEASIBLE"
            core_solved = core_solved or (not whole and name == "OPTIMAL")
            trace.append((time.perf_counter() - t0, int(inc_obj) if math.isfinite(inc_obj) else -1, lower))
            if (whole and name in ("OPTIMAL", "INFEASIBLE")) or _within_gap(inc_obj, lower, opts.gap_limit):
                break
    else:
        method = "lns"
        incumbent, inc_obj, lower = _lns(p, ix, incumbent, int(inc_obj), lower, opts, deadline, keep_arcs, trace, t0)
    stages["search"] = time.perf_counter() - t

    if incumbent is not None and hint_ok and inc_obj >= hint_obj:
        incumbent, inc_obj = hint.copy(), hint_obj  # nothing strictly better: propose no change
    if incumbent is not None:
        lower = min(lower, float(inc_obj))
        if inc_obj - lower < 1 - 1e-9:  # integer objective: within one unit of the bound is optimal
            status = "OPTIMAL"
            lower = float(inc_obj)
    chosen = incumbent if incumbent is not None else np.full(p.n_customers, -1, dtype=np.int64)
    return EngineResult(
        status,
        int(inc_obj) if incumbent is not None else None,
        # integer costs: round up, with a tolerance for the float sums behind the bound
        math.ceil(lower - 1e-9 * max(1.0, abs(lower))) if math.isfinite(lower) else lower,
        chosen,
        time.perf_counter() - t0,
        method,
        stages,
        tuple(trace),
    )


def _start_exact(p: ArcProblem, ix: _Index, full: _Sub, inc_obj: float, deadline: float,
                 opts: SolveOptions) -> ExactSearch | None:
    """The knapsack branch-and-bound on the kept arcs, one part of its trees per worker: small plain GAPs on the wall clock.

    Measured against CP-SAT's two workers (BENCHMARKS.md): gapd-1, -2, -3 and the six type E
    files under 400 jobs proved optimal in 2-4 s, where CP-SAT stopped 0.03-0.4 % above at 60 s;
    gapd-4 and gapd-5 proved at 60 s (in 45-51 and about 34 s). Not in deterministic mode: where it
    stops on the clock would make the plan depend on the machine's load. Its search stack holds
    a copy of the arcs per open node, hence the size limit.
    """
    if (opts.deterministic or opts.workers < EXACT_MIN_WORKERS or opts.time_limit_seconds < EXACT_MIN_SECONDS
            or p.n_customers >= LNS_RACE_MIN_CUSTOMERS or p.n_customers * p.n_reps > EXACT_MAX_CELLS
            or not _plain_gap(p) or (ix.count_cap >= 0).any() or (ix.pool_cost >= 0).any()
            or (ix.load_cap < 0).any() or int(ix.load_cap.max(initial=0)) > KNAPSACK_MAX_CAPACITY
            or (p.arc_load < 0).any() or not math.isfinite(inc_obj)):
        return None
    arcs = full.arcs
    if len(np.unique(p.arc_customer[arcs] * p.n_reps + p.arc_rep[arcs])) < len(arcs):
        return None  # two arcs between one customer and one rep: not a GAP's matrix
    try:
        return ExactSearch(p.n_customers, p.n_reps, p.arc_customer[arcs], p.arc_rep[arcs], p.arc_cost[arcs],
                           p.arc_load[arcs], ix.load_cap, inc_obj, deadline - time.perf_counter(), parts=opts.workers)
    except OSError:  # no child process to be had: CP-SAT alone, as below the limit
        return None


_Phase = tuple[str, _Sub | None, float, bool]  # kind, sub-model, share of the time left, hinted


def _exact_phases(p: ArcProblem, ix: _Index, rc: F64, incumbent: I64 | None, full: _Sub,
                  exact_arc_limit: int) -> list[_Phase]:
    """The search's phases, each (kind, sub-model, share of the time left, hinted); empty means LNS only.

    Kinds: "model" solves the sub-model with CP-SAT; "lns" runs neighbourhood search over each
    customer's cheapest arcs; "winner" is "lns" if the neighbourhood search found a better plan
    than the unhinted core model, else "model"; "fallback" is "model" when "winner" was "lns"
    and left time over (neighbourhood search stops once a whole pass over the reps, or
    ``LNS_STALL_NEIGHBOURHOODS`` neighbourhoods in a row, gain nothing).

    With a caller's plan (the nightly book) one hinted model, so an unchanged book stays put.
    Without one (GAP files, new customers), first a core model of each customer's cheapest arcs
    by reduced cost, unhinted then hinted, then the whole model hinted with the best plan: on
    tight instances the small core finds far better plans in the same time (measured in
    BENCHMARKS.md), and the whole model gives the bound when it is small enough to build. The
    core's first phase is unhinted because a hint steers CP-SAT's LP-guided dive onto our
    heuristic start, away from the LP optimum. Without a core worth the name (few arcs a
    customer) the whole model runs hinted: there the hint did better (gapd-1 proved optimal).
    A core with no whole model after it keeps five arcs a customer, not three: it is the last
    word on the plan (c801600 at 60 s: 16,302 against 16,322, medians of three).

    Books of at least ``LNS_RACE_MIN_CUSTOMERS`` customers open with a race. Which search wins
    depends on the data: neighbourhood search beat the core on every type E file at 10 s
    (e801600 177,500 against 177,772) and lost on every type D file (d801600 98,553 against
    97,665). Neighbourhood search runs first, for a share of the time smaller than the core's
    unhinted turn, so it wins only when it is clearly better. On the wall clock the core's result
    is weighed against neighbourhood search's extrapolated to the core's time (``_projected``):
    on e60900 the core once won with 100,833 after 16.5 s against 100,977 after 7.4 s, where
    neighbourhood search alone reaches about 100,560 by 20 s. The same extrapolation stops the
    core's unhinted turn early once it falls behind (checked every ``RACE_CHECK_SECONDS`` from
    twice the probe's time on). A winner that is neighbourhood
    search resumes from its own plan and keeps the time until it stalls (e60900 at 60 s: 100,349
    against 100,498 with half).
    """
    whole: list[_Phase] = [("model", full, 1.0, True)] if len(full.arcs) <= exact_arc_limit or incumbent is None else []
    if p.hint_arc is not None or incumbent is None:
        return whole
    # with no whole model to follow, the core stands in for it: a wider one if that still leaves arcs out
    for per_customer in (CORE_ARCS,) if whole else (CORE_ARCS_ALONE, CORE_ARCS):
        in_core = _core_mask(p, ix, rc, per_customer)
        in_core[incumbent[incumbent >= 0]] = True  # the core model then always has a feasible plan
        core_arcs = full.arcs[in_core[full.arcs]]
        if len(core_arcs) <= CORE_MAX_SHARE * len(full.arcs) and len(core_arcs) <= exact_arc_limit:
            break
    else:
        return whole
    core = _Sub(full.customers, core_arcs, full.reps)
    cold_share, second = (1 / 3, 1 / 2) if whole else (1 / 2, 1.0)
    if p.n_customers < LNS_RACE_MIN_CUSTOMERS:
        return [("model", core, cold_share, False), ("model", core, second, True), *whole]
    # without a whole model to take the time left, a stalled neighbourhood search hands it back to the core
    last = whole or [("fallback", core, 1.0, True)]
    return [("lns", None, LNS_PROBE_SHARE, True), ("model", core, cold_share, False),
            ("winner", core, second, True), *last]


def _projected(found: float, doubling_gain: float, lns_seconds: float, seconds: float) -> float:
    """Neighbourhood search's objective extrapolated from ``lns_seconds`` to ``seconds`` of search.

    On a curve a - b ln t, each doubling of the time gains what a doubling gained during the
    probe (``doubling_gain``, fitted by :func:`_gain_per_doubling`): gains slow down, but not to
    nothing. A fit over all the probe's steps, not its last half alone: on e60900 (seed 1) the
    last half said 100 a doubling where the whole probe said 128, and the search went on to gain
    about 180 a doubling.
    """
    if lns_seconds <= 0 or seconds <= lns_seconds or not math.isfinite(found):
        return found
    return found - max(0.0, doubling_gain) * math.log2(seconds / lns_seconds)


def _gain_per_doubling(points: list[tuple[float, float]]) -> float:
    """The fall of an objective per doubling of the time: least squares of objective on log2(seconds)."""
    pts = [(math.log2(t), o) for t, o in points if t > 0 and math.isfinite(o)]
    if len(pts) < 2:
        return 0.0
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    if sxx <= 0:
        return 0.0
    return -sum((x - mx) * (y - my) for x, y in pts) / sxx


def _core_mask(p: ArcProblem, ix: _Index, rc: F64, per_customer: int) -> npt.NDArray[np.bool_]:
    """Each customer's ``per_customer`` arcs of least reduced cost."""
    by_rc = np.lexsort((rc, p.arc_customer))  # customer by customer, cheapest first
    rank = np.arange(len(by_rc)) - ix.start[p.arc_customer[by_rc]]
    mask = np.zeros(len(rc), dtype=bool)
    mask[by_rc[rank < per_customer]] = True
    return mask


def _within_gap(objective: float, bound: float, gap_limit: float) -> bool:
    return gap_limit > 0 and math.isfinite(bound) and objective - bound <= gap_limit * max(1.0, abs(objective))


def _lns(
    p: ArcProblem,
    ix: _Index,
    chosen: I64,
    obj: int,
    lower: float,
    opts: SolveOptions,
    deadline: float,
    keep_arcs: npt.NDArray[np.bool_],
    trace: list[tuple[float, int, float]],
    t0: float,
) -> tuple[I64, int, float]:
    """Large-neighbourhood search over groups of reps; keeps strict improvements only.

    Neighbourhoods are re-optimised side by side, one per worker, one CP-SAT worker each:
    CP-SAT releases the GIL while it solves, so both cores search (e801600 at 30 s: 95
    neighbourhoods two at a time against 66 one at a time). Neighbourhoods in flight share no
    rep and no customer, and each one's arcs go to its own reps only, so each one's gain stands
    on its own. Move limits span the whole book, so each result is checked against them as it
    is applied. On the wall clock a worker that finishes takes the next neighbourhood at once,
    with one more in flight than workers (a pipeline); in deterministic mode a round waits for
    all its neighbourhoods, so the plan does not depend on which one finishes first.
    """
    rng = np.random.default_rng(opts.seed)
    chosen = chosen.copy()
    det_used = 0.0
    per_rep = max(1.0, p.n_customers / max(1, p.n_reps))
    size = float(min(LNS_MAX_CUSTOMERS, max(LNS_MIN_CUSTOMERS, LNS_REPS * per_rep)))
    rounds_without_gain = 0
    order = rng.permutation(p.n_reps)
    k = 0
    it = 0
    tabu = np.zeros(p.n_reps, dtype=np.int64)
    # on the wall clock one more neighbourhood than workers in flight keeps both cores busy while
    # Python builds the next (e60900: 83 % -> 98 % of 2 cores)
    width = max(1, opts.workers) + (0 if opts.deterministic else LNS_EXTRA_IN_FLIGHT)
    busy_reps = np.zeros(p.n_reps, dtype=bool)
    busy_customers = np.zeros(p.n_customers, dtype=bool)
    pending: dict[Future[tuple[str, I64 | None, float, float]], _Sub] = {}
    stalled = False
    with ThreadPoolExecutor(max_workers=width) as pool:
        while True:
            # fill the free workers (in deterministic mode only once the whole round is back)
            picks = 0 if (opts.deterministic and pending) else width - len(pending)
            if (stalled or time.perf_counter() >= deadline - 0.05 or _within_gap(obj, lower, opts.gap_limit)
                    or (opts.deterministic and det_used >= opts.deterministic_time)):
                picks = 0
            base = chosen.copy() if picks else chosen  # the plan as it is now, for every neighbourhood filled now
            for _ in range(picks):
                if rounds_without_gain >= LNS_STALL_NEIGHBOURHOODS:
                    stalled = True
                    break
                if k >= len(order):
                    order, k = rng.permutation(p.n_reps), 0
                    if rounds_without_gain >= len(order):
                        stalled = True
                        break
                if it % 2 == 0:
                    # every other pick, aim where the plan hurts most: pool customers and balance penalties
                    pressure = _rep_pressure(p, ix, chosen)
                    pressure[(tabu > it) | busy_reps] = 0
                    seed_rep = int(np.argmax(pressure)) if pressure.max() > 0 else int(order[k])
                else:
                    seed_rep = int(order[k])
                if seed_rep == int(order[k]):
                    k += 1
                it += 1
                if busy_reps[seed_rep]:
                    continue
                tabu[seed_rep] = it + max(3, p.n_reps // 4)
                sub = _lns_groups(p, ix, chosen, seed_rep, int(size), busy_reps, busy_customers, rng)
                sub = _Sub(sub.customers, sub.arcs[keep_arcs[sub.arcs] | np.isin(sub.arcs, chosen)], sub.reps)
                if len(sub.customers) == 0:
                    continue
                busy_reps[sub.reps] = True
                busy_customers[sub.customers] = True
                remaining = deadline - time.perf_counter()
                # in deterministic mode only CP-SAT's deterministic clock may stop a sub-model
                wall = remaining if opts.deterministic else min(remaining, LNS_SUB_SECONDS)
                pending[pool.submit(_solve_sub, p, ix, base, sub, opts, wall, LNS_SUB_SECONDS, False)] = sub
            if not pending:
                if stalled or picks == 0:
                    break
                rounds_without_gain += 1  # every pick was busy or empty
                continue
            done, _ = wait(pending, return_when=ALL_COMPLETED if opts.deterministic else FIRST_COMPLETED)
            # in submission order, so a deterministic round applies its results the same way every time
            finished = [(f, pending.pop(f)) for f in list(pending) if f in done]
            results = [f.result() for f, _ in finished]
            if opts.deterministic:
                # CP-SAT's clock leaves out the Python work of building each sub-model; count it by size
                # (a deterministic stand-in for wall time) so the budget tracks seconds on a typical machine.
                # The solves run side by side, so the round takes as long as its longest.
                det_used += max(r[3] for r in results)
                det_used += sum(BUILD_SECONDS_PER_ARC * len(sub.arcs) + LNS_BUILD_SECONDS_PER_ROUND
                                for _, sub in finished)
            for (_, sub), (name, new, _, _) in zip(finished, results):
                busy_reps[sub.reps] = False
                busy_customers[sub.customers] = False
                grow = LNS_GROW if name == "OPTIMAL" else LNS_SHRINK
                size = min(float(LNS_MAX_CUSTOMERS), max(float(LNS_FLOOR_CUSTOMERS), size * grow))
                if new is None:
                    rounds_without_gain += 1
                    continue
                cand = chosen.copy()
                cand[sub.customers] = new
                before, after = _sub_cost(p, ix, chosen, sub), _sub_cost(p, ix, cand, sub)
                if after < before and not _move_violations(p, ix, cand):
                    chosen = cand
                    obj = obj - (before - after)
                    rounds_without_gain = 0
                    trace.append((time.perf_counter() - t0, obj, lower))
                else:
                    rounds_without_gain += 1
    return chosen, obj, lower
