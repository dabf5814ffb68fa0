"""Column specs of the input tables and their validation; all validation wording lives here.

``validate`` turns raw tables (from ``io.read_table``, or any DataFrame wrapped in a
``RawTable``) into typed frames, or raises one ``InputError`` that lists every problem
with its file, row and column.
"""

from __future__ import annotations

import dataclasses

import math
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from .errors import InputError, Issue
from .io import RawTable

# --- wording -------------------------------------------------------------------------

MISSING_COLUMN = "required column is missing"
EMPTY_TABLE = "the table has no rows; an empty export must not become an empty book"
EMPTY_ID = "empty id; every row needs one"

NUMBER_AT_LEAST_0 = "a number >= 0"
INTEGER_AT_LEAST_0 = "an integer >= 0"
LEVEL_1_TO_5 = "an integer 1..5"
LATITUDE = "a latitude between -90 and 90"
LONGITUDE = "a longitude between -180 and 180"
BOOLEAN = "true or false"
DATE = "a date like 2026-11-30"


def expected(what: str, got: str) -> str:
    """``expected <what>, got "<cell>"``: the message of every malformed cell."""
    return f'expected {what}, got "{got}"'


def duplicate_id(value: str, first_row: int) -> str:
    """The message of a repeated key."""
    return f'duplicate id "{value}" (first seen in row {first_row})'


def unknown_rep(rep_id: str, reps_file: str) -> str:
    """The message of a current_owner that is not a rep."""
    return f'unknown rep "{rep_id}" (not in {reps_file})'


def id_in_book(customer_id: str, book_file: str, book_row: int) -> str:
    """The message of a new customer whose id is already in the book."""
    return (f'"{customer_id}" is already in the book ({book_file} row {book_row}); '
            "a new customer needs an id of its own")


NEW_HAS_OWNER = "a new customer has no owner yet; leave current_owner empty (customers with an owner belong in the book)"


def ignored_activities(file: str, n_ignored: int, n_rows: int) -> str:
    """The warning for activity rows naming a customer or rep that does not exist."""
    return f"{file}: ignored {n_ignored} of {n_rows} rows naming an unknown customer or rep"


# --- column specs --------------------------------------------------------------------

Kind = Literal["id", "text", "number", "integer", "bool", "date", "list"]

TRUE_WORDS = frozenset({"true", "1", "yes", "y", "是"})
FALSE_WORDS = frozenset({"false", "0", "no", "n", "否"})
_BOOL_WORDS = {**{w: True for w in TRUE_WORDS}, **{w: False for w in FALSE_WORDS}}
# Full-width ";" too: Chinese keyboards type it in the same place.
_LIST_SEPARATOR = re.compile("[;\uff1b]")
# datetime64[ns] can hold only these; a year-1 placeholder date must be an issue, not a crash.
_MIN_DATE = pd.Timestamp("1677-09-22")
_MAX_DATE = pd.Timestamp("2262-04-11")


@dataclass(frozen=True, slots=True)
class Column:
    """One column of an input table.

    kind: how cells are read. ``id`` and ``text`` are stripped strings; ``number`` is
        float64; ``integer`` is a whole number (int64 when ``default`` is set, else
        float64 with NaN); ``bool``; ``date`` (datetime64[ns]); ``list`` (lists of str).
    required: the column must exist (and, for number columns, every cell be filled).
    low, high: inclusive bounds of number and integer columns.
    what: what a valid cell looks like, for ``expected(what, got)``.
    default: the value of an empty cell (None = NaN / NaT / "" / [] by kind).
    lower: lower-case text values.
    """

    name: str
    kind: Kind
    required: bool = False
    low: float | None = None
    high: float | None = None
    what: str = ""
    default: Any = None
    lower: bool = False

    @property
    def dtype(self) -> str:
        """The dtype of this column in a validated frame."""
        if self.kind in ("id", "text"):
            return "str"
        if self.kind == "integer" and self.default is not None:
            return "int64"
        return {"number": "float64", "integer": "float64", "bool": "bool", "date": "datetime64[ns]", "list": "object"}[
            self.kind
        ]


@dataclass(frozen=True, slots=True)
class TableSpec:
    """An input table: its columns, its unique key (if any), and whether it may be empty."""

    table: str
    columns: tuple[Column, ...]
    key: str | None = None
    allow_empty: bool = False

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


