"""Tests of the ``allocator`` command through Typer's CliRunner: exit codes 0/1/2, exact
``Error:`` text, atomic run folders, help for every command, and each command end to end."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
import typer.main
from typer.testing import CliRunner

import allocator
from allocator.cli import app
from conftest import gap_bench_dir

DATA = Path(__file__).parent / "data"
RUN_FILES = {"assignments.parquet", "moves.csv", "reps.csv", "summary.json", "report.html",
             "candidates.parquet", "config.toml", "customers_input.parquet", "reps_input.parquet"}
FAST_CONFIG = "[solver]\ntime_limit_seconds = 5\ndeterministic_time = 1\n"
WEIGHT_KEYS = "continuity, skill, distance, region, value_balance, workload_balance, tier, relationship, pool, pool_tier"


BENCH = gap_bench_dir()


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A generated 80-customer, 5-rep book as CSV files, and a config with a short solve."""
    from allocator.datagen import generate, write_generated

    folder = tmp_path_factory.mktemp("book")
    customers, reps, activities = write_generated(folder, *generate(80, 5, seed=2), fmt="csv")
    config = folder / "fast.toml"
    config.write_text(FAST_CONFIG, encoding="utf-8")
    return {"customers": customers, "reps": reps, "activities": activities, "config": config}


def run_args(book: dict[str, Path], out: Path, **override: Path) -> list[str]:
    paths = {**book, **override}
    return ["run", "--customers", str(paths["customers"]), "--reps", str(paths["reps"]),
            "--activities", str(paths["activities"]), "--config", str(paths["config"]),
            "--out", str(out), "--as-of", "2026-11-30", "--quiet"]


