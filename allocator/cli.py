"""The ``allocator`` command: thin Typer wrappers over the Python API.

Stdout carries data (e.g. ``bench`` CSV, ``explain`` tables); stderr carries one log line per
stage. Errors print ``Error: <message>`` and exit 1; usage errors exit 2 (Typer).
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from . import __version__
from .errors import AllocatorError, InputError

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Optimization-based batch allocator of CRM customer ownership.",
)
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks on public instances.",
                        context_settings={"help_option_names": ["-h", "--help"]})
app.add_typer(bench_app, name="bench")

QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No log lines on stderr.")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show a traceback on errors.")]
CustomersOpt = Annotated[Path, typer.Option("--customers", help="Customers table (CSV or Parquet).")]
RepsOpt = Annotated[Path, typer.Option("--reps", help="Reps table (CSV or Parquet).")]
ActivitiesOpt = Annotated[Optional[Path], typer.Option("--activities", help="Contact history (CSV or Parquet).")]


def _version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """allocator: proposes who should own each customer, with a reason for every move."""


def _logger(quiet: bool):
    def log(line: str) -> None:
        if not quiet:
            typer.echo(f"[{dt.datetime.now():%H:%M:%S}] {line}", err=True)

    return log


def _fail(exc: BaseException, debug: bool) -> None:
    if debug:
        raise exc
    typer.echo(f"Error: {exc}", err=True)
    raise typer.Exit(1)


@app.command("run")
def run_command(
    customers: CustomersOpt,
    reps: RepsOpt,
    out: Annotated[Path, typer.Option("--out", help="Run folder to write (replaced atomically).")],
    activities: ActivitiesOpt = None,
    config: Annotated[Optional[Path], typer.Option("--config", help="Policy and weights (TOML).")] = None,
    time_limit: Annotated[Optional[float], typer.Option("--time-limit", help="Solve time limit in seconds.")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Random seed of the search.")] = None,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Today's date for date rules, YYYY-MM-DD.")] = None,
    decisions: Annotated[Optional[Path], typer.Option(
        "--decisions", help="Reviewed moves.csv of an earlier run: re-plan with approved moves pinned "
                            "and rejected ones forbidden.")] = None,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """The nightly job: read, validate, build, solve, explain, write.

    Example: allocator run --customers data/customers.csv --reps data/reps.csv
    --activities data/activities.csv --out runs/today --time-limit 30

    Re-plan after review: allocator run ... --decisions runs/today/moves.csv --out runs/today-2
    """
    from .api import plan

    log = _logger(quiet)
    try:
        as_of_date = _parse_date(as_of)
        policy = _load_policy(config, time_limit, seed)
        result = plan(customers, reps, activities, policy=policy, as_of=as_of_date, log=log, decisions=decisions)
        result.write(out, log=log)
    except AllocatorError as exc:
        _fail(exc, debug)
    if not quiet:
        typer.echo(result.summary_text(), err=True)


@app.command("assign-new")
def assign_new_command(
    customers: Annotated[Path, typer.Option("--customers", help="Today's book (CSV or Parquet); nobody in it moves.")],
    reps: RepsOpt,
    new: Annotated[Path, typer.Option("--new", help="New customers (CSV or Parquet), columns as customers.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write (replaced atomically).")],
    activities: ActivitiesOpt = None,
    config: Annotated[Optional[Path], typer.Option("--config", help="Policy and weights (TOML).")] = None,
    time_limit: Annotated[Optional[float], typer.Option("--time-limit", help="Solve time limit in seconds.")] = None,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Today's date for date rules, YYYY-MM-DD.")] = None,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Place new customers into today's ownership without moving anyone else.

    Example: allocator assign-new --customers crm/customers.csv --reps crm/reps.csv
    --new crm/new_leads.csv --out runs/new-2026-11-30-1400
    """
    from .api import assign_new

    log = _logger(quiet)
    try:
        as_of_date = _parse_date(as_of)
        policy = _load_policy(config, time_limit)
        result = assign_new(customers, reps, new, activities, policy=policy, as_of=as_of_date, log=log)
        result.write(out, log=log)
    except AllocatorError as exc:
        _fail(exc, debug)
    if not quiet:
        typer.echo(result.summary_text(), err=True)


