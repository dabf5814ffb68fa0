"""An exact search for small plain GAPs: branch-and-bound over the knapsack bound, at rising targets.

Relaxing "each customer exactly once" leaves one 0-1 knapsack per rep. Its bound is tight on
the hard GAP files (gapd-5: 6,176 against the optimum 6,185) but CP-SAT's search cannot use it.
This module does, the way exact GAP methods do (Posta, Ferland and Michelon 2012):

* at a target T it asks "is there a plan of cost at most T?", starting at the rounded-up bound
  and raising T by one each time the answer is proved to be no, so each "no" raises the proven
  bound by one and the first "yes" is optimal;
* every node of its depth-first tree re-prices the knapsacks by subgradient steps (warm from
  its parent), and is cut off once the knapsack bound exceeds T;
* exact forward and backward knapsack tables give, for every arc, the bound with the arc forced
  in or out, so arcs that would lift it above T are dropped and customers left one arc are placed;
* it branches on the customer with the fewest arcs left, preferring those the relaxation
  places not exactly once, one child per rep in order of bound;
* a repair of each node's relaxed plan, then shift and swap moves, gives plans along the way,
  so a time limit still ends with a plan;
* a tenth of the nodes go to a descent, a second tree at the target "best plan's cost less one",
  which dives to better plans where the repairs fall short (see :func:`solve`).
* searches side by side each take one part of every tree: the top of the tree, grown
  breadth-first alike in every part, is dealt out between them (see :func:`search`).

Measured on this machine, one core (BENCHMARKS.md): gapd-1, -2, -3 proved optimal in 0.3, 1 and
7 s, e10100, e10200, e20100 and e20200 in under a second; gapd-4 needs nearly 3 minutes
(12,429 proved impossible after 31 s), gapd-5 a little over 2.

The kernels are compiled by numba (cached on disk after the first run), because a tree of
100,000 nodes, each with a few dozen knapsack programmes, is out of reach of Python loops.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numba as nb
import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

ROOT_ITERATIONS = 3000  # subgradient steps for the root's prices, towards the incumbent's cost
TARGET_ROOT_ITERATIONS = 100  # at the root of each target's tree, warm from the root's prices
NODE_ITERATIONS = 20  # per node, warm from the parent (10 and 40 were slower on gapd-5)
IMPROVE_WITHIN = 20.0  # shift-and-swap a repaired plan only if it is this close to the best one
CHUNK_NODES = 200  # nodes between looks at the clock (about a tenth of a second on gapd-4)
SPLIT_DEPTH = 5  # where the descent's tree is dealt out between searches side by side
# the ascent's trees are dealt out as a frontier this wide, grown breadth-first (see search); on the
# targets gapd-4, -5, -6 just below their bounds the larger part searched 25,074, 77,442 and 39,096
# nodes, against 28,138, 83,480 and 74,286 dealt at depth 5 (where one part of gapd-6 got 19)
SPLIT_FRONTIER = 256
DESCENT_SHARE = 0.1  # of the nodes, for the descent towards better plans (see solve; 0.2 lost gapd-5)


@nb.njit(cache=True, nogil=True)
def _knapsack(weight: I64, profit: F64, count: int, cap: int, table: F64) -> float:
    """Forward 0-1 knapsack: ``table[k, w]`` is the best profit of the first k items within w."""
    for w in range(cap + 1):
        table[0, w] = 0.0
    for k in range(count):
        wk, pk = weight[k], profit[k]
        for w in range(cap + 1):
            v = table[k, w]
            if w >= wk and table[k, w - wk] + pk > v:
                v = table[k, w - wk] + pk
            table[k + 1, w] = v
    return table[count, cap]


@nb.njit(cache=True, nogil=True)
def _items(c: F64, a: I64, allowed: npt.NDArray[np.int8], assign: I64, cap: I64, u: F64, i: int,
           weight: I64, profit: F64, job: I64) -> int:
    """Rep i's knapsack items: its open arcs of unplaced customers worth taking at prices u."""
    k = 0
    for j in range(c.shape[1]):
        if assign[j] < 0 and allowed[i, j]:
            p = u[j] - c[i, j]
            if p > 0 and a[i, j] <= cap[i]:
                weight[k], profit[k], job[k] = a[i, j], p, j
                k += 1
    return k


