"""Tests for allocator.engine on tiny hand-built arc problems, checked against brute force."""

from __future__ import annotations

import dataclasses
import itertools
import math
import time

import numpy as np
import pytest

from allocator.engine import (
    ArcProblem,
    BalanceTerm,
    SolveOptions,
    _index,
    _knapsacks,
    balance_amounts,
    check_plan,
    evaluate,
    knapsack_bound,
    knapsack_bound_applies,
    lagrangian_bound,
    solve,
)

FAST = SolveOptions(time_limit_seconds=2.0, workers=2, seed=0, deterministic=True, deterministic_time=2.0)


def _i64(values) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


def _dense(cost: list[list[int]], load: list[list[int]], capacity: list[int], **extra) -> ArcProblem:
    """Every (customer, rep) pair is an arc; cost[r][i] and load[r][i] as in OR-Library files."""
    m, n = len(cost), len(cost[0])
    cust, rep = np.meshgrid(np.arange(n), np.arange(m))
    return ArcProblem(
        n_customers=n,
        n_reps=m,
        arc_customer=_i64(cust.ravel()),
        arc_rep=_i64(rep.ravel()),
        arc_cost=_i64(np.asarray(cost).ravel()),
        arc_load=_i64(np.asarray(load).ravel()),
        load_capacity=_i64(capacity),
        **extra,
    )


def _random_problem(seed: int, *, pool: bool = False, balance: bool = False, moves: bool = False) -> ArcProblem:
    """A seeded 3-rep, 6-customer problem, small enough to enumerate every plan."""
    rng = np.random.default_rng(seed)
    m, n = 3, 6
    cost = rng.integers(1, 30, size=(m, n)).tolist()
    load = rng.integers(1, 10, size=(m, n)).tolist()
    capacity = [int(x) for x in rng.integers(8, 16, size=m)]
    extra: dict = {}
    if pool:
        extra["pool_cost"] = _i64(rng.integers(20, 60, size=n))
    if balance:
        amount = _i64(rng.integers(1, 5, size=m * n))
        extra["balance"] = (BalanceTerm("value", amount, _i64([0, 0, 0]), _i64([3, 3, 3]), _i64([6, 6, 6]),
                                        _i64([4, 4, 4])),)
    if moves:
        extra["owner"] = _i64(rng.integers(0, m, size=n))
        extra["move_budget"] = 2
    return _dense(cost, load, capacity, **extra)


def _brute_force(p: ArcProblem) -> tuple[int | None, list[np.ndarray]]:
    """Optimum over every plan that check_plan accepts, and all plans reaching it."""
    options = []
    for i in range(p.n_customers):
        arcs = [int(a) for a in np.flatnonzero(p.arc_customer == i)]
        if p.pool_cost is not None and p.pool_cost[i] >= 0:
            arcs.append(-1)
        options.append(arcs)
    best, plans = None, []
    for combo in itertools.product(*options):
        plan = _i64(combo)
        if check_plan(p, plan):
            continue
        total = evaluate(p, plan)["total"]
        if best is None or total < best:
            best, plans = total, [plan]
        elif total == best:
            plans.append(plan)
    return best, plans


CASES = [
    ("plain", {}),
    ("pool", {"pool": True}),
    ("balance", {"balance": True}),
    ("moves", {"moves": True}),
    ("all", {"pool": True, "balance": True, "moves": True}),
]


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("kind,flags", CASES, ids=[c[0] for c in CASES])
def test_lagrangian_bound_below_true_optimum(seed: int, kind: str, flags: dict) -> None:
    """The Lagrangian dual value never exceeds the brute-force optimum."""
    p = _random_problem(seed, **flags)
    optimum, _ = _brute_force(p)
    if optimum is None:
        pytest.skip("infeasible draw")
    duals = lagrangian_bound(p, upper=optimum, iterations=300)
    assert duals.bound <= optimum + 1e-6


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("kind,flags", CASES, ids=[c[0] for c in CASES])
def test_solve_matches_brute_force(seed: int, kind: str, flags: dict) -> None:
    """solve() proves the brute-force optimum, with a feasible plan and a valid bound."""
    p = _random_problem(seed, **flags)
    optimum, _ = _brute_force(p)
    res = solve(p, FAST)
    if optimum is None:
        assert res.objective is None
        return
    assert res.status == "OPTIMAL"
    assert res.objective == optimum == evaluate(p, res.chosen_arc)["total"]
    assert not check_plan(p, res.chosen_arc)
    assert res.best_bound <= optimum


# --- check_plan: one case per rule ------------------------------------------------------------------


def _two_by_two(**extra) -> ArcProblem:
    """2 reps, 2 customers; loads 5, capacity 6: one customer per rep fits, two do not."""
    return _dense([[1, 2], [3, 4]], [[5, 5], [5, 5]], [6, 6], **extra)


# arcs: 0 = (c0, r0), 1 = (c1, r0), 2 = (c0, r1), 3 = (c1, r1)
VIOLATIONS = [
    ("wrong length", {}, [0], "plan has 1 entries for 2 customers"),
    ("no such arc", {}, [0, 9], "plan names an arc that does not exist"),
    ("arc of another customer", {}, [1, 3], "1 customers use an arc of another customer"),
    ("pool not allowed", {}, [0, -1], "1 customers left in the pool where the pool is not allowed"),
    ("workload", {}, [0, 1], "1 reps over workload capacity"),
    ("accounts", {"count_capacity": _i64([0, 2])}, [0, 3], "1 reps over account capacity"),
    ("move budget", {"owner": _i64([0, 0]), "move_budget": 0}, [0, 3], "1 voluntary moves exceed the budget of 0"),
    ("moves per rep", {"owner": _i64([0, 0]), "max_moves_per_rep": 0}, [0, 3], "2 reps exceed 0 moves in or out"),
]


@pytest.mark.parametrize("name,extra,plan,message", VIOLATIONS, ids=[v[0] for v in VIOLATIONS])
def test_check_plan_catches_each_violation(name: str, extra: dict, plan: list[int], message: str) -> None:
    """Each broken hard rule is reported in words."""
    p = _two_by_two(**extra)
    assert message in check_plan(p, _i64(plan))


def test_check_plan_accepts_feasible_plan() -> None:
    """A plan within every limit has no problems."""
    p = _two_by_two(count_capacity=_i64([1, 1]), owner=_i64([0, 1]), move_budget=0, max_moves_per_rep=0)
    assert check_plan(p, _i64([0, 3])) == []