def _load_policy(config: Path | None, time_limit: float | None, seed: int | None = None):
    """The --config policy (or the defaults) with --time-limit and --seed applied."""
    from .policy import Policy

    policy = Policy.from_toml(config) if config else Policy()
    return policy.with_overrides(time_limit_seconds=time_limit, seed=seed)


def _parse_date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f'--as-of: expected a date like 2026-11-30, got "{text}"') from None


@app.command("validate")
def validate_command(
    customers: CustomersOpt,
    reps: RepsOpt,
    activities: ActivitiesOpt = None,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Check the inputs only; list every problem with file, row and column.

    Example: allocator validate --customers data/customers.csv --reps data/reps.csv
    """
    from .api import read_inputs

    try:
        inputs = read_inputs(customers, reps, activities)
    except AllocatorError as exc:
        _fail(exc, debug)
    for w in inputs.warnings:
        typer.echo(f"warning: {w}", err=True)
    if not quiet:
        typer.echo(f"ok: {len(inputs.customers)} customers, {len(inputs.reps)} reps, "
                   f"{len(inputs.activities)} activities")


@app.command("generate")
def generate_command(
    n_customers: Annotated[int, typer.Option("--n-customers", min=1, help="Number of customers.")],
    n_reps: Annotated[int, typer.Option("--n-reps", min=1, help="Number of reps.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for customers, reps and activities.")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
    quiet: QuietOpt = False,
) -> None:
    """Write a realistic synthetic book of any size.

    Example: allocator generate --n-customers 10000 --n-reps 100 --seed 1 --out books/10k
    """
    from .datagen import generate, write_generated

    if fmt not in ("parquet", "csv"):
        raise typer.BadParameter(f"expected parquet or csv, got {fmt!r}", param_hint="--format")
    frames = generate(n_customers, n_reps, seed=seed)
    paths = write_generated(out, *frames, fmt=fmt)
    if not quiet:
        for p in paths:
            typer.echo(str(p))


@app.command("apply")
def apply_command(
    run_dir: Annotated[Path, typer.Argument(help="A run folder written by `allocator run`.")],
    decisions: Annotated[Path, typer.Option("--decisions", help="The run's moves.csv with decision = approve / reject.")],
    out: Annotated[Path, typer.Option("--out", help="New ownership table to write (.csv or .parquet).")],
    ledger: Annotated[Optional[Path], typer.Option(
        "--ledger", help="Ownership ledger to append to (default: ownership_ledger.csv beside --out).")] = None,
    approve_undecided: Annotated[bool, typer.Option(
        "--approve-undecided", help="Also apply undecided moves, except tiers in rules.approval_tiers.")] = False,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Apply approved moves, keep rejected ones, re-check capacity, write the new ownership.

    Example: allocator apply runs/today --decisions reviewed/moves.csv --out books/ownership.csv
    """
    from .ledger import apply_decisions, write_applied

    try:
        applied = apply_decisions(run_dir, decisions, approve_undecided=approve_undecided)
        write_applied(applied, out, ledger or Path(out).with_name("ownership_ledger.csv"))
    except AllocatorError as exc:
        _fail(exc, debug)
    if not quiet:
        typer.echo(applied.summary_text(), err=True)


@app.command("explain")
def explain_command(
    run_dir: Annotated[Path, typer.Argument(help="A run folder written by `allocator run`.")],
    customer_id: Annotated[str, typer.Argument(help="The customer to explain.")],
    top: Annotated[int, typer.Option("--top", help="How many other candidates to show.")] = 5,
    excluded: Annotated[int, typer.Option("--excluded", help="How many excluded reps to list, with the rule "
                                                             "that excluded each (0 = none).")] = 10,
    debug: DebugOpt = False,
) -> None:
    """Why this rep: the chosen arc beside the next best ones, cost part by part, and the rules
    that excluded other reps.

    Example: allocator explain runs/today C0042
    """
    import pandas as pd

    from .explain import excluded_reps, explain_customer, worked_by_text
    from .policy import Policy

    try:
        assignments = _read_run_file(run_dir, "assignments.parquet")
        candidates = _read_run_file(run_dir, "candidates.parquet")
        try:
            table = explain_customer(candidates, assignments, customer_id, top)
        except KeyError:
            raise InputError(f'customer "{customer_id}" is not in the run {run_dir}') from None
        rules_table = None
        if excluded > 0 and (Path(run_dir) / "reps_input.parquet").exists():
            rules_table = excluded_reps(_read_run_file(run_dir, "customers_input.parquet"),
                                        _read_run_file(run_dir, "reps_input.parquet"), candidates,
                                        Policy.from_toml(Path(run_dir) / "config.toml"), customer_id)
    except AllocatorError as exc:
        _fail(exc, debug)
    row = assignments.loc[assignments["customer_id"] == customer_id].iloc[0]
    worked = worked_by_text(candidates, customer_id)
    worked = f"; worked by {worked}" if worked else ""  # recent contacts, strongest relationship first
    typer.echo(f"customer {customer_id}: {row['previous_rep_id'] or 'pool'} → {row['rep_id'] or 'pool'} "
               f"({row['reason']}){worked}")
    if table.empty:
        typer.echo("no eligible rep: the customer stays in the pool")
        return
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        shown = table.round(2)
        numeric = shown.select_dtypes("number").columns
        shown[numeric] = shown[numeric] + 0.0  # no "-0.0" in front of a manager
        typer.echo(shown.to_string(index=False))
    typer.echo("costs in points, lower is better; chosen = the proposed owner")
    if rules_table is not None and len(rules_table):
        counts = rules_table["rule"].value_counts()
        typer.echo(f"\nnot candidates ({len(rules_table)} reps): "
                   + "; ".join(f"{n} × {rule}" for rule, n in counts.items()))
        # hard rules first: those are the reps the customer could never get
        hard = rules_table.loc[rules_table["rule"] != "not among the nearest candidates"]
        for rep_id, rule in hard.head(excluded).itertuples(index=False):
            typer.echo(f"  {rep_id}: {rule}")


def _read_run_file(run_dir: Path, name: str):
    import pandas as pd

    path = Path(run_dir) / name
    if not path.exists():
        raise InputError(f"{path} not found; is {run_dir} a run folder written by `allocator run`?")
    return pd.read_parquet(path)


@bench_app.command("gap")
def bench_gap_command(
    files: Annotated[list[Path], typer.Argument(help="OR-Library GAP files (gap1.txt, c10400, ...).")],
    time_limit: Annotated[float, typer.Option("--time-limit", help="Seconds per instance.")] = 10.0,
    values: Annotated[Optional[Path], typer.Option("--values", help="VALUES.tsv with best-known values.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    debug: DebugOpt = False,
) -> None:
    """Solve generalized assignment instances; print CSV to stdout.

    Example: allocator bench gap ../shared/bench/gap/gapa.txt --time-limit 10
    """
    from .bench import add_best_known, format_csv, read_gap_file, read_values, solve_instance

    try:
        known = read_values(values) if values else None
        instances = [inst for f in files for inst in read_gap_file(f)]
    except AllocatorError as exc:
        _fail(exc, debug)
    rows = []
    typer.echo(format_csv([], with_values=known is not None).rstrip("\n"))
    for inst in instances:
        row = solve_instance(inst, time_limit, seed)
        if known is not None:
            row = add_best_known([row], known)[0]
        rows.append(row)
        typer.echo(format_csv([row], with_values=known is not None).splitlines()[1])


def main() -> None:
    """Console entry point."""
    app()


if __name__ == "__main__":
    main()
    sys.exit(0)