@nb.njit(cache=True, nogil=True)
def _arc_buffers(m: int, n: int) -> tuple[I64, I64, I64, F64]:
    """Room for :func:`_open_arcs`' lists: rep starts, and customer, load and cost per arc."""
    return np.empty(m + 1, np.int64), np.empty(m * n, np.int64), np.empty(m * n, np.int64), np.empty(m * n)


@nb.njit(cache=True, nogil=True)
def _open_arcs(c: F64, a: I64, allowed: npt.NDArray[np.int8], assign: I64, cap: I64,
               start: I64, arc_j: I64, arc_w: I64, arc_c: F64) -> None:
    """Each rep's arcs to unplaced customers that are open and fit, rep i's from ``start[i]``.

    Built once per node: its 20-odd knapsack bounds then look only at these (a few hundred deep
    in the tree) rather than at every rep-customer pair.
    """
    m, n = c.shape
    e = 0
    for i in range(m):
        start[i] = e
        for j in range(n):
            if assign[j] < 0 and allowed[i, j] and a[i, j] <= cap[i]:
                arc_j[e], arc_w[e], arc_c[e] = j, a[i, j], c[i, j]
                e += 1
    start[m] = e


@nb.njit(cache=True, nogil=True)
def _relax_arcs(start: I64, arc_j: I64, arc_w: I64, arc_c: F64, assign: I64, cap: I64, u: F64,
                x: npt.NDArray[np.int8], taken: I64, table: F64) -> float:
    """The knapsack bound at prices u over the open arcs, its plan ``x`` and how often each customer is taken.

    ``table`` is scratch of at least (customers + 1) x (largest capacity + 1).
    """
    m, n = x.shape
    bound = 0.0
    for j in range(n):
        taken[j] = 0
        if assign[j] < 0:
            bound += u[j]
    x[:, :] = 0
    weight, profit, job = np.empty(n, np.int64), np.empty(n), np.empty(n, np.int64)
    for i in range(m):
        k = 0
        for e in range(start[i], start[i + 1]):  # the items worth taking at prices u
            j = arc_j[e]
            p = u[j] - arc_c[e]
            if p > 0:
                weight[k], profit[k], job[k] = arc_w[e], p, j
                k += 1
        if k == 0:
            continue
        w = cap[i]
        bound -= _knapsack(weight, profit, k, w, table)
        for t in range(k - 1, -1, -1):  # trace back the items taken
            if table[t + 1, w] != table[t, w]:
                x[i, job[t]] = 1
                taken[job[t]] += 1
                w -= weight[t]
    return bound


@nb.njit(cache=True, nogil=True)
def _relax(c: F64, a: I64, allowed: npt.NDArray[np.int8], assign: I64, cap: I64, u: F64,
           x: npt.NDArray[np.int8]) -> float:
    """The knapsack bound at prices u (without placed customers' cost) and its plan ``x``."""
    m, n = c.shape
    start, arc_j, arc_w, arc_c = _arc_buffers(m, n)
    _open_arcs(c, a, allowed, assign, cap, start, arc_j, arc_w, arc_c)
    table = np.empty((n + 1, cap.max() + 1))
    return _relax_arcs(start, arc_j, arc_w, arc_c, assign, cap, u, x, np.empty(n, np.int64), table)


@nb.njit(cache=True, nogil=True)
def _best_sum(f: F64, g: F64, shift: int, count: int) -> float:
    """max over w < count of f[w] + g[w + shift]."""
    h = g[shift:]  # sliced, so the loop's indices cannot be negative and need no wrap-around test
    # four running maxima, so that the comparisons do not wait on each other
    b0 = b1 = b2 = b3 = -1e300
    top = count - count % 4
    for w in range(0, top, 4):
        s0, s1, s2, s3 = f[w] + h[w], f[w + 1] + h[w + 1], f[w + 2] + h[w + 2], f[w + 3] + h[w + 3]
        b0 = s0 if s0 > b0 else b0
        b1 = s1 if s1 > b1 else b1
        b2 = s2 if s2 > b2 else b2
        b3 = s3 if s3 > b3 else b3
    for w in range(top, count):
        s0 = f[w] + h[w]
        b0 = s0 if s0 > b0 else b0
    return max(max(b0, b1), max(b2, b3))


