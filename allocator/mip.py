"""HiGHS's branch-and-cut beside CP-SAT, for small capacity-only problems.

On the 100- and 200-job GAP instances a MIP solver with cuts and a tree search finds and proves
plans CP-SAT's two workers do not (e20100 at 60 s: HiGHS 8,436 with CP-SAT on the other core,
CP-SAT alone 8,451-8,460; e10100 and e10200 proved optimal), while CP-SAT stays ahead on others
(gapd-5). So the engine runs both side by side, one core each, and keeps the better plan and
the higher bound.

HiGHS comes with SciPy (``scipy.optimize.milp``), already a dependency. It runs in a child
process because ``milp`` cannot be interrupted: when CP-SAT proves its plan optimal first, the
child is killed; otherwise it stops at its own time limit and hands back its best plan and
bound. The child imports only numpy and SciPy (about half a second).
"""

from __future__ import annotations

import atexit
import io
import math
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]

# seconds the child needs to start (imports) and to hand back its answer, measured on this machine
START_SECONDS = 0.6
ANSWER_SECONDS = 0.3

_CHILD = r"""
import io, sys
import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csc_matrix

d = np.load(io.BytesIO(sys.stdin.buffer.read()))
n, m, seconds = int(d["n"]), int(d["m"]), float(d["seconds"])
cust, rep, load = d["customer"], d["rep"], d["load"].astype(float)
a = len(cust)
rows = np.concatenate([cust, n + rep])
cols = np.concatenate([np.arange(a), np.arange(a)])
matrix = csc_matrix((np.concatenate([np.ones(a), load]), (rows, cols)), shape=(n + m, a))
capacity = d["capacity"].astype(float)
capacity[capacity < 0] = np.inf
res = milp(d["cost"].astype(float), integrality=np.ones(a), bounds=Bounds(0, 1),
           constraints=LinearConstraint(matrix, np.concatenate([np.ones(n), np.full(m, -np.inf)]),
                                        np.concatenate([np.ones(n), capacity])),
           options={"time_limit": max(0.1, seconds), "mip_rel_gap": 0.0, "presolve": True})
x = res.x if res.x is not None else np.zeros(0)
bound = getattr(res, "mip_dual_bound", None)
out = io.BytesIO()
np.savez(out, x=x, bound=np.float64(bound if bound is not None else -np.inf))
sys.stdout.buffer.write(out.getvalue())
"""


@dataclass(frozen=True)
class MipAnswer:
    """The child's answer: chosen arc per customer (positions in the arcs it was given) or None, and its bound."""

    chosen: I64 | None
    bound: float


class MipSearch:
    """One HiGHS search in a child process over the given arcs; ``stop`` or ``answer`` ends it."""

    def __init__(self, n_customers: int, n_reps: int, arc_customer: I64, arc_rep: I64, arc_cost: I64,
                 arc_load: I64, capacity: I64, seconds: float) -> None:
        self._n = n_customers
        self._customer = arc_customer
        self.proved = threading.Event()  # set once the child's plan is proved optimal over its arcs
        self.done = threading.Event()
        self._answer: MipAnswer | None = None
        self._cost = arc_cost
        buf = io.BytesIO()
        np.savez(buf, n=n_customers, m=n_reps, seconds=max(0.1, seconds - START_SECONDS - ANSWER_SECONDS),
                 customer=arc_customer, rep=arc_rep, cost=arc_cost, load=arc_load, capacity=capacity)
        # raises OSError when no child can be started; the engine then searches without it
        self._proc = subprocess.Popen([sys.executable, "-c", _CHILD], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        atexit.register(self._kill)  # an interrupted run leaves no child behind
        self._reader = threading.Thread(target=self._read, args=(buf.getvalue(),), daemon=True)
        self._reader.start()

    def _read(self, request: bytes) -> None:
        try:
            out, _ = self._proc.communicate(request)
            if self._proc.returncode == 0 and out:
                self._answer = self._parse(out)
                if self._answer.chosen is not None:
                    obj = float(self._cost[self._answer.chosen].sum())
                    if obj - self._answer.bound < 1 - 1e-6:  # integer costs: within one unit is optimal
                        self.proved.set()
        except (OSError, ValueError, KeyError):
            self._answer = None
        finally:
            atexit.unregister(self._kill)
            self.done.set()

    def _kill(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()

    def _parse(self, out: bytes) -> MipAnswer:
        d = np.load(io.BytesIO(out))
        bound = float(d["bound"])
        # HiGHS's tolerances: never claim more than it proved, a millionth either way
        bound = bound - 1e-6 * max(1.0, abs(bound)) if math.isfinite(bound) else -math.inf
        x = d["x"]
        if len(x) != len(self._customer):
            return MipAnswer(None, bound)
        taken = np.flatnonzero(x > 0.5)
        chosen = np.full(self._n, -1, dtype=np.int64)
        chosen[self._customer[taken]] = taken
        if len(taken) != self._n or (chosen < 0).any():
            return MipAnswer(None, bound)  # not one arc a customer: not a plan
        return MipAnswer(chosen, bound)

    def stop(self) -> None:
        """End the search now, answer unread (the other search has proved its plan)."""
        self._kill()
        self._reader.join()

    def answer(self, deadline: float) -> MipAnswer | None:
        """Wait until ``deadline`` (the child stops by itself before it) for the answer; None if there is none."""
        self.done.wait(max(0.0, deadline - time.perf_counter()))
        if not self.done.is_set():
            self.stop()
        return self._answer