@pytest.fixture(scope="module")
def run_dir(book: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One successful `allocator run` of the generated book."""
    out = tmp_path_factory.mktemp("runs") / "ok"
    result = CliRunner().invoke(app, run_args(book, out))
    assert result.exit_code == 0, result.output
    return out


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file's bytes and modification time."""
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


# --- run -------------------------------------------------------------------------------------------


def test_run_writes_every_file(run_dir: Path) -> None:
    """`allocator run` exits 0 and writes all seven files."""
    assert {p.name for p in run_dir.iterdir()} == RUN_FILES


def test_run_logs_stages_and_summary(book: dict[str, Path], tmp_path: Path, runner: CliRunner) -> None:
    """Without --quiet, run logs a line per stage and the summary on stderr, and nothing on stdout."""
    args = [a for a in run_args(book, tmp_path / "out") if a != "--quiet"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    for stage in ("read+validate:", "candidates:", "solve:", "explain:", "write:", "status "):
        assert stage in result.stderr


def test_run_config_is_written(run_dir: Path) -> None:
    """The run folder's config.toml holds the --config settings."""
    from allocator.policy import Policy

    policy = Policy.from_toml(run_dir / "config.toml")
    assert policy.solver.time_limit_seconds == 5 and policy.solver.deterministic_time == 1


def test_run_time_limit_and_seed_override_config(book: dict[str, Path], tmp_path: Path, runner: CliRunner) -> None:
    """--time-limit and --seed override the config file's solver settings."""
    out = tmp_path / "out"
    result = runner.invoke(app, run_args(book, out) + ["--time-limit", "3", "--seed", "7"])
    assert result.exit_code == 0, result.output
    from allocator.policy import Policy

    solver = Policy.from_toml(out / "config.toml").solver
    assert (solver.time_limit_seconds, solver.seed, solver.deterministic_time) == (3.0, 7, 1.0)


def test_failed_run_leaves_earlier_run_untouched(book: dict[str, Path], tmp_path: Path, runner: CliRunner) -> None:
    """A run that fails on bad input leaves the earlier run folder byte for byte, and no temporary folder."""
    out = tmp_path / "out"
    assert runner.invoke(app, run_args(book, out)).exit_code == 0
    before = snapshot(out)
    bad = runner.invoke(app, run_args(book, out, customers=DATA / "customers_negative_value.csv"))
    assert bad.exit_code == 1
    assert snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_failed_run_writes_nothing(book: dict[str, Path], tmp_path: Path, runner: CliRunner) -> None:
    """A failed first run creates no run folder at all."""
    result = runner.invoke(app, run_args(book, tmp_path / "out", reps=DATA / "reps_empty.csv"))
    assert result.exit_code == 1
    assert list(tmp_path.iterdir()) == []


def test_run_bad_config_key(book: dict[str, Path], tmp_path: Path, runner: CliRunner) -> None:
    """An unknown config key exits 1 with a message naming the file and the key."""
    config = tmp_path / "bad.toml"
    config.write_text("[weights]\ncontinuity = 1\ncontinuty = 2\n", encoding="utf-8")
    result = runner.invoke(app, run_args(book, tmp_path / "out", config=config))
    assert result.exit_code == 1
    assert result.output == f"Error: bad.toml: unknown key weights.continuty; expected one of {WEIGHT_KEYS}\n"


def test_run_bad_config_section(book: dict[str, Path], tmp_path: Path, runner: CliRunner) -> None:
    """An unknown config section exits 1 with the exact message."""
    config = tmp_path / "bad.toml"
    config.write_text("[solvr]\nseed = 1\n", encoding="utf-8")
    result = runner.invoke(app, run_args(book, tmp_path / "out", config=config))
    assert result.exit_code == 1
    assert result.output == "Error: bad.toml: unknown section [solvr]; expected one of weights, rules, solver\n"


def test_run_bad_config_value(book: dict[str, Path], tmp_path: Path, runner: CliRunner) -> None:
    """An out-of-range config value exits 1 and says what is allowed."""
    config = tmp_path / "bad.toml"
    config.write_text('[rules]\nregion_mode = "strict"\n', encoding="utf-8")
    result = runner.invoke(app, run_args(book, tmp_path / "out", config=config))
    assert result.exit_code == 1
    assert result.output == ("Error: bad.toml: rules.region_mode must be one of hard, soft, ignore, "
                             "got 'strict'\n")


def test_run_missing_config_file(book: dict[str, Path], tmp_path: Path, runner: CliRunner) -> None:
    """A --config file that does not exist exits 1 naming it."""
    missing = tmp_path / "nope.toml"
    result = runner.invoke(app, run_args(book, tmp_path / "out", config=missing))
    assert result.exit_code == 1
    assert result.output == f"Error: nope.toml: config file not found: {missing}\n"


def test_run_bad_as_of(book: dict[str, Path], tmp_path: Path, runner: CliRunner) -> None:
    """A malformed --as-of date exits 1 and shows the expected form."""
    args = run_args(book, tmp_path / "out")
    args[args.index("--as-of") + 1] = "30/11/2026"
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert result.output.startswith("Error: ")
    assert '--as-of: expected a date like 2026-11-30, got "30/11/2026"' in result.output


def test_run_infeasible_policy_exits_1(book: dict[str, Path], tmp_path: Path, runner: CliRunner) -> None:
    """Hard rules that cannot be met exit 1 with an actionable message."""
    config = tmp_path / "strict.toml"
    config.write_text(FAST_CONFIG + "\n[rules]\nallow_pool = false\nrequire_language = true\n"
                      "[rules.min_level]\nstrategic = 5\nkey = 5\nstandard = 5\n", encoding="utf-8")
    result = runner.invoke(app, run_args(book, tmp_path / "out", config=config))
    assert result.exit_code == 1
    assert result.output.startswith("Error: ")
    assert "allow_pool" in result.output
    assert not (tmp_path / "out").exists()


def test_run_unknown_option_exits_2(book: dict[str, Path], tmp_path: Path, runner: CliRunner) -> None:
    """An unknown option is a usage error: exit 2."""
    result = runner.invoke(app, run_args(book, tmp_path / "out") + ["--bogus"])
    assert result.exit_code == 2
    assert "No such option" in result.output


def test_run_missing_required_option_exits_2(book: dict[str, Path], runner: CliRunner) -> None:
    """run without --out is a usage error: exit 2."""
    result = runner.invoke(app, ["run", "--customers", str(book["customers"]), "--reps", str(book["reps"])])
    assert result.exit_code == 2
    assert "Missing option '--out'" in result.output


def test_unknown_command_exits_2(runner: CliRunner) -> None:
    """An unknown command is a usage error: exit 2."""
    assert runner.invoke(app, ["frobnicate"]).exit_code == 2


# --- validate --------------------------------------------------------------------------------------

VALIDATE_FAULTS = [
    ("customers_negative_value.csv", 'customers_negative_value.csv row 3, column value: expected a number >= 0, got "-5"'),
    ("customers_duplicate_id.csv", 'customers_duplicate_id.csv row 5, column customer_id: duplicate id "C7" (first seen in row 3)'),
    ("customers_empty.csv", "customers_empty.csv: the table has no rows; an empty export must not become an empty book"),
    ("customers_unknown_owner.csv", 'customers_unknown_owner.csv row 3, column current_owner: unknown rep "R99" (not in reps_ok.csv)'),
    ("customers_undecodable.csv", "customers_undecodable.csv: cannot decode the file as UTF-8 or GBK; re-export it as UTF-8"),
    ("reps_bad_level.csv", 'reps_bad_level.csv row 3, column level: expected an integer 1..5, got "7"'),
    ("reps_empty.csv", "reps_empty.csv: the table has no rows; an empty export must not become an empty book"),
    ("activities_bad_date.csv", 'activities_bad_date.csv row 3, column date: expected a date like 2026-11-30, got "30/11/2026"'),
]


@pytest.mark.parametrize(("file_name", "message"), VALIDATE_FAULTS, ids=[f for f, _ in VALIDATE_FAULTS])
def test_validate_fault_file(file_name: str, message: str, runner: CliRunner) -> None:
    """`allocator validate` on a broken file exits 1 and prints exactly its Error line."""
    files = {t: DATA / f"{t}_ok.csv" for t in ("customers", "reps", "activities")}
    files[file_name.split("_")[0]] = DATA / file_name
    result = runner.invoke(app, ["validate", "--customers", str(files["customers"]), "--reps", str(files["reps"]),
                                 "--activities", str(files["activities"])])
    assert result.exit_code == 1
    assert result.output == f"Error: {message}\n"
    assert result.stdout == ""


def test_validate_lists_every_problem(runner: CliRunner) -> None:
    """A file with several faults lists them all, one per line, under a count."""
    result = runner.invoke(app, ["validate", "--customers", str(DATA / "customers_many_faults.csv"),
                                 "--reps", str(DATA / "reps_ok.csv")])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    n = int(lines[0].removeprefix("Error: ").split()[0])
    assert lines[0] == f"Error: {n} problems in the input:"
    assert len(lines) == n + 1 and n > 1
    assert all(line.startswith("  customers_many_faults.csv") for line in lines[1:])


def test_validate_ok(runner: CliRunner) -> None:
    """`allocator validate` on valid files exits 0 and prints the counts on stdout."""
    result = runner.invoke(app, ["validate", "--customers", str(DATA / "customers_ok.csv"),
                                 "--reps", str(DATA / "reps_ok.csv")])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: ")
    assert "customers" in result.stdout and "reps" in result.stdout


def test_validate_missing_file(tmp_path: Path, runner: CliRunner) -> None:
    """A customers file that does not exist exits 1 naming it."""
    missing = tmp_path / "customers.csv"
    result = runner.invoke(app, ["validate", "--customers", str(missing), "--reps", str(DATA / "reps_ok.csv")])
    assert result.exit_code == 1
    assert result.output == f"Error: customers.csv: file not found: {missing}\n"


# --- version and help --------------------------------------------------------------------------------


def test_version(runner: CliRunner) -> None:
    """--version prints the package version and exits 0."""
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == allocator.__version__


def command_paths() -> list[list[str]]:
    """Every command and sub-command of the CLI, as argument lists (["run"], ["bench", "gap"], ...)."""
    out: list[list[str]] = []

    def walk(cmd, path: list[str]) -> None:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, path + [name])
        if path:
            out.append(path)

    walk(typer.main.get_command(app), [])
    return out


def test_every_command_is_known() -> None:
    """The CLI has the commands the README documents (guards the parametrized help test)."""
    assert sorted(" ".join(p) for p in command_paths()) == ["apply", "assign-new", "bench", "bench gap", "explain", "generate",
                                                           "run", "validate"]


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p))
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_every_command_has_help(path: list[str], flag: str, runner: CliRunner) -> None:
    """Every command answers --help and -h with exit 0 and its usage."""
    result = runner.invoke(app, [*path, flag])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