# --- evaluate and balance ---------------------------------------------------------------------------


def test_evaluate_reports_each_part() -> None:
    """Arc costs, pool costs and balance penalties add up to the total, part by part."""
    amount = _i64([2, 3, 4, 5])  # per arc, same order as the arcs
    term = BalanceTerm("value", amount, _i64([1, 0]), _i64([0, 4]), _i64([2, 9]), _i64([10, 7]))
    p = _two_by_two(pool_cost=_i64([50, 60]), balance=(term,))
    plan = _i64([0, -1])  # c0 on r0 (amount 2), c1 in the pool
    assert [a.tolist() for a in balance_amounts(p, plan)] == [[3, 0]]
    # r0 carries 1 + 2 = 3 > upper 2: 1 * 10; r1 carries 0 < lower 4: 4 * 7
    assert evaluate(p, plan) == {"arcs": 1, "pool": 60, "value": 10 + 28, "total": 1 + 60 + 38}


def test_balance_term_moves_a_customer_when_the_band_pays() -> None:
    """A heavy enough band weight sends a customer to a dearer rep; a zero weight does not."""
    amount = _i64([5, 5, 5, 5])
    cost = [[1, 1], [2, 2]]
    load = [[1, 1], [1, 1]]
    cheap = _dense(cost, load, [9, 9])
    for weight, expected_reps in ((0, [0, 0]), (10, [0, 1])):
        term = BalanceTerm("value", amount, _i64([0, 0]), _i64([0, 0]), _i64([5, 5]), _i64([weight, weight]))
        p = dataclasses.replace(cheap, balance=(term,))
        res = solve(p, FAST)
        assert sorted(p.arc_rep[res.chosen_arc].tolist()) == expected_reps


# --- pool, budget, hint -----------------------------------------------------------------------------


def test_pool_taken_when_cheaper_and_infeasible_without_arcs() -> None:
    """A customer goes to the pool when that is cheapest; one with no arc and no pool is infeasible."""
    p = _dense([[100, 1]], [[1, 1]], [5], pool_cost=_i64([10, -1]))
    res = solve(p, FAST)
    assert res.chosen_arc.tolist() == [-1, 1] and res.objective == 11
    stranded = ArcProblem(2, 1, _i64([0]), _i64([0]), _i64([1]), _i64([1]), _i64([5]))
    assert solve(stranded, FAST).status == "INFEASIBLE"


def test_move_budget_limits_voluntary_moves() -> None:
    """With a budget of one move, only the most valuable move is made."""
    # both customers owned by rep 0, both much cheaper on rep 1
    p = _dense([[10, 10], [1, 5]], [[1, 1], [1, 1]], [5, 5], owner=_i64([0, 0]), hint_arc=_i64([0, 1]))
    free = solve(p, FAST)
    assert free.objective == 6
    capped = solve(dataclasses.replace(p, move_budget=1), FAST)
    assert capped.objective == 1 + 10
    assert capped.chosen_arc.tolist() == [2, 1]


def test_hint_returned_when_nothing_strictly_better() -> None:
    """An optimal hint is a fixed point, even when another plan ties with it."""
    # both reps cost the same: any plan is optimal; the hint puts both customers on rep 1
    p = _dense([[3, 3], [3, 3]], [[1, 1], [1, 1]], [5, 5], hint_arc=_i64([2, 3]), owner=_i64([1, 1]))
    res = solve(p, FAST)
    assert res.chosen_arc.tolist() == [2, 3]
    assert res.objective == 6


def test_solution_is_strictly_better_than_a_poor_hint() -> None:
    """A hint that can be improved is replaced by a strictly cheaper plan."""
    p = _dense([[3, 3], [1, 1]], [[1, 1], [1, 1]], [5, 5], hint_arc=_i64([0, 1]))
    res = solve(p, FAST)
    assert res.objective == 2 and res.chosen_arc.tolist() == [2, 3]


# --- tight instances, determinism -------------------------------------------------------------------


def _tight(seed: int, m: int = 6, n: int = 60) -> ArcProblem:
    """A type-D-like instance: cost falls as load rises, capacity 80 % of the average load."""
    rng = np.random.default_rng(seed)
    load = rng.integers(1, 100, size=(m, n))
    cost = 111 - load + rng.integers(-10, 11, size=(m, n))
    capacity = (0.8 * load.sum(axis=1) / m).astype(np.int64)
    return _dense(cost.tolist(), load.tolist(), capacity.tolist())


@pytest.mark.parametrize("exact_arc_limit", [60_000, 0], ids=["exact", "lns"])
def test_same_seed_same_plan_in_deterministic_mode(exact_arc_limit: int) -> None:
    """Two deterministic runs with the same seed return the same plan, by exact model and by LNS."""
    p = _tight(7)
    opts = dataclasses.replace(FAST, time_limit_seconds=30.0, deterministic_time=0.5, exact_arc_limit=exact_arc_limit)
    a, b = solve(p, opts), solve(p, opts)
    assert a.objective is not None
    assert a.objective == b.objective
    assert np.array_equal(a.chosen_arc, b.chosen_arc)


def test_a_wall_clock_limit_holds_with_a_big_model_to_build() -> None:
    """Building a model counts against the limit: no phase starts or searches past the deadline."""
    p = _tight(5, m=30, n=1500)  # 45,000 arcs: about a second of Python to build a whole model
    limit = 3.0
    t = time.perf_counter()
    res = solve(p, dataclasses.replace(FAST, deterministic=False, time_limit_seconds=limit))
    elapsed = time.perf_counter() - t
    assert res.objective is not None and not check_plan(p, res.chosen_arc)
    assert elapsed < limit + 0.4, elapsed


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_tight_instances_give_feasible_plans_and_valid_bounds(seed: int) -> None:
    """On tight type-D-like data the plan passes check_plan and the bound stays below it."""
    p = _tight(seed)
    res = solve(p, dataclasses.replace(FAST, time_limit_seconds=1.0))
    assert res.objective is not None
    assert not check_plan(p, res.chosen_arc)
    assert res.objective == evaluate(p, res.chosen_arc)["total"]
    assert res.best_bound <= res.objective
    assert not math.isnan(res.best_bound)


