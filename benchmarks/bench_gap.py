"""The engine on public generalized assignment instances, beside a plain textbook CP-SAT model.

For every problem of ``gapa.txt`` … ``gapd.txt`` and every type C, D and E file (``c10400`` …
``e801600``), at each time limit: solve with allocator's engine (``allocator.bench.solve_instance``)
and with the plain model of ``plain_gap.py`` (``solve_plain``) under the same limit, one after the
other (each gets both cores). Writes ``<out>/bench_gap_<limit>.md`` per limit: m, n, best-known
value (``VALUES.tsv``, gapa–gapd only), our objective, bound and gap, the plain model's objective
and bound, and win / tie / loss on the objective; then one summary line per group. The same
tables go into the "GAP benchmark" section of ``BENCHMARKS.md``, one subsection per limit
(other sections and other limits' subsections are kept).

Resumable: every solved row is cached in ``<out>/bench_gap_cache.json`` under (instance, limit,
seed, solver, fingerprint); the fingerprint hashes the solver's source (``allocator/engine.py``,
``allocator/exact.py``, ``allocator/knapbb.py`` and ``allocator/bench.py``, or ``plain_gap.py``) and the OR-Tools version, so an edited engine is
measured afresh and never mixed with old rows. ``--fresh`` ignores the cache.

One run per instance is noisy (both solvers stop on the wall clock). ``--runs N`` solves each
instance N times per solver (ours with seeds seed … seed+N−1; the plain model keeps CP-SAT's
defaults and is simply run again) and reports the median run, with the range of objectives
beside it; win / tie / loss then compares medians.

The instance folder is ``$ALLOCATOR_BENCH_DIR`` or ``../shared/bench/gap`` next to the checkout.

Example::

    python benchmarks/bench_gap.py                                  # all, at 10 s and 60 s (hours)
    python benchmarks/bench_gap.py --time-limits 60 --only d,gapd    # the hard ones at 60 s
    python benchmarks/bench_gap.py --only gapa,c10400 --time-limits 2 --no-plain
    python benchmarks/bench_gap.py --time-limits 60 --only gapd --runs 3   # medians of 3 runs
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import allocator  # noqa: E402
import ortools  # noqa: E402
from allocator.bench import GapInstance, read_gap_file, read_values, solve_instance  # noqa: E402
from plain_gap import solve_plain  # noqa: E402

HERE = Path(__file__).resolve().parent
GROUP_FILES = ("gapa.txt", "gapb.txt", "gapc.txt", "gapd.txt")
SINGLE_FILE = re.compile(r"([cde])(\d\d)(\d+)")  # XmmNNN: type, agents, jobs
CACHE_NAME = "bench_gap_cache.json"


def bench_dir() -> Path:
    env = os.environ.get("ALLOCATOR_BENCH_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared/bench/gap"


def instance_files(folder: Path) -> list[Path]:
    """gapa–gapd, then the C, D and E files by type, agents and jobs."""
    singles = []
    for p in folder.iterdir():
        m = SINGLE_FILE.fullmatch(p.name)
        if m:
            singles.append(((m.group(1), int(m.group(2)), int(m.group(3))), p))
    files = [folder / f for f in GROUP_FILES if (folder / f).exists()]
    return files + [p for _, p in sorted(singles)]


def group_of(name: str) -> str:
    """``gapa-3`` -> ``gapa``; ``d20400`` -> ``type D``."""
    if name.startswith("gap"):
        return name.split("-")[0]
    return f"type {name[0].upper()}"


def selected(name: str, file_stem: str, only: list[str] | None) -> bool:
    if not only:
        return True
    group = group_of(name)
    return any(tok in (name, file_stem, group) or f"type {tok.upper()}" == group for tok in only)


# ---------------------------------------------------------------------------------------------
# Cache: one row per (instance, limit, seed, solver, fingerprint)


def _source_hash(*paths: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes())
    h.update(ortools.__version__.encode())
    return h.hexdigest()[:12]


def fingerprints() -> dict[str, str]:
    pkg = Path(allocator.__file__).resolve().parent
    return {
        "ours": _source_hash(pkg / "engine.py", pkg / "exact.py", pkg / "knapbb.py", pkg / "bench.py"),
        "plain": _source_hash(HERE / "plain_gap.py"),
    }


class Cache:
    """A JSON file of solved rows, written atomically after every row so a run can be resumed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows: dict[str, Any] = {}
        if path.exists():
            try:
                self.rows = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError:
                print(f"warning: {path} is not valid JSON; starting a new cache", file=sys.stderr)

    @staticmethod
    def key(instance: str, limit: float, seed: int, solver: str, fingerprint: str) -> str:
        return f"{instance}|{limit:g}|{seed}|{solver}|{fingerprint}"

    def get(self, key: str, fresh: bool) -> dict[str, Any] | None:
        return None if fresh else self.rows.get(key)

    def put(self, key: str, row: dict[str, Any]) -> None:
        self.rows[key] = row
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.rows, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)