@nb.njit(cache=True, nogil=True)
def _take_or_not(keep: F64, take: F64, profit: float, out: F64, count: int) -> None:
    """out[v] = max(keep[v], take[v] + profit) for v < count: one knapsack row, in vector lanes."""
    for v in range(count):
        s = take[v] + profit
        r = keep[v]
        out[v] = s if s > r else r


@nb.njit(cache=True, nogil=True)
def _penalties(c: F64, a: I64, allowed: npt.NDArray[np.int8], assign: I64, cap: I64, u: F64,
               x: npt.NDArray[np.int8], force_in: F64, force_out: F64) -> None:
    """Per open arc, how much the bound rises when it is forced in (or, if taken, out)."""
    m, n = c.shape
    weight, profit, job = np.empty(n, np.int64), np.empty(n), np.empty(n, np.int64)
    for i in range(m):
        force_in[i, :] = 0.0
        force_out[i, :] = 0.0
        ci = cap[i]
        k = _items(c, a, allowed, assign, cap, u, i, weight, profit, job)
        fwd = np.empty((k + 1, ci + 1))
        best = _knapsack(weight, profit, k, ci, fwd)
        # rev[t, v]: best of items t.. within ci - v, stored reversed so that combining it with the
        # forward table is a plain running maximum over aligned rows
        rev = np.empty((k + 1, ci + 1))
        rev[k, :] = 0.0
        for t in range(k - 1, -1, -1):
            _take_or_not(rev[t + 1], rev[t + 1, weight[t]:], profit[t], rev[t], ci + 1 - weight[t])
            rev[t, ci + 1 - weight[t]:] = rev[t + 1, ci + 1 - weight[t]:]
        for t in range(k):
            j = job[t]
            if x[i, j]:
                force_out[i, j] = best - _best_sum(fwd[t], rev[t + 1], 0, ci + 1)
            else:
                with_it = _best_sum(fwd[t], rev[t + 1], weight[t], ci + 1 - weight[t])
                force_in[i, j] = best - (with_it + profit[t])
        for j in range(n):  # open arcs outside the knapsack's items: not worth it, or too heavy
            if assign[j] < 0 and allowed[i, j] and not (u[j] - c[i, j] > 0 and a[i, j] <= ci):
                if a[i, j] > ci:
                    force_in[i, j] = 1e300
                else:
                    force_in[i, j] = best - (u[j] - c[i, j] + fwd[k, ci - a[i, j]])


@nb.njit(cache=True, nogil=True)
def _forced_out(x: npt.NDArray[np.int8], force_out: F64, j: int) -> tuple[float, int]:
    """What forcing customer j out of every rep that takes it costs the bound, and how many take it."""
    out, taken = 0.0, 0
    for i in range(x.shape[0]):
        if x[i, j]:
            out += force_out[i, j]
            taken += 1
    return out, taken


@nb.njit(cache=True, nogil=True)
def _forced_bound(bound: float, x: npt.NDArray[np.int8], force_in: F64, force_out: F64, out: float,
                  i: int, j: int) -> float:
    """The bound with customer j on rep i: forced in there, and out of every other rep that takes it."""
    return bound + force_in[i, j] + out - (force_out[i, j] if x[i, j] else 0.0)


@nb.njit(cache=True, nogil=True)
def _propagate(c: F64, a: I64, allowed: npt.NDArray[np.int8], assign: I64, cap: I64, fixed: F64) -> bool:
    """Drop arcs that no longer fit, place customers left one arc; False if one has none."""
    m, n = c.shape
    changed = True
    while changed:
        changed = False
        for j in range(n):
            if assign[j] >= 0:
                continue
            count, last = 0, -1
            for i in range(m):
                if allowed[i, j]:
                    if a[i, j] > cap[i]:
                        allowed[i, j] = 0
                    else:
                        count += 1
                        last = i
            if count == 0:
                return False
            if count == 1:
                assign[j] = last
                allowed[last, j] = 0
                cap[last] -= a[last, j]
                fixed[0] += c[last, j]
                changed = True
    return True


@nb.njit(cache=True, nogil=True)
def _cost(c: F64, plan: I64) -> float:
    """A plan's cost: the sum of its arcs' costs."""
    total = 0.0
    for j in range(plan.shape[0]):
        total += c[plan[j], j]
    return total


