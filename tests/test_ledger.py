"""Applying managers' decisions: the new ownership, capacity re-checks and the append-only ledger."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from allocator.api import plan
from allocator.errors import InputError
from allocator.ledger import LEDGER_COLUMNS, apply_decisions, write_applied
from allocator.policy import Policy
from conftest import AS_OF, BEIJING, SHANGHAI, customers_frame, reps_frame

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.timezone.utc)


def swap_book() -> tuple[pd.DataFrame, pd.DataFrame, Policy]:
    """Customers, reps and a short policy: C0 (owned by S in Shanghai) sits in Beijing by rep B."""
    customers = customers_frame(
        {"customer_id": "C0", "at": BEIJING, "current_owner": "S"},
        {"customer_id": "C1", "at": SHANGHAI},
        {"customer_id": "C2", "at": BEIJING, "current_owner": "B"},
    )
    reps = reps_frame({"rep_id": "S", "at": SHANGHAI, "max_accounts": 1},
                      {"rep_id": "B", "at": BEIJING, "max_accounts": 2})
    return customers, reps, Policy().with_solver(time_limit_seconds=10, deterministic_time=2)


@pytest.fixture(scope="module")
def swap_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run with two moves: C0 leaves S (Shanghai) for B near it in Beijing; pool customer C1 goes to S.

    S can hold one account, so C1 may only join S if C0 leaves: the two moves go together.
    """
    customers, reps, policy = swap_book()
    result = plan(customers, reps, policy=policy, as_of=AS_OF)
    assert set(result.moves["customer_id"]) == {"C0", "C1"}
    return result.write(tmp_path_factory.mktemp("run") / "run")


