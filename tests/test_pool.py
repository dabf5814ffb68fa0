"""The public pool (公海): reclaim after N days without follow-up, pool priority and shortfall
reporting when capacity is short, and disputes settled toward the stronger relationship.

Every plan is also checked by ``plan_problems`` (tests/conftest.py), which recomputes the hard
rules, including "a reclaimed customer never goes straight back", from the input tables.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd

from allocator.api import plan
from allocator.policy import Policy
from conftest import AS_OF, BEIJING, SHANGHAI, customers_frame, owners, plan_problems, reps_frame

NEAR_SHANGHAI = [(31.25, 121.45), (31.20, 121.50), (31.30, 121.40)]


def with_rules(policy: Policy, **rules) -> Policy:
    """The policy with some rules replaced."""
    return dataclasses.replace(policy, rules=dataclasses.replace(policy.rules, **rules))


def checked_plan(customers: pd.DataFrame, reps: pd.DataFrame, policy: Policy, activities=None):
    """Plan the book and check every hard rule independently."""
    result = plan(customers, reps, activities, policy=policy, as_of=AS_OF)
    problems = plan_problems(customers, reps, result.assignments, policy)
    assert problems == [], problems
    return result


def two_reps(**shanghai) -> pd.DataFrame:
    """Rep S in Shanghai, rep B in Beijing (about 1,000 km away)."""
    return reps_frame({"rep_id": "S", "region": "east", "at": SHANGHAI, **shanghai},
                      {"rep_id": "B", "region": "north", "at": BEIJING})


def days_before(n: int) -> str:
    return (AS_OF - dt.timedelta(days=n)).isoformat()


# --- reclaim ------------------------------------------------------------------------------------


def test_reclaim_boundary_exactly_n_days_counts(plain_policy: Policy) -> None:
    """Idle exactly reclaim_after_days is reclaimed (to the other rep); one day less stays."""
    customers = customers_frame(
        {"customer_id": "C0", "at": NEAR_SHANGHAI[0], "current_owner": "S", "last_activity": days_before(90)},
        {"customer_id": "C1", "at": NEAR_SHANGHAI[1], "current_owner": "S", "last_activity": days_before(89)},
    )
    result = checked_plan(customers, two_reps(), with_rules(plain_policy, reclaim_after_days=90))
    a = result.assignments.set_index("customer_id")
    assert owners(result.assignments) == {"C0": "B", "C1": "S"}
    assert a.loc["C0", "reason"] == "reclaimed" and a.loc["C1", "reason"] == "kept"
    assert result.summary["n_reclaimed"] == 1 and result.summary["n_forced_moves"] == 1


def test_reclaimed_customer_never_goes_back_to_previous_owner(plain_policy: Policy) -> None:
    """With its previous owner the only rep, a reclaimed customer stays in the pool (reason reclaimed)."""
    customers = customers_frame(
        {"customer_id": "C0", "at": NEAR_SHANGHAI[0], "current_owner": "S", "last_activity": days_before(400)})
    reps = reps_frame({"rep_id": "S", "at": SHANGHAI})
    result = checked_plan(customers, reps, with_rules(plain_policy, reclaim_after_days=30))
    assert owners(result.assignments) == {"C0": ""}
    assert result.assignments["reason"].tolist() == ["reclaimed"]
    assert "S" not in set(result.candidates.loc[result.candidates["customer_id"] == "C0", "rep_id"])


def test_locked_customer_is_never_reclaimed(plain_policy: Policy) -> None:
    """A locked customer idle for a year keeps its owner; the summary counts no reclaim."""
    customers = customers_frame(
        {"customer_id": "C0", "at": NEAR_SHANGHAI[0], "current_owner": "S", "locked": True,
         "last_activity": days_before(365)},
        {"customer_id": "C1", "at": NEAR_SHANGHAI[1], "current_owner": "S"},  # never followed up
    )
    result = checked_plan(customers, two_reps(), with_rules(plain_policy, reclaim_after_days=30))
    a = result.assignments.set_index("customer_id")
    assert a.loc["C0", "rep_id"] == "S" and a.loc["C0", "reason"] == "locked"
    assert a.loc["C1", "rep_id"] == "B" and a.loc["C1", "reason"] == "reclaimed"
    assert result.summary["n_reclaimed"] == 1


def test_reclaim_is_a_fixed_point_when_ownership_is_written_back(fast_policy: Policy, small_generated) -> None:
    """Writing a run's rep_id and last_activity back and re-running on the same date reclaims nothing more."""
    policy = with_rules(fast_policy, reclaim_after_days=60)
    book = small_generated
    first = plan(book.customers, book.reps, book.activities, policy=policy, as_of=AS_OF)
    assert first.summary["n_reclaimed"] > 0
    back = book.customers.copy()
    a = first.assignments.set_index("customer_id")
    back["current_owner"] = a.loc[back["customer_id"], "rep_id"].to_numpy()
    back["last_activity"] = a.loc[back["customer_id"], "last_activity"].to_numpy()
    moved = a.loc[back["customer_id"], "moved"].to_numpy()
    assert (back.loc[moved & (back["current_owner"] != ""), "last_activity"] == pd.Timestamp(AS_OF)).all()
    second = plan(back, book.reps, book.activities, policy=policy, as_of=AS_OF)
    assert second.summary["n_reclaimed"] == 0
    assert second.summary["n_forced_moves"] == 0


