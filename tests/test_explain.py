"""Every move is explained, and the explanation agrees with the cost parts (allocator.explain)."""

from __future__ import annotations

import re

import pytest

from allocator.api import plan
from allocator.datagen import generate
from allocator.policy import Policy
from conftest import AS_OF

NUMBER = r"([+-]\d+(?:\.\d+)?)"


@pytest.fixture(scope="module")
def busy_plan():
    """A 300-customer, 8-rep generated book (unbalanced, inactive reps, pool) planned briefly."""
    customers, reps, activities = generate(300, 8, seed=5)
    return plan(customers, reps, activities, policy=Policy().with_solver(deterministic_time=2, time_limit_seconds=20),
                as_of=AS_OF)


def test_every_move_has_a_reason_and_an_explanation(busy_plan) -> None:
    """No move goes out without a reason code and words that name both reps."""
    moves = busy_plan.moves
    assert len(moves) > 0
    assert (moves["reason"] != "").all() and (moves["explanation"].str.len() > 20).all()
    for row in moves.itertuples(index=False):
        assert row.explanation.startswith(f"{row.from_rep or 'the pool'} → {row.to_rep or 'the pool'}: ")


def test_objective_change_matches_the_cost_parts(busy_plan) -> None:
    """'arc +x' is the chosen candidate's cost minus keeping the old owner's; the total is arc minus balance gain."""
    cand = busy_plan.candidates.set_index(["customer_id", "rep_id"])["cost_total"]
    checked = 0
    for row in busy_plan.moves.itertuples(index=False):
        m = re.search(rf"objective {NUMBER} vs keeping \S+ \(arc {NUMBER}, balance {NUMBER}\)", row.explanation)
        if not m:
            continue
        total, arc, balance = (float(x) for x in m.groups())
        expected_arc = cand[(row.customer_id, row.to_rep)] - cand[(row.customer_id, row.from_rep)]
        assert arc == pytest.approx(expected_arc, abs=0.051)
        assert total == pytest.approx(arc + balance, abs=0.11)
        checked += 1
    assert checked > 0


def test_grouped_moves_name_each_other(busy_plan) -> None:
    """Moves in one group say which others they go together with."""
    grouped = busy_plan.moves.loc[busy_plan.moves["group"] != ""]
    for gid, members in grouped.groupby("group"):
        ids = set(members["customer_id"])
        for row in members.itertuples(index=False):
            assert "goes together with" in row.explanation
            if row.group_kind == "swap":
                (other,) = ids - {row.customer_id}
                assert other in row.explanation
