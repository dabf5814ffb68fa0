"""Tests of allocator.api: plan() on tiny, generated and demo books, the written run folder, the
summary contract of DESIGN.md, the fixed point and determinism. Every plan is checked against
the hard rules by ``plan_problems``, which recomputes them from the input tables."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest

import allocator
from allocator.api import Plan, plan, read_inputs
from allocator.errors import InputError, PolicyError
from allocator.policy import Policy
from conftest import AS_OF, BEIJING, SHANGHAI, TinyBook, customers_frame, owners, plan_problems, reps_frame

RUN_FILES = {"assignments.parquet", "moves.csv", "reps.csv", "summary.json", "report.html",
             "candidates.parquet", "config.toml", "customers_input.parquet", "reps_input.parquet"}
SUMMARY_KEYS = {"status", "objective", "best_bound", "gap", "n_customers", "n_reps", "n_assigned", "n_pool",
                "n_moves", "solve_seconds", "total_seconds", "balance", "config", "input_checksums", "version",
                "move_budget"}
ASSIGNMENT_KEYS = {"customer_id", "rep_id", "previous_rep_id", "moved", "reason"}
COST_COLUMNS = {"cost_continuity", "cost_skill", "cost_distance", "cost_region", "cost_tier", "cost_relationship",
                "cost_total"}
MOVE_COLUMNS = ["customer_id", "from_rep", "to_rep", "value", "tier", "reason", "explanation", "decision",
                "needs_approval", "group", "group_kind", "group_size"]
REP_COLUMNS = {f"{what}_{tag}" for what in ("accounts", "value", "workload", "utilization", "mean_distance_km")
               for tag in ("before", "after")}


def with_rules(policy: Policy, **rules) -> Policy:
    return dataclasses.replace(policy, rules=dataclasses.replace(policy.rules, **rules))


def with_solver(policy: Policy, **solver) -> Policy:
    return dataclasses.replace(policy, solver=dataclasses.replace(policy.solver, **solver))


@pytest.fixture(scope="module")
def tiny_plan(tiny_book: TinyBook, fast_policy: Policy) -> Plan:
    """The tiny book planned once with the fast policy."""
    return plan(tiny_book.customers, tiny_book.reps, policy=fast_policy, as_of=AS_OF)


# --- the tiny book -------------------------------------------------------------------------------


def test_tiny_book_keeps_every_hard_rule(tiny_book: TinyBook, tiny_plan: Plan, fast_policy: Policy) -> None:
    """The tiny book's plan passes the independent check of every hard rule."""
    assert plan_problems(tiny_book.customers, tiny_book.reps, tiny_plan.assignments, fast_policy) == []


def test_tiny_book_outcome(tiny_plan: Plan) -> None:
    """Locked C4 stays, C5 leaves the inactive R3, pool customer C6 is placed, R3 ends with nothing."""
    new = owners(tiny_plan.assignments)
    reason = dict(zip(tiny_plan.assignments["customer_id"], tiny_plan.assignments["reason"]))
    assert new["C4"] == "R1" and reason["C4"] == "locked"
    assert new["C5"] in ("R1", "R2") and reason["C5"] == "owner inactive"
    assert new["C6"] != "" and reason["C6"] == "from pool"
    assert "R3" not in new.values()
    assert (new["C1"], new["C3"]) == ("R1", "R2")  # already with their nearest rep


def test_tiny_book_summary_counts(tiny_plan: Plan) -> None:
    """The summary counts customers, reps, pool, locked and moves as the assignments show them."""
    s, a = tiny_plan.summary, tiny_plan.assignments
    assert (s["n_customers"], s["n_reps"], s["n_active_reps"]) == (6, 3, 2)
    assert s["n_pool_before"] == 1 and s["n_locked"] == 1
    assert s["n_assigned"] == int((a["rep_id"] != "").sum()) and s["n_pool"] == int((a["rep_id"] == "").sum())
    assert s["n_moves"] == int(a["moved"].sum()) == len(tiny_plan.moves)
    assert s["n_moves"] == s["n_forced_moves"] + s["n_from_pool"] + s["n_voluntary_moves"]
    assert s["n_forced_moves"] == 1 and s["n_from_pool"] == 1


