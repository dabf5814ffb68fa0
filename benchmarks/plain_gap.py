"""The peer to beat: a plain textbook CP-SAT model of the generalized assignment problem.

One Boolean per (agent, job), exactly one agent per job, a capacity per agent, minimise cost.
No hint, no tuning: default parameters except ``num_workers = 2`` and the time limit, so the
engine's numbers from ``allocator bench gap`` have a fair baseline on the same 2 cores.

Example::

    python benchmarks/plain_gap.py /work/shared/bench/gap/gapa.txt c10400 --time-limit 10 \\
        --values /work/shared/bench/gap/VALUES.tsv > benchmarks/out/plain.csv
    python benchmarks/plain_gap.py --self-test /work/shared/bench/gap

Stdout carries the CSV (same columns as ``allocator bench gap``); stderr one line per instance.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from ortools.sat.python import cp_model

try:
    from allocator.bench import (
        BenchRow,
        GapInstance,
        add_best_known,
        build_row,
        format_csv,
        read_gap_file,
        read_values,
    )
except ModuleNotFoundError:  # run as a script from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from allocator.bench import (
        BenchRow,
        GapInstance,
        add_best_known,
        build_row,
        format_csv,
        read_gap_file,
        read_values,
    )


def solve_plain(
    inst: GapInstance, time_limit_seconds: float
) -> tuple[int | None, int | None, str, float]:
    """Solve ``inst`` with the plain model; return (objective, bound, status, seconds).

    The solution is checked independently (`allocator.bench.build_row`) before its cost is
    returned; seconds is wall time for building and solving the model.
    """
    row = _solve_plain_row(inst, time_limit_seconds)
    return row.objective, row.bound, row.status, row.seconds


def _solve_plain_row(inst: GapInstance, time_limit_seconds: float) -> BenchRow:
    start = time.perf_counter()

    # Model and variables: x[i, j] = 1 when agent i takes job j; variable index i * n + j.
    model = cp_model.CpModel()
    x = [[model.new_bool_var(f"x_{i}_{j}") for j in range(inst.n)] for i in range(inst.m)]

    # Constraints: every job goes to exactly one agent; no agent exceeds its capacity.
    for j in range(inst.n):
        model.add_exactly_one(x[i][j] for i in range(inst.m))
    for i in range(inst.m):
        load = cp_model.LinearExpr.weighted_sum(x[i], inst.load[i].tolist())
        model.add(load <= int(inst.capacity[i]))

    # Objective: total cost.
    flat = [var for row in x for var in row]
    model.minimize(cp_model.LinearExpr.weighted_sum(flat, inst.cost.reshape(-1).tolist()))

    # Solve: defaults except workers and time limit.
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 2
    solver.parameters.max_time_in_seconds = float(time_limit_seconds)
    status_code = solver.solve(model)
    seconds = time.perf_counter() - start

    # Read: status first, values only when there is a solution.
    status = solver.status_name(status_code)
    agent_of_job = objective = None
    if status_code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        values = np.asarray(solver.response_proto.solution, dtype=np.int64)
        chosen = values[: inst.m * inst.n].reshape(inst.m, inst.n)
        # A job with no or two agents gets an out-of-range agent so build_row rejects it.
        agent_of_job = np.where(chosen.sum(axis=0) == 1, chosen.argmax(axis=0), -1)
        objective = solver.objective_value
    bound = solver.best_objective_bound if status_code != cp_model.INFEASIBLE else None
    return build_row(inst, status, agent_of_job, objective, bound, seconds)


def self_test(bench_dir: Path, time_limit_seconds: float = 10.0) -> None:
    """Check the plain model against known optima: every gap1.txt problem must hit VALUES.tsv.

    Raises
    ------
    AssertionError
        A problem was not solved to its known optimum within the time limit.
    """
    values = read_values(bench_dir / "VALUES.tsv")
    for inst in read_gap_file(bench_dir / "gap1.txt"):
        objective, bound, status, seconds = solve_plain(inst, time_limit_seconds)
        expected = values[inst.name]
        assert status == "OPTIMAL", f"{inst.name}: status {status} after {seconds:.2f} s"
        assert objective == bound == expected, f"{inst.name}: {objective}/{bound} != {expected}"
        print(f"{inst.name}: {objective} = known optimum ({seconds:.2f} s)", file=sys.stderr)
    print("self-test passed", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "files", nargs="+", type=Path, help="GAP files (with --self-test: the bench folder)"
    )
    parser.add_argument(
        "--time-limit", type=float, default=10.0, help="seconds per instance (default 10)"
    )
    parser.add_argument(
        "--values", type=Path, help="VALUES.tsv: adds best_known,gap_to_best_pct columns"
    )
    parser.add_argument(
        "--self-test", action="store_true", help="solve gap1.txt and compare with VALUES.tsv"
    )
    args = parser.parse_args(argv)

    if args.self_test:
        self_test(args.files[0], args.time_limit)
        return 0

    instances = [inst for path in args.files for inst in read_gap_file(path)]
    rows = []
    for inst in instances:
        row = _solve_plain_row(inst, args.time_limit)
        summary = f"{row.status} {row.objective} >= {row.bound} in {row.seconds:.2f} s"
        print(f"{row.instance}: {summary}", file=sys.stderr)
        rows.append(row)
    if args.values is not None:
        rows = add_best_known(rows, read_values(args.values))
    sys.stdout.write(format_csv(rows, with_values=args.values is not None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
