"""The analyst notebooks run top to bottom on a fresh kernel (so a notebook that breaks fails CI)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_there_are_three_numbered_notebooks() -> None:
    """The quickstart, weight-tuning and scenario notebooks exist under their numbered names."""
    assert [p.name for p in NOTEBOOKS] == ["01_quickstart.ipynb", "02_tune_weights.ipynb", "03_scenarios.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    """Notebooks are stored with outputs stripped, so diffs stay readable."""
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path: Path) -> None:
    """Each notebook executes from notebooks/ on a fresh kernel without an error, and draws its figures."""
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    assert images, "the notebook drew no figure"


def test_two_api_calls_match_two_cli_runs(tmp_path: Path) -> None:
    """plan() twice in one process gives the same assignments as each other and as `allocator run` (no global state)."""
    import pandas as pd
    from typer.testing import CliRunner

    from allocator import Policy, generate, plan
    from allocator.cli import app
    from allocator.datagen import write_generated

    paths = write_generated(tmp_path / "book", *generate(150, 6, seed=3), fmt="csv")
    policy = Policy().with_solver(time_limit_seconds=60, deterministic_time=1.0, seed=4)
    first = plan(*paths, policy=policy, as_of="2026-11-30").assignments
    second = plan(*paths, policy=policy, as_of="2026-11-30").assignments
    pd.testing.assert_frame_equal(first, second)
    config = policy.save(tmp_path / "policy.toml")
    result = CliRunner().invoke(app, ["run", "--customers", str(paths[0]), "--reps", str(paths[1]), "--activities",
                                      str(paths[2]), "--config", str(config), "--out", str(tmp_path / "run"),
                                      "--as-of", "2026-11-30", "--quiet"])
    assert result.exit_code == 0, result.output
    cli = pd.read_parquet(tmp_path / "run" / "assignments.parquet")
    pd.testing.assert_frame_equal(first.reset_index(drop=True), cli, check_dtype=False)
