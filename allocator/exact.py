"""The knapsack branch-and-bound in child processes, one part of its trees each, for small plain GAPs.

On the 100- and 200-job GAP files the exact search of :mod:`allocator.knapbb` proves optima
CP-SAT's two workers do not reach (gapd-1, -2, -3 and the small type E files in seconds;
CP-SAT stops 0.03-1 % above them at 60 s), and where it cannot finish it still raises the
bound and finds the better plan. Beside CP-SAT on one core it found gapd-5's bound at 60 s but
not its plan; on both cores, each child searching its part of every tree (a frontier of each
tree dealt out), it proves gapd-5 optimal in about 34 s and gapd-4 in about 51. So there the
engine runs it alone.

The children are processes so that a first run's compilation (numba, about 15 s, cached on
disk afterwards) never holds this process's interpreter lock, and so that they can be stopped
at once. Each reports its bound as it rises; once the best plan any child answered meets the
least of their bounds, the others are killed. Otherwise they stop at their own time limit and
hand back their best plans and bounds.
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
import zipfile
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
    """The child's side: read the arcs, search its part, write progress lines and then its answer.

    Output: lines ``P <bound> <best cost>`` as the search goes, then ``A <bytes>`` and the answer
    (chosen arc per customer, bound) as an ``npz`` of that many bytes.
    """
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
    out = sys.stdout.buffer

    def progress(bound: int, best: float) -> None:
        out.write(f"P {bound} {best!r}\n".encode())
        out.flush()

    plan, bound = solve(cost, load, exists, d["capacity"], float(d["upper"]), seconds, int(d["part"]),
                        int(d["parts"]), progress)
    arc_at = np.full((m, n), -1, dtype=np.int64)
    arc_at[rep, cust] = np.arange(len(cust))
    chosen = arc_at[plan, np.arange(n)] if plan is not None else np.zeros(0, dtype=np.int64)
    buf = io.BytesIO()
    np.savez(buf, chosen=chosen, bound=np.float64(bound))
    out.write(f"A {len(buf.getvalue())}\n".encode() + buf.getvalue())
    out.flush()
    # no interpreter teardown: it took 1-3 s after long searches (measured), past the deadline
    os._exit(0)


@dataclass(frozen=True)
class ExactAnswer:
    """The answer: chosen arc per customer (positions in the arcs given) or None, and the bound."""

    chosen: I64 | None
    bound: float


class ExactSearch:
    """The knapsack branch-and-bound in ``parts`` child processes, each searching its part of every tree.

    ``upper`` is the cost of the caller's plan: the children look only for better ones. The bound
    over all is the least of the parts' bounds (each part's holds for its part only), the plan
    the best any part found. As soon as that plan meets that bound, ``proved`` is set and the
    children still searching are stopped. ``stop`` or ``answer`` ends the search.
    """

    def __init__(self, n_customers: int, n_reps: int, arc_customer: I64, arc_rep: I64, arc_cost: I64,
                 arc_load: I64, capacity: I64, upper: float, seconds: float, parts: int = 1) -> None:
        self._n = n_customers
        self._customer = arc_customer
        self._cost = arc_cost
        self.proved = threading.Event()  # set once the best plan is proved optimal over the arcs
        self.done = threading.Event()
        self._lock = threading.Lock()
        self._bounds = [-math.inf] * parts  # each part's bound so far: its last progress line or its answer
        self._best: tuple[float, I64] | None = None  # the best plan any part answered, with its cost
        self._left = parts
        deadline = time.time() + seconds - ANSWER_SECONDS
        # the child imports this package from where this process found it
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        self._procs: list[subprocess.Popen[bytes]] = []
        readers = []
        try:
            for part in range(parts):
                buf = io.BytesIO()
                np.savez(buf, n=n_customers, m=n_reps, deadline=deadline, customer=arc_customer, rep=arc_rep,
                         cost=arc_cost, load=arc_load, capacity=capacity, upper=upper, part=part, parts=parts)
                # raises OSError when no child can be started; the engine then searches without it
                self._procs.append(subprocess.Popen([sys.executable, "-c", _CHILD], stdin=subprocess.PIPE,
                                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env))
                readers.append(threading.Thread(target=self._read, args=(part, buf.getvalue()), daemon=True))
        except OSError:
            self._kill()
            raise
        atexit.register(self._kill)  # an interrupted run leaves no child behind
        self._readers = readers
        for r in readers:
            r.start()

    def _read(self, part: int, request: bytes) -> None:
        proc = self._procs[part]
        try:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(request)
            proc.stdin.close()
            while line := proc.stdout.readline():
                kind, *fields = line.split()
                if kind == b"P":
                    self._update(part, float(fields[0]), None)
                elif kind == b"A":
                    answer = self._parse(proc.stdout.read(int(fields[0])))
                    self._update(part, answer.bound, answer.chosen)
                    break
        except (OSError, ValueError, KeyError, IndexError, EOFError, zipfile.BadZipFile):
            pass  # a part cut off mid-answer (stopped, or killed) keeps the bound of its last progress line
        finally:
            proc.wait()
            with self._lock:
                self._left -= 1
                if self._left == 0:
                    atexit.unregister(self._kill)
                    self.done.set()

    def _update(self, part: int, bound: float, chosen: I64 | None) -> None:
        with self._lock:
            self._bounds[part] = max(self._bounds[part], bound)
            if chosen is not None:
                obj = float(self._cost[chosen].sum())
                if self._best is None or obj < self._best[0]:
                    self._best = (obj, chosen)
            # integer costs: within one unit of the bound over all parts is optimal
            if self._best is not None and self._best[0] - min(self._bounds) < 1 - 1e-6:
                self.proved.set()
        if self.proved.is_set():
            self._kill()  # the parts still searching cannot find better

    def _kill(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                proc.kill()

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
        """End the search now: the children are killed, and what they reported so far stands."""
        self._kill()
        for r in self._readers:
            r.join()

    def answer(self, deadline: float) -> ExactAnswer | None:
        """Wait until ``deadline`` (the children stop by themselves before it) for the answer.

        None if no part answered or reported progress. The bound is the least of the parts' bounds.
        """
        self.done.wait(max(0.0, deadline - time.perf_counter()))
        if not self.done.is_set():
            self.stop()
        with self._lock:
            bound = min(self._bounds)
            if self._best is None and not math.isfinite(bound):
                return None
            return ExactAnswer(self._best[1] if self._best is not None else None, bound)