def test_tiny_book_tables_have_design_columns(tiny_plan: Plan) -> None:
    """assignments, moves and reps carry the columns DESIGN.md lists."""
    assert ASSIGNMENT_KEYS | COST_COLUMNS <= set(tiny_plan.assignments.columns)
    assert list(tiny_plan.moves.columns) == MOVE_COLUMNS
    assert (tiny_plan.moves["decision"] == "").all()
    assert REP_COLUMNS | {"rep_id"} <= set(tiny_plan.reps.columns)


def test_tiny_book_rep_figures_recomputed(tiny_book: TinyBook, tiny_plan: Plan) -> None:
    """reps before/after accounts and value match counts recomputed from input and assignments."""
    reps = tiny_plan.reps.set_index("rep_id")
    before = tiny_book.customers.loc[tiny_book.customers["current_owner"] != ""]
    after = tiny_plan.assignments.loc[tiny_plan.assignments["rep_id"] != ""]
    for rid in ("R1", "R2", "R3"):
        assert reps.loc[rid, "accounts_before"] == int((before["current_owner"] == rid).sum())
        assert reps.loc[rid, "accounts_after"] == int((after["rep_id"] == rid).sum())
        assert reps.loc[rid, "value_after"] == pytest.approx(after.loc[after["rep_id"] == rid, "value"].sum())


def test_tiny_book_cost_total_is_sum_of_parts(tiny_plan: Plan) -> None:
    """Each assigned customer's cost_total is the sum of its cost parts."""
    a = tiny_plan.assignments.loc[tiny_plan.assignments["rep_id"] != ""]
    parts = a[sorted(COST_COLUMNS - {"cost_total"})].sum(axis=1)
    assert parts.to_numpy() == pytest.approx(a["cost_total"].to_numpy())


def test_explain_puts_chosen_rep_first(tiny_plan: Plan) -> None:
    """Plan.explain lists the chosen rep first, then the other candidates by cost."""
    table = tiny_plan.explain("C5")
    chosen = owners(tiny_plan.assignments)["C5"]
    assert table.loc[0, "rep_id"] == chosen and bool(table.loc[0, "chosen"])
    assert not table["chosen"].iloc[1:].any()
    assert list(table["cost_total"].iloc[1:]) == sorted(table["cost_total"].iloc[1:])
    assert "R3" not in set(table["rep_id"])  # inactive reps are no candidates


def test_explain_unknown_customer_is_key_error(tiny_plan: Plan) -> None:
    """Plan.explain on a customer not in the run raises KeyError."""
    with pytest.raises(KeyError):
        tiny_plan.explain("NOPE")


def test_summary_text_names_status_and_moves(tiny_plan: Plan) -> None:
    """summary_text() reports status, objective, gap and the move counts."""
    text = tiny_plan.summary_text()
    assert text.startswith(f"status {tiny_plan.summary['status']}, objective ")
    assert f"{tiny_plan.summary['n_moves']} moves" in text


def test_plan_logs_one_line_per_stage(tiny_book: TinyBook, fast_policy: Policy) -> None:
    """plan() logs read+validate, candidates, solve and explain, in that order."""
    lines: list[str] = []
    plan(tiny_book.customers, tiny_book.reps, policy=fast_policy, as_of=AS_OF, log=lines.append)
    stages = [line.split(":")[0] for line in lines if not line.startswith("warning")]
    assert stages == ["read+validate", "candidates", "solve", "explain"]


def test_plan_accepts_validated_inputs(tiny_book: TinyBook, tiny_plan: Plan, fast_policy: Policy) -> None:
    """plan(read_inputs(...)) gives the same assignments as plan() on the frames."""
    inputs = read_inputs(tiny_book.customers, tiny_book.reps)
    again = plan(inputs, policy=fast_policy, as_of=AS_OF)
    pd.testing.assert_frame_equal(again.assignments, tiny_plan.assignments)


def test_plan_rejects_invalid_frames(tiny_book: TinyBook, fast_policy: Policy) -> None:
    """A negative value in a DataFrame input is an InputError naming table, record and column."""
    bad = tiny_book.customers.copy()
    bad.loc[2, "value"] = -1.0
    with pytest.raises(InputError) as err:
        plan(bad, tiny_book.reps, policy=fast_policy, as_of=AS_OF)
    assert str(err.value) == 'customers row 3, column value: expected a number >= 0, got "-1"'


