"""Each hard rule of DESIGN.md on a tiny hand-built book: once where it binds (the plan without
the rule would break it) and once where it does not (the rule changes nothing).

Reps sit in Shanghai, Beijing or Guangzhou, about 1,000 km apart, so distance (1 point per
100 km) outweighs continuity (about 4 points) and every other soft term: without a rule in the
way each customer goes to its nearest rep. Balance terms are off (``plain_policy``) so that each
optimum can be worked out by hand. Every plan is also checked by ``plan_problems``, which
recomputes all hard rules from the input tables.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from allocator.api import plan
from allocator.errors import PolicyError
from allocator.policy import Policy
from conftest import (
    AS_OF,
    BEIJING,
    GUANGZHOU,
    SHANGHAI,
    customers_frame,
    owners,
    plan_problems,
    reps_frame,
    voluntary_moves,
)

NEAR_SHANGHAI = [(31.25, 121.45), (31.20, 121.50), (31.30, 121.40), (31.22, 121.55)]
NEAR_BEIJING = [(39.92, 116.38), (39.85, 116.45)]


def with_rules(policy: Policy, **rules) -> Policy:
    """The policy with some rules replaced."""
    return dataclasses.replace(policy, rules=dataclasses.replace(policy.rules, **rules))


def solve(customers: pd.DataFrame, reps: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Plan the book and check every hard rule independently; returns the assignments."""
    result = plan(customers, reps, policy=policy, as_of=AS_OF)
    problems = plan_problems(customers, reps, result.assignments, policy)
    assert problems == [], problems
    return result.assignments


def shanghai_and_beijing(**shanghai) -> pd.DataFrame:
    """Rep S in Shanghai and rep B in Beijing; keyword arguments change S."""
    return reps_frame(
        {"rep_id": "S", "region": "east", "at": SHANGHAI, "level": 4, "languages": "zh;en", **shanghai},
        {"rep_id": "B", "region": "north", "at": BEIJING, "level": 2, "languages": "zh"},
    )


def three_near_shanghai(**extra) -> pd.DataFrame:
    """Three pool customers near Shanghai; keyword arguments go to every row."""
    return customers_frame(*({"customer_id": f"C{i}", "at": NEAR_SHANGHAI[i], **extra} for i in range(3)))


def count(assignments: pd.DataFrame, rep_id: str) -> int:
    return int((assignments["rep_id"] == rep_id).sum())


# --- account capacity ------------------------------------------------------------------------


def test_account_capacity_binds(plain_policy: Policy) -> None:
    """A rep with room for 2 accounts gets 2 of the 3 customers it is nearest to; the third goes further."""
    free = solve(three_near_shanghai(), shanghai_and_beijing(), plain_policy)
    assert count(free, "S") == 3  # without the capacity all three would go to S
    capped = solve(three_near_shanghai(), shanghai_and_beijing(max_accounts=2), plain_policy)
    assert count(capped, "S") == 2
    assert count(capped, "B") == 1


def test_account_capacity_not_binding(plain_policy: Policy) -> None:
    """A capacity the nearest-rep plan fits in changes nothing."""
    free = solve(three_near_shanghai(), shanghai_and_beijing(), plain_policy)
    capped = solve(three_near_shanghai(), shanghai_and_beijing(max_accounts=3), plain_policy)
    assert owners(capped) == owners(free) == {"C0": "S", "C1": "S", "C2": "S"}


def test_locked_customers_use_account_capacity(plain_policy: Policy) -> None:
    """A locked customer fills one of its owner's accounts, so one fewer free customer fits."""
    customers = pd.concat([
        three_near_shanghai(),
        customers_frame({"customer_id": "L", "at": NEAR_SHANGHAI[3], "current_owner": "S", "locked": True}),
    ], ignore_index=True)
    result = solve(customers, shanghai_and_beijing(max_accounts=3), plain_policy)
    assert count(result, "S") == 3
    assert owners(result)["L"] == "S"


# --- workload capacity -------------------------------------------------------------------------


def test_workload_capacity_binds(plain_policy: Policy) -> None:
    """A rep with 25 hours takes two 10-hour customers, not three."""
    free = solve(three_near_shanghai(workload=10.0), shanghai_and_beijing(), plain_policy)
    assert count(free, "S") == 3
    capped = solve(three_near_shanghai(workload=10.0), shanghai_and_beijing(max_workload=25), plain_policy)
    assert count(capped, "S") == 2
    assert count(capped, "B") == 1