def decisions(run: Path, tmp_path: Path, choice: dict[str, str], **edits: dict[str, str]) -> Path:
    """The run's moves.csv with the decision column filled in (and optional cell edits)."""
    moves = pd.read_csv(run / "moves.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    # a manager's spreadsheet shows ids without the protective apostrophe
    shown = moves["customer_id"].str.replace(r"^'(?=[=+\-@])", "", regex=True)
    moves["decision"] = shown.map(choice).fillna("")
    for col, change in edits.items():
        moves[col] = [change.get(c, v) for c, v in zip(moves["customer_id"], moves[col])]
    path = tmp_path / "decisions.csv"
    moves.to_csv(path, index=False, encoding="utf-8-sig")
    return path


def owners(applied) -> dict[str, str]:
    return dict(zip(applied.ownership["customer_id"], applied.ownership["current_owner"]))


def test_approved_moves_take_effect(swap_run: Path, tmp_path: Path) -> None:
    """Approving every move gives the proposed ownership."""
    applied = apply_decisions(swap_run, decisions(swap_run, tmp_path, {"C0": "approve", "C1": "approve"}), NOW)
    assert owners(applied) == {"C0": "B", "C1": "S", "C2": "B"}
    assert applied.n_approved == 2 and applied.n_rejected == 0


def test_rejected_and_empty_keep_the_old_owner(swap_run: Path, tmp_path: Path) -> None:
    """Rejected and undecided moves keep the previous owner; customers not moved keep theirs."""
    applied = apply_decisions(swap_run, decisions(swap_run, tmp_path, {"C0": "reject"}), NOW)
    assert owners(applied) == {"C0": "S", "C1": "", "C2": "B"}
    assert (applied.n_approved, applied.n_rejected, applied.n_undecided) == (0, 1, 1)


def test_broken_swap_over_capacity_is_refused(swap_run: Path, tmp_path: Path) -> None:
    """Approving C1 into S while rejecting C0's move out of it would put S over capacity: refused, named."""
    path = decisions(swap_run, tmp_path, {"C0": "reject", "C1": "approve"})
    with pytest.raises(InputError) as err:
        apply_decisions(swap_run, path, NOW)
    assert str(err.value) == (
        "decisions.csv: rep S would hold 2 accounts for a capacity of 1 (approved in: C1; not approved out: C0); "
        "approve the moves out of this rep that make room, or reject moves into it"
    )


def test_changed_to_rep_is_rejected_with_its_row(swap_run: Path, tmp_path: Path) -> None:
    """A decisions row whose to_rep differs from the run names the file, row and column."""
    path = decisions(swap_run, tmp_path, {"C0": "approve"}, to_rep={"C0": "S"})
    row = pd.read_csv(path, dtype=str).index[pd.read_csv(path, dtype=str)["customer_id"] == "C0"][0] + 2
    with pytest.raises(InputError) as err:
        apply_decisions(swap_run, path, NOW)
    assert str(err.value) == (f'decisions.csv row {row}, column to_rep: expected "B" as in the run\'s moves.csv, '
                              f'got "S"; a decision cannot change a move')


def test_unknown_customer_and_bad_word_are_both_reported(swap_run: Path, tmp_path: Path) -> None:
    """Every problem in the decisions file is listed at once, each with its row."""
    path = decisions(swap_run, tmp_path, {"C0": "maybe"}, customer_id={"C1": "C9"})
    with pytest.raises(InputError) as err:
        apply_decisions(swap_run, path, NOW)
    text = str(err.value)
    assert text.startswith("2 problems in the input:")
    assert '"C9" is not a move of this run' in text
    assert 'expected approve, reject or empty, got "maybe"' in text


def test_ledger_is_append_only_across_two_applies(swap_run: Path, tmp_path: Path) -> None:
    """Two applies of different runs append; the first rows never change; a run cannot be applied twice."""
    ledger = tmp_path / "ledger.csv"
    first = apply_decisions(swap_run, decisions(swap_run, tmp_path, {"C0": "approve", "C1": "approve"}), NOW)
    write_applied(first, tmp_path / "ownership.csv", ledger)
    before = ledger.read_text(encoding="utf-8-sig")
    rows = pd.read_csv(ledger, dtype=str, keep_default_na=False)
    assert list(rows.columns) == LEDGER_COLUMNS and len(rows) == 2
    assert set(rows["decision"]) == {"approve"} and set(rows["decided_at"]) == {NOW.isoformat(timespec="seconds")}

    with pytest.raises(InputError, match="already in the ledger"):
        write_applied(first, tmp_path / "ownership2.csv", ledger)
    assert ledger.read_text(encoding="utf-8-sig") == before

    second = apply_decisions(swap_run, decisions(swap_run, tmp_path, {"C0": "reject"}), NOW)
    object.__setattr__(second, "run_id", "another-run")
    second.ledger_rows["run_id"] = "another-run"
    write_applied(second, tmp_path / "ownership3.csv", ledger)
    after = ledger.read_text(encoding="utf-8-sig")
    assert after.startswith(before)
    assert len(pd.read_csv(ledger, dtype=str)) == 3


def test_ownership_table_is_tomorrows_input(swap_run: Path, tmp_path: Path) -> None:
    """The written ownership has one row per customer with the new current_owner."""
    applied = apply_decisions(swap_run, decisions(swap_run, tmp_path, {"C0": "approve", "C1": "approve"}), NOW)
    write_applied(applied, tmp_path / "ownership.parquet", tmp_path / "ledger.csv")
    table = pd.read_parquet(tmp_path / "ownership.parquet")
    assert sorted(table["customer_id"]) == ["C0", "C1", "C2"]
    assert dict(zip(table["customer_id"], table["current_owner"])) == {"C0": "B", "C1": "S", "C2": "B"}


def test_formula_like_ids_survive_the_spreadsheet_round_trip(tmp_path: Path) -> None:
    """An id that looks like a formula is written with a leading apostrophe and read back as itself."""
    customers = customers_frame({"customer_id": "=HYPERLINK(1)", "at": SHANGHAI})
    reps = reps_frame({"rep_id": "-R1", "at": SHANGHAI})
    policy = Policy().with_solver(time_limit_seconds=5, deterministic_time=1)
    run = plan(customers, reps, policy=policy, as_of=AS_OF).write(tmp_path / "run")
    text = (run / "moves.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK(1)" in text and "'-R1" in text
    assert "\n=" not in text and ",=" not in text and ",-R1" not in text
    applied = apply_decisions(run, decisions(run, tmp_path, {"=HYPERLINK(1)": "approve"}), NOW)
    assert owners(applied) == {"=HYPERLINK(1)": "-R1"}


def test_replan_pins_approved_and_forbids_rejected(swap_run: Path, tmp_path: Path) -> None:
    """Re-planning with decisions keeps the approved move, never re-proposes the rejected one."""
    customers, reps, policy = swap_book()
    path = decisions(swap_run, tmp_path, {"C0": "approve", "C1": "reject"})
    again = plan(customers, reps, policy=policy, as_of=AS_OF, decisions=path)
    owner = dict(zip(again.assignments["customer_id"], again.assignments["rep_id"]))
    reason = dict(zip(again.assignments["customer_id"], again.assignments["reason"]))
    assert owner["C0"] == "B" and reason["C0"] == "approved in review"
    assert owner["C1"] != "S"  # the rejected move is forbidden; S has room but C1 may not go there
    assert again.summary["review"]["approved_pinned"] == 1 and again.summary["review"]["rejected_forbidden"] == 1
    assert set(again.moves.get("vs_review", pd.Series(dtype=str))) <= {"same", "changed", "new"}


def test_replan_refuses_decisions_of_another_book(swap_run: Path, tmp_path: Path) -> None:
    """A decision whose from_rep is no longer the customer's owner names its row and column."""
    customers = customers_frame({"customer_id": "C0", "at": BEIJING, "current_owner": "B"},
                                {"customer_id": "C1", "at": SHANGHAI})
    reps = reps_frame({"rep_id": "S", "at": SHANGHAI}, {"rep_id": "B", "at": BEIJING})
    path = decisions(swap_run, tmp_path, {"C0": "approve"})
    row = pd.read_csv(path, dtype=str).index[pd.read_csv(path, dtype=str)["customer_id"] == "C0"][0] + 2
    with pytest.raises(InputError) as err:
        plan(customers, reps, policy=Policy().with_solver(deterministic_time=1), as_of=AS_OF, decisions=path)
    assert str(err.value) == (f'decisions.csv row {row}, column from_rep: the customer\'s owner is now "B", not "S"; '
                              "these decisions belong to an older book")


def test_approve_undecided_skips_tiers_that_need_approval(tmp_path: Path) -> None:
    """--approve-undecided applies undecided moves except strategic ones, which need an explicit approve."""
    customers = customers_frame(
        {"customer_id": "K", "at": BEIJING, "current_owner": "S", "tier": "strategic", "value": 100.0},
        {"customer_id": "M", "at": BEIJING, "current_owner": "S"},
    )
    reps = reps_frame({"rep_id": "S", "at": SHANGHAI, "level": 5}, {"rep_id": "B", "at": BEIJING, "level": 5})
    policy = Policy().with_solver(time_limit_seconds=10, deterministic_time=2).with_weights(continuity=0.1)
    run = plan(customers, reps, policy=policy, as_of=AS_OF).write(tmp_path / "run")
    moves = pd.read_csv(run / "moves.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert dict(zip(moves["customer_id"], moves["needs_approval"])) == {"K": "True", "M": "False"}
    applied = apply_decisions(run, run / "moves.csv", NOW, approve_undecided=True)
    assert owners(applied) == {"K": "S", "M": "B"}