# --- pool priority and shortfall ----------------------------------------------------------------


def test_short_capacity_places_higher_tier_and_value_first_and_reports_shortfall(plain_policy: Policy) -> None:
    """Two accounts for three customers: the strategic and the bigger standard customer are placed; the
    summary names the region and tier left short, and the customer no rep may own separately."""
    customers = customers_frame(
        {"customer_id": "C0", "tier": "strategic", "value": 100, "region": "east", "at": NEAR_SHANGHAI[0]},
        {"customer_id": "C1", "tier": "standard", "value": 150, "region": "east", "at": NEAR_SHANGHAI[1]},
        {"customer_id": "C2", "tier": "standard", "value": 50, "region": "east", "at": NEAR_SHANGHAI[2]},
        {"customer_id": "C3", "tier": "standard", "value": 100, "region": "east", "language": "fr",
         "at": NEAR_SHANGHAI[2]},
    )
    reps = reps_frame({"rep_id": "S", "region": "east", "at": SHANGHAI, "max_accounts": 2})
    result = checked_plan(customers, reps, plain_policy)
    assert owners(result.assignments) == {"C0": "S", "C1": "S", "C2": "", "C3": ""}
    a = result.assignments.set_index("customer_id")
    assert a.loc["C2", "reason"] == "no capacity" and a.loc["C3", "reason"] == "no eligible rep"
    assert result.summary["pool_shortfall"] == [
        {"region": "east", "tier": "standard", "customers": 1, "value": 50.0, "workload": 3.0}]
    assert result.summary["pool_no_eligible_rep"] == [
        {"region": "east", "tier": "standard", "customers": 1, "value": 100.0, "workload": 3.0}]
    assert "left in the pool for lack of capacity: east/standard 1" in result.summary_text()


def test_pool_tier_factor_decides_between_equal_customers(plain_policy: Policy) -> None:
    """Equal value, one account: the key customer is placed before the standard one; with equal
    pool_tier factors the tie goes the other way only if the factor is what decided."""
    customers = customers_frame(
        {"customer_id": "C0", "tier": "standard", "value": 100, "at": NEAR_SHANGHAI[0]},
        {"customer_id": "C1", "tier": "key", "value": 100, "at": NEAR_SHANGHAI[1]},
    )
    reps = reps_frame({"rep_id": "S", "at": SHANGHAI, "max_accounts": 1, "level": 4})
    assert owners(checked_plan(customers, reps, plain_policy).assignments) == {"C0": "", "C1": "S"}
    flipped = dataclasses.replace(plain_policy, weights=dataclasses.replace(
        plain_policy.weights, pool_tier={"standard": 3.0, "key": 1.0}))
    assert owners(checked_plan(customers, reps, flipped).assignments) == {"C0": "S", "C1": ""}


