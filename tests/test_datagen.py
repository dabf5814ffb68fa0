"""Tests of allocator.datagen: seeded synthetic books and how they are written."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from allocator.datagen import generate, write_generated
from allocator.policy import Rules

CUSTOMER_COLUMNS = [
    "customer_id", "value", "workload", "tier", "industry", "region", "lat", "lon",
    "products", "language", "current_owner", "locked", "last_activity",
]
REP_COLUMNS = [
    "rep_id", "name", "region", "lat", "lon", "industries", "products", "languages",
    "level", "max_accounts", "max_workload", "active", "team",
]
ACTIVITY_COLUMNS = ["customer_id", "rep_id", "date", "kind"]
DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture(scope="module")
def book() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return generate(20_000, 200, seed=3)


def test_same_seed_gives_identical_frames():
    """The same seed gives identical customers, reps and activities."""
    for a, b in zip(generate(3_000, 30, seed=11), generate(3_000, 30, seed=11)):
        pd.testing.assert_frame_equal(a, b)


def test_different_seed_gives_different_frames():
    """A different seed gives a different book."""
    a, b = generate(3_000, 30, seed=1), generate(3_000, 30, seed=2)
    assert not a[0].equals(b[0])
    assert not a[1].equals(b[1])
    assert not a[2].equals(b[2])


def test_columns_are_exactly_the_design_columns(book):
    """Each table has exactly the columns of DESIGN.md, in order."""
    customers, reps, activities = book
    assert list(customers.columns) == CUSTOMER_COLUMNS
    assert list(reps.columns) == REP_COLUMNS
    assert list(activities.columns) == ACTIVITY_COLUMNS


def test_ids_unique_and_formatted(book):
    """Customer and rep ids are unique and zero-padded (C00001, R0001)."""
    customers, reps, _ = book
    assert customers["customer_id"].is_unique and reps["rep_id"].is_unique
    assert customers["customer_id"].iloc[0] == "C00001"
    assert reps["rep_id"].iloc[-1] == "R0200"


def test_owners_and_activity_ids_exist(book):
    """Every current_owner and every activity's customer and rep exist."""
    customers, reps, activities = book
    assert customers["current_owner"].dropna().isin(reps["rep_id"]).all()
    assert activities["rep_id"].isin(reps["rep_id"]).all()
    assert activities["customer_id"].isin(customers["customer_id"]).all()


def test_active_reps_within_capacity(book):
    """Every active rep's generated book fits its max_accounts and max_workload."""
    customers, reps, _ = book
    default = Rules().tier_workload
    workload = customers["workload"].fillna(customers["tier"].map(default))
    per_rep = workload.groupby(customers["current_owner"]).agg(["size", "sum"])
    active = reps[reps["active"]].set_index("rep_id")
    per_rep = per_rep.reindex(active.index, fill_value=0)
    assert (per_rep["size"] <= active["max_accounts"]).all()
    assert (per_rep["sum"] <= active["max_workload"]).all()


def test_ownership_is_unbalanced_in_value(book):
    """Active reps' books differ a lot in value: the best is several times the median."""
    customers, reps, _ = book
    value = customers.groupby("current_owner")["value"].sum()
    value = value.reindex(reps.loc[reps["active"], "rep_id"], fill_value=0)
    assert value.max() > 4 * value.median()


def test_book_has_pool_locked_leavers_and_disputes(book):
    """Some pool, some locked (never pool, never a leaver's), leavers with customers, disputes."""
    customers, reps, activities = book
    pool = customers["current_owner"].isna()
    assert 0.05 < pool.mean() < 0.12
    assert 0.02 < customers["locked"].mean() < 0.04
    assert not customers.loc[pool, "locked"].any()
    inactive = reps.loc[~reps["active"], "rep_id"]
    assert len(inactive) > 0
    of_leavers = customers["current_owner"].isin(inactive)
    assert of_leavers.sum() > 0
    assert not customers.loc[of_leavers, "locked"].any()
    reps_per_customer = activities.groupby("customer_id")["rep_id"].nunique()
    assert (reps_per_customer >= 2).sum() > 0.05 * len(customers)


def test_value_tier_and_distribution_shape(book):
    """Tiers follow value quantiles (~3 % strategic, ~17 % key) and ~10 % workload is missing."""
    customers, _, _ = book
    share = customers["tier"].value_counts(normalize=True)
    assert share["strategic"] == pytest.approx(0.03, abs=0.005)
    assert share["key"] == pytest.approx(0.17, abs=0.01)
    by_tier = customers.groupby("tier")["value"]
    assert by_tier.min()["strategic"] >= by_tier.max()["key"] >= by_tier.max()["standard"]
    assert customers["workload"].isna().mean() == pytest.approx(0.10, abs=0.02)
    assert (customers["value"] >= 0).all()
    assert set(customers["language"]) <= {"zh", "en", "ja"}


