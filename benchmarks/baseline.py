"""The rule-based peer: the greedy placement that CRM assignment rules implement.

Two variants over the same ``Book`` (from :func:`allocator.candidates.build_book`):

``greedy_keep``
    Customers in order of value, highest first. A customer stays with today's owner
    (``problem.hint_arc``) when that arc still fits; otherwise it goes to its cheapest candidate
    arc (lowest ``arc_cost``) with room in account and workload capacity and within the move
    budget and per-rep move limits; otherwise to the pool (when the pool is allowed).
``greedy_cheapest``
    The same without the keep step: every customer takes its cheapest arc with room. Note that
    ``arc_cost`` already contains the continuity part, so today's owner is still favoured by
    cost; the variant only drops the rule "keep first".

Balance bands are not looked at while placing (rule engines do not), but they are part of the
objective each plan is scored with (:func:`allocator.engine.evaluate`), so the figures compare
directly with a run's objective and bound. Every plan is checked with
:func:`allocator.engine.check_plan` before it is returned.

Example::

    from allocator.api import read_inputs
    from allocator.candidates import build_book
    from allocator.policy import Policy
    from baseline import run_baseline

    inputs = read_inputs("data/customers.csv", "data/reps.csv", "data/activities.csv")
    book = build_book(inputs.customers, inputs.reps, inputs.activities, Policy(), as_of)
    print(run_baseline(book, "greedy_keep").summary())
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from allocator.candidates import COST_SCALE, Book
from allocator.engine import ArcProblem, check_plan, evaluate

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

VARIANTS = ("greedy_keep", "greedy_cheapest")
NO_LIMIT = 1 << 62  # stands in for "-1 = no limit" inside the loop


class BaselineInfeasible(RuntimeError):
    """The greedy rule cannot place some customer (no room, pool not allowed or over budget)."""


@dataclass(frozen=True, slots=True)
class BaselinePlan:
    """A greedy plan, scored like the engine scores its own.

    chosen_arc: per problem customer the arc index, -1 = pool (the engine's format).
    parts: ``engine.evaluate`` of the plan, in engine cost units.
    figures: book-level figures from :func:`book_figures` (moves, pool, balance CVs).
    """

    name: str
    chosen_arc: I64
    parts: dict[str, int]
    seconds: float
    figures: dict[str, float | int] = field(default_factory=dict)

    @property
    def objective(self) -> int:
        """Total cost in engine units."""
        return int(self.parts["total"])

    @property
    def objective_points(self) -> float:
        """Total cost in cost points (as ``summary.json`` reports objectives)."""
        return self.objective / COST_SCALE

    def gap_to(self, bound_points: float | None) -> float | None:
        """Gap to a lower bound in points, as a fraction, with the engine's definition."""
        if bound_points is None:
            return None
        obj = self.objective_points
        return max(0.0, (obj - bound_points) / max(1.0, abs(obj)))

    def summary(self) -> str:
        f = self.figures
        return (f"{self.name}: objective {self.objective_points:,.3f} points, "
                f"{f.get('n_moves', '?')} moves, {f.get('n_pool', '?')} in pool, "
                f"value CV {f.get('value_cv', float('nan')):.4f}, {self.seconds:.2f} s")


# ---------------------------------------------------------------------------------------------
# The greedy rule, on the engine's arcs


def greedy_plan(problem: ArcProblem, priority: F64, keep_owner: bool) -> I64:
    """Place customers one by one in order of ``priority`` (highest first).

    Parameters
    ----------
    problem
        The engine problem (free customers only).
    priority
        Per problem customer; customers are taken highest first, ties by position.
    keep_owner
        Try today's owner arc (``problem.hint_arc``) first.

    Returns
    -------
    The chosen arc per customer, -1 = pool.

    Raises
    ------
    BaselineInfeasible
        A customer fits nowhere and cannot go to the pool.
    """
    p = problem
    n, n_r = p.n_customers, p.n_reps
    n_arcs = len(p.arc_cost)

    # arcs grouped by customer, cheapest first (ties by rep position, for a stable rule)
    order = np.lexsort((p.arc_rep, p.arc_cost, p.arc_customer))
    start = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(p.arc_customer, minlength=n), out=start[1:])

    owner = np.full(n, -1, dtype=np.int64) if p.owner is None else np.asarray(p.owner, dtype=np.int64)
    arc_owner = owner[p.arc_customer] if n_arcs else np.zeros(0, dtype=np.int64)
    arc_is_move = (arc_owner >= 0) & (p.arc_rep != arc_owner)
    pool_cost = np.full(n, -1, dtype=np.int64) if p.pool_cost is None else np.asarray(p.pool_cost)
    hint = np.full(n, -1, dtype=np.int64) if (p.hint_arc is None or not keep_owner) else np.asarray(p.hint_arc)
    count_cap = np.full(n_r, -1, dtype=np.int64) if p.count_capacity is None else np.asarray(p.count_capacity)

    # plain Python lists: a scalar loop over lists is several times faster than over numpy scalars
    order_l = order.tolist()
    start_l = start.tolist()
    a_rep = p.arc_rep.tolist()
    a_load = p.arc_load.tolist()
    a_move = arc_is_move.tolist()
    owner_l = owner.tolist()
    pool_ok = (pool_cost >= 0).tolist()
    hint_l = hint.tolist()
    load_left = np.where(p.load_capacity >= 0, p.load_capacity, NO_LIMIT).tolist()
    count_left = np.where(count_cap >= 0, count_cap, NO_LIMIT).tolist()
    budget_left = p.move_budget if p.move_budget >= 0 else NO_LIMIT
    per_rep = p.max_moves_per_rep if p.max_moves_per_rep >= 0 else NO_LIMIT
    moves_in = [0] * n_r
    moves_out = [0] * n_r

    def fits(a: int, i: int) -> bool:
        r = a_rep[a]
        if count_left[r] < 1 or load_left[r] < a_load[a]:
            return False
        if a_move[a]:  # a voluntary move: within the budget and the per-rep limits, in and out
            return budget_left >= 1 and moves_in[r] < per_rep and moves_out[owner_l[i]] < per_rep
        return True

    chosen = [-1] * n
    cust_order = np.lexsort((np.arange(n), -np.asarray(priority, dtype=np.float64))).tolist()
    for i in cust_order:
        pick = -1
        h = hint_l[i]
        if h >= 0 and fits(h, i):
            pick = h
        else:
            for a in order_l[start_l[i]:start_l[i + 1]]:
                if fits(a, i):
                    pick = a
                    break
        if pick >= 0:
            r = a_rep[pick]
            count_left[r] -= 1
            load_left[r] -= a_load[pick]
            if a_move[pick]:
                budget_left -= 1
                moves_in[r] += 1
                moves_out[owner_l[i]] += 1
            chosen[i] = pick
            continue
        if not pool_ok[i]:
            raise BaselineInfeasible(f"customer position {i} fits no candidate rep and the pool is not allowed")
        o = owner_l[i]
        if o >= 0:  # leaving a valid owner for the pool is a voluntary move
            if budget_left < 1 or moves_out[o] >= per_rep:
                raise BaselineInfeasible(
                    f"customer position {i} must leave its owner but the move budget is used up")
            budget_left -= 1
            moves_out[o] += 1
    return np.asarray(chosen, dtype=np.int64)