def test_no_shortfall_when_capacity_suffices(plain_policy: Policy) -> None:
    """With room for everyone the shortfall list is empty and nobody stays in the pool."""
    customers = customers_frame(*({"customer_id": f"C{i}", "at": NEAR_SHANGHAI[i]} for i in range(3)))
    result = checked_plan(customers, two_reps(max_accounts=5), plain_policy)
    assert result.summary["pool_shortfall"] == [] and result.summary["n_pool"] == 0


# --- disputes -----------------------------------------------------------------------------------


def dispute_book(n_customers: int = 30) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, list[str]]]:
    """30 pool customers in Shanghai, each worked by 3 of 6 Shanghai reps (5, 2 and 1 calls).

    R0 and R1 are each the strongest rep of 10 customers but can take only 5; R2 and R3 are the
    strongest of 5 each; R4 and R5 are second of the customers R0 and R1 cannot take. Returns
    customers, reps, activities and each customer's workers, strongest first.
    """
    strongest = ["R0"] * 10 + ["R1"] * 10 + ["R2"] * 5 + ["R3"] * 5
    second = {"R0": "R4", "R1": "R5", "R2": "R3", "R3": "R2"}
    workers: dict[str, list[str]] = {}
    rows, acts = [], []
    for i, top in enumerate(strongest):
        cid = f"C{i:02d}"
        snd = second[top]
        third = next(r for r in ("R5", "R4", "R3") if r not in (top, snd))
        workers[cid] = [top, snd, third]
        rows.append({"customer_id": cid, "at": SHANGHAI})
        for rep, n in ((top, 5), (snd, 2), (third, 1)):
            acts += [{"customer_id": cid, "rep_id": rep, "date": (AS_OF - dt.timedelta(days=3 + k)).isoformat(),
                      "kind": "call"} for k in range(n)]
    reps = reps_frame(*({"rep_id": f"R{r}", "at": SHANGHAI, "max_accounts": 5} for r in range(6)))
    return customers_frame(*rows), reps, pd.DataFrame(acts), workers


def test_disputes_go_to_the_strongest_relationship_within_capacity(plain_policy: Policy) -> None:
    """Every customer goes to its strongest rep where that rep has room (20 of 30), never beyond
    capacity, the rest to their second; the explanation lists the contacts and the reason says so."""
    customers, reps, activities, workers = dispute_book()
    result = checked_plan(customers, reps, plain_policy, activities)
    got = owners(result.assignments)
    to_strongest = sum(got[c] == w[0] for c, w in workers.items())
    assert to_strongest == 20  # R0 and R1 take 5 of their 10 each; R2 and R3 take all of theirs
    assert all(got[c] in w[:2] for c, w in workers.items())
    assert result.assignments["rep_id"].value_counts().max() <= 5
    moves = result.moves.set_index("customer_id")
    decided = [c for c, w in workers.items() if got[c] == w[0]]
    assert (moves.loc[decided, "reason"] == "relationship").all()
    c = decided[0]
    w = workers[c]
    assert f"worked by {w[0]}: 5 contacts in 365 days, {w[1]}: 2, {w[2]}: 1" in moves.loc[c, "explanation"]


def test_disputes_with_balance_terms_still_favour_the_strongest(fast_policy: Policy) -> None:
    """With the default balance terms on, most customers still go to their strongest rep with room."""
    customers, reps, activities, workers = dispute_book()
    result = checked_plan(customers, reps, fast_policy, activities)
    got = owners(result.assignments)
    assert sum(got[c] == w[0] for c, w in workers.items()) >= 18
    assert result.assignments["rep_id"].value_counts().max() <= 5