def test_workload_capacity_not_binding(plain_policy: Policy) -> None:
    """30 hours fit three 10-hour customers exactly: the plan is the nearest-rep plan."""
    capped = solve(three_near_shanghai(workload=10.0), shanghai_and_beijing(max_workload=30), plain_policy)
    assert count(capped, "S") == 3


def test_workload_defaults_from_tier(plain_policy: Policy) -> None:
    """A customer without workload weighs its tier's default: three key accounts (8 h each) overflow 20 h."""
    capped = solve(three_near_shanghai(tier="key"), shanghai_and_beijing(max_workload=20), plain_policy)
    assert plain_policy.rules.tier_workload["key"] == 8.0
    assert count(capped, "S") == 2


def test_workload_tier_default_comes_from_policy(plain_policy: Policy) -> None:
    """With rules.tier_workload key = 5 h, three key accounts (15 h) fit in 20 h."""
    policy = with_rules(plain_policy, tier_workload={"strategic": 20.0, "key": 5.0, "standard": 3.0})
    capped = solve(three_near_shanghai(tier="key"), shanghai_and_beijing(max_workload=20), policy)
    assert count(capped, "S") == 3


def test_workload_capacity_holds_for_small_workloads(plain_policy: Policy) -> None:
    """Workloads below the engine's rounding step still add up: 30 customers of 0.04 h do not fit in 1 h."""
    customers = customers_frame(*({"customer_id": f"C{i:02d}", "at": NEAR_SHANGHAI[i % 4], "workload": 0.04}
                                  for i in range(30)))
    result = solve(customers, shanghai_and_beijing(max_workload=1.0), plain_policy)
    assert count(result, "S") <= 25


def test_candidates_widen_past_reps_full_by_workload(plain_policy: Policy) -> None:
    """With one candidate per customer, a customer whose nearest rep is full by workload still finds a rep with room."""
    customers = customers_frame(
        {"customer_id": "L", "at": NEAR_SHANGHAI[0], "workload": 6.0, "current_owner": "S", "locked": True},
        {"customer_id": "C0", "at": NEAR_SHANGHAI[1], "workload": 2.0},
    )
    policy = dataclasses.replace(plain_policy, solver=dataclasses.replace(plain_policy.solver, candidates=1))
    result = solve(customers, shanghai_and_beijing(max_workload=6.0), with_rules(policy, allow_pool=False))
    assert owners(result) == {"L": "S", "C0": "B"}


# --- locked ----------------------------------------------------------------------------------------


def test_locked_binds(plain_policy: Policy) -> None:
    """A locked customer stays with its far-away owner; unlocked it would move to the nearest rep."""
    row = {"customer_id": "C0", "at": NEAR_SHANGHAI[0], "current_owner": "B"}
    unlocked = solve(customers_frame(row), shanghai_and_beijing(), plain_policy)
    assert owners(unlocked) == {"C0": "S"}
    locked = solve(customers_frame({**row, "locked": True}), shanghai_and_beijing(), plain_policy)
    assert owners(locked) == {"C0": "B"}
    assert not locked["moved"].any()


def test_locked_holds_against_every_other_rule(plain_policy: Policy) -> None:
    """A locked customer stays even with an owner that is inactive, full and of too low a level."""
    customers = customers_frame({"customer_id": "C0", "tier": "strategic", "at": NEAR_BEIJING[0],
                                 "current_owner": "B", "locked": True})
    reps = reps_frame(
        {"rep_id": "S", "at": SHANGHAI, "level": 5},
        {"rep_id": "B", "at": BEIJING, "level": 1, "max_accounts": 0, "active": False},
    )
    assert owners(solve(customers, reps, plain_policy)) == {"C0": "B"}


def test_locked_not_binding(plain_policy: Policy) -> None:
    """A locked customer already with its best rep keeps it, as the unlocked plan would."""
    row = {"customer_id": "C0", "at": NEAR_SHANGHAI[0], "current_owner": "S"}
    unlocked = solve(customers_frame(row), shanghai_and_beijing(), plain_policy)
    locked = solve(customers_frame({**row, "locked": True}), shanghai_and_beijing(), plain_policy)
    assert owners(unlocked) == owners(locked) == {"C0": "S"}


