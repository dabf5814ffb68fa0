"""The exact search in a child process: its plans are real plans, its bound holds, and it stops when told."""

from __future__ import annotations

import itertools
import time

import numpy as np

from allocator.exact import ExactSearch


def _gap(seed: int, m: int, n: int, tightness: float, hard: bool = False) -> dict[str, np.ndarray]:
    """A dense GAP as arcs (arc = customer * m + rep) with capacities a share of the average load.

    ``hard``: type D, cost falling as load rises (the hard kind for branch-and-cut).
    """
    rng = np.random.default_rng(seed)
    load = rng.integers(1 if hard else 5, 100 if hard else 25, size=(n, m))
    cost = 111 - load + rng.integers(-10, 11, size=(n, m)) if hard else rng.integers(10, 50, size=(n, m))
    return {
        "arc_customer": np.repeat(np.arange(n), m),
        "arc_rep": np.tile(np.arange(m), n),
        "arc_cost": cost.reshape(-1),
        "arc_load": load.reshape(-1),
        "capacity": (tightness * load.sum() / m / m * np.ones(m)).astype(np.int64),
    }


def _brute_force(g: dict[str, np.ndarray], m: int, n: int) -> int | None:
    cost = g["arc_cost"].reshape(n, m)
    load = g["arc_load"].reshape(n, m)
    best = None
    for reps in itertools.product(range(m), repeat=n):
        used = np.zeros(m, dtype=np.int64)
        np.add.at(used, list(reps), load[np.arange(n), list(reps)])
        if (used <= g["capacity"]).all():
            total = int(cost[np.arange(n), list(reps)].sum())
            best = total if best is None else min(best, total)
    return best


def test_a_small_gap_is_solved_to_its_optimum_with_a_plan_checked_here() -> None:
    m, n = 3, 8
    g = _gap(1, m, n, 1.2)
    optimum = _brute_force(g, m, n)
    assert optimum is not None
    upper = float(g["arc_cost"].sum())  # above every plan: the child must find the optimum itself
    # the first run in a fresh checkout compiles the kernels (about 15 s), hence the generous limit
    search = ExactSearch(n, m, g["arc_customer"], g["arc_rep"], g["arc_cost"], g["arc_load"], g["capacity"], upper,
                      60.0)
    answer = search.answer(time.perf_counter() + 60.0)
    assert answer is not None and answer.chosen is not None
    chosen = answer.chosen
    assert sorted(g["arc_customer"][chosen].tolist()) == list(range(n))  # every customer exactly once
    used = np.bincount(g["arc_rep"][chosen], weights=g["arc_load"][chosen], minlength=m)
    assert (used <= g["capacity"]).all()
    assert int(g["arc_cost"][chosen].sum()) == optimum
    assert optimum - 1 < answer.bound <= optimum
    assert search.proved.is_set()


def test_stop_ends_the_child_at_once() -> None:
    m, n = 20, 200
    g = _gap(2, m, n, 0.8, hard=True)  # not solved in a second
    search = ExactSearch(n, m, g["arc_customer"], g["arc_rep"], g["arc_cost"], g["arc_load"], g["capacity"],
                      float(g["arc_cost"].sum()), 60.0)
    time.sleep(1.0)
    t = time.perf_counter()
    search.stop()
    assert time.perf_counter() - t < 2.0
    assert search.done.is_set() and not search.proved.is_set()
    assert all(proc.poll() is not None for proc in search._procs)  # no child left behind


def test_given_the_optimum_as_upper_it_proves_it_and_brings_no_plan() -> None:
    m, n = 3, 8
    g = _gap(4, m, n, 1.2)
    optimum = _brute_force(g, m, n)
    assert optimum is not None
    search = ExactSearch(n, m, g["arc_customer"], g["arc_rep"], g["arc_cost"], g["arc_load"], g["capacity"],
                         float(optimum), 60.0)
    answer = search.answer(time.perf_counter() + 60.0)
    assert answer is not None
    assert answer.chosen is None  # only plans better than the caller's count
    assert answer.bound == optimum


def test_parts_in_several_children_prove_one_searchs_optimum_and_stop_together() -> None:
    from allocator import knapbb

    m, n = 5, 30
    g = _gap(5, m, n, 0.8, hard=True)  # type D: a real tree, split between the children
    cost = np.zeros((m, n))
    load = np.zeros((m, n), dtype=np.int64)
    cost[g["arc_rep"], g["arc_customer"]] = g["arc_cost"]
    load[g["arc_rep"], g["arc_customer"]] = g["arc_load"]
    plan, optimum = knapbb.solve(cost, load, np.ones((m, n), dtype=bool), g["capacity"], 1e9, 60.0)
    assert plan is not None and int(cost[plan, np.arange(n)].sum()) == optimum  # proved by one search
    search = ExactSearch(n, m, g["arc_customer"], g["arc_rep"], g["arc_cost"], g["arc_load"], g["capacity"],
                         float(g["arc_cost"].sum()), 60.0, parts=2)
    answer = search.answer(time.perf_counter() + 60.0)
    assert answer is not None and answer.chosen is not None
    assert sorted(g["arc_customer"][answer.chosen].tolist()) == list(range(n))
    assert (np.bincount(g["arc_rep"][answer.chosen], weights=g["arc_load"][answer.chosen], minlength=m)
            <= g["capacity"]).all()
    assert int(g["arc_cost"][answer.chosen].sum()) == optimum and answer.bound == optimum
    assert search.proved.is_set() and search.done.is_set()
    assert all(proc.poll() is not None for proc in search._procs)
