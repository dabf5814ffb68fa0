"""Moves that must go together: a customer can only join a full rep because another one leaves.

A rep that ends the run at its account or workload capacity links every move into it with every
move out of it; linked moves form a group (a *swap* when two customers trade reps, otherwise a
*chain*). Approving part of a group can leave a rep over capacity, which ``allocator apply``
refuses, naming the group.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

WORKLOAD_FULL = 0.97  # a rep at this share of max_workload or more counts as full


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def full_reps(reps: pd.DataFrame) -> set[str]:
    """Reps whose book after the run leaves no room (accounts at the limit, or workload nearly)."""
    acc = pd.to_numeric(reps["accounts_after"], errors="coerce")
    max_acc = pd.to_numeric(reps["max_accounts"], errors="coerce")
    wl = pd.to_numeric(reps["workload_after"], errors="coerce")
    max_wl = pd.to_numeric(reps["max_workload"], errors="coerce")
    full = (max_acc.notna() & (acc >= max_acc)) | (max_wl.notna() & (wl >= WORKLOAD_FULL * max_wl))
    return set(reps.loc[full.to_numpy(), "rep_id"].astype(str))


def move_groups(moves: pd.DataFrame, reps: pd.DataFrame) -> pd.DataFrame:
    """Per move (same order as ``moves``): ``group`` id ('' when the move stands alone),
    ``group_kind`` (swap / chain) and ``group_size``."""
    n = len(moves)
    parent = list(range(n))
    frm = moves["from_rep"].astype(str).to_numpy()
    to = moves["to_rep"].astype(str).to_numpy()
    for rep in sorted(full_reps(reps)):
        ins = np.flatnonzero(to == rep)
        outs = np.flatnonzero(frm == rep)
        if len(ins) and len(outs):
            first = int(ins[0])
            for k in (*ins[1:], *outs):
                a, b = _find(parent, first), _find(parent, int(k))
                if a != b:
                    parent[max(a, b)] = min(a, b)
    roots = np.array([_find(parent, i) for i in range(n)], dtype=np.int64)
    sizes = np.bincount(roots, minlength=n)[roots] if n else np.zeros(0, dtype=np.int64)
    group = np.full(n, "", dtype=object)
    kind = np.full(n, "", dtype=object)
    # number groups in order of their first move, so ids are stable for the same plan
    numbered: dict[int, str] = {}
    for i in range(n):
        if sizes[i] < 2:
            continue
        r = int(roots[i])
        if r not in numbered:
            numbered[r] = f"G{len(numbered) + 1:04d}"
        group[i] = numbered[r]
    for r, gid in numbered.items():
        members = np.flatnonzero(roots == r)
        is_swap = len(members) == 2 and frm[members[0]] == to[members[1]] and frm[members[1]] == to[members[0]]
        kind[members] = "swap" if is_swap else "chain"
    return pd.DataFrame({"group": group, "group_kind": kind, "group_size": np.where(sizes >= 2, sizes, 1)},
                        index=moves.index)
