"""`assign_new` / `allocator assign-new`: new customers placed into today's ownership without
moving anyone else, within the capacity left by today's book (accounts and workload), under the
same eligibility rules, each with two alternatives; exit codes and exact messages of the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from allocator.api import assign_new
from allocator.cli import app
from allocator.policy import Policy
from conftest import (
    AS_OF,
    SHANGHAI,
    customers_frame,
    effective_workload,
    normalise_customers,
    normalise_reps,
    rep_may_own,
    reps_frame,
)

NEAR_SHANGHAI = [(31.25, 121.45), (31.20, 121.50), (31.30, 121.40)]
FAST_CONFIG = "[solver]\ntime_limit_seconds = 5\ndeterministic_time = 1\n"


@pytest.fixture(scope="module")
def generated() -> dict[str, pd.DataFrame]:
    """A generated 400-customer, 8-rep book; 40 of its pool customers become the new ones (N...)."""
    from allocator.datagen import generate

    customers, reps, activities = generate(400, 8, seed=4)
    pool = customers["current_owner"].isna() | (customers["current_owner"].astype(str) == "")
    new = customers.loc[pool].head(40).copy()
    book = customers.drop(new.index)
    new["customer_id"] = "N" + new["customer_id"].astype(str)
    return {"customers": book, "reps": reps, "activities": activities, "new": new}


@pytest.fixture(scope="module")
def placed(generated, fast_policy_module):
    return assign_new(generated["customers"], generated["reps"], generated["new"], generated["activities"],
                      policy=fast_policy_module, as_of=AS_OF)


@pytest.fixture(scope="module")
def fast_policy_module() -> Policy:
    return Policy().with_overrides(time_limit_seconds=5).with_solver(deterministic_time=1)


def test_every_book_and_new_customer_appears_once(generated, placed) -> None:
    """assignments covers every book and new customer exactly once, flagged by is_new."""
    a = placed.assignments
    want = set(generated["customers"]["customer_id"]) | set(generated["new"]["customer_id"])
    assert a["customer_id"].is_unique and set(a["customer_id"]) == want
    assert set(a.loc[a["is_new"], "customer_id"]) == set(generated["new"]["customer_id"])


def test_existing_owners_unchanged(generated, placed) -> None:
    """Every book customer keeps today's owner (pool stays pool), with reason kept or locked and no move."""
    a = placed.assignments.set_index("customer_id")
    book = normalise_customers(generated["customers"]).set_index("customer_id")
    assert (a.loc[book.index, "rep_id"] == book["current_owner"]).all()
    assert not a.loc[book.index, "moved"].any()
    assert set(a.loc[book.index, "reason"]) <= {"kept", "locked"}
    assert placed.summary["n_moves"] == 0


def test_new_customers_respect_capacity_and_eligibility(generated, placed, fast_policy_module) -> None:
    """New customers go only to eligible reps with room left after today's book (accounts and workload)."""
    policy = fast_policy_module
    a = placed.assignments
    everyone = pd.concat([generated["customers"], generated["new"]], ignore_index=True)
    wl = effective_workload(everyone, policy)
    reps = normalise_reps(generated["reps"]).set_index("rep_id")
    book = normalise_customers(generated["customers"])
    new = normalise_customers(generated["new"]).set_index("customer_id")
    got = a.loc[a["is_new"]].set_index("customer_id")["rep_id"]
    for rid, rep in reps.iterrows():
        mine_new = got.index[got == rid]
        if not len(mine_new):
            continue
        mine_book = book.loc[book["current_owner"] == rid, "customer_id"]
        if not math.isnan(rep["max_accounts"]):
            assert len(mine_book) + len(mine_new) <= rep["max_accounts"], rid
        if not math.isnan(rep["max_workload"]):
            assert wl[mine_book].sum() + wl[mine_new].sum() <= rep["max_workload"] + 1e-9, rid
    for cid, rid in got.items():
        if rid:
            assert rep_may_own({**new.loc[cid].to_dict(), "customer_id": cid}, reps.loc[rid], policy), cid
    assert set(a.loc[a["is_new"], "reason"]) <= {"new customer", "no capacity", "no eligible rep"}


def test_alternatives_are_distinct_from_the_chosen_rep(placed) -> None:
    """Each new customer's two alternatives differ from its rep and from each other."""
    new = placed.assignments.loc[placed.assignments["is_new"]]
    assert (new["alternative_1"] != "").mean() > 0.5  # customers with a single eligible rep have none
    for rep, a1, a2 in zip(new["rep_id"], new["alternative_1"], new["alternative_2"]):
        assert a1 == "" or a1 != rep
        assert a2 == "" or (a2 != rep and a2 != a1)
    assert new.loc[new["alternative_2"] != "", "alternative_2_cost_delta"].notna().all()


