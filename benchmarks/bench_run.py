"""The nightly job at scale: wall time per stage, peak memory, plan quality, and the greedy peer.

For each size ``<customers>x<reps>``:

1. generate a seeded synthetic book (``allocator.datagen.generate``) and write it as Parquet to
   ``<out>/book-<size>/``;
2. run the whole nightly job as a subprocess, ``allocator run ... --as-of 2026-11-30 --quiet``,
   under ``/usr/bin/time -v`` when present (else a small Python wrapper reads the child's
   ``ru_maxrss``), so peak memory is that run's alone; the run folder is ``<out>/run-<size>/``;
3. read ``summary.json`` back: stage seconds, objective, bound, gap, moves, balance;
4. rebuild the same book in-process (same files, default ``Policy``, same as-of date), re-score the
   run's ``assignments.parquet`` with ``engine.evaluate`` (a consistency check), and compute the
   rule-based greedy baselines of ``baseline.py`` on it.

Writes ``<out>/bench_run.md`` and ``<out>/bench_run.json`` and prints the Markdown to stdout;
progress goes to stderr. A failed run (exit code, timeout, missing summary) is reported in the
table, not raised.

Example::

    python benchmarks/bench_run.py                       # 10000x100 (12 s) and 100000x1000 (100 s)
    python benchmarks/bench_run.py --sizes 2000x40 --time-limit 5
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import allocator  # noqa: E402
from allocator.api import read_inputs  # noqa: E402
from allocator.candidates import COST_SCALE, build_book  # noqa: E402
from allocator.datagen import generate, write_generated  # noqa: E402
from allocator.engine import check_plan, evaluate  # noqa: E402
from allocator.policy import Policy  # noqa: E402
from baseline import (  # noqa: E402
    VARIANTS,
    BaselineInfeasible,
    book_figures,
    chosen_arcs_from_reps,
    rep_of_customers,
    run_baseline,
)

AS_OF = dt.date(2026, 11, 30)
DEFAULT_SIZES = "10000x100,100000x1000"
GNU_TIME = Path("/usr/bin/time")
# Solve time limit by book size when --time-limit is not given: 12 s up to 10k customers, else 100 s.
DEFAULT_TIME_LIMITS = ((10_000, 12.0), (math.inf, 100.0))


def parse_sizes(text: str) -> list[tuple[int, int]]:
    """``"10000x100,100000x1000"`` -> ``[(10000, 100), (100000, 1000)]``."""
    sizes = []
    for part in text.split(","):
        m = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", part)
        if not m:
            raise argparse.ArgumentTypeError(f"expected sizes like 10000x100, got {part!r}")
        sizes.append((int(m.group(1)), int(m.group(2))))
    return sizes


def default_time_limit(n_customers: int) -> float:
    return next(limit for upto, limit in DEFAULT_TIME_LIMITS if n_customers <= upto)


def time_limits_for(sizes: list[tuple[int, int]], text: str | None) -> list[float]:
    """One limit per size: the defaults, one number for all sizes, or a comma list (one per size)."""
    if text is None:
        return [default_time_limit(c) for c, _ in sizes]
    vals = [float(x) for x in text.split(",")]
    if len(vals) == 1:
        return vals * len(sizes)
    if len(vals) != len(sizes):
        raise SystemExit(f"--time-limit: give one value or one per size ({len(sizes)}), got {len(vals)}")
    return vals


def allocator_command() -> list[str]:
    """The ``allocator`` console script of this interpreter's environment (else ``python -m``)."""
    script = Path(sys.executable).with_name("allocator")
    if script.exists():
        return [str(script)]
    found = shutil.which("allocator")
    return [found] if found else [sys.executable, "-m", "allocator.cli"]


def log(line: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S}] {line}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# The nightly job as a subprocess


RSS_WRAPPER = (
    "import resource, subprocess, sys\n"
    "rc = subprocess.call(sys.argv[1:])\n"
    "print('MAXRSS_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(rc)\n"
)