def test_reps_always_speak_chinese_and_form_teams(book):
    """Every rep speaks zh; teams are '{region}-T{k}' with about eight reps each."""
    _, reps, _ = book
    assert reps["languages"].map(lambda langs: "zh" in langs).all()
    assert (reps["team"].str.split("-T").str[0] == reps["region"]).all()
    assert reps["team"].value_counts().max() <= 10
    assert reps["level"].between(1, 5).all()


def test_last_activity_is_the_owners_latest_contact(book):
    """The owner's latest contact falls on last_activity; all dates lie before as_of."""
    customers, _, activities = book
    merged = activities.merge(customers[["customer_id", "current_owner", "last_activity"]], on="customer_id")
    by_owner = merged[merged["rep_id"] == merged["current_owner"]]
    latest = by_owner.groupby("customer_id").agg(date=("date", "max"), last=("last_activity", "first"))
    assert len(latest) > 0.8 * len(customers)
    assert (latest["date"] == latest["last"]).all()
    as_of = pd.Timestamp("2026-11-30")
    assert activities["date"].between(as_of - pd.Timedelta(days=365), as_of).all()
    assert customers["last_activity"].dropna().le(as_of).all()


@pytest.mark.parametrize(("n_customers", "n_reps"), [(1, 1), (5, 1), (3, 20), (100, 7), (1_000, 2)])
def test_tiny_and_lopsided_sizes(n_customers, n_reps):
    """Odd sizes (one rep, more reps than customers) still give a valid book."""
    customers, reps, _ = generate(n_customers, n_reps, seed=0)
    assert len(customers) == n_customers and len(reps) == n_reps
    assert reps["active"].any()
    assert customers["current_owner"].dropna().isin(reps["rep_id"]).all()


def test_rejects_empty_sizes():
    """Zero customers or reps is a ValueError."""
    with pytest.raises(ValueError, match="at least one"):
        generate(0, 10)


def test_generation_is_fast():
    """20,000 customers x 200 reps generate well within a second or two."""
    start = time.perf_counter()
    generate(20_000, 200, seed=0)
    assert time.perf_counter() - start < 3.0


def test_write_parquet_types(tmp_path, book):
    """Parquet has list<string> lists, bool flags and date32 dates, and round-trips the values."""
    customers, reps, activities = book
    paths = write_generated(tmp_path, customers, reps, activities)
    assert [p.name for p in paths] == ["customers.parquet", "reps.parquet", "activities.parquet"]
    cs = pq.read_schema(tmp_path / "customers.parquet")
    rs = pq.read_schema(tmp_path / "reps.parquet")
    acts = pq.read_schema(tmp_path / "activities.parquet")
    assert cs.field("products").type == pa.list_(pa.string())
    assert rs.field("languages").type == pa.list_(pa.string())
    assert cs.field("locked").type == pa.bool_() and rs.field("active").type == pa.bool_()
    assert cs.field("last_activity").type == pa.date32() and acts.field("date").type == pa.date32()
    back = pq.read_table(tmp_path / "customers.parquet")
    assert back.column("current_owner").null_count == customers["current_owner"].isna().sum()
    assert back.column("last_activity").null_count == customers["last_activity"].isna().sum()
    assert back.column("products").to_pylist() == customers["products"].tolist()
    assert not list(tmp_path.glob(".*tmp"))


def test_write_csv_form(tmp_path):
    """CSV is UTF-8 with ;-joined lists, ISO dates, true/false and empty pool owners."""
    customers, reps, activities = generate(500, 10, seed=5)
    write_generated(tmp_path, customers, reps, activities, fmt="csv")
    back = pd.read_csv(tmp_path / "customers.csv", dtype=str, keep_default_na=False, encoding="utf-8")
    assert list(back.columns) == CUSTOMER_COLUMNS
    assert back["products"].tolist() == [";".join(p) for p in customers["products"]]
    assert set(back["locked"]) <= {"true", "false"}
    assert (back["current_owner"] == "").sum() == customers["current_owner"].isna().sum()
    assert back["last_activity"].str.fullmatch(r"(\d{4}-\d{2}-\d{2})?").all()
    reps_back = pd.read_csv(tmp_path / "reps.csv", dtype=str, keep_default_na=False, encoding="utf-8")
    assert set(reps_back["region"]) <= {"华北", "华东", "华南", "华中", "西南", "西北"}
    assert reps_back["languages"].str.startswith("zh").all()


def test_write_rejects_unknown_format(tmp_path, book):
    """An unknown format is a ValueError naming the choices."""
    with pytest.raises(ValueError, match="parquet' or 'csv"):
        write_generated(tmp_path, *book, fmt="xlsx")


def test_demo_data_is_generate_2000_40_seed_7(tmp_path):
    """data/*.csv are exactly what generate(2000, 40, seed=7) writes as CSV, under 1 MB."""
    write_generated(tmp_path, *generate(2000, 40, seed=7), fmt="csv")
    for name in ("customers.csv", "reps.csv", "activities.csv"):
        assert (DATA / name).read_bytes() == (tmp_path / name).read_bytes(), name
    assert sum((DATA / n).stat().st_size for n in ("customers.csv", "reps.csv", "activities.csv")) < 1_000_000
