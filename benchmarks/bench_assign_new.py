"""Time `allocator assign-new`: new customers placed into a large book without moving anyone else.

Generates a book (``allocator.datagen.generate(n_customers, n_reps, seed=1)``), takes ``--new``
of its pool customers as the new ones (renamed N..., removed from the book), writes the files to
``benchmarks/out/assign-new-<size>/`` and times the whole command in a fresh process. Prints
Markdown to stdout; the figures are measured, not asserted.

    .venv/bin/python benchmarks/bench_assign_new.py                      # 100,000 x 1,000, 1,000 new
    .venv/bin/python benchmarks/bench_assign_new.py --customers 20000 --reps 200 --new 200
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"


def make_inputs(n_customers: int, n_reps: int, n_new: int, folder: Path) -> dict[str, Path]:
    """Write book, reps, activities and new customers as Parquet; return their paths."""
    from allocator.datagen import generate

    folder.mkdir(parents=True, exist_ok=True)
    customers, reps, activities = generate(n_customers, n_reps, seed=1)
    pool = customers["current_owner"].isna() | (customers["current_owner"].astype(str) == "")
    new = customers.loc[pool].head(n_new).copy()
    if len(new) < n_new:
        sys.exit(f"only {len(new)} pool customers in the generated book; ask for fewer --new")
    book = customers.drop(new.index)
    new_ids = "N" + new["customer_id"].astype(str)
    activities = activities.copy()
    renamed = dict(zip(new["customer_id"], new_ids))
    activities["customer_id"] = activities["customer_id"].map(lambda c: renamed.get(c, c))
    new["customer_id"] = new_ids.to_numpy()
    paths = {name: folder / f"{name}.parquet" for name in ("customers", "reps", "activities", "new")}
    for name, frame in (("customers", book), ("reps", reps), ("activities", activities), ("new", new)):
        frame.to_parquet(paths[name], index=False)
    return paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--reps", type=int, default=1_000)
    ap.add_argument("--new", type=int, default=1_000)
    ap.add_argument("--time-limit", type=float, default=None, help="passed to assign-new (seconds)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    tag = f"{args.customers}x{args.reps}+{args.new}"
    folder = OUT / f"assign-new-{tag}"
    t = time.perf_counter()
    paths = make_inputs(args.customers, args.reps, args.new, folder / "in")
    print(f"inputs written in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    cmd = [sys.executable, "-m", "allocator.cli", "assign-new", "--customers", str(paths["customers"]),
           "--reps", str(paths["reps"]), "--new", str(paths["new"]), "--activities", str(paths["activities"]),
           "--out", str(folder / "run"), "--as-of", "2026-11-30", "--quiet"]
    if args.time_limit is not None:
        cmd += ["--time-limit", str(args.time_limit)]
    rows = []
    for k in range(args.repeat):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, cwd=ROOT)
        wall = time.perf_counter() - t
        summary = json.loads((folder / "run" / "summary.json").read_text(encoding="utf-8"))
        a = pd.read_parquet(folder / "run" / "assignments.parquet")
        assert len(a) == args.customers and a["customer_id"].is_unique
        st = summary["stage_seconds"]
        rows.append((k + 1, wall, summary["total_seconds"], st["read_validate"], st["candidates"], st["solve"],
                     summary["status"], summary["gap"], summary["n_placed"], summary["n_pool"]))
        print(f"run {k + 1}: {wall:.2f} s", file=sys.stderr)
    print(f"### assign-new: {args.new:,} new customers into a {args.customers - args.new:,}-customer book, "
          f"{args.reps:,} reps\n")
    print("| run | command wall s | in-process s | read+validate s | candidates s | solve s | status | gap | placed | pool |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print("| " + " | ".join(f"{x:.2f}" if isinstance(x, float) else str(x) for x in r) + " |")
    print(f"\ncommand: `{' '.join(Path(c).name if i == 0 else c for i, c in enumerate(cmd))}`")


if __name__ == "__main__":
    main()