@nb.njit(cache=True, nogil=True)
def _repair(c: F64, a: I64, exists: npt.NDArray[np.int8], b: I64, assign: I64, x: npt.NDArray[np.int8],
            plan: I64, load: I64) -> float:
    """A plan near the relaxed one: taken customers at their cheapest taker, the rest by regret."""
    m, n = c.shape
    load[:] = 0
    for j in range(n):
        plan[j] = assign[j]
        if plan[j] < 0:
            for i in range(m):
                if x[i, j] and (plan[j] < 0 or c[i, j] < c[plan[j], j]):
                    plan[j] = i
        if plan[j] >= 0:
            load[plan[j]] += a[plan[j], j]
    while True:  # the relaxed plan fits each rep, so only the untaken are left to place
        pick, pick_rep, pick_regret = -1, -1, -1.0
        for j in range(n):
            if plan[j] >= 0:
                continue
            first, second, rep = 1e300, 1e300, -1
            for i in range(m):
                if exists[i, j] and load[i] + a[i, j] <= b[i]:
                    if c[i, j] < first:
                        first, second, rep = c[i, j], first, i
                    elif c[i, j] < second:
                        second = c[i, j]
            if rep < 0:
                return 1e300
            if second - first > pick_regret:
                pick, pick_rep, pick_regret = j, rep, second - first
        if pick < 0:
            break
        plan[pick] = pick_rep
        load[pick_rep] += a[pick_rep, pick]
    return _cost(c, plan)


@nb.njit(cache=True, nogil=True)
def _improve(c: F64, a: I64, exists: npt.NDArray[np.int8], b: I64, plan: I64, load: I64) -> float:
    """Shift and swap moves until none gains."""
    m, n = c.shape
    on = np.empty(n)  # each customer's cost and load on its rep, kept along with the plan in the swap pass
    on_a = np.empty(n, np.int64)
    col = np.empty(m)
    moved = True
    while moved:
        moved = False
        for j in range(n):
            cur = best = plan[j]
            for i in range(m):
                if exists[i, j] and c[i, j] < c[best, j] and load[i] + a[i, j] <= b[i]:
                    best = i
            if best != cur:
                load[cur] -= a[cur, j]
                load[best] += a[best, j]
                plan[j] = best
                moved = True
        for j in range(n):
            on[j], on_a[j] = c[plan[j], j], a[plan[j], j]
        for j1 in range(n):
            i1 = plan[j1]
            for i in range(m):
                col[i] = c[i, j1]
            for j2 in range(j1 + 1, n):
                i2 = plan[j2]
                # the same test as "c[i2, j1] + c[i1, j2] < c[i1, j1] + c[i2, j2]", the cheap part first
                if i1 == i2 or not col[i2] + c[i1, j2] < on[j1] + on[j2]:
                    continue
                if (not exists[i2, j1] or not exists[i1, j2] or load[i1] - on_a[j1] + a[i1, j2] > b[i1]
                        or load[i2] - on_a[j2] + a[i2, j1] > b[i2]):
                    continue
                load[i1] += a[i1, j2] - on_a[j1]
                load[i2] += a[i2, j1] - on_a[j2]
                plan[j1], plan[j2] = i2, i1
                on[j1], on[j2], on_a[j1], on_a[j2] = c[i2, j1], c[i1, j2], a[i2, j1], a[i1, j2]
                i1 = i2
                moved = True
    return _cost(c, plan)


@nb.njit(cache=True, nogil=True)
def root_prices(c: F64, a: I64, exists: npt.NDArray[np.int8], b: I64, u0: F64, upper: float,
                iterations: int) -> tuple[float, F64]:
    """The knapsack bound's best prices from ``u0``, by subgradient steps towards ``upper``."""
    m, n = c.shape
    assign = np.full(n, -1, np.int64)
    x, taken = np.zeros((m, n), np.int8), np.empty(n, np.int64)
    start, arc_j, arc_w, arc_c = _arc_buffers(m, n)
    _open_arcs(c, a, exists, assign, b, start, arc_j, arc_w, arc_c)
    table = np.empty((n + 1, b.max() + 1))
    u, best_u, g = u0.copy(), u0.copy(), np.empty(n)
    best, scale, stall = -1e300, 2.0, 0
    for _ in range(iterations):
        bound = _relax_arcs(start, arc_j, arc_w, arc_c, assign, b, u, x, taken, table)
        if bound > best + 1e-9:
            best, stall = bound, 0
            best_u[:] = u
        else:
            stall += 1
            if stall >= 10:
                scale, stall = scale * 0.7, 0
                u[:] = best_u
        if scale < 1e-4:
            break
        norm = 0.0
        for j in range(n):
            g[j] = 1.0 - taken[j]
            norm += g[j] * g[j]
        if norm == 0.0:
            break
        u += scale * max(upper - bound, 1e-3) / norm * g
    return best, best_u