# ---------------------------------------------------------------------------------------------
# From the engine's arcs back to the book


def rep_of_customers(book: Book, chosen_arc: I64) -> I64:
    """Per row of ``book.customers`` the rep position in the plan (-1 = pool); locked keep their owner."""
    cust = book.customers
    rep = np.full(len(cust), -1, dtype=np.int64)
    locked = (cust["status"] == "locked").to_numpy()
    rep[locked] = cust["owner"].to_numpy(dtype=np.int64)[locked]
    has = chosen_arc >= 0
    rep[book.free[has]] = book.problem.arc_rep[chosen_arc[has]]
    return rep


def chosen_arcs_from_reps(book: Book, rep_of_row: I64) -> I64:
    """The inverse of :func:`rep_of_customers`: a rep per customer row back to problem arcs.

    Raises ``ValueError`` when some free customer's rep is not one of its candidate arcs.
    """
    p = book.problem
    key = p.arc_customer.astype(np.int64) * (p.n_reps + 1) + p.arc_rep
    sorter = np.argsort(key, kind="stable")
    want_rep = rep_of_row[book.free]
    has = want_rep >= 0
    want = np.arange(p.n_customers, dtype=np.int64)[has] * (p.n_reps + 1) + want_rep[has]
    pos = np.searchsorted(key, want, sorter=sorter)
    pos = np.minimum(pos, len(key) - 1)
    found = key[sorter[pos]] == want
    if not found.all():
        raise ValueError(f"{int((~found).sum())} customers are given a rep that is not a candidate arc")
    chosen = np.full(p.n_customers, -1, dtype=np.int64)
    chosen[np.flatnonzero(has)] = sorter[pos]
    return chosen


