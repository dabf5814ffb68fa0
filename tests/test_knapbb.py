"""The knapsack branch-and-bound against brute force: its optimum is the optimum, its bound a bound."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from allocator import knapbb


def _instance(seed: int, m: int, n: int, density: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Reps x customers cost and load (type D: cost falls as load rises), arcs that exist, capacities."""
    rng = np.random.default_rng(seed)
    load = rng.integers(1, 30, size=(m, n))
    cost = 40 - load + rng.integers(-5, 6, size=(m, n))
    exists = rng.random((m, n)) < density
    exists[rng.integers(0, m, size=n), np.arange(n)] = True  # every customer has an arc
    capacity = (0.8 * load.sum() / m / m * np.ones(m) + rng.integers(0, 10, size=m)).astype(np.int64)
    return cost, load, exists, capacity


def _brute_force(cost: np.ndarray, load: np.ndarray, exists: np.ndarray, capacity: np.ndarray) -> int | None:
    """The optimum over every assignment of customers to reps (None if none fits)."""
    m, n = cost.shape
    reps = np.array(list(itertools.product(range(m), repeat=n)))  # one assignment per row
    cols = np.arange(n)
    ok = exists[reps, cols].all(axis=1)
    for i in range(m):
        ok &= np.where(reps == i, load[i], 0).sum(axis=1) <= capacity[i]
    return int(cost[reps, cols].sum(axis=1)[ok].min()) if ok.any() else None


def _check_plan(plan: np.ndarray, cost: np.ndarray, load: np.ndarray, exists: np.ndarray,
                capacity: np.ndarray) -> int:
    m, n = cost.shape
    assert plan.shape == (n,) and ((plan >= 0) & (plan < m)).all()  # every customer exactly once
    assert exists[plan, np.arange(n)].all()  # on arcs there are
    assert (np.bincount(plan, weights=load[plan, np.arange(n)], minlength=m) <= capacity).all()
    return int(cost[plan, np.arange(n)].sum())


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("descent_share", [0.0, knapbb.DESCENT_SHARE, 1.0])  # 1.0: the descent alone proves it
def test_finds_and_proves_the_brute_force_optimum(seed: int, descent_share: float) -> None:
    m, n = 2 + seed % 3, 6 + seed % 3
    cost, load, exists, capacity = _instance(seed, m, n, 0.5 + 0.1 * (seed % 5))
    optimum = _brute_force(cost, load, exists, capacity)
    plan, bound = knapbb.solve(cost, load, exists, capacity, float(cost.sum() + 1), 60.0,
                               descent_share=descent_share)
    if optimum is None:
        assert plan is None
        return
    assert plan is not None
    assert _check_plan(plan, cost, load, exists, capacity) == optimum
    assert bound == optimum


@pytest.mark.parametrize("seed", range(4))
def test_looks_only_below_the_callers_plan_and_proves_it(seed: int) -> None:
    m, n = 3, 7
    cost, load, exists, capacity = _instance(100 + seed, m, n, 1.0)
    optimum = _brute_force(cost, load, exists, capacity)
    assert optimum is not None
    plan, bound = knapbb.solve(cost, load, exists, capacity, float(optimum), 60.0)
    assert plan is None and bound == optimum
    plan, bound = knapbb.solve(cost, load, exists, capacity, float(optimum + 1), 60.0)
    assert plan is not None and _check_plan(plan, cost, load, exists, capacity) == optimum and bound == optimum


def test_out_of_time_it_returns_a_valid_bound_and_any_plan_it_has() -> None:
    m, n = 20, 100
    rng = np.random.default_rng(7)
    load = rng.integers(1, 100, size=(m, n))
    cost = 111 - load + rng.integers(-10, 11, size=(m, n))  # type D, as gapd-5: not proved in a second
    capacity = (0.8 * load.sum() / m / m * np.ones(m)).astype(np.int64)
    exists = np.ones((m, n), dtype=bool)
    plan, bound = knapbb.solve(cost, load, exists, capacity, float(cost.max() * n), 1.0)
    assert plan is not None  # the repaired relaxed plans give one at once
    total = _check_plan(plan, cost, load, exists, capacity)
    # the bound is at most the plan's cost and at least the LP bound's (every customer's cheapest arc)
    assert cost.min(axis=0).sum() <= bound <= total


def _best_profit(profit: np.ndarray, weight: np.ndarray, cap: int, must: int = -1, never: int = -1) -> float:
    """The best knapsack by enumeration, optionally with one item forced in or out."""
    best = -np.inf
    for take in itertools.product((0, 1), repeat=len(profit)):
        t = np.array(take, dtype=bool)
        if (must >= 0 and not t[must]) or (never >= 0 and t[never]) or weight[t].sum() > cap:
            continue
        best = max(best, float(profit[t].sum()))
    return best