def test_shift_search_improves_and_keeps_every_rule() -> None:
    """Single-customer shifts from a poor feasible plan lower the objective and never break a hard rule."""
    import numpy as np

    from allocator.engine import ArcProblem, BalanceTerm, _index, check_plan, evaluate, shift_search

    rng = np.random.default_rng(3)
    n, m = 60, 5
    cust = np.repeat(np.arange(n), m)
    rep = np.tile(np.arange(m), n)
    amount = rng.integers(1, 30, size=n)[cust]
    p = ArcProblem(
        n_customers=n, n_reps=m, arc_customer=cust, arc_rep=rep,
        arc_cost=rng.integers(0, 100, size=n * m), arc_load=rng.integers(1, 5, size=n * m),
        load_capacity=np.full(m, 60), count_capacity=np.full(m, 16),
        balance=(BalanceTerm("value_balance", amount, np.zeros(m, np.int64), np.full(m, 150), np.full(m, 250),
                             np.full(m, 3)),),
    )
    start = np.arange(n) * m + (np.arange(n) % m)  # round robin: feasible, far from optimal
    assert check_plan(p, start) == []
    better = shift_search(p, _index(p), start)
    assert check_plan(p, better) == []
    assert evaluate(p, better)["total"] < evaluate(p, start)["total"]
    assert shift_search(p, _index(p), better).tolist() == shift_search(p, _index(p), better).tolist()


def _spy_phases(monkeypatch: pytest.MonkeyPatch, fake_core_proof: bool = False) -> list[tuple[int, bool]]:
    """Record (arcs in the model, hinted) for every exact-model call of ``solve``.

    With ``fake_core_proof`` every core model claims a proof and an impossible bound.
    """
    import allocator.engine as engine

    phases: list[tuple[int, bool]] = []
    real = engine._solve_sub

    def spy(p, ix, chosen, sub, opts, time_limit, det_time, full, hint=True, race=None):
        out = real(p, ix, chosen, sub, opts, time_limit, det_time, full, hint, race)
        if full:
            phases.append((len(sub.arcs), hint))
            if fake_core_proof and len(sub.arcs) < len(p.arc_cost) and out[1] is not None:
                return "OPTIMAL", out[1], 1e12, out[3]
        return out

    monkeypatch.setattr(engine, "_solve_sub", spy)
    return phases