def run_job(book_dir: Path, run_dir: Path, time_limit: float, seed: int, timeout: float) -> dict[str, Any]:
    """Run ``allocator run`` on a book; return rc, wall seconds, peak RSS, stderr tail, summary."""
    if run_dir.exists():
        shutil.rmtree(run_dir)  # never read a previous run's summary by mistake
    cmd = [
        *allocator_command(), "run",
        "--customers", str(book_dir / "customers.parquet"),
        "--reps", str(book_dir / "reps.parquet"),
        "--activities", str(book_dir / "activities.parquet"),
        "--out", str(run_dir),
        "--time-limit", f"{time_limit:g}",
        "--seed", str(seed),
        "--as-of", AS_OF.isoformat(),
        "--quiet",
    ]
    if GNU_TIME.exists():
        full, meter = [str(GNU_TIME), "-v", *cmd], "/usr/bin/time -v"
    else:
        full, meter = [sys.executable, "-c", RSS_WRAPPER, *cmd], "RUSAGE_CHILDREN"
    out: dict[str, Any] = {"command": " ".join(cmd), "rss_meter": meter}
    t = time.perf_counter()
    # own process group, so a timeout stops the run itself and not only /usr/bin/time around it
    proc = subprocess.Popen(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _, stderr = proc.communicate(timeout=timeout)
        out["returncode"] = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        _, stderr = proc.communicate()
        out["returncode"] = None
        out["error"] = f"timed out after {timeout:g} s"
    except BaseException:  # Ctrl-C: the run is in its own session and would not get the signal
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    out["wall_seconds"] = round(time.perf_counter() - t, 3)
    out["peak_rss_mb"] = _peak_rss_mb(stderr)
    tail = [ln for ln in (stderr or "").splitlines()
            if ln.strip() and not ln.startswith(("\t", "MAXRSS_KB", "Command exited with", "Command terminated by"))]
    out["stderr_tail"] = "\n".join(tail[-5:])
    summary_path = run_dir / "summary.json"
    if out["returncode"] == 0 and summary_path.exists():
        out["summary"] = json.loads(summary_path.read_text(encoding="utf-8"))
    elif "error" not in out:
        errors = [ln for ln in out["stderr_tail"].splitlines() if ln.startswith("Error:")]
        last = (errors or out["stderr_tail"].splitlines() or ["no message"])[-1]
        out["error"] = f"exit code {out['returncode']}: {last}"
    return out


def _peak_rss_mb(stderr: str) -> float | None:
    m = re.search(r"Maximum resident set size \(kbytes\):\s*(\d+)", stderr) or re.search(r"MAXRSS_KB (\d+)", stderr)
    return round(int(m.group(1)) / 1024, 1) if m else None


# ---------------------------------------------------------------------------------------------
# In-process: the same book, the run's plan re-scored, and the greedy baselines


def compare_in_process(book_dir: Path, run_dir: Path, run: dict[str, Any]) -> dict[str, Any]:
    """Build the book as the run did, check the run's plan against it and score the baselines."""
    out: dict[str, Any] = {}
    t = time.perf_counter()
    inputs = read_inputs(book_dir / "customers.parquet", book_dir / "reps.parquet", book_dir / "activities.parquet")
    book = build_book(inputs.customers, inputs.reps, inputs.activities, Policy(), AS_OF)
    out["build_book_seconds"] = round(time.perf_counter() - t, 3)
    out["n_problem_customers"] = int(book.problem.n_customers)
    out["n_arcs"] = int(len(book.problem.arc_cost))

    # today's ownership as the engine hints it (forced customers in the pool): the no-change plan
    hint = book.problem.hint_arc
    if hint is not None and not check_plan(book.problem, hint):
        rep = rep_of_customers(book, hint)
        out["hint"] = _plan_row("today (hint)", evaluate(book.problem, hint)["total"], book_figures(book, rep), None)
    else:
        out["hint"] = {"plan": "today (hint)", "error": "infeasible"}

    # the run's plan, re-scored here: it must match the summary (same book, same objective)
    summary = run.get("summary")
    if summary is not None:
        try:
            assignments = pd.read_parquet(run_dir / "assignments.parquet", columns=["customer_id", "rep_id"])
            rep = _reps_from_assignments(book, assignments)
            chosen = chosen_arcs_from_reps(book, rep)
            problems = check_plan(book.problem, chosen)
            total = evaluate(book.problem, chosen)["total"]
            out["engine_rescored"] = {
                "objective": total / COST_SCALE,
                "hard_rule_problems": problems,
                "matches_summary": summary["objective"] is not None
                and abs(total / COST_SCALE - summary["objective"]) < 1e-6 * max(1.0, abs(total / COST_SCALE)) + 2e-3,
                "figures": book_figures(book, rep),
            }
        except Exception as exc:  # a check that cannot run is reported, not fatal
            out["engine_rescored"] = {"error": f"{type(exc).__name__}: {exc}"}

    bound = summary.get("best_bound") if summary else None
    out["baselines"] = []
    for variant in VARIANTS:
        try:
            b = run_baseline(book, variant)
            out["baselines"].append(_plan_row(variant, b.objective, b.figures, bound, b.seconds))
        except (BaselineInfeasible, AssertionError) as exc:
            out["baselines"].append({"plan": variant, "error": str(exc)})
    if out["hint"].get("objective") is not None:
        out["hint"]["gap_to_bound"] = _gap(out["hint"]["objective"], bound)
    return out


def _reps_from_assignments(book, assignments: pd.DataFrame) -> np.ndarray:
    rows = pd.Index(book.customers["customer_id"]).get_indexer(assignments["customer_id"])
    if (rows < 0).any() or len(set(rows)) != len(book.customers):
        raise ValueError("assignments.parquet does not list every customer of the book exactly once")
    rep_ids = assignments["rep_id"].fillna("").astype(str)
    pos = pd.Index(book.reps["rep_id"]).get_indexer(rep_ids)
    unknown = (pos < 0) & (rep_ids.to_numpy() != "")
    if unknown.any():
        raise ValueError(f"assignments.parquet names {int(unknown.sum())} unknown rep ids")
    rep = np.full(len(book.customers), -1, dtype=np.int64)
    rep[rows] = np.where(rep_ids.to_numpy() == "", -1, pos)
    return rep


def _gap(objective: float | None, bound: float | None) -> float | None:
    if objective is None or bound is None:
        return None
    return max(0.0, (objective - bound) / max(1.0, abs(objective)))


def _plan_row(name: str, total_units: int, figures: dict, bound: float | None, seconds: float | None = None) -> dict:
    obj = total_units / COST_SCALE
    return {"plan": name, "objective": round(obj, 3), "gap_to_bound": _gap(obj, bound), "seconds": seconds, **figures}


# ---------------------------------------------------------------------------------------------
# One size, end to end


def bench_size(n_customers: int, n_reps: int, time_limit: float, seed: int, out_dir: Path,
               timeout: float | None) -> dict[str, Any]:
    size = f"{n_customers}x{n_reps}"
    rec: dict[str, Any] = {"size": size, "n_customers": n_customers, "n_reps": n_reps,
                           "time_limit": time_limit, "seed": seed}
    book_dir, run_dir = out_dir / f"book-{size}", out_dir / f"run-{size}"
    try:
        log(f"{size}: generating (seed {seed})")
        t = time.perf_counter()
        frames = generate(n_customers, n_reps, seed=seed)
        write_generated(book_dir, *frames, fmt="parquet")
        del frames
        rec["generate_seconds"] = round(time.perf_counter() - t, 3)
    except Exception as exc:
        rec["error"] = f"generate failed: {type(exc).__name__}: {exc}"
        log(f"{size}: {rec['error']}")
        return rec

    timeout = timeout if timeout is not None else 3 * time_limit + 900
    log(f"{size}: allocator run, time limit {time_limit:g} s (timeout {timeout:g} s)")
    rec["run"] = run_job(book_dir, run_dir, time_limit, seed, timeout)
    r = rec["run"]
    if "summary" in r:
        s = r["summary"]
        log(f"{size}: {s['status']} by {s['method']}, objective {s['objective']}, bound {s['best_bound']}, "
            f"wall {r['wall_seconds']:.1f} s, peak RSS {r['peak_rss_mb']} MB")
    else:
        log(f"{size}: run failed: {r.get('error')}")

    log(f"{size}: rebuilding the book in-process for the baselines")
    try:
        rec["compare"] = compare_in_process(book_dir, run_dir, r)
    except Exception as exc:
        rec["compare"] = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc(limit=3)}
        log(f"{size}: in-process comparison failed: {rec['compare']['error']}")
    return rec