def test_plan_needs_reps(tiny_book: TinyBook) -> None:
    """plan() with customers but no reps is a TypeError, not a silent empty book."""
    with pytest.raises(TypeError):
        plan(tiny_book.customers)


def test_policy_error_does_not_suggest_what_is_already_set(fast_policy: Policy) -> None:
    """An infeasible plan's message does not tell the user to set allow_pool = true when it already is."""
    # today's owner holds two customers with room for one, and no move may be made
    customers = customers_frame({"customer_id": "C0", "at": SHANGHAI, "current_owner": "S"},
                                {"customer_id": "C1", "at": SHANGHAI, "current_owner": "S"})
    reps = reps_frame({"rep_id": "S", "at": SHANGHAI, "max_accounts": 1}, {"rep_id": "B", "at": BEIJING})
    policy = with_rules(fast_policy, max_moves_per_rep=0, allow_pool=True)
    with pytest.raises(PolicyError) as err:
        plan(customers, reps, policy=policy, as_of=AS_OF)
    assert "max_moves_per_rep = 0" in str(err.value)
    assert "raise rules.max_moves_per_rep" in str(err.value)
    assert "allow_pool = true" not in str(err.value).split(";")[1]


def test_move_budget_is_raised_by_the_moves_capacity_forces(fast_policy: Policy) -> None:
    """A rep over capacity today sheds customers even with move_budget = 0; the summary says how many."""
    customers = customers_frame({"customer_id": "C0", "at": SHANGHAI, "current_owner": "S"},
                                {"customer_id": "C1", "at": SHANGHAI, "current_owner": "S"})
    reps = reps_frame({"rep_id": "S", "at": SHANGHAI, "max_accounts": 1}, {"rep_id": "B", "at": BEIJING})
    result = plan(customers, reps, policy=with_rules(fast_policy, move_budget=0), as_of=AS_OF)
    assert result.summary["capacity_moves_allowance"] == 1
    assert result.summary["n_moves"] == 1
    assert (result.assignments["rep_id"] == "S").sum() == 1


# --- writing a run folder ---------------------------------------------------------------------------