# --- inactive reps -------------------------------------------------------------------------------


def test_inactive_rep_binds(plain_policy: Policy) -> None:
    """An inactive rep loses its customers and gets none, although it is the nearest."""
    customers = customers_frame(
        {"customer_id": "C0", "at": NEAR_SHANGHAI[0], "current_owner": "S"},
        {"customer_id": "C1", "at": NEAR_SHANGHAI[1]},
    )
    active = solve(customers, shanghai_and_beijing(), plain_policy)
    assert owners(active) == {"C0": "S", "C1": "S"}
    inactive = solve(customers, shanghai_and_beijing(active=False), plain_policy)
    assert owners(inactive) == {"C0": "B", "C1": "B"}
    assert inactive.set_index("customer_id").loc["C0", "reason"] == "owner inactive"


def test_inactive_rep_keeps_locked_customers(plain_policy: Policy) -> None:
    """An inactive rep keeps a locked customer and loses the unlocked one."""
    customers = customers_frame(
        {"customer_id": "C0", "at": NEAR_SHANGHAI[0], "current_owner": "S", "locked": True},
        {"customer_id": "C1", "at": NEAR_SHANGHAI[1], "current_owner": "S"},
    )
    result = solve(customers, shanghai_and_beijing(active=False), plain_policy)
    assert owners(result) == {"C0": "S", "C1": "B"}


def test_inactive_rep_not_binding(plain_policy: Policy) -> None:
    """An inactive rep that no customer would choose anyway changes nothing."""
    customers = three_near_shanghai()
    reps = pd.concat([shanghai_and_beijing(),
                      reps_frame({"rep_id": "G", "at": GUANGZHOU, "active": False})], ignore_index=True)
    reps_active = reps.assign(active=True)
    assert owners(solve(customers, reps, plain_policy)) == owners(solve(customers, reps_active, plain_policy))


def test_inactive_rep_in_summary(plain_policy: Policy) -> None:
    """An inactive rep's unlocked customers are forced moves, counted apart from voluntary ones."""
    customers = customers_frame({"customer_id": "C0", "at": NEAR_SHANGHAI[0], "current_owner": "S"})
    result = plan(customers, shanghai_and_beijing(active=False), policy=plain_policy, as_of=AS_OF)
    s = result.summary
    assert (s["n_moves"], s["n_forced_moves"], s["n_voluntary_moves"]) == (1, 1, 0)
    assert s["n_active_reps"] == 1


# --- region hard -----------------------------------------------------------------------------------


def test_region_hard_binds(plain_policy: Policy) -> None:
    """A customer of region east in Beijing goes to the east rep in Shanghai when regions are hard."""
    customers = customers_frame({"customer_id": "C0", "region": "east", "at": NEAR_BEIJING[0]})
    soft = solve(customers, shanghai_and_beijing(), with_rules(plain_policy, region_mode="soft"))
    assert owners(soft) == {"C0": "B"}  # 2 points for the wrong region beat 10 for the distance
    hard = solve(customers, shanghai_and_beijing(), with_rules(plain_policy, region_mode="hard"))
    assert owners(hard) == {"C0": "S"}


def test_region_hard_makes_current_owner_a_forced_move(plain_policy: Policy) -> None:
    """Hard regions take a customer from an owner of another region, and that move spends no budget."""
    customers = customers_frame({"customer_id": "C0", "region": "east", "at": NEAR_BEIJING[0], "current_owner": "B"})
    policy = with_rules(plain_policy, region_mode="hard", move_budget=0)
    result = solve(customers, shanghai_and_beijing(), policy)
    assert owners(result) == {"C0": "S"}
    assert voluntary_moves(customers, shanghai_and_beijing(), result, policy).empty


def test_region_hard_not_binding(plain_policy: Policy) -> None:
    """A customer in its own rep's region gets the same rep whether regions are hard or soft."""
    customers = customers_frame({"customer_id": "C0", "region": "north", "at": NEAR_BEIJING[0]})
    soft = solve(customers, shanghai_and_beijing(), with_rules(plain_policy, region_mode="soft"))
    hard = solve(customers, shanghai_and_beijing(), with_rules(plain_policy, region_mode="hard"))
    assert owners(soft) == owners(hard) == {"C0": "B"}


