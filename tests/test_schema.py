"""Tests of allocator.schema: typed frames, defaults, and the exact wording of every issue."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from allocator.errors import InputError
from allocator.io import RawTable, read_table
from allocator.schema import (
    ACTIVITIES,
    CUSTOMERS,
    REPS,
    Inputs,
    validate,
    validate_activities,
    validate_customers,
    validate_reps,
)

DATA = Path(__file__).parent / "data"
OK = {table: DATA / f"{table}_ok.csv" for table in ("customers", "reps", "activities")}


def validate_files(**files: Path) -> Inputs:
    """Validate the ok book with some of its files swapped for the given ones."""
    paths = {**OK, **files}
    return validate(*(read_table(paths[t]) for t in ("customers", "reps", "activities")))


def dtypes(frame: pd.DataFrame) -> dict[str, str]:
    return {name: str(dtype) for name, dtype in frame.dtypes.items()}


def spec_dtypes(spec) -> dict[str, str]:
    return {c.name: c.dtype for c in spec.columns}


FAULTS = [
    ("customers_negative_value.csv", 'customers_negative_value.csv row 3, column value: expected a number >= 0, got "-5"'),
    (
        "customers_non_numeric_value.csv",
        'customers_non_numeric_value.csv row 4, column value: expected a number >= 0, got "n/a"',
    ),
    ("customers_empty_value.csv", 'customers_empty_value.csv row 3, column value: expected a number >= 0, got ""'),
    ("customers_missing_value_column.csv", "customers_missing_value_column.csv, column value: required column is missing"),
    (
        "customers_missing_id_column.csv",
        "customers_missing_id_column.csv, column customer_id: required column is missing",
    ),
    ("customers_empty.csv", "customers_empty.csv: the table has no rows; an empty export must not become an empty book"),
    ("customers_empty_id.csv", "customers_empty_id.csv row 3, column customer_id: empty id; every row needs one"),
    (
        "customers_duplicate_id.csv",
        'customers_duplicate_id.csv row 5, column customer_id: duplicate id "C7" (first seen in row 3)',
    ),
    (
        "customers_negative_workload.csv",
        'customers_negative_workload.csv row 2, column workload: expected a number >= 0, got "-2"',
    ),
    (
        "customers_bad_latitude.csv",
        'customers_bad_latitude.csv row 3, column lat: expected a latitude between -90 and 90, got "95.2"',
    ),
    (
        "customers_non_numeric_latitude.csv",
        'customers_non_numeric_latitude.csv row 2, column lat: expected a latitude between -90 and 90, got "north"',
    ),
    (
        "customers_bad_longitude.csv",
        'customers_bad_longitude.csv row 2, column lon: expected a longitude between -180 and 180, got "181"',
    ),
    (
        "customers_unknown_owner.csv",
        'customers_unknown_owner.csv row 3, column current_owner: unknown rep "R99" (not in reps_ok.csv)',
    ),
    ("customers_bad_locked.csv", 'customers_bad_locked.csv row 2, column locked: expected true or false, got "maybe"'),
    (
        "customers_bad_date.csv",
        'customers_bad_date.csv row 3, column last_activity: expected a date like 2026-11-30, got "yesterday"',
    ),
    ("customers_undecodable.csv", "customers_undecodable.csv: cannot decode the file as UTF-8 or GBK; re-export it as UTF-8"),
    ("reps_duplicate_id.csv", 'reps_duplicate_id.csv row 5, column rep_id: duplicate id "R1" (first seen in row 2)'),
    ("reps_missing_id_column.csv", "reps_missing_id_column.csv, column rep_id: required column is missing"),
    ("reps_empty.csv", "reps_empty.csv: the table has no rows; an empty export must not become an empty book"),
    ("reps_bad_level.csv", 'reps_bad_level.csv row 3, column level: expected an integer 1..5, got "7"'),
    (
        "reps_fractional_max_accounts.csv",
        'reps_fractional_max_accounts.csv row 2, column max_accounts: expected an integer >= 0, got "2.5"',
    ),
    (
        "reps_negative_max_accounts.csv",
        'reps_negative_max_accounts.csv row 2, column max_accounts: expected an integer >= 0, got "-1"',
    ),
    (
        "reps_negative_max_workload.csv",
        'reps_negative_max_workload.csv row 3, column max_workload: expected a number >= 0, got "-40"',
    ),
    ("reps_bad_active.csv", 'reps_bad_active.csv row 4, column active: expected true or false, got "retired"'),
    (
        "activities_bad_date.csv",
        'activities_bad_date.csv row 3, column date: expected a date like 2026-11-30, got "30/11/2026"',
    ),
    (
        "activities_missing_date_column.csv",
        "activities_missing_date_column.csv, column date: required column is missing",
    ),
]


@pytest.mark.parametrize(("file_name", "message"), FAULTS, ids=[f for f, _ in FAULTS])
def test_fault_file_gives_exact_message(file_name: str, message: str) -> None:
    """Each broken file, in an otherwise valid book, raises exactly its one message."""
    table = file_name.split("_")[0]
    with pytest.raises(InputError) as info:
        validate_files(**{table: DATA / file_name})
    assert str(info.value) == message
    assert len(info.value.issues) == 1


def test_every_fault_is_reported_at_once() -> None:
    """A file with several faults reports all of them, sorted by row then column."""
    with pytest.raises(InputError) as info:
        validate_files(customers=DATA / "customers_many_faults.csv")
    f = "customers_many_faults.csv"
    assert [str(issue) for issue in info.value.issues] == [
        f'{f} row 2, column value: expected a number >= 0, got "n/a"',
        f'{f} row 3, column current_owner: unknown rep "R99" (not in reps_ok.csv)',
        f'{f} row 3, column lat: expected a latitude between -90 and 90, got "95.2"',
        f'{f} row 3, column locked: expected true or false, got "maybe"',
        f'{f} row 3, column workload: expected a number >= 0, got "-1"',
        f'{f} row 4, column customer_id: duplicate id "C1" (first seen in row 2)',
        f'{f} row 4, column last_activity: expected a date like 2026-11-30, got "yesterday"',
        f"{f} row 5, column customer_id: empty id; every row needs one",
    ]
    assert str(info.value).startswith("8 problems in the input:\n  customers_many_faults.csv row 2")


def test_faults_in_several_tables_are_reported_together() -> None:
    """Issues of different files come in one error, sorted by file name."""
    with pytest.raises(InputError) as info:
        validate_files(customers=DATA / "customers_negative_value.csv", reps=DATA / "reps_bad_level.csv")
    assert [i.file for i in info.value.issues] == ["customers_negative_value.csv", "reps_bad_level.csv"]


def test_customers_ok_typed_with_defaults() -> None:
    """Valid customers parse into the declared dtypes, in input order, with defaults filled."""
    customers = validate_files().customers
    assert list(customers.columns) == [c.name for c in CUSTOMERS.columns]
    assert dtypes(customers) == spec_dtypes(CUSTOMERS)
    assert list(customers.customer_id) == ["C1", "C2", "C3", "C4", "007", "C6"]  # "007" stays text
    assert list(customers.value) == [120000.0, 50000.0, 8000.0, 15000.0, 3000.0, 0.0]
    assert customers.workload.isna().tolist() == [False, True, False, True, False, True]
    assert list(customers.tier) == ["strategic", "key", "standard", "standard", "standard", "standard"]
    assert list(customers.products) == [["crm", "erp"], ["crm"], ["crm", "bi"], [], ["erp"], []]
    assert list(customers.language) == ["zh", "zh", "", "en", "zh", ""]
    assert list(customers.current_owner) == ["R1", "R1", "R2", "", "R3", ""]
    assert list(customers.locked) == [True, False, False, False, True, False]
    assert customers.lat.isna().tolist() == [False] * 5 + [True]
    assert customers.last_activity.iloc[0] == pd.Timestamp("2026-10-01")
    assert customers.last_activity.iloc[4] == pd.Timestamp("2026-11-30 09:30")
    assert customers.last_activity.isna().tolist() == [False, False, True, True, False, True]


def test_reps_ok_typed_with_defaults() -> None:
    """Valid reps parse into the declared dtypes; name, level and capacity defaults apply."""
    reps = validate_files().reps
    assert list(reps.columns) == [c.name for c in REPS.columns]
    assert dtypes(reps) == spec_dtypes(REPS)
    assert list(reps.name) == ["Alice", "Bob", "R3"]
    assert list(reps.level) == [5, 3, 3]
    assert reps.max_accounts.tolist()[:2] == [40.0, 60.0] and np.isnan(reps.max_accounts.iloc[2])
    assert np.isnan(reps.max_workload.iloc[1]) and reps.max_workload.iloc[2] == 120.5
    assert list(reps.active) == [True, True, False]
    assert list(reps.industries) == [["manufacturing", "retail"], ["retail", "finance"], []]
    assert list(reps.languages) == [["zh", "en"], ["zh"], ["zh"]]
    assert list(reps.team) == ["east-1", "north-1", ""]


def test_activities_ok_typed_with_defaults() -> None:
    """Valid activities parse; kind is lower-cased and defaults to "contact"."""
    inputs = validate_files()
    activities = inputs.activities
    assert dtypes(activities) == spec_dtypes(ACTIVITIES)
    assert list(activities.kind) == ["visit", "contact", "call", "email"]
    assert activities.date.iloc[3] == pd.Timestamp("2026-11-30")
    assert inputs.files == {"customers": "customers_ok.csv", "reps": "reps_ok.csv", "activities": "activities_ok.csv"}
    assert inputs.warnings == ()


def test_no_activities_gives_empty_typed_frame() -> None:
    """Without an activities file the frame is empty but has the declared columns."""
    inputs = validate(read_table(OK["customers"]), read_table(OK["reps"]))
    assert len(inputs.activities) == 0
    assert dtypes(inputs.activities) == spec_dtypes(ACTIVITIES)
    assert "activities" not in inputs.files


def test_unknown_activities_dropped_with_warning() -> None:
    """Activity rows naming an unknown or empty customer or rep are dropped with one warning."""
    inputs = validate_files(activities=DATA / "activities_unknown.csv")
    assert list(zip(inputs.activities.customer_id, inputs.activities.rep_id)) == [("C1", "R1"), ("C3", "R2")]
    # The dropped C99 row's bad date is not an error: that row is ignored anyway.
    assert inputs.warnings == ("activities_unknown.csv: ignored 3 of 5 rows naming an unknown customer or rep",)


@pytest.mark.parametrize(
    ("word", "value"),
    [(w, True) for w in ("true", "TRUE", "1", "yes", "Y", "是")]
    + [(w, False) for w in ("false", "False", "0", "no", "N", "否", "")],
)
def test_bool_words(word: str, value: bool) -> None:
    """Every accepted spelling of true and false parses; empty gives the default."""
    raw = RawTable("customers.csv", pd.DataFrame({"customer_id": ["C1"], "value": ["1"], "locked": [word]}), True)
    frame, issues, _ = validate_customers(raw, set())
    assert issues == [] and frame.locked.tolist() == [value]


def test_encodings_give_identical_frames() -> None:
    """UTF-8, UTF-8 with BOM and GBK exports of the same table give identical frames."""
    assert b"\xef\xbb\xbf" == (DATA / "customers_bom.csv").read_bytes()[:3]
    with pytest.raises(UnicodeDecodeError):
        (DATA / "customers_gbk.csv").read_bytes().decode("utf-8")
    frames = [
        validate_customers(read_table(DATA / name), {"R1", "R2"})
        for name in ("customers_zh.csv", "customers_bom.csv", "customers_gbk.csv")
    ]
    assert all(issues == [] for _, issues, _ in frames)
    for frame, _, _ in frames[1:]:
        pd.testing.assert_frame_equal(frame, frames[0][0])
    customers = frames[0][0]
    assert list(customers.region) == ["华东", "华东", "华北"]
    assert list(customers.locked) == [True, False, False]
    # The full-width semicolon that Chinese keyboards type separates list items too.
    assert customers.products.iloc[2] == ["商业智能", "ERP"]


def test_parquet_with_list_columns_matches_csv(tmp_path: Path) -> None:
    """A Parquet book with list, bool and timestamp columns types exactly as its CSV twin."""
    from_csv = validate_files()
    paths = {}
    for table in ("customers", "reps", "activities"):
        paths[table] = tmp_path / f"{table}.parquet"
        getattr(from_csv, table).to_parquet(paths[table])
    from_parquet = validate(*(read_table(paths[t]) for t in ("customers", "reps", "activities")))
    for table in ("customers", "reps", "activities"):
        pd.testing.assert_frame_equal(getattr(from_parquet, table), getattr(from_csv, table))


def test_parquet_native_types_and_record_numbers(tmp_path: Path) -> None:
    """Parquet ints, nulls, dates and ;-strings in list columns are read; rows are record numbers."""
    table = pa.table(
        {
            "customer_id": pa.array([101, 102, 103]),
            "value": pa.array([10.0, None, 30.0]),
            "products": pa.array(["crm; erp", None, "bi"]),
            "locked": pa.array([True, None, False]),
            "last_activity": pa.array([dt.date(2026, 1, 2), None, dt.date(2025, 5, 6)], pa.date32()),
        }
    )
    pq.write_table(table, tmp_path / "customers.parquet")
    frame, issues, _ = validate_customers(read_table(tmp_path / "customers.parquet"), set())
    assert list(frame.customer_id) == ["101", "102", "103"]
    assert list(frame.products) == [["crm", "erp"], [], ["bi"]]
    assert list(frame.locked) == [True, False, False]
    assert frame.last_activity.dtype == "datetime64[ns]" and frame.last_activity.iloc[0] == pd.Timestamp("2026-01-02")
    assert [str(i) for i in issues] == ['customers.parquet row 2, column value: expected a number >= 0, got ""']


def test_blank_lines_keep_spreadsheet_row_numbers(tmp_path: Path) -> None:
    """Blank lines are dropped but still counted, so rows match what a spreadsheet shows."""
    path = tmp_path / "customers.csv"
    path.write_text("customer_id,value\nC1,1\n\nC2,-3\n,\n")
    frame, issues, _ = validate_customers(read_table(path), set())
    assert list(frame.customer_id) == ["C1", "C2"]
    assert [str(i) for i in issues] == ['customers.csv row 4, column value: expected a number >= 0, got "-3"']


def test_timestamps_with_offsets_become_utc(tmp_path: Path) -> None:
    """Full ISO timestamps parse; ones with an offset are converted to naive UTC."""
    raw = RawTable(
        "activities.csv",
        pd.DataFrame({"customer_id": ["C1", "C1"], "rep_id": ["R1", "R1"], "date": ["2026-11-30T08:00:00+08:00", "2026-11-30 08:00"]}),
        True,
    )
    frame, issues, warnings = validate_activities(raw, {"C1"}, {"R1"})
    assert issues == [] and warnings == []
    assert list(frame.date) == [pd.Timestamp("2026-11-30 00:00"), pd.Timestamp("2026-11-30 08:00")]


def test_unknown_owner_default_wording_and_reusable_checkers() -> None:
    """The per-table checkers return issues instead of raising; the reps file name is optional."""
    reps, rep_issues, _ = validate_reps(read_table(OK["reps"]))
    customers, issues, warnings = validate_customers(read_table(DATA / "customers_unknown_owner.csv"), {"R1"})
    assert rep_issues == [] and warnings == [] and len(customers) == 2
    assert [str(i) for i in issues] == [
        'customers_unknown_owner.csv row 3, column current_owner: unknown rep "R99" (not in the reps table)'
    ]


def test_extra_columns_are_ignored() -> None:
    """Columns the contract does not name (e.g. a company name) are dropped, not errors."""
    customers, issues, _ = validate_customers(read_table(DATA / "customers_zh.csv"), {"R1", "R2"})
    assert issues == [] and "name" not in customers.columns