@pytest.mark.parametrize("seed", range(6))
def test_forced_arc_penalties_match_enumeration(seed: int) -> None:
    """What forcing an arc in (or, if the relaxation takes it, out) costs each rep's knapsack."""
    m, n = 3, 9
    cost, load, exists, capacity = _instance(200 + seed, m, n, 0.8)
    rng = np.random.default_rng(seed)
    u = cost.min(axis=0) + rng.uniform(0, 12, size=n)  # prices that make several arcs worth taking
    assign = np.full(n, -1, dtype=np.int64)
    assign[0] = 0  # a placed customer is in no knapsack, and its load is off its rep's capacity
    cap = capacity.copy()
    cap[0] -= load[0, 0]
    c, a, allowed = cost.astype(np.float64), load.astype(np.int64), exists.astype(np.int8)
    x = np.zeros((m, n), dtype=np.int8)
    knapbb._relax(c, a, allowed, assign, cap, u, x)
    force_in, force_out = np.zeros((m, n)), np.zeros((m, n))
    knapbb._penalties(c, a, allowed, assign, cap, u, x, force_in, force_out)
    for i in range(m):
        open_ = [j for j in range(n) if assign[j] < 0 and allowed[i, j]]
        profit, weight = np.array([u[j] - c[i, j] for j in open_]), np.array([a[i, j] for j in open_])
        best = _best_profit(profit, weight, int(cap[i]))
        for t, j in enumerate(open_):
            if x[i, j]:
                assert force_out[i, j] == pytest.approx(best - _best_profit(profit, weight, int(cap[i]), never=t))
            elif weight[t] > cap[i]:
                assert force_in[i, j] >= 1e300
            else:
                assert force_in[i, j] == pytest.approx(best - _best_profit(profit, weight, int(cap[i]), must=t))


@pytest.mark.parametrize("seed", range(8))
def test_improve_leaves_a_fitting_plan_no_shift_or_swap_can_better(seed: int) -> None:
    m, n = 4, 40
    cost, load, exists, capacity = _instance(300 + seed, m, n, 0.7)
    capacity = capacity * 3  # room for a random first plan
    rng = np.random.default_rng(seed)
    plan, used = np.full(n, -1, dtype=np.int64), np.zeros(m, dtype=np.int64)
    for j in range(n):  # a random plan that fits
        for i in rng.permutation(m):
            if exists[i, j] and used[i] + load[i, j] <= capacity[i]:
                plan[j], used[i] = i, used[i] + load[i, j]
                break
    assert (plan >= 0).all()
    capacity = used + rng.integers(0, 8, size=m)  # now tight, so that capacity stops some moves
    start = int(cost[plan, np.arange(n)].sum())
    c, a, ex = cost.astype(np.float64), load.astype(np.int64), exists.astype(np.int8)
    total = knapbb._improve(c, a, ex, capacity, plan, used)
    assert total == _check_plan(plan, cost, load, exists, capacity) <= start
    assert (used == np.bincount(plan, weights=load[plan, np.arange(n)], minlength=m)).all()
    for j in range(n):  # no shift gains
        i = plan[j]
        for k in range(m):
            assert not (exists[k, j] and cost[k, j] < cost[i, j] and used[k] + load[k, j] <= capacity[k])
    for j1, j2 in itertools.combinations(range(n), 2):  # nor any swap
        i1, i2 = plan[j1], plan[j2]
        if i1 == i2 or not (exists[i2, j1] and exists[i1, j2]):
            continue
        fits = (used[i1] - load[i1, j1] + load[i1, j2] <= capacity[i1]
                and used[i2] - load[i2, j2] + load[i2, j1] <= capacity[i2])
        assert not (fits and cost[i2, j1] + cost[i1, j2] < cost[i1, j1] + cost[i2, j2])


@pytest.mark.parametrize("seed", [0, 1, 5, 21, 25, 30])  # 1, 5, 21 and 25 branch below the split
@pytest.mark.parametrize("parts", [2, 3])
@pytest.mark.parametrize("frontier", [0, 2, 5])  # 0: split at a depth
def test_parts_side_by_side_cover_the_tree(seed: int, parts: int, frontier: int) -> None:
    """Searches of every part of the tree: the best of their plans is optimal and the least of their bounds is it.

    The ascent alone, so that a descent's plans cannot hide a part that skipped nodes.
    """
    m, n = 3, 10
    cost, load, exists, capacity = _instance(300 + seed, m, n, 0.9)
    optimum = _brute_force(cost, load, exists, capacity)
    answers = [knapbb.solve(cost, load, exists, capacity, float(cost.sum() + 1), 60.0, part, parts,
                            split_depth=1 + seed % 3, descent_share=0.0, frontier=frontier)
               for part in range(parts)]
    if optimum is None:
        assert all(plan is None for plan, _ in answers)
        return
    costs = [_check_plan(plan, cost, load, exists, capacity) for plan, _ in answers if plan is not None]
    assert min(costs) == optimum
    assert min(bound for _, bound in answers) == optimum


