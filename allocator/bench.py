"""Generalized assignment (GAP) benchmark: read OR-Library files, solve with the engine, print CSV.

The engine speaks arcs, capacity, load and cost; a GAP instance maps onto it directly
(agent = rep, job = customer), so these public instances measure the engine on its own.

File format (whitespace-separated integers)::

    P                      only in multi-problem files (gap1.txt ... gap12.txt, gapa.txt ...)
    m n                    per problem: agents, jobs
    c[1][1..n] ... c[m][1..n]   cost of job j on agent i, agent by agent
    a[1][1..n] ... a[m][1..n]   load of job j on agent i, agent by agent
    b[1..m]                capacity of each agent
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import os
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from .errors import InputError, Issue

# Loads and costs of public GAP instances are below 10**4; this bound keeps every sum the
# engine forms (at most n * max|c| for n up to 10**6) far inside int64.
MAX_ABS_NUMBER = 10**9

_ALLOWED_BYTES = re.compile(rb"[\s0-9-]*")
_INTEGER = re.compile(r"-?[0-9]+")
_UTF8_BOM = b"\xef\xbb\xbf"
_SOLVED = ("OPTIMAL", "FEASIBLE")


@dataclass(frozen=True, slots=True)
class GapInstance:
    """One GAP instance: give each of ``n`` jobs to one of ``m`` agents at least cost.

    cost, load: m x n int64, ``cost[i, j]`` and ``load[i, j]`` of giving job j to agent i.
    capacity: (m,) int64, the most load agent i can take.
    """

    name: str
    m: int
    n: int
    cost: npt.NDArray[np.int64]
    load: npt.NDArray[np.int64]
    capacity: npt.NDArray[np.int64]

    def __post_init__(self) -> None:
        if self.m < 1 or self.n < 1:
            raise ValueError(f"{self.name}: m and n must be >= 1, got m={self.m}, n={self.n}")
        for label, arr, shape in (
            ("cost", self.cost, (self.m, self.n)),
            ("load", self.load, (self.m, self.n)),
            ("capacity", self.capacity, (self.m,)),
        ):
            if arr.dtype != np.int64 or arr.shape != shape:
                raise ValueError(
                    f"{self.name}: {label} must be int64 of shape {shape}, "
                    f"got {arr.dtype} of shape {arr.shape}"
                )


@dataclass(frozen=True, slots=True)
class BenchRow:
    """One line of the ``bench gap`` CSV.

    objective: cost of the verified solution, ``None`` when no solution was found.
    bound: proven lower bound on the cost, ``None`` when none is known.
    best_known, gap_to_best_pct: filled by `add_best_known` from ``VALUES.tsv``;
        gap_to_best_pct = 100 * (objective - best_known) / best_known.
    """

    instance: str
    m: int
    n: int
    objective: int | None
    bound: int | None
    status: str
    seconds: float
    best_known: int | None = None
    gap_to_best_pct: float | None = None


# --- reading -------------------------------------------------------------------------------


def read_gap_file(path: str | os.PathLike[str]) -> list[GapInstance]:
    """Read every instance of an OR-Library GAP file.

    A file is multi-problem (leading P, instances ``<stem>-1`` ... ``<stem>-P``) when
    P followed by P blocks of ``2 + 2mn + m`` numbers uses up every number; otherwise it
    must be a single instance of exactly ``2 + 2mn + m`` numbers, named by the file name.

    Raises
    ------
    InputError
        The file cannot be read, is empty, holds something other than integers, is
        truncated or has numbers left over, or has negative loads or capacities.
    """
    path = Path(path)
    file_name = path.name
    try:
        data = path.read_bytes()
    except OSError as exc:
        message = f"cannot read the file: {exc.strerror or exc}"
        raise InputError(Issue(file_name, None, None, message)) from None
    numbers, first_line_count = _read_numbers(data, file_name)

    multi = _parse_multi(numbers)
    if not isinstance(multi, str):
        count = len(multi)
        blocks = [
            (f"{path.stem}-{k}", pos, m, n, f"problem {k} of {count}: ")
            for k, (pos, m, n) in enumerate(multi, 1)
        ]
    else:
        single = _parse_single(numbers)
        if isinstance(single, str):
            # Neither reading fits: blame the one the layout suggests (P alone on the first line).
            message = multi if first_line_count == 1 else single
            raise InputError(Issue(file_name, None, None, message))
        pos, m, n = single
        blocks = [(file_name, pos, m, n, "")]
    return [_build_instance(numbers, file_name, *block) for block in blocks]


def _read_numbers(data: bytes, file_name: str) -> tuple[npt.NDArray[np.int64], int]:
    """Return all integers of the file and how many tokens its first non-blank line holds."""
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM) :]
    tokens = data.split()
    if not tokens:
        message = "the file is empty" if not data else "the file holds only white space, no numbers"
        raise InputError(Issue(file_name, None, None, message))
    first_line_count = len(data.lstrip().split(b"\n", 1)[0].split())

    values: list[int] | None = None
    if _ALLOWED_BYTES.fullmatch(data):
        try:
            values = list(map(int, tokens))
        except ValueError:  # a stray "-", e.g. "3-4"; located below
            values = None
    if values is None:
        for index, token in enumerate(tokens, 1):
            text = token.decode("utf-8", errors="replace")
            if not _INTEGER.fullmatch(text):
                what = "not an integer" if _looks_like_number(text) else "not a number"
                message = f'{what}: "{_shorten(text)}" (token {index})'
                raise InputError(Issue(file_name, None, None, message))
        raise AssertionError("unreachable: every token is an integer")  # pragma: no cover

    if max(map(len, tokens)) > 9:  # only then can a number exceed MAX_ABS_NUMBER
        for index, value in enumerate(values, 1):
            if abs(value) > MAX_ABS_NUMBER:
                message = (
                    f'number out of range: "{_shorten(tokens[index - 1].decode())}" '
                    f"(token {index}); numbers must lie within +-{MAX_ABS_NUMBER}"
                )
                raise InputError(Issue(file_name, None, None, message))
    return np.array(values, dtype=np.int64), first_line_count


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _shorten(text: str) -> str:
    return text if len(text) <= 20 else text[:17] + "..."


def _looks_like_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parse_multi(numbers: npt.NDArray[np.int64]) -> list[tuple[int, int, int]] | str:
    """(offset, m, n) of each block when the numbers read as P problems, else the reason not."""
    total = len(numbers)
    count = int(numbers[0])
    if count < 1:
        return f"the first number (number of problems) must be >= 1, found {count}"
    blocks: list[tuple[int, int, int]] = []
    pos = 1
    for k in range(1, count + 1):
        left = total - pos
        if left < 2:
            return f"truncated: problem {k} of {count} needs 2 numbers for m and n, found {left}"
        m, n = int(numbers[pos]), int(numbers[pos + 1])
        if m < 1 or n < 1:
            return f"problem {k} of {count}: m and n must be >= 1, found m={m}, n={n}"
        need = 2 + 2 * m * n + m
        if left < need:
            return f"truncated: problem {k} of {count} needs {need} numbers, found {left}"
        blocks.append((pos, m, n))
        pos += need
    if pos != total:
        return (
            f"{_plural(total - pos, 'number')} left over after problem {count} of {count}; "
            f"the first number says the file holds {_plural(count, 'problem')}"
        )
    return blocks


def _parse_single(numbers: npt.NDArray[np.int64]) -> tuple[int, int, int] | str:
    """(offset, m, n) when the numbers read as one instance, else the reason not."""
    total = len(numbers)
    if total < 2:
        return f"expected at least 2 numbers (m and n), found {total}"
    m, n = int(numbers[0]), int(numbers[1])
    if m < 1 or n < 1:
        return f"m and n must be >= 1, found m={m}, n={n}"
    need = 2 + 2 * m * n + m
    if total != need:
        return f"expected 2 + 2·m·n + m = {need} numbers for m={m}, n={n}, found {total}"
    return 0, m, n


def _build_instance(
    numbers: npt.NDArray[np.int64], file_name: str, name: str, pos: int, m: int, n: int, where: str
) -> GapInstance:
    start = pos + 2
    cost = numbers[start : start + m * n].reshape(m, n).copy()
    load = numbers[start + m * n : start + 2 * m * n].reshape(m, n).copy()
    capacity = numbers[start + 2 * m * n : start + 2 * m * n + m].copy()
    if (load < 0).any():
        i, j = (int(k) for k in np.argwhere(load < 0)[0])
        message = f"{where}load of job {j + 1} on agent {i + 1} is {load[i, j]}; loads must be >= 0"
        raise InputError(Issue(file_name, None, None, message))
    if (capacity < 0).any():
        i = int(np.argmax(capacity < 0))
        message = f"{where}capacity of agent {i + 1} is {capacity[i]}; capacities must be >= 0"
        raise InputError(Issue(file_name, None, None, message))
    for arr in (cost, load, capacity):
        arr.setflags(write=False)  # instances are shared values; nobody may edit them in place
    return GapInstance(name=name, m=m, n=n, cost=cost, load=load, capacity=capacity)


def read_values(path: str | os.PathLike[str]) -> dict[str, int]:
    """Read the known minimum cost of each instance from ``VALUES.tsv`` (rows with sense = min).

    Raises
    ------
    InputError
        Every problem found: unreadable file, missing columns, non-integer values,
        an instance listed twice as min.
    """
    path = Path(path)
    file_name = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(Issue(file_name, None, None, f"cannot read the file: {exc}")) from None
    reader = csv.DictReader(io.StringIO(text), delimiter="\t")
    missing = [c for c in ("instance", "sense", "value") if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(Issue(file_name, None, None, f"missing column(s): {', '.join(missing)}"))

    values: dict[str, int] = {}
    first_row: dict[str, int] = {}
    issues: list[Issue] = []
    for row_number, row in enumerate(reader, 2):  # header = row 1
        if (row["sense"] or "").strip() != "min":
            continue
        instance = (row["instance"] or "").strip()
        raw = (row["value"] or "").strip()
        if not _INTEGER.fullmatch(raw):
            message = f'expected an integer, got "{raw}"'
            issues.append(Issue(file_name, row_number, "value", message))
        elif instance in first_row:
            issues.append(
                Issue(
                    file_name,
                    row_number,
                    "instance",
                    f"{instance} has a second min value (first on row {first_row[instance]})",
                )
            )
        else:
            first_row[instance] = row_number
            values[instance] = int(raw)
    if issues:
        raise InputError(issues)
    return values


# --- solving -------------------------------------------------------------------------------


def instance_to_arcs(inst: GapInstance) -> dict[str, npt.NDArray[np.int64]]:
    """Arcs for ``engine.ArcProblem``: one per (agent, job), grouped by job (arc = j * m + i).

    Returns arc_customer (job j), arc_rep (agent i), arc_cost, arc_load and load_capacity,
    so ``ArcProblem(n_customers=inst.n, n_reps=inst.m, **instance_to_arcs(inst))`` works.
    GAP instances are small enough for the dense table.
    """
    m, n = inst.m, inst.n
    return {
        "arc_customer": np.repeat(np.arange(n, dtype=np.int64), m),
        "arc_rep": np.tile(np.arange(m, dtype=np.int64), n),
        "arc_cost": np.ascontiguousarray(inst.cost.T).reshape(-1),
        "arc_load": np.ascontiguousarray(inst.load.T).reshape(-1),
        "load_capacity": inst.capacity.copy(),
    }


def verify_assignment(inst: GapInstance, agent_of_job: npt.ArrayLike) -> int:
    """Check that every job has exactly one agent and no capacity is exceeded; return the cost.

    Raises
    ------
    RuntimeError
        The assignment is not a feasible GAP solution; the message says why.
    """
    agent = np.asarray(agent_of_job)
    if agent.shape != (inst.n,):
        raise RuntimeError(
            f"{inst.name}: expected one agent per job ({inst.n}), got shape {agent.shape}"
        )
    bad = np.flatnonzero((agent < 0) | (agent >= inst.m))
    if bad.size:
        j = int(bad[0])
        raise RuntimeError(
            f"{inst.name}: job {j + 1} has no valid agent (got {agent[j]}); {bad.size} such jobs"
        )
    jobs = np.arange(inst.n)
    used = np.bincount(agent, weights=inst.load[agent, jobs], minlength=inst.m).astype(np.int64)
    over = np.flatnonzero(used > inst.capacity)
    if over.size:
        i = int(over[0])
        raise RuntimeError(
            f"{inst.name}: agent {i + 1} carries load {used[i]} > capacity {inst.capacity[i]}"
        )
    return int(inst.cost[agent, jobs].sum())


def integer_bound(bound: float | int | None) -> int | None:
    """Round a solver's lower bound up to an integer: costs are integers, so this stays valid.

    The small tolerance absorbs floating-point noise such as 260.0000000001.
    """
    if bound is None:
        return None
    bound = float(bound)
    if not math.isfinite(bound):
        return None
    return math.ceil(bound - 1e-6)


def solve_instance(inst: GapInstance, time_limit_seconds: float, seed: int = 0) -> BenchRow:
    """Solve one instance with ``allocator.engine`` and return its verified CSV row.

    seconds is the wall time of ``engine.solve`` (model build and search), 2 workers.

    Raises
    ------
    RuntimeError
        The engine's answer fails the checks of `build_row`.
    """
    from .engine import ArcProblem, SolveOptions, solve  # late: the engine imports OR-Tools

    arcs = instance_to_arcs(inst)
    problem = ArcProblem(n_customers=inst.n, n_reps=inst.m, **arcs)
    # Bench settings, chosen by measurement (benchmarks/bench_gap.py, BENCHMARKS.md): wall-clock
    # search like the plain peer (CP-SAT's portfolio with its LNS workers improves a hint far more
    # than the single-worker deterministic mode: d40400 at 10 s 24701 against 24949). The default
    # exact_arc_limit: on the 40- and 80-agent 1600-job files the core model alone, without the
    # whole model, did as well at 60 s (e801600 177,726 against 177,922; d801600 97,272 against 97,252).
    options = SolveOptions(time_limit_seconds=time_limit_seconds, workers=2, seed=seed, deterministic=False)
    start = time.perf_counter()
    result = solve(problem, options)
    seconds = time.perf_counter() - start

    status = str(result.status)
    agent_of_job = None
    if status in _SOLVED:
        agent_of_job = _agents_of_chosen_arcs(inst, arcs, result.chosen_arc)
    return build_row(inst, status, agent_of_job, result.objective, result.best_bound, seconds)


def _agents_of_chosen_arcs(
    inst: GapInstance, arcs: Mapping[str, npt.NDArray[np.int64]], chosen_arc: npt.ArrayLike
) -> npt.NDArray[np.int64]:
    """Agent of each job from the engine's chosen arcs, checking each job got one of its own."""
    chosen = np.asarray(chosen_arc, dtype=np.int64)
    if chosen.shape != (inst.n,):
        raise RuntimeError(
            f"{inst.name}: chosen_arc has shape {chosen.shape}, expected ({inst.n},)"
        )
    bad = np.flatnonzero((chosen < 0) | (chosen >= len(arcs["arc_customer"])))
    if bad.size:
        j = int(bad[0])
        raise RuntimeError(
            f"{inst.name}: job {j + 1} has no arc (got {chosen[j]}); {bad.size} such jobs"
        )
    # One arc per job by construction, so exactly-once holds iff each arc is the job's own.
    owner = arcs["arc_customer"][chosen]
    wrong = np.flatnonzero(owner != np.arange(inst.n))
    if wrong.size:
        j = int(wrong[0])
        raise RuntimeError(
            f"{inst.name}: job {j + 1} got arc {chosen[j]}, which belongs to job {owner[j] + 1}"
        )
    return arcs["arc_rep"][chosen]