def test_without_a_callers_plan_a_core_model_runs_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a plan: core unhinted, core hinted, then the whole model hinted; with a plan, hinted only."""
    phases = _spy_phases(monkeypatch)
    p = _tight(3, m=10, n=200)  # not proved optimal in the time, so every phase runs
    res = solve(p, FAST)
    assert res.objective is not None and not check_plan(p, res.chosen_arc)
    assert [h for _, h in phases] == [False, True, True]
    core, _, whole = (n for n, _ in phases)
    # each customer's cheapest arcs by reduced cost, plus the start's arc
    assert phases[0][0] == phases[1][0] and p.n_customers * 3 <= core <= p.n_customers * 4 < whole

    phases.clear()  # a whole model too big to build: the core alone, five arcs a customer, no LNS
    assert whole > 6 * p.n_customers
    small = solve(p, dataclasses.replace(FAST, exact_arc_limit=6 * p.n_customers))
    alone = phases[0][0]
    assert phases == [(alone, False), (alone, True)] and small.method == "exact"
    assert p.n_customers * 5 <= alone <= p.n_customers * 6
    assert small.objective is not None and not check_plan(p, small.chosen_arc)

    phases.clear()
    planned = dataclasses.replace(p, hint_arc=res.chosen_arc)
    again = solve(planned, FAST)
    assert [h for _, h in phases] == [True] and phases[0][0] > p.n_customers * 4
    assert again.objective is not None and again.objective <= res.objective


def test_a_core_model_proof_is_not_taken_for_the_whole_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    """The core leaves arcs out: its bound and its proof of optimality say nothing about the problem."""
    phases = _spy_phases(monkeypatch, fake_core_proof=True)
    p = _tight(3, m=10, n=200)
    res = solve(p, FAST)
    assert len(phases) == 2  # a proved core is not solved again; the whole model still runs
    assert res.status == "FEASIBLE" and res.best_bound < res.objective


def test_without_a_core_worth_the_name_the_whole_model_runs_hinted(monkeypatch: pytest.MonkeyPatch) -> None:
    """With at most three arcs a customer the core is the whole model: one hinted phase."""
    phases = _spy_phases(monkeypatch)
    rng = np.random.default_rng(5)
    n, m = 200, 10
    cust = np.repeat(np.arange(n), 3)
    rep = np.concatenate([rng.choice(m, 3, replace=False) for _ in range(n)])
    load = rng.integers(1, 100, size=3 * n)
    p = ArcProblem(n_customers=n, n_reps=m, arc_customer=cust, arc_rep=rep, arc_cost=111 - load + rng.integers(-10, 11, 3 * n),
                   arc_load=load, load_capacity=np.full(m, int(0.9 * load.sum() / 3 / m)))
    res = solve(p, FAST)
    assert res.objective is not None and not check_plan(p, res.chosen_arc)
    assert phases == [(3 * n, True)]


def _spy_race(monkeypatch: pytest.MonkeyPatch, core_finds: bool = True, lns_finds: bool = True) -> list[tuple]:
    """Record the search's turns: ("lns",) and ("model", arcs, hinted, race) in order.

    ``core_finds=False`` makes the unhinted core find nothing; ``lns_finds=False`` makes
    neighbourhood search return its start.
    """
    import allocator.engine as engine

    events: list[tuple] = []
    real_sub, real_lns = engine._solve_sub, engine._lns

    def sub(p, ix, chosen, sub, opts, time_limit, det_time, full, hint=True, race=None):
        if full:
            events.append(("model", len(sub.arcs), hint, race))
            if not core_finds and not hint:
                return "UNKNOWN", None, -math.inf, 0.0
        return real_sub(p, ix, chosen, sub, opts, time_limit, det_time, full, hint, race)

    def lns(p, ix, chosen, obj, lower, opts, deadline, *rest):
        events.append(("lns", deadline))
        return real_lns(p, ix, chosen, obj, lower, opts, deadline, *rest) if lns_finds else (chosen, obj, lower)

    monkeypatch.setattr(engine, "_solve_sub", sub)
    monkeypatch.setattr(engine, "_lns", lns)
    return events


def test_large_books_without_a_plan_race_neighbourhood_search_against_the_core(monkeypatch: pytest.MonkeyPatch) -> None:
    """From 400 customers: LNS first, the core unhinted second; the better one takes the third turn."""
    from allocator.engine import LNS_RACE_MIN_CUSTOMERS

    p = _tight(3, m=20, n=LNS_RACE_MIN_CUSTOMERS)
    whole = len(p.arc_cost)
    # the core finds nothing: neighbourhood search takes the third turn, until the end or until it
    # stalls; the whole model the time left
    events = _spy_race(monkeypatch, core_finds=False)
    before = time.perf_counter()
    res = solve(p, FAST)
    assert res.objective is not None and not check_plan(p, res.chosen_arc)
    assert [e[0] for e in events] == ["lns", "model", "lns", "model"]
    assert events[1][2] is False and events[1][1] < whole and events[3][1:3] == (whole, True)
    assert events[0][1] < before + FAST.time_limit_seconds <= events[2][1]

    # neighbourhood search finds nothing: the core takes the hinted turn
    monkeypatch.undo()
    events = _spy_race(monkeypatch, lns_finds=False)
    res = solve(p, dataclasses.replace(FAST, time_limit_seconds=30.0, deterministic_time=6.0))
    assert res.objective is not None and not check_plan(p, res.chosen_arc)
    assert [(e[0], *e[2:3]) for e in events] == [("lns",), ("model", False), ("model", True), ("model", True)]
    assert events[1][3] is None  # deterministic runs never stop a turn by the clock

    # on the wall clock the core's turn must stay ahead of where neighbourhood search would be
    monkeypatch.undo()
    events = _spy_race(monkeypatch)
    res = solve(p, dataclasses.replace(FAST, deterministic=False, time_limit_seconds=2.0))
    seconds, to_beat = events[1][3]
    assert 0 < seconds < 2.0 and to_beat(0.0) >= res.objective  # at first, what it found
    assert to_beat(10 * seconds) <= to_beat(seconds) <= to_beat(0.0)  # later, never more

    # no whole model: a stalled winner hands the time left to the core, hinted; a core winner runs to the end
    core_only = dataclasses.replace(FAST, exact_arc_limit=2 * LNS_RACE_MIN_CUSTOMERS * 4)
    monkeypatch.undo()
    events = _spy_race(monkeypatch, core_finds=False)
    solve(p, core_only)
    assert [e[0] for e in events] == ["lns", "model", "lns", "model"]
    assert events[3][2] is True and events[3][1] == events[1][1] < whole
    monkeypatch.undo()
    events = _spy_race(monkeypatch, lns_finds=False)
    solve(p, dataclasses.replace(core_only, time_limit_seconds=30.0, deterministic_time=6.0))
    assert [(e[0], *e[2:3]) for e in events] == [("lns",), ("model", False), ("model", True)]

    # below the threshold: no race
    monkeypatch.undo()
    events = _spy_race(monkeypatch)
    solve(_tight(3, m=20, n=LNS_RACE_MIN_CUSTOMERS - 1), FAST)
    assert [e[0] for e in events] == ["model"] * 3


@pytest.mark.parametrize("stalls", [True, False], ids=["stalls-early", "runs-to-the-end"])
def test_a_stalled_winner_hands_back_only_time_worth_a_model(monkeypatch: pytest.MonkeyPatch, stalls: bool) -> None:
    """On the wall clock, the core gets a stalled neighbourhood search's time only if at least a second is left."""
    import allocator.engine as engine

    p = _tight(3, m=20, n=engine.LNS_RACE_MIN_CUSTOMERS)
    opts = dataclasses.replace(FAST, deterministic=False, time_limit_seconds=3.0,
                               exact_arc_limit=8 * engine.LNS_RACE_MIN_CUSTOMERS)  # no whole model
    hinted_turns: list[float] = []
    real_sub = engine._solve_sub

    def sub(p, ix, chosen, sub, opts, time_limit, det_time, full, hint=True, race=None):
        if full and not hint:
            return "UNKNOWN", None, -math.inf, 0.0  # the core finds nothing: neighbourhood search wins
        if full:
            hinted_turns.append(time_limit)
        return real_sub(p, ix, chosen, sub, opts, time_limit, det_time, full, hint, race)

    def lns(p, ix, chosen, obj, lower, opts, deadline, *rest):
        if not stalls:  # the winner's turn runs until half a second before the end
            time.sleep(max(0.0, deadline - 0.5 - time.perf_counter()))
        return chosen, obj, lower

    monkeypatch.setattr(engine, "_solve_sub", sub)
    monkeypatch.setattr(engine, "_lns", lns)
    res = solve(p, opts)
    assert res.objective is not None and not check_plan(p, res.chosen_arc)
    if stalls:
        assert len(hinted_turns) == 1 and hinted_turns[0] >= engine.FALLBACK_MIN_SECONDS
    else:
        assert hinted_turns == []


def test_the_race_is_judged_at_equal_time() -> None:
    """Neighbourhood search is extrapolated to the core's time: a gain per doubling equal to its last half's."""
    from allocator.engine import _projected

    assert _projected(1000.0, 50.0, 10.0, 40.0) == pytest.approx(900.0)  # two doublings
    assert _projected(1000.0, 50.0, 10.0, 10.0) == 1000.0  # no more time, no more gain
    assert _projected(1000.0, 0.0, 10.0, 40.0) == 1000.0  # stalled: it stays where it is
    assert _projected(math.inf, 50.0, 10.0, 40.0) == math.inf  # found nothing


def test_the_gain_per_doubling_is_fitted_over_the_whole_probe() -> None:
    """Least squares of objective on log2(seconds): exact on a log curve, zero when flat or too few points."""
    from allocator.engine import _gain_per_doubling

    curve = [(t, 1000.0 - 30.0 * math.log2(t)) for t in (0.5, 1.0, 3.0, 7.0)]
    assert _gain_per_doubling(curve) == pytest.approx(30.0)
    # a step that falls steeply early and then slowly: the fit sees both halves, not the last alone
    steps = [(0.5, 1000.0), (1.0, 900.0), (2.0, 850.0), (4.0, 840.0)]
    assert 40.0 < _gain_per_doubling(steps) < 100.0
    assert _gain_per_doubling([(1.0, 500.0), (4.0, 500.0)]) == 0.0
    assert _gain_per_doubling([(2.0, 500.0)]) == 0.0
    assert _gain_per_doubling([(0.0, 900.0), (2.0, 500.0)]) == 0.0  # time zero has no logarithm