def _type_d(seed: int, m: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A random type D instance (cost falls as load rises, capacity 80 % of the average load): a real tree."""
    rng = np.random.default_rng(seed)
    load = rng.integers(1, 100, size=(m, n))
    cost = 111 - load + rng.integers(-10, 11, size=(m, n))
    capacity = (0.8 * load.sum() / m / m * np.ones(m)).astype(np.int64)
    return cost, load, np.ones((m, n), dtype=bool), capacity


@pytest.mark.parametrize("seed", [5, 9, 13, 24])  # where parts that skipped the same nodes missed the optimum
@pytest.mark.parametrize("frontier", [knapbb.SPLIT_FRONTIER, 8])
def test_parts_side_by_side_agree_with_one_search(seed: int, frontier: int) -> None:
    cost, load, exists, capacity = _type_d(seed, 5, 30)
    plan, optimum = knapbb.solve(cost, load, exists, capacity, 1e9, 60.0)
    assert plan is not None and _check_plan(plan, cost, load, exists, capacity) == optimum  # proved by one search
    for parts in (2, 3):
        answers = [knapbb.solve(cost, load, exists, capacity, 1e9, 60.0, part, parts, frontier=frontier)
                   for part in range(parts)]
        assert min(_check_plan(p, cost, load, exists, capacity) for p, _ in answers if p is not None) == optimum
        assert min(bound for _, bound in answers) == optimum


@pytest.mark.parametrize("parts", [2, 3])
@pytest.mark.parametrize("head", [0, 1, 7])
def test_deal_gives_each_part_its_cards_of_the_frontier_lowest_bound_on_top(parts: int, head: int) -> None:
    """Every queued node goes to exactly one part, whole, and each part's share ends up ordered by bound."""
    m, n, size, queued = 2, 3, 40, 17
    rng = np.random.default_rng(head)
    cost = np.ones((m, n))
    allowed_s, assign_s, cap_s, fixed_s, prices_s, depth_s, bound_s, _ = knapbb.new_tree(
        cost, np.zeros(n), np.full(m, 5, dtype=np.int64), np.ones((m, n), dtype=np.int8), size - m * n - 2)
    ids = np.arange(head, head + queued)
    bounds = rng.integers(0, 5, size=queued).astype(float)  # ties too
    allowed_s[ids] = (ids % 2)[:, None, None]
    assign_s[ids], cap_s[ids], prices_s[ids] = ids[:, None], ids[:, None], ids[:, None]
    fixed_s[ids], depth_s[ids], bound_s[ids] = ids, ids, bounds
    seen: list[int] = []
    for part in range(parts):
        stacks = [arr.copy() for arr in (allowed_s, assign_s, cap_s, fixed_s, prices_s, depth_s, bound_s)]
        top = np.array([head + queued, 0, head, 5], dtype=np.int64)
        knapbb._deal(*stacks, top, part, parts)
        k = int(top[0])
        assert top[2] == 0 and top[3] == -1
        got = stacks[3][:k].astype(int)  # each node's id, from its fixed cost
        for arr in (stacks[1], stacks[2], stacks[4], stacks[5]):  # every field moved with it
            assert (np.asarray(arr[:k]).reshape(k, -1) == got[:, None]).all()
        assert (stacks[0][:k] == (got % 2)[:, None, None]).all()
        assert list(stacks[6][:k]) == list(bounds[got - head])
        assert all(np.diff(stacks[6][:k]) <= 0)  # the lowest bound on top, popped first
        assert k in (queued // parts, queued // parts + 1)
        seen += list(got)
    assert sorted(seen) == list(ids)


@pytest.mark.parametrize("seed", [0, 2, 8])  # where the parts' descents, taken for proofs, missed the optimum
def test_parts_descents_prove_nothing_the_ascents_do(seed: int) -> None:
    """Each part's descent has its own targets, so the parts' descents need not cover the tree together."""
    cost, load, exists, capacity = _type_d(seed, 5, 30)
    plan, optimum = knapbb.solve(cost, load, exists, capacity, 1e9, 60.0, descent_share=0.0)
    assert plan is not None and _check_plan(plan, cost, load, exists, capacity) == optimum
    for parts in (2, 3):
        answers = [knapbb.solve(cost, load, exists, capacity, 1e9, 60.0, part, parts, descent_share=1.0)
                   for part in range(parts)]
        assert min(_check_plan(p, cost, load, exists, capacity) for p, _ in answers if p is not None) == optimum
        assert min(bound for _, bound in answers) == optimum