# --- minimum level per tier --------------------------------------------------------------------------


def test_min_level_binds(plain_policy: Policy) -> None:
    """A strategic customer next to a level-2 rep goes to the level-4 rep (strategic needs level 3)."""
    customers = customers_frame({"customer_id": "C0", "tier": "strategic", "at": NEAR_BEIJING[0]})
    no_minimum = solve(customers, shanghai_and_beijing(), with_rules(plain_policy, min_level={}))
    assert owners(no_minimum) == {"C0": "B"}
    assert plain_policy.rules.min_level == {"strategic": 3}
    assert owners(solve(customers, shanghai_and_beijing(), plain_policy)) == {"C0": "S"}


def test_min_level_not_binding(plain_policy: Policy) -> None:
    """A standard customer next to the level-2 rep stays there: standard has no minimum."""
    customers = customers_frame({"customer_id": "C0", "tier": "standard", "at": NEAR_BEIJING[0]})
    assert owners(solve(customers, shanghai_and_beijing(), plain_policy)) == {"C0": "B"}


# --- language ---------------------------------------------------------------------------------------


def test_language_binds(plain_policy: Policy) -> None:
    """An English-speaking customer next to a rep who speaks only Chinese goes to the rep who speaks English."""
    customers = customers_frame({"customer_id": "C0", "language": "en", "at": NEAR_BEIJING[0]})
    optional = solve(customers, shanghai_and_beijing(), with_rules(plain_policy, require_language=False))
    assert owners(optional) == {"C0": "B"}
    required = solve(customers, shanghai_and_beijing(), with_rules(plain_policy, require_language=True))
    assert owners(required) == {"C0": "S"}


def test_language_not_binding(plain_policy: Policy) -> None:
    """A Chinese-speaking customer keeps the nearest rep, who speaks Chinese."""
    customers = customers_frame({"customer_id": "C0", "language": "zh", "at": NEAR_BEIJING[0]})
    required = solve(customers, shanghai_and_beijing(), with_rules(plain_policy, require_language=True))
    assert owners(required) == {"C0": "B"}


# --- move budget ------------------------------------------------------------------------------------


def owned_by_beijing(n: int = 3) -> pd.DataFrame:
    """n customers near Shanghai owned today by the Beijing rep (moving each saves ~10 points)."""
    return customers_frame(*({"customer_id": f"C{i}", "at": NEAR_SHANGHAI[i], "current_owner": "B"}
                             for i in range(n)))


def test_move_budget_binds(plain_policy: Policy) -> None:
    """With a budget of 1, only one of the three customers that would all move does."""
    free = solve(owned_by_beijing(), shanghai_and_beijing(), plain_policy)
    assert count(free, "S") == 3
    capped = solve(owned_by_beijing(), shanghai_and_beijing(), with_rules(plain_policy, move_budget=1))
    assert int(capped["moved"].sum()) == 1
    assert count(capped, "S") == 1


def test_move_budget_zero_keeps_everyone(plain_policy: Policy) -> None:
    """A budget of 0 proposes no voluntary move at all."""
    capped = solve(owned_by_beijing(), shanghai_and_beijing(), with_rules(plain_policy, move_budget=0))
    assert not capped["moved"].any()


def test_move_budget_not_binding(plain_policy: Policy) -> None:
    """A budget larger than the moves wanted changes nothing."""
    free = solve(owned_by_beijing(), shanghai_and_beijing(), plain_policy)
    capped = solve(owned_by_beijing(), shanghai_and_beijing(), with_rules(plain_policy, move_budget=5))
    assert owners(free) == owners(capped)


def test_forced_moves_do_not_use_the_budget(plain_policy: Policy) -> None:
    """With a budget of 0, customers of an inactive rep and pool customers are still placed."""
    customers = pd.concat([
        owned_by_beijing(2),
        customers_frame({"customer_id": "D0", "at": NEAR_SHANGHAI[2], "current_owner": "G"},
                        {"customer_id": "D1", "at": NEAR_SHANGHAI[3]}),
    ], ignore_index=True)
    reps = pd.concat([shanghai_and_beijing(), reps_frame({"rep_id": "G", "at": GUANGZHOU, "active": False})],
                     ignore_index=True)
    result = solve(customers, reps, with_rules(plain_policy, move_budget=0))
    assert owners(result) == {"C0": "B", "C1": "B", "D0": "S", "D1": "S"}


