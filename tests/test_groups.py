"""Moves that must go together are grouped (allocator.groups)."""

from __future__ import annotations

import math

import pandas as pd

from allocator.groups import full_reps, move_groups


def reps_table(*rows: tuple[str, int, float]) -> pd.DataFrame:
    """rep_id, accounts_after, max_accounts (workload columns without limits)."""
    return pd.DataFrame({
        "rep_id": [r[0] for r in rows], "accounts_after": [r[1] for r in rows], "max_accounts": [r[2] for r in rows],
        "workload_after": [0.0] * len(rows), "max_workload": [math.nan] * len(rows),
    })


def moves_table(*pairs: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": [p[0] for p in pairs], "from_rep": [p[1] for p in pairs],
                         "to_rep": [p[2] for p in pairs]})


def test_a_swap_between_two_full_reps_is_one_group() -> None:
    """Two customers trading places between two full reps form a swap."""
    g = move_groups(moves_table(("C1", "A", "B"), ("C2", "B", "A"), ("C3", "", "D")),
                    reps_table(("A", 5, 5), ("B", 3, 3), ("D", 1, math.nan)))
    assert list(g["group"]) == ["G0001", "G0001", ""]
    assert list(g["group_kind"]) == ["swap", "swap", ""]
    assert list(g["group_size"]) == [2, 2, 1]


def test_a_chain_through_full_reps_links_every_move() -> None:
    """A→B, B→C, C→pool through full B and C is one chain of three moves."""
    g = move_groups(moves_table(("C1", "A", "B"), ("C2", "B", "C"), ("C3", "C", "")),
                    reps_table(("A", 1, 9), ("B", 4, 4), ("C", 2, 2)))
    assert set(g["group"]) == {"G0001"} and set(g["group_kind"]) == {"chain"}


def test_moves_into_a_rep_with_room_stand_alone() -> None:
    """When the receiving rep has room, nothing ties the moves together (the binding case's counterpart)."""
    g = move_groups(moves_table(("C1", "A", "B"), ("C2", "B", "A")),
                    reps_table(("A", 4, 9), ("B", 3, 9)))
    assert list(g["group"]) == ["", ""]
    assert full_reps(reps_table(("A", 4, 9), ("B", 9, 9))) == {"B"}