def test_a_winning_neighbourhood_search_resumes_from_its_own_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    """On the wall clock a neighbourhood search still gaining fast wins, and goes on from its plan, not the core's."""
    import allocator.engine as engine

    p = _tight(3, m=20, n=engine.LNS_RACE_MIN_CUSTOMERS)
    calls: list[tuple[int, int]] = []  # (objective it starts from, objective it claims)

    def lns(p, ix, chosen, obj, lower, opts, deadline, arcs, steps, t0):
        # a probe that gained a great deal in its first half and ends 1,000 above its start
        steps.append((time.perf_counter() - t0, obj + 10**9, lower))
        time.sleep(max(0.0, min(0.5, deadline - time.perf_counter())))
        claimed = obj + 1000 if not calls else obj
        calls.append((obj, claimed))
        return chosen, claimed, lower

    monkeypatch.setattr(engine, "_lns", lns)
    res = solve(p, dataclasses.replace(FAST, deterministic=False, time_limit_seconds=4.0))
    assert len(calls) == 2 and calls[1][0] == calls[0][1]  # the second turn starts where the first ended
    assert res.objective is not None and res.objective < calls[0][1] and not check_plan(p, res.chosen_arc)
    objectives = [o for _, o, _ in res.trace]
    assert objectives == sorted(objectives, reverse=True)  # the trace is the incumbent's: never worse


def test_a_core_behind_at_the_race_time_stops_early() -> None:
    """The race rule itself: a core model that has not beaten the target by then yields its turn."""
    from allocator.engine import _index, _solve_sub, _Sub

    p = _tight(4, m=20, n=600)
    ix = _index(p)
    start = solve(p, dataclasses.replace(FAST, time_limit_seconds=0.5)).chosen_arc
    sub = _Sub(np.arange(p.n_customers), np.arange(len(p.arc_cost)), np.arange(p.n_reps))
    opts = dataclasses.replace(FAST, deterministic=False)
    t = time.perf_counter()
    name, _, _, _ = _solve_sub(p, ix, start, sub, opts, 20.0, 20.0, True, False, race=(0.3, lambda s: -1.0))
    assert time.perf_counter() - t < 5.0 and name != "OPTIMAL"  # nothing beats -1: stopped at 0.3 s

    # ahead at the first check (hinted, it has a plan at once), then behind a target that falls
    # with the time: stopped at a later check
    checks: list[float] = []

    def to_beat(seconds: float) -> float:
        checks.append(seconds)
        return math.inf if seconds < 2.0 else -1.0

    t = time.perf_counter()
    name, _, _, _ = _solve_sub(p, ix, start, sub, opts, 20.0, 20.0, True, True, race=(1.0, to_beat))
    assert time.perf_counter() - t < 6.0 and name != "OPTIMAL"
    assert len(checks) >= 2 and checks[0] >= 1.0 and checks[-1] >= 2.0


# --- knapsack bound --------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_knapsacks_are_solved_exactly_row_by_row(seed: int) -> None:
    """Each row's dynamic programme matches enumeration; the items taken fit and add up."""
    rng = np.random.default_rng(seed)
    rows, items = 4, 8
    profit = rng.uniform(0.1, 10.0, size=(rows, items))
    profit[rng.random(size=profit.shape) < 0.2] = 0.0  # padding
    weight = _i64(rng.integers(0, 9, size=(rows, items)))
    capacity = _i64(rng.integers(0, 20, size=rows))
    value, taken = _knapsacks(profit, weight, capacity)
    for r in range(rows):
        best = max(sum(profit[r, k] for k in range(items) if mask >> k & 1) for mask in range(2**items)
                   if sum(weight[r, k] for k in range(items) if mask >> k & 1) <= capacity[r])
        assert value[r] == pytest.approx(best)
        assert weight[r, taken[r]].sum() <= capacity[r]
        assert profit[r, taken[r]].sum() == pytest.approx(value[r])


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize("kind,flags", CASES[:2], ids=[c[0] for c in CASES[:2]])
def test_knapsack_bound_lies_between_the_lp_bound_and_the_optimum(seed: int, kind: str, flags: dict) -> None:
    """Relaxing 'exactly once' leaves knapsacks: never above the brute-force optimum, never below the LP bound."""
    p = _random_problem(seed, **flags)
    optimum, _ = _brute_force(p)
    if optimum is None:
        pytest.skip("infeasible draw")
    duals = lagrangian_bound(p, upper=optimum + 5, iterations=300)
    assert knapsack_bound_applies(p, _index(p))
    bound = knapsack_bound(p, _index(p), duals, optimum + 5)
    assert duals.bound - 1e-6 <= bound <= optimum + 1e-6


def _lp_gap_instance() -> ArcProblem:
    """Three jobs of load 6; rep 0 (cost 1, capacity 10) holds one, rep 1 (cost 10, capacity 12) two.

    The LP puts 10/6 of a job on rep 0 (bound 15); the optimum is 1 + 10 + 10 = 21.
    """
    return _dense([[1, 1, 1], [10, 10, 10]], [[6, 6, 6], [6, 6, 6]], [10, 12])


def test_knapsack_bound_closes_the_lp_gap() -> None:
    p = _lp_gap_instance()
    duals = lagrangian_bound(p, upper=21, iterations=300)
    assert duals.bound == pytest.approx(15.0, abs=0.5)
    assert knapsack_bound(p, _index(p), duals, 21) == pytest.approx(21.0, abs=1e-6)


def test_solve_proves_a_start_optimal_with_the_knapsack_bound() -> None:
    """The start is optimal; only the knapsack bound (not the LP's 15) proves it, so no search runs."""
    res = solve(_lp_gap_instance(), dataclasses.replace(FAST, gap_limit=0.01))
    assert (res.objective, res.best_bound, res.status, res.method) == (21, 21, "OPTIMAL", "start")
    assert "knapsack_bound" in res.stages


@pytest.mark.parametrize("extra", [
    {"count_capacity": _i64([1, 2])},
    {"move_budget": 1, "owner": _i64([0, 0, 1])},
    {"balance": (BalanceTerm("v", _i64([1] * 6), _i64([0, 0]), _i64([1, 1]), _i64([2, 2]), _i64([1, 1])),)},
], ids=["account limits", "move budget", "balance"])
def test_knapsack_bound_only_for_capacity_only_problems(extra: dict) -> None:
    p = dataclasses.replace(_lp_gap_instance(), **extra)
    assert not knapsack_bound_applies(p, _index(p))
    assert "knapsack_bound" not in solve(p, FAST).stages