# ---------------------------------------------------------------------------------------------
# Report


def _f(x: Any, fmt: str = "{:,.1f}", none: str = "–") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return none
    return fmt.format(x)


def _pct(x: float | None) -> str:
    return _f(None if x is None else 100 * x, "{:.2f} %")


def render_markdown(records: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [
        "# allocator run benchmark",
        "",
        f"{meta['date']}, allocator {meta['version']}, git {meta['git']}, {meta['machine']}; "
        f"seed {meta['seed']}, as-of {AS_OF.isoformat()}, default policy. Objectives in cost points "
        f"(engine units / {COST_SCALE}); gap = (objective − bound) / objective against the run's bound.",
        "",
        "## The nightly job (`allocator run`, subprocess)",
        "",
        "| size | limit s | status | method | wall s | total s | read+validate s | candidates s | solve s | explain s | "
        "other s | peak RSS MB | objective | bound | gap | moves (forced / from pool / voluntary) | "
        "pool | value CV before → after | workload CV before → after | reps over / under value band after |",
        "| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | "
        "---: | --- | --- | --- |",
    ]
    for rec in records:
        r = rec.get("run", {})
        s = r.get("summary")
        if s is None:
            err = rec.get("error") or r.get("error", "no summary")
            lines.append(f"| {rec['size']} | {rec['time_limit']:g} | **failed** | | {_f(r.get('wall_seconds'))} | | "
                         f"| | | | | {_f(r.get('peak_rss_mb'), '{:,.0f}')} | | | | {err.replace('|', '/')} | | | | |")
            continue
        st = s.get("stage_seconds", {})
        other = r["wall_seconds"] - sum(v for v in st.values() if isinstance(v, (int, float)))
        b = s.get("balance", {})
        lines.append(
            f"| {rec['size']} | {rec['time_limit']:g} | {s['status']} | {s.get('method', '')} | {_f(r['wall_seconds'])} | "
            f"{_f(s.get('total_seconds'))} | "
            f"{_f(st.get('read_validate'), '{:.2f}')} | {_f(st.get('candidates'), '{:.2f}')} | "
            f"{_f(st.get('solve'), '{:.2f}')} | {_f(st.get('explain'), '{:.2f}')} | {_f(other, '{:.2f}')} | "
            f"{_f(r.get('peak_rss_mb'), '{:,.0f}')} | {_f(s['objective'], '{:,.3f}')} | {_f(s['best_bound'], '{:,.3f}')} | "
            f"{_pct(s['gap'])} | {s['n_moves']} ({s.get('n_forced_moves', '?')} / {s.get('n_from_pool', '?')} / "
            f"{s.get('n_voluntary_moves', '?')}) | {s['n_pool']} | "
            f"{_f(b.get('value_cv_before'), '{:.3f}')} → {_f(b.get('value_cv_after'), '{:.3f}')} | "
            f"{_f(b.get('workload_cv_before'), '{:.3f}')} → {_f(b.get('workload_cv_after'), '{:.3f}')} | "
            f"{b.get('reps_over_target_after', '–')} / {b.get('reps_under_target_after', '–')} |"
        )
    lines += ["", "wall = `allocator run` measured from outside (process start to exit); total = "
              "`summary.total_seconds`; other = wall − the stages (interpreter start, imports, writing the run "
              "folder). Peak RSS of the run process.", "",
              "Engine stages (`summary.engine_stage_seconds`, as reported):", ""]
    for rec in records:
        s = rec.get("run", {}).get("summary")
        if s:
            es = ", ".join(f"{k} {v:g}" for k, v in s.get("engine_stage_seconds", {}).items())
            lines.append(f"- {rec['size']}: {es or '–'}")

    lines += [
        "",
        "## Plans compared on the same book (same objective, same bound)",
        "",
        "| size | plan | objective | gap to bound | moves | voluntary | pool | value CV | workload CV | seconds |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for rec in records:
        c = rec.get("compare", {})
        s = rec.get("run", {}).get("summary")
        if s:
            eng = c.get("engine_rescored", {}).get("figures", {})
            lines.append(
                f"| {rec['size']} | **engine** ({s['status']}) | {_f(s['objective'], '{:,.3f}')} | {_pct(s['gap'])} | "
                f"{s['n_moves']} | {s.get('n_voluntary_moves', '–')} | {s['n_pool']} | "
                f"{_f(s['balance'].get('value_cv_after'), '{:.4f}')} | {_f(s['balance'].get('workload_cv_after'), '{:.4f}')} | "
                f"{_f(s.get('solve_seconds'), '{:.2f}')} |")
            if eng and (eng.get("n_moves") != s["n_moves"] or eng.get("n_pool") != s["n_pool"]):
                lines.append(f"| {rec['size']} | engine, recomputed here | | | {eng.get('n_moves')} | "
                             f"{eng.get('n_voluntary_moves')} | {eng.get('n_pool')} | {eng.get('value_cv')} | "
                             f"{eng.get('workload_cv')} | |")
        if "error" in c:
            lines.append(f"| {rec['size']} | in-process comparison failed | {c['error'].replace('|', '/')} | | | | | | | |")
            continue
        for row in [*c.get("baselines", []), c.get("hint")]:
            if not row:
                continue
            if "error" in row:
                lines.append(f"| {rec['size']} | {row['plan']} | {row['error'].replace('|', '/')} | | | | | | | |")
                continue
            lines.append(
                f"| {rec['size']} | {row['plan']} | {_f(row['objective'], '{:,.3f}')} | {_pct(row.get('gap_to_bound'))} | "
                f"{row['n_moves']} | {row['n_voluntary_moves']} | {row['n_pool']} | {row['value_cv']:.4f} | "
                f"{row['workload_cv']:.4f} | {_f(row.get('seconds'), '{:.2f}')} |")

    notes = _notes(records)
    if notes:
        lines += ["", "## Checks", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def _notes(records: list[dict[str, Any]]) -> list[str]:
    """Things a reader should not miss: failures, mismatches, a baseline beating the engine."""
    notes = []
    for rec in records:
        size, r, c = rec["size"], rec.get("run", {}), rec.get("compare", {})
        s = r.get("summary")
        if s is None:
            notes.append(f"{size}: the run failed ({rec.get('error') or r.get('error')}); stderr: "
                         f"{(r.get('stderr_tail') or '').splitlines()[-1:] or '–'}")
            continue
        over = r["wall_seconds"] - rec["time_limit"]
        notes.append(f"{size}: wall {r['wall_seconds']:.1f} s for a {rec['time_limit']:g} s solve limit "
                     f"(solve stage {s['stage_seconds'].get('solve', float('nan')):.1f} s, {over:+.1f} s beyond the limit)")
        er = c.get("engine_rescored", {})
        if "error" in er:
            notes.append(f"{size}: could not re-score the run's plan: {er['error']}")
        elif er:
            if er["hard_rule_problems"]:
                notes.append(f"{size}: the run's plan breaks hard rules on the rebuilt book: {er['hard_rule_problems']}")
            if not er["matches_summary"]:
                notes.append(f"{size}: the run's plan re-scored here is {er['objective']:,.3f}, "
                             f"summary.json says {s['objective']:,.3f}")
            fig = er.get("figures", {})
            if fig and abs(fig["value_cv"] - s["balance"].get("value_cv_after", fig["value_cv"])) > 1e-3:
                notes.append(f"{size}: value CV recomputed here {fig['value_cv']} vs summary {s['balance']['value_cv_after']}")
        for row in c.get("baselines", []):
            if row.get("objective") is not None and s["objective"] is not None and row["objective"] < s["objective"]:
                notes.append(f"{size}: **{row['plan']} beats the engine**: {row['objective']:,.3f} < {s['objective']:,.3f}")
            if row.get("objective") is not None and s["best_bound"] is not None and row["objective"] < s["best_bound"] - 1e-3:
                notes.append(f"{size}: **{row['plan']} is below the engine's 'proven' bound** "
                             f"({row['objective']:,.3f} < {s['best_bound']:,.3f}): the bound is wrong")
    return notes


def _git_rev(root: Path) -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                             timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "allocator"], cwd=root, capture_output=True,
                               text=True, timeout=10).stdout.strip()
        return (rev or "?") + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=parse_sizes, default=parse_sizes(DEFAULT_SIZES),
                        help=f"customers x reps, comma-separated (default {DEFAULT_SIZES})")
    parser.add_argument("--time-limit", default=None,
                        help="solve time limit in seconds: one value, or one per size (default 12 up to 10k "
                             "customers, else 100)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generator and of the run (default 1)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out",
                        help="output folder (default benchmarks/out of this checkout)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="kill a run after this many seconds (default 3 x limit + 900)")
    args = parser.parse_args(argv)

    limits = time_limits_for(args.sizes, args.time_limit)
    args.out.mkdir(parents=True, exist_ok=True)
    root = Path(__file__).resolve().parents[1]
    meta = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "version": allocator.__version__,
        "git": _git_rev(root),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "seed": args.seed,
        "as_of": AS_OF.isoformat(),
    }
    records = []
    for (n_c, n_r), limit in zip(args.sizes, limits):
        records.append(bench_size(n_c, n_r, limit, args.seed, args.out, args.timeout))

    md = render_markdown(records, meta)
    (args.out / "bench_run.md").write_text(md, encoding="utf-8")
    for rec in records:  # the full summary stays in the run folder; keep the JSON readable
        s = rec.get("run", {}).get("summary")
        if s:
            rec["run"]["summary"] = {k: v for k, v in s.items() if k not in ("config", "trace", "input_checksums")}
    (args.out / "bench_run.json").write_text(
        json.dumps({"meta": meta, "records": records}, indent=2, default=_json_default) + "\n", encoding="utf-8")
    sys.stdout.write(md)
    log(f"wrote {args.out / 'bench_run.md'} and {args.out / 'bench_run.json'}")
    return 0


def _json_default(x: Any) -> Any:
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    return str(x)


if __name__ == "__main__":
    sys.exit(main())