# ---------------------------------------------------------------------------------------------
# Solving


def solve_ours(inst: GapInstance, limit: float, seed: int) -> dict[str, Any]:
    row = solve_instance(inst, limit, seed)
    return {"objective": row.objective, "bound": row.bound, "status": row.status, "seconds": round(row.seconds, 3)}


def solve_theirs(inst: GapInstance, limit: float, seed: int) -> dict[str, Any]:
    objective, bound, status, seconds = solve_plain(inst, limit)
    return {"objective": objective, "bound": bound, "status": status, "seconds": round(seconds, 3)}


def solve_cached(cache: Cache, solver: str, fn: Callable, inst: GapInstance, limit: float, seed: int,
                 fingerprint: str, fresh: bool) -> tuple[dict[str, Any], bool]:
    key = Cache.key(inst.name, limit, seed, solver, fingerprint)
    row = cache.get(key, fresh)
    if row is not None:
        return row, True
    try:
        row = fn(inst, limit, seed)
    except Exception as exc:  # a crash or a failed check is a result too; keep going
        row = {"objective": None, "bound": None, "status": f"ERROR: {type(exc).__name__}: {exc}", "seconds": None}
    row["date"] = dt.datetime.now().isoformat(timespec="seconds")
    cache.put(key, row)
    return row, False


# ---------------------------------------------------------------------------------------------
# Report