def _cv_of_ratio(amount: F64, target: F64) -> float:
    ratio = np.where(target > 0, amount / np.maximum(target, 1e-12), 0.0)
    return round(float(ratio.std() / ratio.mean()) if len(ratio) and ratio.mean() > 0 else 0.0, 4)


def book_figures(book: Book, rep_of_row: I64) -> dict[str, float | int]:
    """Moves, pool and balance of a plan over the whole book (locked customers included).

    ``value_cv`` / ``workload_cv``: coefficient of variation, across active reps, of the rep's
    value (workload) over its target, the definition of ``explain.balance_figures``.
    ``n_moves`` counts every customer whose owner changes (forced and from-pool included), as
    ``summary.json`` does; ``n_voluntary_moves`` only those leaving a valid owner.
    """
    cust, reps = book.customers, book.reps
    n_r = len(reps)
    owner = cust["owner"].to_numpy(dtype=np.int64)
    active = reps["active"].to_numpy(dtype=bool)
    value = cust["value"].to_numpy(dtype=np.float64)
    workload = cust["workload"].to_numpy(dtype=np.float64)
    has = rep_of_row >= 0
    val = np.bincount(rep_of_row[has], weights=value[has], minlength=n_r)
    wl = np.bincount(rep_of_row[has], weights=workload[has], minlength=n_r)
    moved = rep_of_row != owner
    forced = cust["forced_reason"].to_numpy(dtype=object) != ""
    voluntary = moved & (owner >= 0) & ~forced
    return {
        "n_moves": int(moved.sum()),
        "n_voluntary_moves": int(voluntary.sum()),
        "n_pool": int((~has).sum()),
        "value_cv": _cv_of_ratio(val[active], np.asarray(book.value_target)[active]),
        "workload_cv": _cv_of_ratio(wl[active], np.asarray(book.workload_target)[active]),
    }


def customer_priority(book: Book) -> F64:
    """Per problem customer its value: the order a rule engine works through the book."""
    return book.customers["value"].to_numpy(dtype=np.float64)[book.free]


def run_baseline(book: Book, variant: str = "greedy_keep") -> BaselinePlan:
    """Greedy plan on ``book``, checked against every hard rule and scored by the engine.

    Raises
    ------
    BaselineInfeasible
        The greedy rule cannot place every customer.
    AssertionError
        The plan breaks a hard rule (a bug in the baseline).
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
    t = time.perf_counter()
    chosen = greedy_plan(book.problem, customer_priority(book), keep_owner=(variant == "greedy_keep"))
    seconds = time.perf_counter() - t
    problems = check_plan(book.problem, chosen)
    assert problems == [], f"{variant} breaks hard rules: {'; '.join(problems)}"
    parts = evaluate(book.problem, chosen)
    return BaselinePlan(variant, chosen, parts, seconds, book_figures(book, rep_of_customers(book, chosen)))


__all__ = [
    "VARIANTS", "BaselineInfeasible", "BaselinePlan", "greedy_plan", "run_baseline", "book_figures",
    "rep_of_customers", "chosen_arcs_from_reps", "customer_priority",
]