@nb.njit(cache=True, nogil=True)
def new_tree(c: F64, u: F64, b: I64, exists: npt.NDArray[np.int8], frontier: int = 0):  # type: ignore[no-untyped-def]
    """A stack holding the root node: (allowed, assign, cap, fixed cost, prices, depth, bound, top).

    ``top`` holds the stack's size, how many nodes at the split depth have been seen, where the
    breadth-first queue starts, and the frontier to grow (0: split at a depth instead; -1: dealt).
    With ``frontier`` > 0 searches of parts of the tree deal out a frontier of that many nodes
    rather than the nodes at the split depth (see :func:`search`).
    """
    m, n = c.shape
    # each level pushes at most m children, above a part's share of the frontier; the last entry is
    # the spare node through which the deal reorders that share
    size = n * m + 3 + frontier
    allowed = np.empty((size, m, n), np.int8)
    assign = np.empty((size, n), np.int64)
    cap = np.empty((size, m), np.int64)
    fixed = np.zeros(size)
    prices = np.empty((size, n))
    depth = np.zeros(size, np.int64)
    bound = np.zeros(size)
    allowed[0] = exists
    assign[0] = -1
    cap[0] = b
    prices[0] = u
    return allowed, assign, cap, fixed, prices, depth, bound, np.array([1, 0, 0, frontier], np.int64)


@nb.njit(cache=True, nogil=True)
def _deal(allowed_s: npt.NDArray[np.int8], assign_s: I64, cap_s: I64, fixed_s: F64, prices_s: F64,
          depth_s: I64, bound_s: F64, top: I64, part: int, parts: int) -> None:
    """Keep this part's share of the frontier (the queue's nodes) at the stack's bottom, the lowest bound on top.

    The frontier in order of bound is dealt out like cards, every ``parts``-th node from the
    ``part``-th on, so that each part gets nodes of every bound.
    """
    head, end = top[2], top[0]
    order = np.argsort(bound_s[head:end], kind="mergesort")  # stable, so that every part deals alike
    mine = np.sort(order[part::parts]) + head
    k = len(mine)
    # down to the bottom in the order they lie: each source lies at or above its destination and
    # above every earlier one, so none is overwritten before it is read
    for r in range(k):
        _move(allowed_s, assign_s, cap_s, fixed_s, prices_s, depth_s, bound_s, mine[r], r)
    # then in order of bound, highest first, by following the permutation's cycles through the
    # stack's last entry, which the search never fills (see search)
    want = np.argsort(-bound_s[:k], kind="mergesort")
    spare = allowed_s.shape[0] - 1
    done = np.zeros(k, np.bool_)
    for r in range(k):
        if done[r] or want[r] == r:
            done[r] = True
            continue
        _move(allowed_s, assign_s, cap_s, fixed_s, prices_s, depth_s, bound_s, r, spare)
        at = r
        while want[at] != r:
            _move(allowed_s, assign_s, cap_s, fixed_s, prices_s, depth_s, bound_s, want[at], at)
            done[at] = True
            at = want[at]
        _move(allowed_s, assign_s, cap_s, fixed_s, prices_s, depth_s, bound_s, spare, at)
        done[at] = True
    top[0], top[2], top[3] = k, 0, -1  # dealt: no split below


@nb.njit(cache=True, nogil=True)
def _move(allowed_s: npt.NDArray[np.int8], assign_s: I64, cap_s: I64, fixed_s: F64, prices_s: F64,
          depth_s: I64, bound_s: F64, src: int, dst: int) -> None:
    """Copy the stack's node at ``src`` to ``dst``."""
    allowed_s[dst] = allowed_s[src]
    assign_s[dst] = assign_s[src]
    cap_s[dst] = cap_s[src]
    fixed_s[dst] = fixed_s[src]
    prices_s[dst] = prices_s[src]
    depth_s[dst] = depth_s[src]
    bound_s[dst] = bound_s[src]