def median_run(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median objective (the lower middle one for an even count; no plan sorts last)."""
    ranked = sorted(rows, key=lambda r: (r["objective"] is None, r["objective"] or 0))
    return ranked[(len(ranked) - 1) // 2]


def spread(objectives: list[int | None] | None) -> str:
    """`` (lo–hi)`` over several runs' objectives; empty for a single run."""
    if not objectives or len(objectives) < 2:
        return ""
    found = [o for o in objectives if o is not None]
    text = f"{min(found)}–{max(found)}" if found else "none"
    if len(found) < len(objectives):
        text += f", {len(objectives) - len(found)} without a plan"
    return f" ({text})"


def gap_pct(objective: int | None, bound: int | None) -> float | None:
    """100 (objective − bound) / objective, the engine's definition of the gap."""
    if objective is None or bound is None:
        return None
    return 100.0 * max(0, objective - bound) / max(1, abs(objective))


def verdict(ours: int | None, plain: int | None) -> str:
    """Win / tie / loss of our objective against the plain model's (lower cost wins)."""
    if ours is None and plain is None:
        return "tie (none)"
    if plain is None:
        return "win"
    if ours is None:
        return "loss"
    return "win" if ours < plain else "tie" if ours == plain else "loss"


def _c(x: Any, fmt: str = "{}") -> str:
    return "–" if x is None else fmt.format(x)


def render(limit: float, records: list[dict[str, Any]], meta: dict[str, Any], with_plain: bool) -> str:
    lines = [
        f"# GAP benchmark at {limit:g} s per instance",
        "",
        f"{meta['date']}, allocator {meta['version']} (engine {meta['fingerprints']['ours']}), OR-Tools "
        f"{meta['ortools']}, {meta['machine']}, {_seeds_text(meta)}{meta['filter']}. Minimisation. "
        "gap = 100 (objective − bound) / objective against the solver's own bound; "
        "best-known from VALUES.tsv (gapa–gapd; none listed for types C, D, E). "
        "Plain = the textbook CP-SAT model of `plain_gap.py` (defaults, 2 workers, same limit). "
        "W/T/L compares objectives.",
        "",
        "| instance | m | n | best-known | ours | our bound | our gap % | ours s | status | "
        + ("plain | plain bound | plain gap % | plain s | W/T/L |" if with_plain else ""),
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | "
        + ("---: | ---: | ---: | ---: | --- |" if with_plain else ""),
    ]
    for r in records:
        o, p = r["ours"], r.get("plain")
        mark = " ✓" if r["best_known"] is not None and o["objective"] == r["best_known"] else ""
        line = (f"| {r['instance']} | {r['m']} | {r['n']} | {_c(r['best_known'])} | {_c(o['objective'])}{mark}"
                f"{spread(r.get('ours_runs'))} | "
                f"{_c(o['bound'])} | {_c(gap_pct(o['objective'], o['bound']), '{:.3f}')} | "
                f"{_c(o['seconds'], '{:.1f}')} | {o['status']} |")
        if with_plain and p is not None:
            line += (f" {_c(p['objective'])}{spread(r.get('plain_runs'))} | {_c(p['bound'])} | {_c(gap_pct(p['objective'], p['bound']), '{:.3f}')} | "
                     f"{_c(p['seconds'], '{:.1f}')} | {verdict(o['objective'], p['objective'])} |")
        lines.append(line)

    lines += ["", "## Per group", ""]
    head = "| group | instances | ours at best-known | ours proved optimal | our mean gap % | our mean gap to best-known % |"
    sep = "| --- | ---: | ---: | ---: | ---: | ---: |"
    if with_plain:
        head += " plain at best-known | plain proved optimal | plain mean gap % | W/T/L |"
        sep += " ---: | ---: | ---: | --- |"
    lines += [head, sep]
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault(group_of(r["instance"]), []).append(r)
    for g, rs in groups.items():
        lines.append(_group_line(g, rs, with_plain))
    if len(groups) > 1:
        lines.append(_group_line("**all**", records, with_plain))
    return "\n".join(lines) + "\n"


def _seeds_text(meta: dict[str, Any]) -> str:
    runs = meta["runs"]
    if runs == 1:
        return f"seed {meta['seed']}"
    return (f"median of {runs} runs per solver (ours: seeds {meta['seed']}–{meta['seed'] + runs - 1}), "
            "the range of objectives in brackets")


def _group_line(name: str, rs: list[dict[str, Any]], with_plain: bool) -> str:
    def stats(side: str) -> tuple[str, str, str]:
        rows = [r[side] for r in rs]
        known = [(r[side]["objective"], r["best_known"]) for r in rs if r["best_known"] is not None]
        at_best = f"{sum(o == b for o, b in known)}/{len(known)}" if known else "–"
        proved = sum(x["objective"] is not None and x["objective"] == x["bound"] for x in rows)
        gaps = [gap_pct(x["objective"], x["bound"]) for x in rows]
        gaps = [g for g in gaps if g is not None]
        mean = f"{sum(gaps) / len(gaps):.3f}" if gaps else "–"
        if len(gaps) < len(rows):
            mean += f" ({len(rows) - len(gaps)} unsolved)"
        return at_best, f"{proved}/{len(rows)}", mean

    at_best, proved, mean = stats("ours")
    to_best = [100.0 * (r["ours"]["objective"] - r["best_known"]) / r["best_known"]
               for r in rs if r["best_known"] and r["ours"]["objective"] is not None]
    line = (f"| {name} | {len(rs)} | {at_best} | {proved} | {mean} | "
            f"{(f'{sum(to_best) / len(to_best):.3f}' if to_best else '–')} |")
    if with_plain and all(r.get("plain") is not None for r in rs):
        p_best, p_proved, p_mean = stats("plain")
        v = [verdict(r["ours"]["objective"], r["plain"]["objective"]).split()[0] for r in rs]
        line += f" {p_best} | {p_proved} | {p_mean} | {v.count('win')}/{v.count('tie')}/{v.count('loss')} |"
    elif with_plain:
        line += " – | – | – | – |"
    return line


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time-limits", default="10,60", help="seconds per instance, comma-separated (default 10,60)")
    parser.add_argument("--only", default=None,
                        help="comma-separated instances, files or groups, e.g. gapa,c10400,gapd-6,e")
    parser.add_argument("--no-plain", action="store_true", help="skip the plain CP-SAT model")
    parser.add_argument("--seed", type=int, default=0, help="engine seed (default 0)")
    parser.add_argument("--runs", type=int, default=1,
                        help="runs per instance and solver; the table shows the median run (default 1)")
    parser.add_argument("--bench-dir", type=Path, default=None,
                        help="instance folder (default $ALLOCATOR_BENCH_DIR or ../shared/bench/gap)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out",
                        help="output folder (default benchmarks/out of this checkout)")
    parser.add_argument("--fresh", action="store_true", help="solve again even where the cache has a row")
    parser.add_argument("--benchmarks-md", type=Path, default=HERE.parent / "BENCHMARKS.md",
                        help="Markdown file whose GAP section gets the tables, one subsection per limit "
                             "(default BENCHMARKS.md of this checkout; '' to skip)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    command = " ".join(["python benchmarks/bench_gap.py", *(sys.argv[1:] if argv is None else argv)])

    limits = [float(x) for x in args.time_limits.split(",") if x.strip()]
    only = [t.strip() for t in args.only.split(",") if t.strip()] if args.only else None
    folder = args.bench_dir or bench_dir()
    if not folder.is_dir():
        parser.error(f"instance folder not found: {folder}; set ALLOCATOR_BENCH_DIR or --bench-dir")
    values_path = folder / "VALUES.tsv"
    known = read_values(values_path) if values_path.exists() else {}

    instances: list[GapInstance] = []
    for f in instance_files(folder):
        stem = f.stem if f.suffix == ".txt" else f.name
        if only and not any(selected(stem, stem, [tok]) or tok.startswith(stem + "-") for tok in only):
            continue  # do not read files nobody asked for
        instances += [inst for inst in read_gap_file(f) if selected(inst.name, stem, only)]
    if not instances:
        parser.error(f"no instance matches --only {args.only}")

    args.out.mkdir(parents=True, exist_ok=True)
    cache = Cache(args.out / CACHE_NAME)
    fps = fingerprints()
    meta = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "version": allocator.__version__,
        "ortools": ortools.__version__,
        "machine": f"{os.cpu_count()} CPUs",
        "seed": args.seed,
        "runs": args.runs,
        "fingerprints": fps,
        "filter": f", only {args.only}" if args.only else "",
    }
    sides = [("ours", solve_ours)] + ([] if args.no_plain else [("plain", solve_theirs)])
    total = len(instances) * len(limits) * len(sides) * args.runs
    done = 0
    tables: dict[float, str] = {}
    for limit in limits:
        records = []
        for inst in instances:
            rec: dict[str, Any] = {"instance": inst.name, "m": inst.m, "n": inst.n,
                                   "best_known": known.get(inst.name)}
            for side, fn in sides:
                rows = []
                for k in range(args.runs):
                    row, hit = solve_cached(cache, side, fn, inst, limit, args.seed + k, fps[side], args.fresh)
                    done += 1
                    _progress(done, total, inst.name, limit, side, row, hit)
                    rows.append(row)
                rec[side] = median_run(rows)
                rec[f"{side}_runs"] = [row["objective"] for row in rows]
            records.append(rec)
        md = render(limit, records, meta, with_plain=not args.no_plain)
        path = args.out / f"bench_gap_{limit:g}.md"
        path.write_text(md, encoding="utf-8")
        sys.stdout.write(md + "\n")
        print(f"wrote {path}", file=sys.stderr)
        tables[limit] = md
        if str(args.benchmarks_md) not in ("", "."):
            update_benchmarks_md(args.benchmarks_md, {limit: md}, command)
            print(f"updated {args.benchmarks_md}", file=sys.stderr)
    return 0


SECTION = "## GAP benchmark (allocator bench gap)"
SECTION_INTRO = (
    "The engine (`allocator.bench.solve_instance`) beside the plain textbook CP-SAT model "
    "(`benchmarks/plain_gap.py`), same instances, same limit, one after the other on the same "
    "2 cores. `make bench-gap` runs every gapa–gapd problem and every type C, D and E file at "
    "10 s and 60 s; each subsection below names the command that produced it."
)


def update_benchmarks_md(path: Path, tables: dict[float, str], command: str) -> None:
    """Put each limit's table into the GAP section of ``path``, keeping every other section.

    The section holds one ``### At <limit> s per instance`` subsection per limit; a run replaces
    only the subsections of the limits it ran.
    """
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    lines = text.splitlines()
    start = next((k for k, line in enumerate(lines) if line.strip() == SECTION), None)
    if start is None:
        before, body, after = lines, [], []
    else:
        end = next((k for k in range(start + 1, len(lines)) if lines[k].startswith("## ")), len(lines))
        before, body, after = lines[:start], lines[start + 1:end], lines[end:]
    blocks: dict[float, list[str]] = {}
    current: float | None = None
    for line in body:
        m = re.fullmatch(r"### At ([0-9.]+) s per instance", line.strip())
        if m:
            current = float(m.group(1))
            blocks[current] = []
        elif current is not None:
            blocks[current].append(line)
    for limit, md in tables.items():
        table = md.splitlines()[1:]  # drop the file's own title; the subsection heading replaces it
        table = ["#### Per group" if t == "## Per group" else t for t in table]
        blocks[limit] = ["", f"Command: `{command}`", *table, ""]
    section = [SECTION, "", SECTION_INTRO, ""]
    for limit in sorted(blocks):
        section += [f"### At {limit:g} s per instance", *blocks[limit]]
    while before and not before[-1].strip():
        before.pop()
    out = [*before, "", *section]
    if after:
        out += ["", *after]
    path.write_text("\n".join(out).rstrip("\n") + "\n", encoding="utf-8")


def _progress(done: int, total: int, name: str, limit: float, solver: str, row: dict[str, Any], hit: bool) -> None:
    src = "cached" if hit else f"{row['seconds']:.1f} s" if row.get("seconds") is not None else "failed"
    print(f"[{done}/{total}] {name} @ {limit:g} s, {solver}: {row['status']} {row['objective']} >= {row['bound']} "
          f"({src})", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