def test_knapsack_bound_stops_at_its_budget_of_cells(monkeypatch: pytest.MonkeyPatch) -> None:
    """Deterministic runs budget the bound in cells of work, not seconds: a spent budget stops it."""
    import allocator.engine as engine

    p = _tight(1)
    duals = lagrangian_bound(p, upper=math.inf, iterations=300)
    calls: list[int] = []
    real = engine._rep_knapsacks

    def counting(*args, **kwargs):
        out = real(*args, **kwargs)
        calls.append(out[2])
        return out

    monkeypatch.setattr(engine, "_rep_knapsacks", counting)
    upper = duals.bound * 1.02
    knapsack_bound(p, _index(p), duals, upper, iterations=50, cell_limit=0)
    assert len(calls) == 1 and calls[0] > 0
    first = calls[0]
    calls.clear()
    knapsack_bound(p, _index(p), duals, upper, iterations=50, cell_limit=first)
    assert len(calls) == 2  # the budget is spent only once the second iteration is done
    calls.clear()
    knapsack_bound(p, _index(p), duals, upper, iterations=50)
    assert len(calls) > 2


# --- large-neighbourhood search, several neighbourhoods side by side -------------------------------


def _paired_reps(n_pairs: int = 4, per_rep: int = 5) -> ArcProblem:
    """Reps in pairs (0,1), (2,3), ...: a customer's arcs go to its owner and the owner's partner.

    Every customer sits with its owner at cost 10 and would save 9 by moving to the partner, so
    every pair is a neighbourhood of its own in which a move pays.
    """
    cust, rep, cost = [], [], []
    owner = []
    for r in range(2 * n_pairs):
        for _ in range(per_rep):
            i = len(owner)
            owner.append(r)
            cust += [i, i]
            rep += [r, r ^ 1]
            cost += [10, 1]
    n_reps = 2 * n_pairs
    return ArcProblem(
        n_customers=len(owner), n_reps=n_reps, arc_customer=_i64(cust), arc_rep=_i64(rep),
        arc_cost=_i64(cost), arc_load=np.ones(len(cust), dtype=np.int64),
        load_capacity=np.full(n_reps, 100, dtype=np.int64), owner=_i64(owner),
    )


def test_lns_neighbourhoods_of_one_round_share_no_rep_and_no_customer() -> None:
    from allocator.engine import _lns_groups

    p = _paired_reps()
    ix = _index(p)
    plan = _i64(np.flatnonzero(p.arc_cost == 10))  # everyone with the owner
    busy_reps = np.zeros(p.n_reps, dtype=bool)
    busy_customers = np.zeros(p.n_customers, dtype=bool)
    first = _lns_groups(p, ix, plan, 0, 200, busy_reps, busy_customers)
    assert first.reps.tolist() == [0, 1]
    busy_reps[first.reps] = True
    busy_customers[first.customers] = True
    second = _lns_groups(p, ix, plan, 3, 200, busy_reps, busy_customers)
    assert second.reps.tolist() == [2, 3]
    assert not set(first.customers.tolist()) & set(second.customers.tolist())
    for sub in (first, second):  # a neighbourhood's arcs stay among its own customers and reps
        assert set(p.arc_rep[sub.arcs].tolist()) <= set(sub.reps.tolist())
        assert set(p.arc_customer[sub.arcs].tolist()) <= set(sub.customers.tolist())


def test_lns_groups_of_one_seed_rep_vary_with_a_random_generator() -> None:
    """Without a generator a seed rep always gives the same group; with one, several groups.

    Fixed groups on a book of few reps are soon all locally optimal, and the search stalls.
    """
    from allocator.engine import _lns_groups

    p = _tight(3, m=12, n=120)  # dense: every rep shares customers with every other
    ix = _index(p)
    plan = solve(p, dataclasses.replace(FAST, time_limit_seconds=0.5)).chosen_arc
    fixed = {tuple(_lns_groups(p, ix, plan, 0, 40).reps.tolist()) for _ in range(10)}
    assert len(fixed) == 1
    rng = np.random.default_rng(0)
    groups = [_lns_groups(p, ix, plan, 0, 40, rng=rng) for _ in range(10)]
    assert len({tuple(g.reps.tolist()) for g in groups}) > 1
    for g in groups:  # still the seed rep's group, of about the asked size
        assert 0 in g.reps.tolist()
        assert set(p.arc_rep[g.arcs].tolist()) <= set(g.reps.tolist())
        assert 30 <= len(g.customers) <= 40 + 20


@pytest.mark.parametrize("workers", [1, 2])
def test_neighbourhoods_solved_side_by_side_keep_the_move_budget(workers: int) -> None:
    """Each neighbourhood sees the whole budget free; together they must still keep it."""
    from allocator.engine import _lns

    p = dataclasses.replace(_paired_reps(), move_budget=1)
    ix = _index(p)
    plan = _i64(np.flatnonzero(p.arc_cost == 10))
    start = evaluate(p, plan)["total"]
    opts = dataclasses.replace(FAST, workers=workers, deterministic_time=1.0)
    best, obj, _ = _lns(p, ix, plan, start, -math.inf, opts, math.inf, np.ones(len(p.arc_cost), dtype=bool), [], 0.0)
    assert check_plan(p, best) == []
    assert obj == evaluate(p, best)["total"] == start - 9  # one move, the budget, was made
    assert int((p.arc_cost[best] == 1).sum()) == 1