@nb.njit(cache=True, nogil=True)
def search(c: F64, a: I64, exists: npt.NDArray[np.int8], b: I64, target: float,
           allowed_s: npt.NDArray[np.int8], assign_s: I64, cap_s: I64, fixed_s: F64, prices_s: F64,
           depth_s: I64, bound_s: F64, top: I64, max_nodes: int, best: F64, best_plan: I64,
           part: int = 0, parts: int = 1, split_depth: int = 0) -> tuple[int, int]:
    """Search the tree on the stack for a plan of cost <= target, for at most ``max_nodes`` nodes.

    Returns (state, nodes): 1 found (in ``best_plan``, cost ``best[0]``), 0 none exists, -1 not
    finished (call again to go on). Plans better than ``best[0]`` found on the way are kept too.

    With ``parts`` > 1 it searches only its ``part`` of the tree. A tree made with a frontier
    (:func:`new_tree`) is searched breadth-first until that many nodes are open, and then each
    part keeps its share of them (:func:`_deal`) and goes on depth-first; otherwise each part
    keeps, of the nodes at ``split_depth``, every ``parts``-th from the ``part``-th on. Either way
    the tree above the split does not depend on what is searched below it, so searches of every
    part, side by side, cover the tree exactly once. A frontier balances the parts better: at a
    fixed depth a tree with few nodes there may give one part nearly all of it.
    """
    m, n = c.shape
    # two buffers for the relaxed plan: the one the steps write, and the best one so far (swapped, not copied)
    x_step, x_best = np.zeros((m, n), np.int8), np.zeros((m, n), np.int8)
    force_in, force_out = np.zeros((m, n)), np.zeros((m, n))
    plan, load, g = np.empty(n, np.int64), np.empty(m, np.int64), np.empty(n)
    fixed = np.zeros(1)
    children, child_bound = np.empty(m, np.int64), np.empty(m)
    takers, table = np.empty(n, np.int64), np.empty((n + 1, b.max() + 1))
    start, arc_j, arc_w, arc_c = _arc_buffers(m, n)
    nodes = 0
    frontier = top[3] if parts > 1 else 0
    room = allowed_s.shape[0] - 1  # the last entry stays free: the deal's spare node
    while top[0] > top[2]:
        if nodes >= max_nodes:
            return -1, nodes
        if frontier > 0 and top[0] + m > room and top[2] > 0:  # the queue, down to the bottom
            for r in range(top[0] - top[2]):
                _move(allowed_s, assign_s, cap_s, fixed_s, prices_s, depth_s, bound_s, top[2] + r, r)
            top[0], top[2] = top[0] - top[2], 0
        if frontier > 0 and (top[0] - top[2] >= frontier or top[0] + m > room):
            _deal(allowed_s, assign_s, cap_s, fixed_s, prices_s, depth_s, bound_s, top, part, parts)
            frontier = 0
            continue
        nodes += 1
        if frontier > 0:  # breadth-first: the queue's first node
            t = top[2]
            top[2] += 1
        else:
            top[0] -= 1
            t = top[0]
        d = depth_s[t]
        if parts > 1 and top[3] == 0 and d == split_depth:
            top[1] += 1
            if (top[1] - 1) % parts != part:
                continue
        allowed, assign, cap, u = allowed_s[t].copy(), assign_s[t].copy(), cap_s[t].copy(), prices_s[t].copy()
        fixed[0] = fixed_s[t]
        if not _propagate(c, a, allowed, assign, cap, fixed) or fixed[0] > target:
            continue
        if (assign >= 0).all():
            if fixed[0] < best[0]:
                best[0] = fixed[0]
                best_plan[:] = assign
            return 1, nodes
        # prices: subgradient steps towards target + 1, the bound that cuts this node off
        iterations = TARGET_ROOT_ITERATIONS if d == 0 else NODE_ITERATIONS
        top_bound, best_u, scale, stall, cut = -1e300, u.copy(), 1.0, 0, False
        _open_arcs(c, a, allowed, assign, cap, start, arc_j, arc_w, arc_c)
        x = x_step
        for _ in range(iterations):
            bound = fixed[0] + _relax_arcs(start, arc_j, arc_w, arc_c, assign, cap, u, x_step, takers, table)
            x = x_step  # the plan of these prices
            if bound > top_bound + 1e-9:
                top_bound, stall = bound, 0
                best_u[:] = u
                x_step, x_best = x_best, x_step  # kept, rather than solved again at best_u after the steps
            else:
                stall += 1
                if stall >= 5:
                    scale, stall = scale * 0.5, 0
            if math.ceil(bound - 1e-6) > target:
                cut = True
                break
            norm = 0.0
            for j in range(n):
                g[j] = 0.0 if assign[j] >= 0 else 1.0 - takers[j]
                norm += g[j] * g[j]
            if norm == 0.0:  # the relaxed plan places everyone once: a plan of cost bound <= target
                for j in range(n):
                    plan[j] = assign[j] if assign[j] >= 0 else np.argmax(x[:, j])
                cost = _cost(c, plan)  # its own sum, not the bound's: that one is off in the last digits
                if cost < best[0]:
                    best[0] = cost
                    best_plan[:] = plan
                return 1, nodes
            if scale < 1e-4:
                break
            u += scale * (target + 1 - bound) / norm * g
        if cut:
            continue
        u[:] = best_u
        x = x_best
        bound = top_bound
        cost = _repair(c, a, exists, b, assign, x, plan, load)
        if cost < best[0] + IMPROVE_WITHIN:
            cost = _improve(c, a, exists, b, plan, load)
        if cost < best[0]:
            best[0] = cost
            best_plan[:] = plan
            if cost <= target:
                return 1, nodes
        _penalties(c, a, allowed, assign, cap, u, x, force_in, force_out)
        pick, pick_count, pick_score, dead = -1, m + 1, -1.0, False
        for j in range(n):
            if assign[j] >= 0:
                continue
            out, taken = _forced_out(x, force_out, j)
            count, low1, low2 = 0, 1e300, 1e300
            for i in range(m):
                if allowed[i, j]:
                    at = _forced_bound(bound, x, force_in, force_out, out, i, j)
                    if math.ceil(at - 1e-6) > target:
                        allowed[i, j] = 0
                    else:
                        count += 1
                        if at < low1:
                            low1, low2 = at, low1
                        elif at < low2:
                            low2 = at
            if count == 0:
                dead = True
                break
            # fewest arcs left; among those, the relaxation's misplaced ones, then the largest regret
            score = (low2 - low1) + (1000.0 if taken != 1 else 0.0)
            if count < pick_count or (count == pick_count and score > pick_score):
                pick, pick_count, pick_score = j, count, score
        if dead:
            continue
        j, k = pick, 0
        out, _ = _forced_out(x, force_out, j)
        for i in range(m):
            if allowed[i, j]:
                children[k] = i
                child_bound[k] = _forced_bound(bound, x, force_in, force_out, out, i, j)
                k += 1
        order = np.argsort(child_bound[:k])
        for q in range(k - 1, -1, -1):  # the most promising child on top
            i = children[order[q]]
            s = top[0]
            allowed_s[s] = allowed
            allowed_s[s, :, j] = 0
            assign_s[s] = assign
            assign_s[s, j] = i
            cap_s[s] = cap
            cap_s[s, i] -= a[i, j]
            fixed_s[s] = fixed[0] + c[i, j]
            prices_s[s] = u
            depth_s[s] = d + 1
            bound_s[s] = child_bound[order[q]]
            top[0] += 1
    return 0, nodes