def build_row(
    inst: GapInstance,
    status: str,
    agent_of_job: npt.ArrayLike | None,
    objective: float | int | None,
    bound: float | int | None,
    seconds: float,
) -> BenchRow:
    """Check a solver's answer independently and turn it into a `BenchRow`.

    For OPTIMAL and FEASIBLE, agent_of_job (0-based agent per job) must be a feasible
    assignment whose recomputed cost equals objective. The bound is rounded up with
    `integer_bound`, kept for OPTIMAL, FEASIBLE and UNKNOWN, and must not exceed the cost.

    Raises
    ------
    RuntimeError
        Any check fails: the row would report a number nobody verified.
    """
    cost: int | None = None
    if status in _SOLVED:
        if agent_of_job is None:
            raise RuntimeError(f"{inst.name}: status {status} but no solution")
        cost = verify_assignment(inst, agent_of_job)
        if objective is None or float(objective) != cost:
            raise RuntimeError(
                f"{inst.name}: solver reports objective {objective}, recomputed cost is {cost}"
            )
    kept_bound = integer_bound(bound) if status in (*_SOLVED, "UNKNOWN") else None
    if cost is not None and kept_bound is not None and kept_bound > cost:
        raise RuntimeError(f"{inst.name}: bound {kept_bound} exceeds the cost {cost}")
    return BenchRow(inst.name, inst.m, inst.n, cost, kept_bound, status, float(seconds))