def test_max_moves_per_rep_binds(plain_policy: Policy) -> None:
    """At most 2 voluntary moves out of one rep, when 3 would move."""
    capped = solve(owned_by_beijing(), shanghai_and_beijing(), with_rules(plain_policy, max_moves_per_rep=2))
    assert int(capped["moved"].sum()) == 2


def test_reclaim_moves_idle_customers_without_budget(plain_policy: Policy) -> None:
    """A customer idle for reclaim_after_days leaves its owner even with a budget of 0; a recent one stays."""
    customers = customers_frame(
        {"customer_id": "C0", "at": NEAR_SHANGHAI[0], "current_owner": "S", "last_activity": "2026-01-05"},
        {"customer_id": "C1", "at": NEAR_SHANGHAI[1], "current_owner": "S", "last_activity": "2026-11-20"},
    )
    policy = with_rules(plain_policy, reclaim_after_days=90, move_budget=0)
    result = solve(customers, shanghai_and_beijing(), policy)
    assert owners(result) == {"C0": "B", "C1": "S"}
    off = solve(customers, shanghai_and_beijing(), with_rules(plain_policy, move_budget=0))
    assert owners(off) == {"C0": "S", "C1": "S"}


# --- pool ---------------------------------------------------------------------------------------------


def test_pool_allowed_keeps_unplaceable_customer(plain_policy: Policy) -> None:
    """A customer no rep may own (French speaker) stays in the pool when the pool is allowed."""
    customers = customers_frame({"customer_id": "C0", "language": "fr", "at": NEAR_SHANGHAI[0]},
                                {"customer_id": "C1", "at": NEAR_SHANGHAI[1]})
    result = plan(customers, shanghai_and_beijing(), policy=plain_policy, as_of=AS_OF)
    assert owners(result.assignments) == {"C0": "", "C1": "S"}
    assert result.summary["n_pool"] == 1


def test_pool_not_allowed_with_unplaceable_customer_is_policy_error(plain_policy: Policy) -> None:
    """A customer no rep may own is a PolicyError when allow_pool is false."""
    customers = customers_frame({"customer_id": "C0", "language": "fr", "at": NEAR_SHANGHAI[0]})
    with pytest.raises(PolicyError, match="allow_pool"):
        plan(customers, shanghai_and_beijing(), policy=with_rules(plain_policy, allow_pool=False), as_of=AS_OF)


def test_pool_not_allowed_without_capacity_is_policy_error(plain_policy: Policy) -> None:
    """Three customers for two accounts of capacity: pool when allowed, PolicyError when not."""
    reps = reps_frame({"rep_id": "S", "at": SHANGHAI, "max_accounts": 2})
    allowed = solve(three_near_shanghai(), reps, plain_policy)
    assert count(allowed, "") == 1
    with pytest.raises(PolicyError, match="cannot all be met"):
        plan(three_near_shanghai(), reps, policy=with_rules(plain_policy, allow_pool=False), as_of=AS_OF)


def test_pool_when_no_customer_has_an_eligible_rep(plain_policy: Policy) -> None:
    """A book where no customer has any eligible rep plans everyone into the pool (no crash)."""
    customers = customers_frame({"customer_id": "C0", "tier": "strategic", "at": NEAR_SHANGHAI[0]})
    reps = reps_frame({"rep_id": "S", "at": SHANGHAI, "level": 1})
    result = plan(customers, reps, policy=plain_policy, as_of=AS_OF)
    assert owners(result.assignments) == {"C0": ""}
    assert result.assignments.set_index("customer_id").loc["C0", "reason"] == "no eligible rep"


def test_pool_not_allowed_not_binding(plain_policy: Policy) -> None:
    """When everyone can be placed, forbidding the pool changes nothing."""
    allowed = solve(three_near_shanghai(), shanghai_and_beijing(), plain_policy)
    forbidden = solve(three_near_shanghai(), shanghai_and_beijing(), with_rules(plain_policy, allow_pool=False))
    assert owners(allowed) == owners(forbidden)
    assert "" not in owners(forbidden).values()
