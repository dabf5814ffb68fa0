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