def test_tight_room_leaves_new_customers_in_the_pool(plain_policy: Policy) -> None:
    """S has one account of room, B 2 hours of workload: one new customer to S, two stay in the pool
    (no capacity), reported by region and tier."""
    reps = reps_frame({"rep_id": "S", "at": SHANGHAI, "max_accounts": 2},
                      {"rep_id": "B", "at": SHANGHAI, "max_workload": 10})
    book = customers_frame({"customer_id": "C0", "current_owner": "S", "at": NEAR_SHANGHAI[0]},
                           {"customer_id": "C1", "current_owner": "B", "workload": 8.0, "at": NEAR_SHANGHAI[0]})
    new = customers_frame(*({"customer_id": f"N{i}", "region": "east", "workload": 3.0, "at": NEAR_SHANGHAI[i],
                             "value": 100 + i} for i in range(3)))
    result = assign_new(book, reps, new, policy=plain_policy, as_of=AS_OF)
    a = result.assignments.set_index("customer_id")
    assert a.loc[["C0", "C1"], "rep_id"].tolist() == ["S", "B"]
    assert a.loc[["N0", "N1", "N2"], "rep_id"].tolist() == ["", "", "S"]  # the biggest is placed
    assert a.loc[["N0", "N1"], "reason"].tolist() == ["no capacity", "no capacity"]
    assert result.summary["pool_shortfall"] == [
        {"region": "east", "tier": "standard", "customers": 2, "value": 201.0, "workload": 6.0}]


# --- CLI ---------------------------------------------------------------------------------------


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    """A tiny book, reps and new customers as CSV, and a fast config."""
    reps = reps_frame({"rep_id": "S", "at": SHANGHAI, "max_accounts": 5})
    book = customers_frame({"customer_id": "C0", "current_owner": "S", "at": NEAR_SHANGHAI[0]})
    new = customers_frame({"customer_id": "N0", "at": NEAR_SHANGHAI[1]})
    paths = {"customers": tmp_path / "customers.csv", "reps": tmp_path / "reps.csv", "new": tmp_path / "new.csv"}
    book.to_csv(paths["customers"], index=False)
    reps.to_csv(paths["reps"], index=False)
    new.to_csv(paths["new"], index=False)
    paths["config"] = tmp_path / "fast.toml"
    paths["config"].write_text(FAST_CONFIG, encoding="utf-8")
    return paths


def args(files: dict[str, Path], out: Path) -> list[str]:
    return ["assign-new", "--customers", str(files["customers"]), "--reps", str(files["reps"]),
            "--new", str(files["new"]), "--config", str(files["config"]), "--out", str(out),
            "--as-of", "2026-11-30", "--quiet"]


def test_cli_assign_new_writes_assignments_and_summary(files, tmp_path: Path) -> None:
    """`allocator assign-new` exits 0 and writes assignments.parquet and summary.json only."""
    out = tmp_path / "out"
    result = CliRunner().invoke(app, args(files, out))
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {"assignments.parquet", "summary.json"}
    a = pd.read_parquet(out / "assignments.parquet").set_index("customer_id")
    assert a["rep_id"].to_dict() == {"C0": "S", "N0": "S"}
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["n_new"] == 1 and summary["n_placed"] == 1 and summary["n_book"] == 1


def test_cli_assign_new_clashing_id_exits_1_with_exact_message(files, tmp_path: Path) -> None:
    """A new customer whose id is already in the book: exit 1, file, row and column named, no output."""
    customers_frame({"customer_id": "N0"}, {"customer_id": "C0"}).to_csv(files["new"], index=False)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, args(files, out))
    assert result.exit_code == 1
    assert result.output == ('Error: new.csv row 3, column customer_id: "C0" is already in the book '
                             "(customers.csv row 2); a new customer needs an id of its own\n")
    assert not out.exists()


def test_cli_assign_new_new_customer_with_owner_exits_1(files, tmp_path: Path) -> None:
    """A new customer that already names an owner is an input error (exit 1)."""
    customers_frame({"customer_id": "N0", "current_owner": "S"}).to_csv(files["new"], index=False)
    result = CliRunner().invoke(app, args(files, tmp_path / "out"))
    assert result.exit_code == 1
    assert result.output == ("Error: new.csv row 2, column current_owner: a new customer has no owner yet; leave "
                             "current_owner empty (customers with an owner belong in the book)\n")


def test_cli_assign_new_without_new_is_usage_error(files, tmp_path: Path) -> None:
    """Leaving out --new is a usage error (exit 2)."""
    argv = args(files, tmp_path / "out")
    i = argv.index("--new")
    result = CliRunner().invoke(app, argv[:i] + argv[i + 2:])
    assert result.exit_code == 2