# --- reporting -----------------------------------------------------------------------------


def add_best_known(rows: Iterable[BenchRow], values: Mapping[str, int]) -> list[BenchRow]:
    """Fill best_known and gap_to_best_pct from `read_values`; unknown instances stay empty."""
    out = []
    for row in rows:
        best = values.get(row.instance)
        gap = None
        if best is not None and row.objective is not None and best != 0:
            gap = 100.0 * (row.objective - best) / abs(best)
        out.append(dataclasses.replace(row, best_known=best, gap_to_best_pct=gap))
    return out


def format_csv(rows: Iterable[BenchRow], with_values: bool) -> str:
    """Render rows as CSV with header ``instance,m,n,objective,bound,status,seconds``.

    with_values appends ``best_known,gap_to_best_pct``. seconds has 2 decimals,
    gap_to_best_pct 3, whole numbers print as integers, a missing value is an empty cell.
    """
    header = ["instance", "m", "n", "objective", "bound", "status", "seconds"]
    if with_values:
        header += ["best_known", "gap_to_best_pct"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        cells = [
            row.instance,
            _cell(row.m),
            _cell(row.n),
            _cell(row.objective),
            _cell(row.bound),
            row.status,
            f"{row.seconds:.2f}",
        ]
        if with_values:
            gap = "" if row.gap_to_best_pct is None else f"{row.gap_to_best_pct:.3f}"
            cells += [_cell(row.best_known), gap]
        writer.writerow(cells)
    return buffer.getvalue()


def _cell(value: int | float | None) -> str:
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        return str(int(value)) if float(value).is_integer() else f"{float(value):.3f}"
    return str(int(value))