def solve(cost: F64, load: I64, exists: npt.NDArray[np.bool_], capacity: I64, upper: float,
          seconds: float, part: int = 0, parts: int = 1,
          progress: Callable[[int, float], None] | None = None,
          split_depth: int = SPLIT_DEPTH, descent_share: float = DESCENT_SHARE,
          frontier: int = SPLIT_FRONTIER) -> tuple[I64 | None, int]:
    """The best plan found (rep per customer, or None) and a proven bound, within ``seconds``.

    ``cost`` and ``load`` are reps x customers; ``exists`` marks the arcs there are. ``upper`` is
    the cost of a known plan (the incumbent): the search looks only for better ones. With
    ``parts`` > 1 it searches its ``part`` of every tree (see :func:`search`): the plan is the
    best of that part and the bound holds for that part only, so the bound over all is the
    least of the parts'. The ascent's trees are dealt out as a frontier of ``frontier`` nodes
    (0: at ``split_depth``), the descent's at ``split_depth``: on the frontier the descents of
    gapd-6's two parts ended at 12,267 and 12,274 at 58 s, against 12,254 and 12,266 (one run
    each). ``progress(bound, best cost)`` is called as either improves.

    Two searches take turns, by nodes: the ascent raises the bound one target at a time, and for
    ``descent_share`` of the nodes a descent looks for any plan better than the best one, at
    target best - 1. The ascent's own plans are weak on tight files (on gapd-4 two in three of its
    repairs of relaxed plans fail, and the rest are mostly 100 or more above the target), while a
    tree at a target well above the bound dives to plans fast. Measured in the engine, two parts:
    gapd-6 12,254 at 60 s and 12,261 at 10 s, against 12,267 and 12,293 without; gapd-5 still
    proved (43.1 s against 42.5 s). With a fifth of the nodes gapd-5 was not proved in time.
    A descent that runs out of nodes has proved its best optimal (searching the whole tree).
    """
    deadline = time.perf_counter() + seconds
    # contiguous and writable: a read-only array is another type to numba, compiled afresh (10 s)
    c = np.require(cost, np.float64, ["C", "W"])
    a = np.require(load, np.int64, ["C", "W"])
    ex = np.require(exists, np.int8, ["C", "W"])
    b = np.require(capacity, np.int64, ["C", "W"])
    m, n = c.shape
    if m == 0 or n == 0:
        return None, 0
    u0 = np.min(np.where(ex, c, c.max(initial=0.0) + 1.0), axis=0)  # each customer's cheapest arc
    root, u = root_prices(c, a, ex, b, u0, float(upper), ROOT_ITERATIONS)
    lower = math.ceil(root - 1e-6)
    best, plan = np.array([float(upper)]), np.full(n, -1, np.int64)
    reported = (lower - 1, best[0])

    def report() -> None:
        nonlocal reported
        now = (min(lower, int(best[0])), best[0])
        if progress is not None and now != reported:
            reported = now
            progress(*now)

    descent = new_tree(c, u, b, ex) if descent_share > 0 else None
    ascent_nodes = descent_nodes = 0
    # the first target with a plan is optimal: each "none" before it raises the bound by one
    while lower < best[0] and time.perf_counter() < deadline:
        report()
        tree = new_tree(c, u, b, ex, frontier if parts > 1 else 0)  # one search deals nothing out
        state = -1
        while state < 0 and lower < best[0] and time.perf_counter() < deadline:
            if descent is not None and descent_nodes < descent_share * (ascent_nodes + descent_nodes):
                # its tree goes on at the new target when the best plan improves: nodes cut off at a
                # higher target hold no better plan at a lower one either
                got, nodes = search(c, a, ex, b, best[0] - 1, *descent, CHUNK_NODES, best, plan, part, parts,
                                    split_depth)
                descent_nodes += nodes
                if got == 0:
                    if parts == 1:  # no plan below the best one: it is optimal
                        lower = max(lower, int(best[0]))
                    # with parts, each part's descent had its own targets, so their tops differ
                    # and together they need not cover the tree: no proof, and nothing left to try
                    descent = None
                report()
                continue
            state, nodes = search(c, a, ex, b, float(lower), *tree, CHUNK_NODES, best, plan, part, parts,
                                  split_depth)
            ascent_nodes += nodes
            report()
        if state != 0:
            break
        lower += 1
    report()
    found = plan if (plan >= 0).all() else None
    return found, min(lower, int(best[0]))


def compile_kernels() -> None:
    """Compile every kernel (or load it from the disk cache), so that no search spends its time on it.

    A call compiles a kernel and all it calls, whatever path it takes, so a 2 x 2 instance will do.
    """
    c, a = np.ones((2, 2)), np.ones((2, 2), dtype=np.int64)
    exists, b = np.ones((2, 2), dtype=np.int8), np.full(2, 2, dtype=np.int64)
    _, u = root_prices(c, a, exists, b, c.min(axis=0), 3.0, 1)
    search(c, a, exists, b, 2.0, *new_tree(c, u, b, exists), 1, np.array([3.0]), np.full(2, -1, dtype=np.int64), 0, 2, 1)