CUSTOMERS = TableSpec(
    "customers",
    (
        Column("customer_id", "id", required=True),
        Column("value", "number", required=True, low=0, what=NUMBER_AT_LEAST_0),
        Column("workload", "number", low=0, what=NUMBER_AT_LEAST_0),
        Column("tier", "text", default="standard", lower=True),
        Column("industry", "text"),
        Column("region", "text"),
        Column("lat", "number", low=-90, high=90, what=LATITUDE),
        Column("lon", "number", low=-180, high=180, what=LONGITUDE),
        Column("products", "list"),
        Column("language", "text"),
        Column("current_owner", "id"),
        Column("locked", "bool", default=False, what=BOOLEAN),
        Column("last_activity", "date", what=DATE),
    ),
    key="customer_id",
)

REPS = TableSpec(
    "reps",
    (
        Column("rep_id", "id", required=True),
        Column("name", "text"),  # empty -> rep_id, filled in validate_reps
        Column("region", "text"),
        Column("lat", "number", low=-90, high=90, what=LATITUDE),
        Column("lon", "number", low=-180, high=180, what=LONGITUDE),
        Column("industries", "list"),
        Column("products", "list"),
        Column("languages", "list"),
        Column("level", "integer", low=1, high=5, what=LEVEL_1_TO_5, default=3),
        Column("max_accounts", "integer", low=0, what=INTEGER_AT_LEAST_0),
        Column("max_workload", "number", low=0, what=NUMBER_AT_LEAST_0),
        Column("active", "bool", default=True, what=BOOLEAN),
        Column("team", "text"),
    ),
    key="rep_id",
)

ACTIVITIES = TableSpec(
    "activities",
    (
        Column("customer_id", "id", required=True),
        Column("rep_id", "id", required=True),
        Column("date", "date", required=True, what=DATE),
        Column("kind", "text", default="contact", lower=True),
    ),
    allow_empty=True,
)


