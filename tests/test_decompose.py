"""Independent parts of an arc problem are found and solved separately (allocator.decompose)."""

from __future__ import annotations

import numpy as np
import pytest

from allocator.bench import instance_to_arcs, read_gap_file, read_values
from allocator.decompose import find_parts, solve_by_parts
from allocator.engine import ArcProblem, SolveOptions, check_plan, evaluate
from conftest import gap_bench_dir


BENCH = gap_bench_dir()
OPTS = SolveOptions(time_limit_seconds=10, deterministic=True, deterministic_time=5)


def _side_by_side(parts: list[dict], n_customers: list[int], n_reps: list[int], **extra) -> ArcProblem:
    """Two GAPs in one problem, sharing no arc: customers and reps of the second are shifted."""
    c_off = np.cumsum([0, *n_customers[:-1]])
    r_off = np.cumsum([0, *n_reps[:-1]])
    return ArcProblem(
        n_customers=sum(n_customers),
        n_reps=sum(n_reps),
        arc_customer=np.concatenate([a["arc_customer"] + o for a, o in zip(parts, c_off)]),
        arc_rep=np.concatenate([a["arc_rep"] + o for a, o in zip(parts, r_off)]),
        arc_cost=np.concatenate([a["arc_cost"] for a in parts]),
        arc_load=np.concatenate([a["arc_load"] for a in parts]),
        load_capacity=np.concatenate([a["load_capacity"] for a in parts]),
        **extra,
    )


def test_find_parts_labels_disconnected_groups() -> None:
    """Customers linked only through shared reps form one part; an unlinked group is another."""
    p = ArcProblem(
        n_customers=4, n_reps=3,
        arc_customer=np.array([0, 1, 1, 2, 3]), arc_rep=np.array([0, 0, 1, 2, 2]),
        arc_cost=np.ones(5, np.int64), arc_load=np.ones(5, np.int64), load_capacity=np.full(3, 5),
    )
    n, c_label, r_label = find_parts(p)
    assert n == 2
    assert c_label[0] == c_label[1] == r_label[0] == r_label[1]
    assert c_label[2] == c_label[3] == r_label[2] != c_label[0]


@pytest.mark.skipif(BENCH is None, reason="GAP benchmark files not found")
def test_two_independent_gaps_solve_to_the_sum_of_their_optima() -> None:
    """gap1-1 beside gap1-2: solved in 2 parts, the plan is feasible and costs 261 + 269."""
    values = read_values(BENCH / "VALUES.tsv")
    a, b = read_gap_file(BENCH / "gap1.txt")[:2]
    p = _side_by_side([instance_to_arcs(a), instance_to_arcs(b)], [a.n, b.n], [a.m, b.m])
    result = solve_by_parts(p, OPTS)
    assert result.stages["parts"] == 2
    assert check_plan(p, result.chosen_arc) == []
    assert result.objective == evaluate(p, result.chosen_arc)["total"] == values["gap1-1"] + values["gap1-2"]
    assert result.best_bound == result.objective and result.status == "OPTIMAL"


@pytest.mark.skipif(BENCH is None, reason="GAP benchmark files not found")
def test_a_global_move_budget_keeps_the_problem_whole() -> None:
    """A move budget couples the parts, so the problem is solved at once and the budget holds."""
    a, b = read_gap_file(BENCH / "gap1.txt")[:2]
    arcs = [instance_to_arcs(a), instance_to_arcs(b)]
    owner = np.zeros(a.n + b.n, dtype=np.int64)
    owner[a.n:] = a.m  # every customer of the second part starts with its first rep
    p = _side_by_side(arcs, [a.n, b.n], [a.m, b.m], owner=owner, move_budget=40,
                      pool_cost=np.full(a.n + b.n, 10_000, dtype=np.int64))
    result = solve_by_parts(p, OPTS)
    assert result.stages["parts"] == 1
    assert check_plan(p, result.chosen_arc) == []
    moved = (result.chosen_arc < 0) | (p.arc_rep[np.maximum(result.chosen_arc, 0)] != owner)
    assert moved.sum() <= 40