@pytest.mark.parametrize("path", [p for p in command_paths() if p != ["bench"]], ids=lambda p: " ".join(p))
def test_every_command_docstring_has_example(path: list[str]) -> None:
    """Every command's help gives an example that starts with `allocator <command>`."""
    cmd = typer.main.get_command(app)
    for name in path:
        cmd = cmd.commands[name]
    assert f"Example: allocator {' '.join(path)}" in (cmd.help or "")


# --- explain -----------------------------------------------------------------------------------------


def test_explain_prints_chosen_rep(run_dir: Path, runner: CliRunner) -> None:
    """`allocator explain` prints the customer's move and a table whose chosen row is the new owner."""
    a = pd.read_parquet(run_dir / "assignments.parquet")
    row = a.loc[a["moved"] & (a["rep_id"] != "")].iloc[0]
    result = runner.invoke(app, ["explain", str(run_dir), row["customer_id"]])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    prev = row["previous_rep_id"] or "pool"
    assert lines[0] == f"customer {row['customer_id']}: {prev} → {row['rep_id']} ({row['reason']})"
    assert lines[1].split()[:2] == ["rep_id", "chosen"]
    assert lines[2].split()[:2] == [row["rep_id"], "True"]
    footer = next(k for k, line in enumerate(lines) if line.startswith("costs in points"))
    assert all(line.split()[1] == "False" for line in lines[3:footer])