def test_on_the_wall_clock_neighbourhoods_in_flight_never_overlap(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pipeline keeps one neighbourhood more than workers in flight, none sharing a rep or customer."""
    import threading

    import allocator.engine as engine

    p = _tight(3, m=30, n=600)
    ix = _index(p)
    start = solve(p, dataclasses.replace(FAST, time_limit_seconds=0.5)).chosen_arc
    start_obj = evaluate(p, start)["total"]
    lock = threading.Lock()
    in_flight: list[tuple[set[int], set[int]]] = []
    most, overlaps, solved = [0], [0], [0]
    real_solve = engine._solve_sub

    def watched(p, ix, chosen, sub, *rest):
        mine = (set(sub.reps.tolist()), set(sub.customers.tolist()))
        with lock:
            overlaps[0] += sum(bool(mine[0] & r or mine[1] & c) for r, c in in_flight)
            in_flight.append(mine)
            most[0] = max(most[0], len(in_flight))
        try:
            time.sleep(0.02)  # long enough for the others to be in flight
            return real_solve(p, ix, chosen, sub, *rest)
        finally:
            with lock:
                in_flight.remove(mine)
                solved[0] += 1

    monkeypatch.setattr(engine, "_solve_sub", watched)
    opts = dataclasses.replace(FAST, workers=2, deterministic=False)
    trace: list[tuple[float, int, float]] = []
    # sub-models here mostly run their full 0.5 s: 2.5 s is four or five refills of the pipeline
    best, obj, _ = engine._lns(p, ix, start, start_obj, -math.inf, opts, time.perf_counter() + 2.5,
                               np.ones(len(p.arc_cost), dtype=bool), trace, 0.0)
    assert solved[0] > 6 and overlaps[0] == 0
    assert most[0] == 2 + engine.LNS_EXTRA_IN_FLIGHT
    assert check_plan(p, best) == [] and obj == evaluate(p, best)["total"] <= start_obj
    assert [o for _, o, _ in trace] == sorted((o for _, o, _ in trace), reverse=True)  # strict gains only


def test_lns_neighbourhoods_grow_when_solved_and_shrink_when_not(monkeypatch: pytest.MonkeyPatch) -> None:
    """Neighbourhood size follows the sub-models: proved optimal, it grows; out of time, it shrinks."""
    import allocator.engine as engine

    p = _tight(2, m=20, n=400)
    ix = _index(p)
    start = solve(p, dataclasses.replace(FAST, time_limit_seconds=0.5)).chosen_arc
    sizes: list[int] = []
    real_groups = engine._lns_groups

    def groups(p, ix, chosen, seed_rep, max_customers, *rest):
        sizes.append(max_customers)
        assert isinstance(rest[-1], np.random.Generator)  # groups drawn at random, not fixed per seed rep
        return real_groups(p, ix, chosen, seed_rep, max_customers, *rest)

    monkeypatch.setattr(engine, "_lns_groups", groups)
    for claim, trend in (("OPTIMAL", 1), ("FEASIBLE", -1)):
        def fake_solve(p, ix, chosen, sub, *rest, claim=claim):
            return claim, chosen[sub.customers], -math.inf, 0.01  # no gain, only the claimed status

        monkeypatch.setattr(engine, "_solve_sub", fake_solve)
        sizes.clear()
        opts = dataclasses.replace(FAST, workers=1, deterministic_time=0.5)
        engine._lns(p, ix, start, evaluate(p, start)["total"], -math.inf, opts, math.inf,
                    np.ones(len(p.arc_cost), dtype=bool), [], 0.0)
        assert len(sizes) > 5
        steps = np.sign(np.diff(sizes))
        assert (steps == trend).sum() >= len(steps) // 2 and not (steps == -trend).any()


@pytest.mark.parametrize("m", [12, 120])
def test_neighbourhood_search_stops_after_a_run_of_fruitless_neighbourhoods(monkeypatch: pytest.MonkeyPatch,
                                                                             m: int) -> None:
    """Stalled once a pass over the reps, or LNS_STALL_NEIGHBOURHOODS in a row, gained nothing.

    With many reps a pass is more neighbourhoods than the run limit (the 100k nightly book: 1,000
    reps, no gain in 50 s of neighbourhoods); with few, the pass ends the search first.
    """
    import allocator.engine as engine

    p = _tight(4, m=m, n=10 * m)
    ix = _index(p)
    start = solve(p, dataclasses.replace(FAST, time_limit_seconds=0.5)).chosen_arc
    calls = [0]

    def fruitless(p, ix, chosen, sub, *rest):
        calls[0] += 1
        return "FEASIBLE", chosen[sub.customers], -math.inf, 1e-4  # the plan as it was: no gain

    monkeypatch.setattr(engine, "_solve_sub", fruitless)
    opts = dataclasses.replace(FAST, workers=2, deterministic_time=1e6)  # only the stall rule can stop it
    best, obj, _ = engine._lns(p, ix, start, evaluate(p, start)["total"], -math.inf, opts, math.inf,
                               np.ones(len(p.arc_cost), dtype=bool), [], 0.0)
    assert np.array_equal(best, start) and obj == evaluate(p, start)["total"]
    if m > engine.LNS_STALL_NEIGHBOURHOODS:
        assert engine.LNS_STALL_NEIGHBOURHOODS <= calls[0] <= engine.LNS_STALL_NEIGHBOURHOODS + 2
    else:  # a pass over the reps, each picked once in order and once more by pressure at most
        assert m <= calls[0] < engine.LNS_STALL_NEIGHBOURHOODS


class _FakeExact:
    """Stands in for the exact search: answers at once with a given plan and bound (proved when they meet)."""

    made: list[_FakeExact] = []
    pairs: list[tuple[int, int]] | None = None  # (customer, rep) per customer
    bound = -math.inf

    def __init__(self, n_customers, n_reps, arc_customer, arc_rep, arc_cost, arc_load, capacity, upper, seconds,
                 parts=1):
        import threading

        self.proved, self.done = threading.Event(), threading.Event()
        self.done.set()
        at = {(int(c), int(r)): k for k, (c, r) in enumerate(zip(arc_customer, arc_rep))}
        self.plan = None
        if self.pairs is not None and all(pair in at for pair in self.pairs):
            self.plan = np.array([at[pair] for pair in self.pairs], dtype=np.int64)  # positions in its arcs
        cost = float(arc_cost[self.plan].sum()) if self.plan is not None else math.inf
        if cost - self.bound < 1:  # the proof arrives after a second, while CP-SAT searches
            threading.Timer(1.0, self.proved.set).start()
        self.parts = parts
        _FakeExact.made.append(self)

    def stop(self) -> None:
        pass

    def answer(self, deadline):
        from allocator.exact import ExactAnswer

        return ExactAnswer(None if self.plan is None else self.plan.copy(), self.bound)


def _with_fake_exact(monkeypatch: pytest.MonkeyPatch, p: ArcProblem, plan: np.ndarray | None, bound: float) -> list[int]:
    """Install _FakeExact answering ``plan`` (arcs of ``p``) and ``bound``; spy on CP-SAT's workers."""
    import allocator.engine as engine

    pairs = None if plan is None else list(zip(p.arc_customer[plan].tolist(), p.arc_rep[plan].tolist()))
    _FakeExact.made, _FakeExact.pairs, _FakeExact.bound = [], pairs, bound
    monkeypatch.setattr(engine, "ExactSearch", _FakeExact)
    monkeypatch.setattr(engine, "EXACT_MIN_SECONDS", 1.0)  # short tests
    workers: list[int] = []
    real = engine._solve_sub

    def spy(p, ix, chosen, sub, opts, *rest):
        if rest[2]:  # a whole or core model, not a neighbourhood
            workers.append(opts.workers)
        return real(p, ix, chosen, sub, opts, *rest)

    monkeypatch.setattr(engine, "_solve_sub", spy)
    return workers


WALL = SolveOptions(time_limit_seconds=20.0, workers=2, seed=0, deterministic=False)


def test_the_exact_search_has_every_worker_and_its_proof_is_the_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """One part of its trees per worker, no CP-SAT beside it; its proved plan is returned as optimal at once."""
    p = _tight(5, m=10, n=100)
    best = solve(p, dataclasses.replace(FAST, deterministic_time=1.0))
    assert best.objective is not None
    workers = _with_fake_exact(monkeypatch, p, best.chosen_arc, float(best.objective))
    t = time.perf_counter()
    res = solve(p, WALL)
    assert time.perf_counter() - t < 5.0
    assert len(_FakeExact.made) == 1 and _FakeExact.made[0].parts == WALL.workers
    assert res.status == "OPTIMAL" and res.objective == best.objective and res.best_bound == best.objective
    assert check_plan(p, res.chosen_arc) == [] and workers == []  # no CP-SAT model was solved
    assert "knapsack_bound" not in res.stages  # the search's root computes that bound itself


def test_an_exact_search_plan_that_breaks_a_rule_is_never_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cheap plan over capacity from the exact search is checked and dropped; its bound still counts."""
    p = _tight(6, m=6, n=60)
    by_customer = [np.flatnonzero(p.arc_customer == i) for i in range(p.n_customers)]
    cheapest = np.array([arcs[np.argmin(p.arc_cost[arcs])] for arcs in by_customer])
    assert (p.arc_customer[cheapest] == np.arange(60)).all() and check_plan(p, cheapest)  # over capacity
    _with_fake_exact(monkeypatch, p, cheapest, -math.inf)
    res = solve(p, dataclasses.replace(WALL, time_limit_seconds=2.0))
    assert _FakeExact.made and _FakeExact.made[0].plan is not None  # the bad plan was on offer
    assert res.objective is not None and check_plan(p, res.chosen_arc) == []
    assert res.objective > evaluate(p, cheapest)["total"]


@pytest.mark.parametrize("case", ["deterministic", "one worker", "pool", "short limit", "a plan of its own",
                                  "a rep without a load limit", "two arcs between one pair"])
def test_the_exact_search_runs_only_beside_a_wall_clock_search_of_a_small_capacity_problem(monkeypatch: pytest.MonkeyPatch,
                                                                                case: str) -> None:
    p = _tight(5, m=6, n=60)
    opts = dataclasses.replace(WALL, time_limit_seconds=1.0)
    if case == "deterministic":
        opts = dataclasses.replace(FAST, time_limit_seconds=1.0)
    elif case == "one worker":
        opts = dataclasses.replace(opts, workers=1)
    elif case == "pool":
        p = dataclasses.replace(p, pool_cost=np.full(p.n_customers, 10_000, dtype=np.int64))
    elif case == "short limit":
        opts = dataclasses.replace(opts, time_limit_seconds=0.9)  # under EXACT_MIN_SECONDS (1 s here)
    elif case == "a rep without a load limit":  # its knapsack would have no end
        cap = p.load_capacity.copy()
        cap[0] = -1
        p = dataclasses.replace(p, load_capacity=cap)
    elif case == "two arcs between one pair":  # the search's reps x customers matrix has one cell for both
        twice = np.flatnonzero(p.arc_customer == 0)  # all of customer 0's: some are kept, and with them their twins
        p = dataclasses.replace(p, **{f: np.append(getattr(p, f), getattr(p, f)[twice])
                                      for f in ("arc_customer", "arc_rep", "arc_cost", "arc_load")})
    else:
        p = dataclasses.replace(p, hint_arc=solve(p, FAST).chosen_arc)
    _with_fake_exact(monkeypatch, p, None, -math.inf)
    res = solve(p, opts)
    assert res.objective is not None
    # a caller's plan means one hinted whole model, and there the exact search runs beside it too
    assert len(_FakeExact.made) == (1 if case == "a plan of its own" else 0)


def test_without_a_child_process_cp_sat_searches_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """No child process to be had (OSError): the engine still answers, with every worker for CP-SAT."""
    import allocator.engine as engine
    import allocator.exact as exact

    def no_child(*args, **kwargs):
        raise OSError("no processes left")

    monkeypatch.setattr(exact.subprocess, "Popen", no_child)
    monkeypatch.setattr(engine, "EXACT_MIN_SECONDS", 1.0)
    workers: list[int] = []
    real = engine._solve_sub

    def spy(p, ix, chosen, sub, opts, *rest):
        workers.append(opts.workers)
        return real(p, ix, chosen, sub, opts, *rest)

    monkeypatch.setattr(engine, "_solve_sub", spy)
    p = _tight(5, m=6, n=60)
    res = solve(p, dataclasses.replace(WALL, time_limit_seconds=1.5))
    assert res.objective is not None and check_plan(p, res.chosen_arc) == []
    assert workers and set(workers) == {2}


def test_small_books_without_the_exact_search_solve_a_core_then_the_whole_model() -> None:
    """Core unhinted for a third of the time, hinted for half the rest; the whole model hinted to the end."""
    import allocator.engine as engine

    p = _tight(3, m=10, n=200)
    ix = _index(p)
    start = solve(p, dataclasses.replace(FAST, deterministic_time=0.2)).chosen_arc
    full = engine._Sub(np.arange(p.n_customers), np.arange(len(p.arc_cost)), np.arange(p.n_reps))
    rc = np.asarray(p.arc_cost, dtype=np.float64)
    phases = engine._exact_phases(p, ix, rc, start, full, 60_000)
    assert [(s is full, share, hinted) for _, s, share, hinted in phases] == [
        (False, 1 / 3, False), (False, 1 / 2, True), (True, 1.0, True)]


def test_an_exact_search_that_never_answers_leaves_the_start_plan_by_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No answer from the exact search: the engine returns its checked start plan, and no CP-SAT ran in the meantime."""
    p = _tight(3, m=10, n=200)
    workers = _with_fake_exact(monkeypatch, p, None, -math.inf)
    res = solve(p, dataclasses.replace(WALL, time_limit_seconds=2.0))
    assert len(_FakeExact.made) == 1 and workers == []
    assert res.objective is not None and check_plan(p, res.chosen_arc) == [] and res.status == "FEASIBLE"
    assert res.best_bound <= res.objective