def test_write_creates_every_file_and_nothing_else(tiny_plan: Plan, tmp_path: Path) -> None:
    """Plan.write puts all seven files in the folder and leaves no temporary folder beside it."""
    out = tiny_plan.write(tmp_path / "run")
    assert {p.name for p in out.iterdir()} == RUN_FILES
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_written_files_round_trip(tiny_plan: Plan, tmp_path: Path) -> None:
    """The written assignments, moves, summary and config read back as the plan holds them."""
    out = tiny_plan.write(tmp_path / "run")
    pd.testing.assert_frame_equal(pd.read_parquet(out / "assignments.parquet"), tiny_plan.assignments,
                                  check_dtype=False)
    moves = pd.read_csv(out / "moves.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(moves.columns) == MOVE_COLUMNS
    assert list(moves["customer_id"]) == list(tiny_plan.moves["customer_id"])
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["n_moves"] == tiny_plan.summary["n_moves"]
    assert Policy.from_toml(out / "config.toml") == tiny_plan.policy


def test_write_replaces_an_earlier_run(tiny_plan: Plan, tmp_path: Path) -> None:
    """Writing into an existing run folder replaces it as a whole (no stale files survive)."""
    out = tmp_path / "run"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    tiny_plan.write(out)
    assert {p.name for p in out.iterdir()} == RUN_FILES


# --- a generated book solved to optimality: fixed point and determinism ----------------------------


@pytest.fixture(scope="module")
def generated_plan(small_generated: TinyBook, fast_policy: Policy) -> Plan:
    """The 60 × 5 generated book planned once."""
    return plan(small_generated.customers, small_generated.reps, small_generated.activities,
                policy=fast_policy, as_of=AS_OF)


def test_generated_book_keeps_every_hard_rule(small_generated: TinyBook, generated_plan: Plan,
                                              fast_policy: Policy) -> None:
    """The generated book's plan passes the independent check and is solved to optimality."""
    assert generated_plan.summary["status"] == "OPTIMAL"
    assert generated_plan.summary["gap"] == 0
    assert plan_problems(small_generated.customers, small_generated.reps, generated_plan.assignments,
                         fast_policy) == []


def test_fixed_point(small_generated: TinyBook, generated_plan: Plan, fast_policy: Policy) -> None:
    """The plan written back as today's ownership, planned again, proposes no move."""
    assert generated_plan.summary["n_moves"] > 0  # otherwise the test proves nothing
    new_owner = dict(zip(generated_plan.assignments["customer_id"], generated_plan.assignments["rep_id"]))
    customers = small_generated.customers.copy()
    customers["current_owner"] = customers["customer_id"].map(new_owner)
    again = plan(customers, small_generated.reps, small_generated.activities, policy=fast_policy, as_of=AS_OF)
    assert again.summary["n_moves"] == 0
    assert len(again.moves) == 0
    assert owners(again.assignments) == new_owner


def test_same_seed_same_plan(small_generated: TinyBook, generated_plan: Plan, fast_policy: Policy) -> None:
    """The same book with the same seed gives identical assignments."""
    again = plan(small_generated.customers, small_generated.reps, small_generated.activities,
                 policy=fast_policy, as_of=AS_OF)
    pd.testing.assert_frame_equal(again.assignments, generated_plan.assignments)
    pd.testing.assert_frame_equal(again.moves, generated_plan.moves)


def test_row_order_does_not_matter(small_generated: TinyBook, generated_plan: Plan, fast_policy: Policy) -> None:
    """Shuffled customer and rep rows give the same plan (inputs are sorted by id first)."""
    customers = small_generated.customers.sample(frac=1.0, random_state=1).reset_index(drop=True)
    reps = small_generated.reps.iloc[::-1].reset_index(drop=True)
    again = plan(customers, reps, small_generated.activities, policy=fast_policy, as_of=AS_OF)
    pd.testing.assert_frame_equal(again.assignments, generated_plan.assignments)


@pytest.mark.parametrize("solver", [
    {"exact_arc_limit": 500, "time_limit_seconds": 30},  # large-neighbourhood search
    {"deterministic_time": 0.2, "time_limit_seconds": 30},  # one CP-SAT model stopped by deterministic time
], ids=["lns", "exact"])
def test_determinism_when_search_is_cut_short(fast_policy: Policy, solver: dict) -> None:
    """A book too big to finish in the budget still gives identical plans twice in deterministic mode."""
    from allocator.datagen import generate

    customers, reps, activities = generate(400, 12, seed=5)
    policy = with_solver(fast_policy, **solver)
    first = plan(customers, reps, activities, policy=policy, as_of=AS_OF)
    second = plan(customers, reps, activities, policy=policy, as_of=AS_OF)
    assert first.summary["method"] == ("lns" if "exact_arc_limit" in solver else "exact")
    pd.testing.assert_frame_equal(first.assignments, second.assignments)
    assert first.summary["objective"] == second.summary["objective"]
    assert plan_problems(customers, reps, first.assignments, policy) == []


# --- the demo data set ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_run(demo_paths: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Plan, Path]:
    """The demo book planned once with the default policy and a 10 s limit, written to a folder."""
    policy = Policy().with_overrides(time_limit_seconds=10)
    result = plan(demo_paths["customers"], demo_paths["reps"], demo_paths["activities"], policy=policy,
                  as_of="2026-11-30")
    out = result.write(tmp_path_factory.mktemp("demo") / "run")
    return result, out


def test_demo_run_writes_every_file(demo_run: tuple[Plan, Path]) -> None:
    """The demo run writes all seven files, none of them empty."""
    _, out = demo_run
    assert {p.name for p in out.iterdir()} == RUN_FILES
    assert all(p.stat().st_size > 0 for p in out.iterdir())


def test_demo_summary_has_every_key(demo_run: tuple[Plan, Path], demo_paths: dict[str, Path]) -> None:
    """summary.json has every key of DESIGN.md, a gap in [0, 1], the version and the input checksums."""
    result, out = demo_run
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert SUMMARY_KEYS <= set(s)
    assert s["status"] in ("OPTIMAL", "FEASIBLE")
    assert 0.0 <= s["gap"] <= 1.0
    assert s["best_bound"] <= s["objective"] + 1e-9
    assert s["n_customers"] == 2000 and s["n_reps"] == 40
    assert s["n_assigned"] + s["n_pool"] == s["n_customers"]
    assert s["version"] == allocator.__version__
    assert set(s["input_checksums"]) == {"customers", "reps", "activities"}
    assert all(isinstance(v, str) and len(v) == 64 for v in s["input_checksums"].values())
    assert s["config"] == result.policy.to_dict()
    assert s["move_budget"] is None
    assert 0 < s["solve_seconds"] <= s["total_seconds"]
    assert {k.rsplit("_", 1)[-1] for k in s["balance"]} == {"before", "after"}


def test_demo_solve_honours_time_limit(demo_run: tuple[Plan, Path]) -> None:
    """The solve stage stops within a second of its 10 s limit."""
    result, _ = demo_run
    assert result.summary["solve_seconds"] <= 11.0


def test_demo_assignments_every_customer_once(demo_run: tuple[Plan, Path], demo_paths: dict[str, Path]) -> None:
    """assignments.parquet has every demo customer exactly once."""
    _, out = demo_run
    a = pd.read_parquet(out / "assignments.parquet")
    ids = pd.read_csv(demo_paths["customers"], dtype=str)["customer_id"]
    assert a["customer_id"].is_unique
    assert sorted(a["customer_id"]) == sorted(ids)


def test_demo_moves_match_moved_rows(demo_run: tuple[Plan, Path]) -> None:
    """moves.csv has one row per moved assignment, with the same from and to reps."""
    _, out = demo_run
    a = pd.read_parquet(out / "assignments.parquet")
    moves = pd.read_csv(out / "moves.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    moved = a.loc[a["moved"]]
    assert len(moves) == len(moved) > 0
    want = moved.set_index("customer_id")[["previous_rep_id", "rep_id"]].fillna("")
    got = moves.set_index("customer_id")[["from_rep", "to_rep"]]
    got.columns = want.columns
    pd.testing.assert_frame_equal(got.sort_index(), want.sort_index(), check_dtype=False)


def test_demo_plan_keeps_every_hard_rule(demo_run: tuple[Plan, Path], demo_paths: dict[str, Path]) -> None:
    """The demo plan passes the independent check of every hard rule."""
    result, out = demo_run
    customers = pd.read_csv(demo_paths["customers"], dtype=str, keep_default_na=False)
    reps = pd.read_csv(demo_paths["reps"], dtype=str, keep_default_na=False)
    a = pd.read_parquet(out / "assignments.parquet")
    assert plan_problems(customers, reps, a, result.policy) == []


def test_excluded_reps_name_the_rule(fast_policy: Policy) -> None:
    """Plan.excluded lists each rep that could not take the customer with the hard rule that excluded it."""
    customers = customers_frame({"customer_id": "C0", "at": SHANGHAI, "tier": "strategic", "language": "en",
                                 "region": "east"})
    reps = reps_frame(
        {"rep_id": "OK", "at": SHANGHAI, "level": 4, "languages": "zh;en", "region": "east"},
        {"rep_id": "JUNIOR", "at": SHANGHAI, "level": 1, "languages": "en", "region": "east"},
        {"rep_id": "ZH", "at": SHANGHAI, "level": 4, "languages": "zh", "region": "east"},
        {"rep_id": "NORTH", "at": BEIJING, "level": 4, "languages": "en", "region": "north"},
        {"rep_id": "GONE", "at": SHANGHAI, "level": 4, "languages": "en", "region": "east", "active": False},
    )
    result = plan(customers, reps, policy=with_rules(fast_policy, region_mode="hard"), as_of=AS_OF)
    rules = dict(result.excluded("C0").itertuples(index=False))
    assert rules == {
        "JUNIOR": "level 1 below the minimum 3 for strategic",
        "ZH": "does not speak en",
        "NORTH": "region is hard: rep in north, customer in east",
        "GONE": "inactive",
    }
    assert result.assignments["rep_id"].iloc[0] == "OK"