def test_explain_top_limits_rows(run_dir: Path, runner: CliRunner) -> None:
    """--top 1 shows the chosen rep and one other candidate at most."""
    a = pd.read_parquet(run_dir / "assignments.parquet")
    cid = a.loc[a["rep_id"] != "", "customer_id"].iloc[0]
    result = runner.invoke(app, ["explain", str(run_dir), cid, "--top", "1", "--excluded", "0"])
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) <= 1 + 1 + 2 + 1


def test_explain_unknown_customer(run_dir: Path, runner: CliRunner) -> None:
    """`allocator explain` on a customer not in the run exits 1 naming it."""
    result = runner.invoke(app, ["explain", str(run_dir), "NOPE"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ")
    assert f'customer "NOPE" is not in the run {run_dir}' in result.output


def test_explain_not_a_run_folder(tmp_path: Path, runner: CliRunner) -> None:
    """`allocator explain` on a folder that is not a run exits 1 and says so."""
    result = runner.invoke(app, ["explain", str(tmp_path), "C0001"])
    assert result.exit_code == 1
    assert f"is {tmp_path} a run folder written by `allocator run`?" in result.output


def test_explain_missing_argument_exits_2(run_dir: Path, runner: CliRunner) -> None:
    """explain without a customer id is a usage error: exit 2."""
    assert runner.invoke(app, ["explain", str(run_dir)]).exit_code == 2


# --- generate ----------------------------------------------------------------------------------------


def test_generate_writes_three_parquet_files(tmp_path: Path, runner: CliRunner) -> None:
    """`allocator generate` writes customers, reps and activities Parquet files of the asked size."""
    result = runner.invoke(app, ["generate", "--n-customers", "50", "--n-reps", "4", "--seed", "1",
                                 "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    names = {"customers.parquet", "reps.parquet", "activities.parquet"}
    assert {p.name for p in tmp_path.iterdir()} == names
    assert sorted(Path(line).name for line in result.stdout.splitlines()) == sorted(names)
    assert len(pd.read_parquet(tmp_path / "customers.parquet")) == 50
    assert len(pd.read_parquet(tmp_path / "reps.parquet")) == 4


def test_generate_csv_validates(tmp_path: Path, runner: CliRunner) -> None:
    """--format csv writes three CSV files that `allocator validate` accepts."""
    result = runner.invoke(app, ["generate", "--n-customers", "30", "--n-reps", "3", "--format", "csv",
                                 "--out", str(tmp_path), "--quiet"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert {p.name for p in tmp_path.iterdir()} == {"customers.csv", "reps.csv", "activities.csv"}
    check = runner.invoke(app, ["validate", "--customers", str(tmp_path / "customers.csv"),
                                "--reps", str(tmp_path / "reps.csv"), "--activities", str(tmp_path / "activities.csv")])
    assert check.exit_code == 0, check.output


def test_generate_same_seed_same_files(tmp_path: Path, runner: CliRunner) -> None:
    """The same seed writes identical tables."""
    for name in ("a", "b"):
        runner.invoke(app, ["generate", "--n-customers", "40", "--n-reps", "3", "--seed", "5",
                            "--out", str(tmp_path / name)])
    for table in ("customers", "reps", "activities"):
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "a" / f"{table}.parquet"),
                                      pd.read_parquet(tmp_path / "b" / f"{table}.parquet"))


@pytest.mark.parametrize("args", [["--format", "xlsx"], ["--n-customers", "0"]], ids=["format", "zero"])
def test_generate_bad_option_exits_2(args: list[str], tmp_path: Path, runner: CliRunner) -> None:
    """An unknown --format or a size below 1 is a usage error: exit 2."""
    base = {"--n-customers": "10", "--n-reps": "2", "--out": str(tmp_path)}
    base.update(dict(zip(args[::2], args[1::2])))
    result = runner.invoke(app, ["generate", *[x for kv in base.items() for x in kv]])
    assert result.exit_code == 2


# --- bench gap ---------------------------------------------------------------------------------------


def known_minimum(instance: str) -> int:
    with open(BENCH / "VALUES.tsv", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if row["instance"] == instance and row["sense"] == "min":
                return int(row["value"])
    raise KeyError(instance)


@pytest.mark.skipif(BENCH is None, reason="GAP benchmark files not found")
def test_bench_gap_prints_csv_with_known_optima(runner: CliRunner) -> None:
    """`allocator bench gap gap1.txt` prints the CSV header and 5 rows whose objectives are the known optima."""
    result = runner.invoke(app, ["bench", "gap", str(BENCH / "gap1.txt"), "--time-limit", "5"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "instance,m,n,objective,bound,status,seconds"
    rows = list(csv.DictReader(lines))
    assert [r["instance"] for r in rows] == [f"gap1-{k}" for k in range(1, 6)]
    for r in rows:
        assert (r["m"], r["n"]) == ("5", "15")
        assert int(r["objective"]) == known_minimum(r["instance"])
        assert r["status"] == "OPTIMAL" and int(r["bound"]) == int(r["objective"])


@pytest.mark.skipif(BENCH is None, reason="GAP benchmark files not found")
def test_bench_gap_with_values(runner: CliRunner) -> None:
    """--values adds best_known and a zero gap_to_best_pct to each row."""
    result = runner.invoke(app, ["bench", "gap", str(BENCH / "gap1.txt"), "--time-limit", "5",
                                 "--values", str(BENCH / "VALUES.tsv")])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(result.stdout.splitlines()))
    assert len(rows) == 5
    assert all(r["best_known"] == r["objective"] and r["gap_to_best_pct"] == "0.000" for r in rows)


def test_bench_gap_bad_file_exits_1(tmp_path: Path, runner: CliRunner) -> None:
    """A GAP file that cannot be read exits 1 with an Error line."""
    bad = tmp_path / "broken.txt"
    bad.write_text("2 3\n1 2 x\n", encoding="utf-8")
    result = runner.invoke(app, ["bench", "gap", str(bad)])
    assert result.exit_code == 1
    assert result.output.startswith("Error: broken.txt")


def test_bench_gap_without_files_exits_2(runner: CliRunner) -> None:
    """`allocator bench gap` without files is a usage error: exit 2."""
    assert runner.invoke(app, ["bench", "gap"]).exit_code == 2


# --- apply -----------------------------------------------------------------------------------------


def test_apply_writes_ownership_and_ledger(run_dir: Path, tmp_path: Path, runner: CliRunner) -> None:
    """`allocator apply` exits 0, writes one ownership row per customer and appends approved moves to the ledger."""
    moves = pd.read_csv(run_dir / "moves.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    moves["decision"] = ["approve" if k % 2 == 0 else "reject" for k in range(len(moves))]
    reviewed = tmp_path / "reviewed.csv"
    moves.to_csv(reviewed, index=False, encoding="utf-8-sig")
    out = tmp_path / "ownership.csv"
    result = runner.invoke(app, ["apply", str(run_dir), "--decisions", str(reviewed), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assignments = pd.read_parquet(run_dir / "assignments.parquet")
    assert sorted(table["customer_id"]) == sorted(assignments["customer_id"])
    ledger = pd.read_csv(tmp_path / "ownership_ledger.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert (ledger["decision"] == "approve").sum() == (moves["decision"] == "approve").sum()


def test_apply_rejects_a_changed_move_with_exit_1(run_dir: Path, tmp_path: Path, runner: CliRunner) -> None:
    """A decisions row whose to_rep was edited exits 1 naming the row and column, and writes nothing."""
    moves = pd.read_csv(run_dir / "moves.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert len(moves) > 0
    moves.loc[0, "to_rep"] = "NOBODY"
    moves.loc[0, "decision"] = "approve"
    reviewed = tmp_path / "reviewed.csv"
    moves.to_csv(reviewed, index=False, encoding="utf-8-sig")
    out = tmp_path / "ownership.csv"
    result = runner.invoke(app, ["apply", str(run_dir), "--decisions", str(reviewed), "--out", str(out)])
    assert result.exit_code == 1
    expected = pd.read_csv(run_dir / "moves.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")["to_rep"][0]
    assert result.output == (f'Error: reviewed.csv row 2, column to_rep: expected "{expected}" as in the run\'s '
                             f'moves.csv, got "NOBODY"; a decision cannot change a move\n')
    assert not out.exists() and not (tmp_path / "ownership_ledger.csv").exists()


def test_explain_lists_the_rules_that_excluded_reps(run_dir: Path, runner: CliRunner) -> None:
    """`allocator explain` ends with the reps that were not candidates, counted by rule."""
    customer = pd.read_parquet(run_dir / "assignments.parquet")["customer_id"].iloc[0]
    result = runner.invoke(app, ["explain", str(run_dir), customer])
    assert result.exit_code == 0, result.output
    assert "not candidates (" in result.output
