"""The knapsack branch-and-bound beside CP-SAT, in a child process, for small plain GAPs.

On the 100- and 200-job GAP files the exact search of :mod:`allocator.knapbb` proves optima
CP-SAT's two workers do not reach (gapd-1, -2, -3, e20100 and e20200 in seconds; CP-SAT stops
0.1-1 % above them at 60 s), and where it cannot finish it still raises the bound and often
finds the better plan (gapd-5: 6,205 against CP-SAT's 6,230). So the engine runs both side by
side, one core each, and keeps the better plan and the higher bound.

It runs in a child process so that its first run's compilation (numba, about 15 s, cached on
disk afterwards) never holds this process's interpreter lock, and so that it can be stopped at
once: when CP-SAT proves its plan optimal first, the child is killed; otherwise it stops at its
own time limit and hands back its best plan and bound.
"""

from __future__ import annotations

import atexit
import io
import math
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]

# seconds the child may overrun its deadline (its last chunk of nodes) and needs to hand back its
# answer, measured on this machine (0.35 s on gapd-4); its start (imports,
# cached kernels: about 1.2 s) counts against its time, as its deadline is on the wall clock
ANSWER_SECONDS = 0.8

_CHILD = "from allocator.exact import _child; _child()"


def _child() -> None:
    """The child's side: read the arcs, search, write the chosen arc per customer and the bound."""
    from .knapbb import solve  # here, not at the top: the engine imports this module, and numba takes a second

    d = np.load(io.BytesIO(sys.stdin.buffer.read()))
    n, m, seconds = int(d["n"]), int(d["m"]), max(0.1, float(d["deadline"]) - time.time())
    cust, rep = d["customer"], d["rep"]
    cost = np.zeros((m, n))
    load = np.zeros((m, n), dtype=np.int64)
    exists = np.zeros((m, n), dtype=bool)
    cost[rep, cust] = d["cost"]
    load[rep, cust] = d["load"]
    exists[rep, cust] = True
    plan, bound = solve(cost, load, exists, d["capacity"], float(d["upper"]), seconds)
    arc_at = np.full((m, n), -1, dtype=np.int64)
    arc_at[rep, cust] = np.arange(len(cust))
    chosen = arc_at[plan, np.arange(n)] if plan is not None else np.zeros(0, dtype=np.int64)
    out = io.BytesIO()
    np.savez(out, chosen=chosen, bound=np.float64(bound))
    sys.stdout.buffer.write(out.getvalue())
    sys.stdout.flush()
    # no interpreter teardown: it took 1-3 s after long searches (measured), past the deadline
    os._exit(0)


@dataclass(frozen=True)
class ExactAnswer:
    """The child's answer: chosen arc per customer (positions in the arcs it was given) or None, and its bound."""

    chosen: I64 | None
    bound: float


class ExactSearch:
    """One knapsack branch-and-bound in a child process over the given arcs; ``stop`` or ``answer`` ends it.

    ``upper`` is the cost of the caller's plan: the child looks only for better ones.
    """

    def __init__(self, n_customers: int, n_reps: int, arc_customer: I64, arc_rep: I64, arc_cost: I64,
                 arc_load: I64, capacity: I64, upper: float, seconds: float) -> None:
        self._n = n_customers
        self._customer = arc_customer
        self.proved = threading.Event()  # set once the child's plan is proved optimal over its arcs
        self.done = threading.Event()
        self._answer: ExactAnswer | None = None
        self._cost = arc_cost
        buf = io.BytesIO()
        np.savez(buf, n=n_customers, m=n_reps, deadline=time.time() + seconds - ANSWER_SECONDS,
                 customer=arc_customer, rep=arc_rep, cost=arc_cost, load=arc_load, capacity=capacity, upper=upper)
        # raises OSError when no child can be started; the engine then searches without it
        # the child imports this package from where this process found it
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        self._proc = subprocess.Popen([sys.executable, "-c", _CHILD], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
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

    def _parse(self, out: bytes) -> ExactAnswer:
        d = np.load(io.BytesIO(out))
        bound = float(d["bound"])  # an integer: each target proved empty raised it by one
        bound = bound if math.isfinite(bound) else -math.inf
        chosen = d["chosen"].astype(np.int64)
        if (len(chosen) != self._n or (chosen < 0).any() or (chosen >= len(self._customer)).any()
                or (self._customer[chosen] != np.arange(self._n)).any()):
            return ExactAnswer(None, bound)  # not one arc of its own per customer: not a plan
        return ExactAnswer(chosen, bound)

    def stop(self) -> None:
        """End the search now, answer unread (the other search has proved its plan)."""
        self._kill()
        self._reader.join()

    def answer(self, deadline: float) -> ExactAnswer | None:
        """Wait until ``deadline`` (the child stops by itself before it) for the answer; None if there is none."""
        self.done.wait(max(0.0, deadline - time.perf_counter()))
        if not self.done.is_set():
            self.stop()
        return self._answer
