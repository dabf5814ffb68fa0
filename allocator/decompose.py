"""Independent parts of an arc problem, solved separately.

Customers and reps that share no candidate arc, directly or through others (e.g. regions under
``region_mode = "hard"``), form independent parts: balance bands and capacities are per rep, so
nothing couples them except a global move budget. Each part is solved on its own with a share
of the time, and the bounds add up.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .engine import ArcProblem, BalanceTerm, EngineResult, SolveOptions, evaluate, solve

MIN_SHARE_SECONDS = 0.2  # no part gets less wall time than this


def find_parts(p: ArcProblem) -> tuple[int, np.ndarray, np.ndarray]:
    """Label each customer and rep with its connected part of the arc graph.

    Returns (number of parts, label per customer, label per rep). Reps with no arcs and customers
    with no arcs get labels of their own.
    """
    n = p.n_customers + p.n_reps
    graph = coo_matrix(
        (np.ones(len(p.arc_customer), dtype=np.int8), (p.arc_customer, p.n_customers + p.arc_rep)), shape=(n, n)
    )
    n_parts, labels = connected_components(graph, directed=False)
    return int(n_parts), labels[: p.n_customers], labels[p.n_customers :]


def _sub_problem(p: ArcProblem, customers: np.ndarray, reps: np.ndarray, arcs: np.ndarray) -> ArcProblem:
    """The part of ``p`` on the given customers, reps and arcs, re-indexed from 0."""
    cpos = np.full(p.n_customers, -1, dtype=np.int64)
    cpos[customers] = np.arange(len(customers))
    rpos = np.full(p.n_reps, -1, dtype=np.int64)
    rpos[reps] = np.arange(len(reps))
    apos = np.full(len(p.arc_customer), -1, dtype=np.int64)
    apos[arcs] = np.arange(len(arcs))

    def per_customer(x):
        return None if x is None else x[customers]

    def per_rep(x):
        return None if x is None else x[reps]

    hint = None
    if p.hint_arc is not None:
        h = p.hint_arc[customers]
        hint = np.where(h >= 0, apos[np.maximum(h, 0)], -1)
    owner = None
    if p.owner is not None:
        o = p.owner[customers]
        owner = np.where(o >= 0, rpos[np.maximum(o, 0)], -1)
    balance = tuple(
        BalanceTerm(t.name, t.arc_amount[arcs], t.fixed_amount[reps], t.lower[reps], t.upper[reps], t.weight[reps])
        for t in p.balance
    )
    return ArcProblem(
        n_customers=len(customers),
        n_reps=len(reps),
        arc_customer=cpos[p.arc_customer[arcs]],
        arc_rep=rpos[p.arc_rep[arcs]],
        arc_cost=p.arc_cost[arcs],
        arc_load=p.arc_load[arcs],
        load_capacity=p.load_capacity[reps],
        count_capacity=per_rep(p.count_capacity),
        pool_cost=per_customer(p.pool_cost),
        hint_arc=hint,
        owner=owner,
        move_budget=p.move_budget,
        max_moves_per_rep=p.max_moves_per_rep,
        balance=balance,
    )


def solve_by_parts(p: ArcProblem, opts: SolveOptions) -> EngineResult:
    """Solve each independent part separately; one part (or a global move budget) → one solve."""
    n_parts, c_label, r_label = find_parts(p)
    # parts made only of reps carry no decision; parts of lone customers have only the pool
    rep_parts = np.unique(r_label)
    cust_parts = np.unique(c_label)
    real = np.intersect1d(rep_parts, cust_parts)
    if p.move_budget >= 0 or len(real) <= 1:
        result = solve(p, opts)
        return dataclasses.replace(result, stages={**result.stages, "parts": 1.0})

    arc_label = c_label[p.arc_customer]
    sizes = np.array([int((arc_label == k).sum()) for k in real], dtype=np.float64)
    share = sizes / sizes.sum()
    chosen = np.full(p.n_customers, -1, dtype=np.int64)
    bound = 0.0
    statuses = []
    methods = set()
    seconds = 0.0
    stages: dict[str, float] = {"parts": float(len(real))}
    remaining = opts.time_limit_seconds
    order = np.argsort(-sizes, kind="stable")
    for rank, k in enumerate(order):
        label = real[k]
        customers = np.flatnonzero(c_label == label)
        reps = np.flatnonzero(r_label == label)
        arcs = np.flatnonzero(arc_label == label)
        left_share = share[order[rank:]].sum()
        wall = max(MIN_SHARE_SECONDS, remaining * share[k] / max(left_share, 1e-12))
        sub_opts = dataclasses.replace(
            opts,
            time_limit_seconds=wall,
            deterministic_time=max(0.05, opts.deterministic_time * share[k]),
        )
        sub = _sub_problem(p, customers, reps, arcs)
        res = solve(sub, sub_opts)
        remaining = max(0.0, remaining - res.solve_seconds)
        seconds += res.solve_seconds
        if res.objective is None:
            return EngineResult(res.status, None, math.inf if res.status == "INFEASIBLE" else -math.inf,
                                np.full(p.n_customers, -1, dtype=np.int64), seconds, res.method, stages)
        has = res.chosen_arc >= 0
        chosen[customers[has]] = arcs[res.chosen_arc[has]]
        bound += res.best_bound
        statuses.append(res.status)
        methods.add(res.method)
        for name, v in res.stages.items():
            stages[name] = stages.get(name, 0.0) + v

    # customers in no real part can only stay in the pool; their cost is fixed
    lone = ~np.isin(c_label, real)
    if lone.any() and p.pool_cost is not None:
        bound += float(np.clip(p.pool_cost[lone], 0, None).sum())
    objective = evaluate(p, chosen)["total"]
    status = "OPTIMAL" if all(s == "OPTIMAL" for s in statuses) else "FEASIBLE"
    return EngineResult(status, objective, min(float(objective), bound), chosen, seconds,
                        "+".join(sorted(methods)) + f" in {len(real)} parts", stages)