@dataclass(frozen=True)
class Inputs:
    """Validated input tables (customers, reps, activities), as returned by ``validate``.

    files: table name -> file name it came from (``"activities"`` only when given).
    warnings: odd but valid data, e.g. ignored activity rows.
    """

    customers: pd.DataFrame
    reps: pd.DataFrame
    activities: pd.DataFrame
    files: dict[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


# --- public validation ---------------------------------------------------------------


def validate(customers: RawTable, reps: RawTable, activities: RawTable | None = None) -> Inputs:
    """Check and type the input tables.

    Returns
    -------
    Inputs
        Typed frames with exactly the columns of ``CUSTOMERS``, ``REPS`` and ``ACTIVITIES``,
        rows in input order.

    Raises
    ------
    InputError
        Carrying every problem found in any table, sorted by file, row and column.
    """
    rep_frame, issues, warnings = validate_reps(reps)
    rep_ids = _known_ids(reps, "rep_id", rep_frame)
    customer_frame, customer_issues, customer_warnings = validate_customers(customers, rep_ids, reps_file=reps.name)
    issues += customer_issues
    warnings += customer_warnings
    files = {"customers": customers.name, "reps": reps.name}
    if activities is None:
        activity_frame = empty_frame(ACTIVITIES)
    else:
        customer_ids = _known_ids(customers, "customer_id", customer_frame)
        activity_frame, activity_issues, activity_warnings = validate_activities(activities, customer_ids, rep_ids)
        issues += activity_issues
        warnings += activity_warnings
        files["activities"] = activities.name
    if issues:
        raise InputError(issues)
    return Inputs(customer_frame, rep_frame, activity_frame, files, tuple(warnings))


def validate_customers(
    raw: RawTable, rep_ids: Collection[str] | None, reps_file: str = "the reps table"
) -> tuple[pd.DataFrame, list[Issue], list[str]]:
    """Check and type a customers table.

    Parameters
    ----------
    raw
        The customers table as read.
    rep_ids
        Known rep ids, to check ``current_owner``; None skips that check (the reps
        table is itself broken).
    reps_file
        Name of the reps file, for the unknown-owner message.

    Returns
    -------
    (frame, issues, warnings)
    """
    frame, rows, issues = _parse_table(raw, CUSTOMERS)
    if rep_ids is not None and "current_owner" in raw.frame.columns:
        owners = frame["current_owner"]
        unknown = (owners != "").to_numpy() & ~_isin(owners, rep_ids)
        for i in np.flatnonzero(unknown):
            issues.append(Issue(raw.name, int(rows[i]), "current_owner", unknown_rep(owners.iat[i], reps_file)))
    return frame, issues, []


def validate_reps(raw: RawTable) -> tuple[pd.DataFrame, list[Issue], list[str]]:
    """Check and type a reps table; an empty name becomes the rep_id.

    Returns
    -------
    (frame, issues, warnings)
    """
    frame, _, issues = _parse_table(raw, REPS)
    frame["name"] = frame["name"].where(frame["name"] != "", frame["rep_id"])
    return frame, issues, []


def validate_activities(
    raw: RawTable, customer_ids: Collection[str] | None, rep_ids: Collection[str] | None
) -> tuple[pd.DataFrame, list[Issue], list[str]]:
    """Check and type an activities table.

    Rows naming an unknown (or no) customer or rep are dropped with one warning, not an
    error: contact history routinely mentions closed accounts and former staff. Their
    other cells are not checked, since they are ignored anyway. None for ``customer_ids``
    or ``rep_ids`` keeps every row (that table is itself broken).

    Returns
    -------
    (frame, issues, warnings)
    """
    source, rows = _data_rows(raw)
    keep = np.ones(len(source), dtype=bool)
    for column, known in (("customer_id", customer_ids), ("rep_id", rep_ids)):
        if known is not None and column in source.columns:
            ids = _id_text(source[column])
            keep &= (ids != "").to_numpy() & _isin(ids, known)
    warnings: list[str] = []
    n_ignored = int((~keep).sum())
    if n_ignored:
        warnings.append(ignored_activities(raw.name, n_ignored, len(source)))
        source = source[keep].reset_index(drop=True)
        rows = rows[keep]
    frame, _, issues = _parse_frame(raw.name, source, rows, ACTIVITIES)
    return frame, issues, warnings


def validate_with_new(customers: RawTable, reps: RawTable, new: RawTable,
                      activities: RawTable | None = None) -> tuple[Inputs, pd.DataFrame]:
    """Check today's book, the reps and a table of new customers (same columns as customers).

    New customers must have ids not in the book and no current_owner; activities may name
    book or new customers.

    Returns
    -------
    (Inputs of the book, the new customers typed like ``CUSTOMERS``)

    Raises
    ------
    InputError
        Carrying every problem found in any table, sorted by file, row and column.
    """
    rep_frame, issues, warnings = validate_reps(reps)
    rep_ids = _known_ids(reps, "rep_id", rep_frame)
    book, book_rows, book_issues = _parse_table(customers, CUSTOMERS)
    issues += book_issues
    if rep_ids is not None and "current_owner" in customers.frame.columns:
        owners = book["current_owner"]
        for i in np.flatnonzero((owners != "").to_numpy() & ~_isin(owners, rep_ids)):
            issues.append(Issue(customers.name, int(book_rows[i]), "current_owner", unknown_rep(owners.iat[i], reps.name)))
    # no new customers is a quiet hour, not a failed export: nothing is replaced
    fresh, new_rows, new_issues = _parse_table(new, dataclasses.replace(CUSTOMERS, allow_empty=True))
    issues += new_issues
    if "customer_id" in new.frame.columns and "customer_id" in customers.frame.columns:
        first_row = dict(zip(book["customer_id"].iloc[::-1], book_rows[::-1]))
        for i, cid in enumerate(fresh["customer_id"]):
            if cid and cid in first_row:
                issues.append(Issue(new.name, int(new_rows[i]), "customer_id",
                                    id_in_book(cid, customers.name, int(first_row[cid]))))
    if "current_owner" in new.frame.columns:
        for i in np.flatnonzero((fresh["current_owner"] != "").to_numpy()):
            issues.append(Issue(new.name, int(new_rows[i]), "current_owner", NEW_HAS_OWNER))
    files = {"customers": customers.name, "reps": reps.name, "new": new.name}
    if activities is None:
        activity_frame = empty_frame(ACTIVITIES)
    else:
        ids = None
        if "customer_id" in customers.frame.columns and "customer_id" in new.frame.columns:
            ids = (set(book["customer_id"]) | set(fresh["customer_id"])) - {""}
        activity_frame, activity_issues, activity_warnings = validate_activities(activities, ids, rep_ids)
        issues += activity_issues
        warnings += activity_warnings
        files["activities"] = activities.name
    if issues:
        raise InputError(issues)
    return Inputs(book, rep_frame, activity_frame, files, tuple(warnings)), fresh


def empty_frame(spec: TableSpec) -> pd.DataFrame:
    """A frame with no rows and the columns and dtypes of a validated ``spec`` table."""
    return pd.DataFrame({c.name: pd.Series([], dtype=c.dtype) for c in spec.columns})


# --- table parsing -------------------------------------------------------------------


def _known_ids(raw: RawTable, column: str, frame: pd.DataFrame) -> set[str] | None:
    # Without the key column (or any row) every reference would look unknown; report
    # that problem only, not one issue per referencing row.
    if column not in raw.frame.columns or len(frame) == 0:
        return None
    return set(frame[column]) - {""}


def _data_rows(raw: RawTable) -> tuple[pd.DataFrame, np.ndarray]:
    """The data rows of ``raw`` (blank CSV lines dropped) and their row numbers as users see them."""
    source = raw.frame.reset_index(drop=True)
    rows = np.arange(len(source), dtype=np.int64) + (2 if raw.is_csv else 1)
    if raw.is_csv and len(source.columns) and len(source):
        # Spreadsheets often export trailing ",,,," lines; they are not customers.
        blank = np.ones(len(source), dtype=bool)
        for name in source.columns:
            blank &= (_text(source[name]) == "").to_numpy()
        if blank.any():
            source = source[~blank].reset_index(drop=True)
            rows = rows[~blank]
    return source, rows


def _parse_table(raw: RawTable, spec: TableSpec) -> tuple[pd.DataFrame, np.ndarray, list[Issue]]:
    source, rows = _data_rows(raw)
    return _parse_frame(raw.name, source, rows, spec)


def _parse_frame(
    file: str, source: pd.DataFrame, rows: np.ndarray, spec: TableSpec
) -> tuple[pd.DataFrame, np.ndarray, list[Issue]]:
    """Type every column of ``spec`` (defaults for absent ones) and collect every issue."""
    issues: list[Issue] = []
    n = len(source)
    if n == 0 and not spec.allow_empty:
        issues.append(Issue(file, None, None, EMPTY_TABLE))
    if n > 0 or len(source.columns) > 0:
        # An empty file has no header at all; "no rows" says it all.
        issues += [Issue(file, None, c.name, MISSING_COLUMN) for c in spec.columns if c.required and c.name not in source]
    out: dict[str, Any] = {}
    for column in spec.columns:
        if column.name in source.columns:
            values, bad = _parse_column(source[column.name], column)
            for i in np.flatnonzero(bad):
                got = _cell_text(source[column.name].iat[i])
                issues.append(Issue(file, int(rows[i]), column.name, expected(column.what, got)))
        else:
            values = _default_column(column, n)
        out[column.name] = values
    frame = pd.DataFrame(out, index=pd.RangeIndex(n))
    if spec.key is not None and spec.key in source.columns:
        issues += _key_issues(file, frame[spec.key], rows, spec.key)
    return frame, rows, issues


def _key_issues(file: str, ids: pd.Series, rows: np.ndarray, column: str) -> list[Issue]:
    issues = [Issue(file, int(rows[i]), column, EMPTY_ID) for i in np.flatnonzero((ids == "").to_numpy())]
    repeated = (ids.duplicated(keep="first") & (ids != "")).to_numpy()
    if repeated.any():
        firsts = ids.drop_duplicates(keep="first")
        first_pos = dict(zip(firsts.to_numpy(), firsts.index))
        for i in np.flatnonzero(repeated):
            value = ids.iat[i]
            issues.append(Issue(file, int(rows[i]), column, duplicate_id(value, int(rows[first_pos[value]]))))
    return issues


def _default_column(column: Column, n: int) -> pd.Series:
    if column.kind == "list":
        return pd.Series([[] for _ in range(n)], dtype=object)
    if column.kind in ("id", "text"):
        return pd.Series([column.default or ""] * n, dtype="str")
    if column.kind == "date":
        return pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    fill = np.nan if column.default is None else column.default
    return pd.Series(np.full(n, fill), dtype=column.dtype)


def _parse_column(series: pd.Series, column: Column) -> tuple[pd.Series, np.ndarray]:
    """Typed values of one column and a mask of the cells that are malformed."""
    series = series.reset_index(drop=True)
    no_issue = np.zeros(len(series), dtype=bool)
    if column.kind == "id":
        return _id_text(series), no_issue
    if column.kind == "text":
        text = _text(series)
        if column.lower:
            text = text.str.lower()
        if column.default:
            text = text.where(text != "", column.default)
        return text, no_issue
    if column.kind == "list":
        # Iterate a numpy copy: iterating an Arrow-backed column is several times slower.
        return pd.Series([_split_list(v) for v in series.to_numpy(dtype=object)], dtype=object), no_issue
    if column.kind in ("number", "integer"):
        return _parse_number(series, column)
    if column.kind == "bool":
        return _parse_bool(series, column)
    return _parse_date(series, column)


def _parse_number(series: pd.Series, column: Column) -> tuple[pd.Series, np.ndarray]:
    if ptypes.is_numeric_dtype(series) and not ptypes.is_bool_dtype(series):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        given = ~np.isnan(values)
    else:
        text = _text(series)
        given = (text != "").to_numpy()
        values = pd.to_numeric(text.where(given), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(values)
        if column.low is not None:
            ok &= values >= column.low
        if column.high is not None:
            ok &= values <= column.high
        if column.kind == "integer":
            ok &= values == np.floor(values)
    bad = given & ~ok
    if column.required:
        bad |= ~given
    values = np.where(ok, values, np.nan)
    if column.default is not None:
        return pd.Series(np.where(ok, values, column.default), dtype=column.dtype), bad
    return pd.Series(values, dtype="float64"), bad


def _parse_bool(series: pd.Series, column: Column) -> tuple[pd.Series, np.ndarray]:
    if ptypes.is_bool_dtype(series):
        parsed = series.astype(object)
    else:
        # Parquet 0/1 numbers go through the text path too: _cell_text writes 1.0 as "1".
        parsed = _text(series).str.lower().map(_BOOL_WORDS).astype(object)
    given = _given(series)
    known = parsed.notna().to_numpy()
    bad = given & ~known
    values = np.where(known, parsed.to_numpy(dtype=object), column.default).astype(bool)
    return pd.Series(values, dtype="bool"), bad


def _parse_date(series: pd.Series, column: Column) -> tuple[pd.Series, np.ndarray]:
    if ptypes.is_datetime64_any_dtype(series):
        parsed = series
        given = series.notna().to_numpy()
    else:
        text = _text(series)
        given = (text != "").to_numpy()
        # utc=True lets naive and offset timestamps mix; offsets are turned into UTC.
        parsed = pd.to_datetime(text.where(given), format="ISO8601", errors="coerce", utc=True)
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    ok = (parsed.notna() & (parsed >= _MIN_DATE) & (parsed <= _MAX_DATE)).to_numpy()
    bad = given & ~ok
    if column.required:
        bad |= ~given
    values = parsed.where(ok).astype("datetime64[ns]")
    return values.reset_index(drop=True), bad


# --- cells ---------------------------------------------------------------------------


def _isin(ids: pd.Series, known: Collection[str]) -> np.ndarray:
    """Mask of ``ids`` found in ``known`` (Arrow-backed ``Series.isin`` is slow on big sets)."""
    known = known if isinstance(known, (set, frozenset)) else set(known)
    return np.fromiter((v in known for v in ids.to_numpy(dtype=object)), dtype=bool, count=len(ids))


def _given(series: pd.Series) -> np.ndarray:
    """Mask of cells that hold something (not null, not blank text)."""
    if ptypes.is_bool_dtype(series) or ptypes.is_numeric_dtype(series):
        return series.notna().to_numpy()
    return (_text(series) != "").to_numpy()


def _text(series: pd.Series) -> pd.Series:
    """Cells as stripped strings, ``""`` for null; the string path of every parser."""
    if ptypes.is_string_dtype(series) and not ptypes.is_object_dtype(series):
        return series.fillna("").astype("str").str.strip().reset_index(drop=True)
    return pd.Series([_cell_text(v) for v in series], dtype="str")


def _id_text(series: pd.Series) -> pd.Series:
    """IDs as stripped text; ids stored as numbers in Parquet read as "42", never "42.0"."""
    return _text(series)


def _cell_text(value: Any) -> str:
    """One cell as the text a user would recognise (for parsing and for messages)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return ""
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(float(value))
    if isinstance(value, (list, tuple, np.ndarray)):
        return ";".join(_cell_text(v) for v in value)
    if value is pd.NaT or (not isinstance(value, (list, tuple)) and pd.isna(value) is True):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value).strip()


def _split_list(value: Any) -> list[str]:
    """A list cell: ``"a; b;;c"`` or a Parquet list -> ``["a", "b", "c"]``."""
    if isinstance(value, str):
        if ";" not in value and "\uff1b" not in value:
            value = value.strip()
            return [value] if value else []
        return [part.strip() for part in _LIST_SEPARATOR.split(value) if part.strip()]
    if isinstance(value, (list, tuple, np.ndarray)):
        items = (_cell_text(v) for v in value)
        return [item for item in items if item]
    text = _cell_text(value)
    return _split_list(text) if text else []
