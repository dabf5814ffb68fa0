"""The GAP benchmark script's report (benchmarks/bench_gap.py): medians over several runs."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_gap.py"


@pytest.fixture(scope="module")
def bench_gap() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_gap_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _row(objective: int | None, bound: int | None = 90) -> dict:
    return {"objective": objective, "bound": bound, "status": "FEASIBLE" if objective else "UNKNOWN", "seconds": 1.0}


def test_median_run_takes_the_middle_objective_and_sorts_no_plan_last(bench_gap: ModuleType) -> None:
    assert bench_gap.median_run([_row(105), _row(100), _row(103)])["objective"] == 103
    assert bench_gap.median_run([_row(105), _row(100)])["objective"] == 100  # lower middle
    assert bench_gap.median_run([_row(None), _row(110), _row(None)])["objective"] is None
    assert bench_gap.median_run([_row(None), _row(110), _row(120)])["objective"] == 120
    assert bench_gap.median_run([_row(7)])["objective"] == 7


def test_spread_shows_the_range_of_several_runs_only(bench_gap: ModuleType) -> None:
    assert bench_gap.spread([100]) == ""
    assert bench_gap.spread(None) == ""
    assert bench_gap.spread([103, 100, 105]) == " (100–105)"
    assert bench_gap.spread([100, None]) == " (100–100, 1 without a plan)"


def test_render_compares_medians_and_shows_ranges(bench_gap: ModuleType) -> None:
    """Ours 100/104/110 (median 104) against plain 101/103/102 (median 102) is a loss, not a win."""
    ours = [_row(100), _row(104), _row(110)]
    plain = [_row(101), _row(103), _row(102)]
    record = {"instance": "d10400", "m": 10, "n": 400, "best_known": None,
              "ours": bench_gap.median_run(ours), "ours_runs": [r["objective"] for r in ours],
              "plain": bench_gap.median_run(plain), "plain_runs": [r["objective"] for r in plain]}
    meta = {"date": "2026-12-01T00:00:00", "version": "0", "fingerprints": {"ours": "x", "plain": "y"},
            "ortools": "9", "machine": "2 CPUs", "seed": 0, "runs": 3, "filter": ""}
    md = bench_gap.render(60.0, [record], meta, with_plain=True)
    line = next(x for x in md.splitlines() if x.startswith("| d10400 "))
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[4] == "104 (100–110)" and cells[9] == "102 (101–103)"
    assert cells[-1] == "loss"
    assert "median of 3 runs per solver (ours: seeds 0–2)" in md
    assert "| type D | 1 |" in md and md.rstrip().endswith("0/0/1 |")


def test_only_selects_instances_files_and_groups(bench_gap: ModuleType) -> None:
    """``--only d`` means every type D file; ``gapd`` every gapd problem; a name just that one."""
    sel = bench_gap.selected
    assert sel("d10400", "d10400", ["d"]) and sel("d10400", "d10400", ["d10400"])
    assert not sel("c10400", "c10400", ["d"]) and not sel("gapd-1", "gapd", ["d"])
    assert sel("gapd-1", "gapd", ["gapd"]) and sel("gapd-6", "gapd", ["gapd-6"]) and not sel("gapd-5", "gapd", ["gapd-6"])
    assert sel("e05100", "e05100", None)


def test_runs_solves_each_instance_once_per_seed_and_reports_the_median(
    bench_gap: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--runs 2`` caches one row per seed for our engine and prints the median with the range."""
    import json

    folder = tmp_path / "gap"
    folder.mkdir()
    # one problem, 2 agents x 3 jobs: costs, loads, capacities (OR-Library layout)
    (folder / "gapa.txt").write_text("1\n2 3\n1 2 3\n3 2 1\n1 1 1\n1 1 1\n2 2\n", encoding="utf-8")
    out = tmp_path / "out"
    code = bench_gap.main(["--bench-dir", str(folder), "--out", str(out), "--time-limits", "1", "--runs", "2",
                           "--no-plain", "--benchmarks-md", ""])
    assert code == 0
    keys = json.loads((out / bench_gap.CACHE_NAME).read_text(encoding="utf-8"))
    assert sorted(k.split("|")[2] for k in keys) == ["0", "1"]  # seeds 0 and 1, ours only
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("| gapa-1 "))
    assert line.split("|")[5].strip() == "4 (4–4)"  # optimum: job 0 to agent 0, jobs 1 and 2 to agent 1
