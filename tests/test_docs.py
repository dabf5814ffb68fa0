"""README.md stays in step with the code: every CLI command and every policy key is documented."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
import typer.main

from allocator.cli import app
from allocator.policy import Policy, Rules, SolverSettings, Weights

README = Path(__file__).resolve().parents[1] / "README.md"
SECTIONS = {"weights": Weights, "rules": Rules, "solver": SolverSettings}


@pytest.fixture(scope="module")
def readme() -> str:
    return README.read_text(encoding="utf-8")


def leaf_commands() -> list[str]:
    """Every runnable command of the CLI, e.g. "run", "bench gap"."""
    out: list[str] = []

    def walk(cmd, path: list[str]) -> None:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, path + [name])
        elif path:
            out.append(" ".join(path))

    walk(typer.main.get_command(app), [])
    return out


def toml_text(value: Any) -> str:
    """A default as the README's policy table writes it (TOML syntax)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_text(v) for v in value) + "]"
    return repr(value)


POLICY_FIELDS = [(section, f.name) for section, cls in SECTIONS.items() for f in dataclasses.fields(cls)]


def test_cli_has_commands() -> None:
    """The command walk finds the commands (guards the parametrized tests below)."""
    assert {"run", "validate", "generate", "explain", "bench gap"} <= set(leaf_commands())


@pytest.mark.parametrize("command", leaf_commands())
def test_every_command_in_readme(readme: str, command: str) -> None:
    """Every CLI command appears in README.md as `allocator <command>`, with an example line."""
    assert f"`allocator {command}`" in readme
    assert re.search(rf"^allocator {re.escape(command)} ", readme, flags=re.MULTILINE)


@pytest.mark.parametrize(("section", "name"), POLICY_FIELDS, ids=[f"{s}.{n}" for s, n in POLICY_FIELDS])
def test_every_policy_field_in_readme(readme: str, section: str, name: str) -> None:
    """Every Policy field has a row in README.md's policy tables with its current default."""
    default = getattr(Policy(), section).__getattribute__(name)
    rows = [line for line in readme.splitlines() if line.startswith(f"| `{section}.{name}` |")]
    assert len(rows) == 1, f"{section}.{name} is not in the README's policy table"
    cells = [c.strip() for c in rows[0].strip("|").split("|")]
    assert cells[1] == f"`{toml_text(default)}`", f"README default of {section}.{name} is {cells[1]}"
    assert cells[2], f"{section}.{name} has no meaning in the README"


def test_readme_policy_table_has_no_stale_keys(readme: str) -> None:
    """Every key in README.md's policy tables is a field of the policy (no removed keys linger)."""
    documented = set(re.findall(r"^\| `(weights|rules|solver)\.([a-z_]+)` \|", readme, flags=re.MULTILINE))
    assert documented == set(POLICY_FIELDS)


def test_readme_config_example_is_valid(readme: str, tmp_path: Path) -> None:
    """The TOML example in README.md loads as a Policy."""
    blocks = re.findall(r"```toml\n(.*?)```", readme, flags=re.DOTALL)
    assert blocks
    for k, block in enumerate(blocks):
        path = tmp_path / f"example{k}.toml"
        path.write_text(block, encoding="utf-8")
        Policy.from_toml(path)


def test_readme_names_every_output_file(readme: str) -> None:
    """README.md lists every file a run writes."""
    for name in ("assignments.parquet", "moves.csv", "reps.csv", "summary.json", "report.html",
                 "candidates.parquet", "config.toml"):
        assert f"`{name}`" in readme


def test_readme_leads_with_make_run_and_make_test(readme: str) -> None:
    """`make run` and `make test` appear in the first 40 lines of README.md."""
    head = "\n".join(readme.splitlines()[:40])
    assert "make run" in head and "make test" in head
