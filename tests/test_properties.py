"""Properties of every plan on small random books (hypothesis), checked from the input tables:
each customer once, capacities, locked, inactive reps, eligibility, move budget; an unchanged
book is a fixed point; the same input and seed give the same plan; and, when the pool is
forbidden, a PolicyError exactly when no plan exists (checked by brute force).
"""

from __future__ import annotations

import dataclasses
import math

import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from allocator.api import plan
from allocator.errors import PolicyError
from allocator.policy import Policy
from conftest import (
    capacity_allowance,
    AS_OF,
    BEIJING,
    GUANGZHOU,
    SHANGHAI,
    customers_frame,
    effective_workload,
    normalise_customers,
    normalise_reps,
    plan_problems,
    reclaimed,
    rep_may_own,
    reps_frame,
)

CITIES = [("east", SHANGHAI), ("north", BEIJING), ("south", GUANGZHOU)]
TIERS = ["strategic", "key", "standard"]
PROPERTY_SETTINGS = settings(
    max_examples=15, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@st.composite
def books(draw, max_customers: int = 8, max_reps: int = 4):
    """A random small book: reps in three cities with random capacity, level, languages and activity;
    customers near them with random value, workload (0.5 h steps or tier default), tier, language,
    owner and lock."""
    n_reps = draw(st.integers(2, max_reps))
    reps = []
    for r in range(n_reps):
        region, (lat, lon) = draw(st.sampled_from(CITIES))
        reps.append({
            "rep_id": f"R{r}",
            "region": region,
            "at": (lat + draw(st.floats(-0.5, 0.5)), lon + draw(st.floats(-0.5, 0.5))),
            "level": draw(st.integers(1, 5)),
            "languages": draw(st.sampled_from(["zh", "zh;en", "en", ""])),
            "max_accounts": draw(st.sampled_from([math.nan, 1, 2, 3, 5])),
            "max_workload": draw(st.sampled_from([math.nan, 6.0, 10.5, 20.0])),
            "active": draw(st.sampled_from([True, True, True, False])),
        })
    n_customers = draw(st.integers(1, max_customers))
    customers = []
    for c in range(n_customers):
        region, (lat, lon) = draw(st.sampled_from(CITIES))
        owner = draw(st.sampled_from(["", *(r["rep_id"] for r in reps)]))
        customers.append({
            "customer_id": f"C{c}",
            "value": float(draw(st.integers(0, 1000))),
            "workload": draw(st.sampled_from([math.nan, 0.5, 2.0, 3.5, 6.0])),
            "tier": draw(st.sampled_from(TIERS)),
            "region": draw(st.sampled_from([region, region, ""])),
            "at": (lat + draw(st.floats(-0.5, 0.5)), lon + draw(st.floats(-0.5, 0.5))),
            "language": draw(st.sampled_from(["", "zh", "zh", "en"])),
            "current_owner": owner,
            "locked": bool(owner) and draw(st.booleans()) and draw(st.booleans()),
        })
    return customers_frame(*customers), reps_frame(*reps)


rule_sets = st.fixed_dictionaries({
    "region_mode": st.sampled_from(["hard", "soft", "ignore"]),
    "move_budget": st.sampled_from([-1, 0, 1, 2]),
    "max_moves_per_rep": st.sampled_from([-1, 1]),
    "require_language": st.booleans(),
})


def with_rules(policy: Policy, **rules) -> Policy:
    return dataclasses.replace(policy, rules=dataclasses.replace(policy.rules, **rules))


@PROPERTY_SETTINGS
@given(book=books(), rules=rule_sets)
def test_every_plan_keeps_every_hard_rule(fast_policy: Policy, book, rules) -> None:
    """Random books and rules: each customer once, capacities, locked, inactive, eligibility and budgets hold."""
    customers, reps = book
    policy = with_rules(fast_policy, **rules)
    try:
        result = plan(customers, reps, policy=policy, as_of=AS_OF)
    except PolicyError:
        # e.g. a move budget of 0 while today's owner is over capacity: then no plan may exist at all
        assert not feasible_by_brute_force(customers, reps, policy)
        return
    assert plan_problems(customers, reps, result.assignments, policy) == []
    s = result.summary
    assert s["n_customers"] == len(customers) and s["n_assigned"] + s["n_pool"] == len(customers)
    assert s["n_moves"] == int(result.assignments["moved"].sum()) == len(result.moves)


@PROPERTY_SETTINGS
@given(book=books(), rules=rule_sets)
def test_unchanged_book_is_a_fixed_point(fast_policy: Policy, book, rules) -> None:
    """Writing an optimal plan back as today's ownership and planning again proposes no move.

    Without move budgets only: a binding budget rightly lets the next night make the moves that
    did not fit into this one.
    """
    customers, reps = book
    policy = with_rules(fast_policy, **{**rules, "move_budget": -1, "max_moves_per_rep": -1})
    first = plan(customers, reps, policy=policy, as_of=AS_OF)
    assume(first.summary["status"] == "OPTIMAL")
    again = customers.assign(current_owner=customers["customer_id"].map(
        dict(zip(first.assignments["customer_id"], first.assignments["rep_id"]))))
    second = plan(again, reps, policy=policy, as_of=AS_OF)
    assert second.summary["n_moves"] == 0, second.moves[["customer_id", "from_rep", "to_rep", "reason"]]
    assert len(second.moves) == 0


@PROPERTY_SETTINGS
@given(book=books(), seed=st.integers(0, 3))
def test_same_input_and_seed_give_the_same_plan(fast_policy: Policy, book, seed) -> None:
    """Two runs on the same book with the same seed give identical assignments."""
    customers, reps = book
    policy = fast_policy.with_overrides(seed=seed)
    a = plan(customers, reps, policy=policy, as_of=AS_OF).assignments
    b = plan(customers, reps, policy=policy, as_of=AS_OF).assignments
    pd.testing.assert_frame_equal(a, b)


def feasible_by_brute_force(customers: pd.DataFrame, reps: pd.DataFrame, policy: Policy) -> bool:
    """Whether any assignment meets every hard rule (depth-first search over every choice per customer)."""
    c = normalise_customers(customers).to_dict("records")
    r = normalise_reps(reps).set_index("rep_id")
    wl = effective_workload(customers, policy).to_numpy()
    rules = policy.rules
    options: list[list[str]] = []
    voluntary: list[bool] = []
    for cust in c:
        own = cust["current_owner"]
        if cust["locked"] and own:
            options.append([own])
            voluntary.append(False)
            continue
        gone = reclaimed(cust, policy, AS_OF)
        opts = [rid for rid, rep in r.iterrows() if rep_may_own(cust, rep, policy) and not (gone and rid == own)]
        options.append(opts + ([""] if rules.allow_pool else []))
        voluntary.append(bool(own) and rep_may_own(cust, r.loc[own], policy) and not gone)
    # locked customers may leave their owner over capacity; everyone else must fit
    acc = {rid: rep["max_accounts"] for rid, rep in r.iterrows()}
    cap = {rid: rep["max_workload"] for rid, rep in r.iterrows()}
    for i, cust in enumerate(c):
        if cust["locked"] and cust["current_owner"]:
            o = cust["current_owner"]
            acc[o] = max(acc[o] - 1, 0) if not math.isnan(acc[o]) else acc[o]
            cap[o] = max(cap[o] - wl[i], 0.0) if not math.isnan(cap[o]) else cap[o]
    free = [i for i, cust in enumerate(c) if not (cust["locked"] and cust["current_owner"])]
    count = {rid: 0 for rid in r.index}
    load = {rid: 0.0 for rid in r.index}
    moves_in = {rid: 0 for rid in r.index}
    moves_out = {rid: 0 for rid in r.index}
    budget, per_rep = rules.move_budget, rules.max_moves_per_rep
    if budget >= 0:
        budget += capacity_allowance(customers, reps, policy)
    state = {"moves": 0}

    def place(k: int) -> bool:
        if k == len(free):
            return True
        i = free[k]
        own = c[i]["current_owner"]
        for rid in options[i]:
            move = voluntary[i] and rid != own
            if rid:
                if not math.isnan(acc[rid]) and count[rid] + 1 > acc[rid]:
                    continue
                if not math.isnan(cap[rid]) and load[rid] + wl[i] > cap[rid] + 1e-9:
                    continue
            if move:
                if budget >= 0 and state["moves"] + 1 > budget:
                    continue
                if per_rep >= 0 and (moves_out[own] + 1 > per_rep or (rid and moves_in[rid] + 1 > per_rep)):
                    continue
            if rid:
                count[rid] += 1
                load[rid] += wl[i]
            if move:
                state["moves"] += 1
                moves_out[own] += 1
                if rid:
                    moves_in[rid] += 1
            if place(k + 1):
                return True
            if rid:
                count[rid] -= 1
                load[rid] -= wl[i]
            if move:
                state["moves"] -= 1
                moves_out[own] -= 1
                if rid:
                    moves_in[rid] -= 1
        return False

    return place(0)


@PROPERTY_SETTINGS
@given(book=books(max_customers=6, max_reps=3), rules=rule_sets)
def test_no_pool_policy_error_exactly_when_infeasible(fast_policy: Policy, book, rules) -> None:
    """With allow_pool false, plan() raises PolicyError exactly when no assignment meets the hard rules."""
    customers, reps = book
    policy = with_rules(fast_policy, allow_pool=False, **rules)
    feasible = feasible_by_brute_force(customers, reps, policy)
    if feasible:
        result = plan(customers, reps, policy=policy, as_of=AS_OF)
        assert plan_problems(customers, reps, result.assignments, policy) == []
        assert result.summary["n_pool"] == 0
    else:
        with pytest.raises(PolicyError):
            plan(customers, reps, policy=policy, as_of=AS_OF)
